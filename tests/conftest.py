"""Shared fixtures: a clean environment, and a throwaway PostgreSQL 15 server.

The PostgreSQL server is started once per test session from Debian's binaries, listening only
on a Unix socket in a temporary directory, and stopped at the end. When the binaries are
missing the tests skip with the reason, unless ``SHOPKG_TEST_POSTGRES=require`` (set by the
project's test command) makes that a failure, so CI can never silently skip them.
"""

from __future__ import annotations

import itertools
import os
import pwd
import random
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from foundation.db import Database
from foundation.settings import Settings

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


BACKEND_SUITES = ("tests/kg/",)
"""Suites whose tests share one server (Neo4j): run in a random order in CI, so a test that
leaves state behind for the next one fails there rather than by chance."""


SHUFFLE_SEED = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--shuffle-backends",
        metavar="SEED",
        default=None,
        help="run the graph-store suites (tests/kg) in a random order: an integer seed, or "
        "'random' for a fresh one; the seed is printed in the header so a failing order "
        "can be rerun",
    )


def _shuffle_seed(config: pytest.Config) -> int | None:
    chosen = config.getoption("--shuffle-backends")
    if chosen is None:
        return None
    if SHUFFLE_SEED not in config.stash:
        seed = random.SystemRandom().randrange(10**6) if chosen == "random" else int(chosen)
        config.stash[SHUFFLE_SEED] = seed
    return config.stash[SHUFFLE_SEED]


def pytest_report_header(config: pytest.Config) -> str | None:
    seed = _shuffle_seed(config)
    if seed is None:
        return None
    return f"graph-store suites shuffled with seed {seed} (rerun: --shuffle-backends {seed})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Shuffle the backend suites' tests among their own places; the rest keeps its order
    (and its module- and session-scoped fixtures their cost)."""
    seed = _shuffle_seed(config)
    if seed is None:
        return
    root = Path(str(config.rootpath))
    places = [
        i
        for i, item in enumerate(items)
        if any(item.path.relative_to(root).as_posix().startswith(s) for s in BACKEND_SUITES)
    ]
    chosen = [items[i] for i in places]
    random.Random(seed).shuffle(chosen)
    for place, item in zip(places, chosen, strict=True):
        items[place] = item


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'meta.db'}").connect()
    db.upgrade()
    try:
        yield db
    finally:
        db.close()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the development data sets are not at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _clean_shopkg_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's SHOPKG_* settings or a ./shopkg.toml."""
    keep = {
        "SHOPKG_NEO4J_URI",
        "SHOPKG_NEO4J_USER",
        "SHOPKG_NEO4J_PASSWORD",
        "SHOPKG_TEST_POSTGRES",
    }
    for name in list(os.environ):
        if name.startswith("SHOPKG_") and name not in keep:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _postgres_bin_dir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parts[-3])
    preferred = [p for p in found if p.parts[-3] == "15"] or found
    if preferred:
        return preferred[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresServer:
    """A PostgreSQL cluster in a temporary directory, reachable only through its socket."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="shopkg-pg-"))
        self.data = self.root / "data"
        self._names = itertools.count()
        # PostgreSQL refuses to run as root: run it as the `postgres` system user then
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.root.chmod(0o755)

    def _run(self, tool: str, *args: str) -> None:
        command = [*self.as_user, str(self.bin_dir / tool), *args]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stderr.strip()}")

    def start(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        options = f"-k {self.root} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-o",
            options,
            "start",
        )

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.root}"

    def create_database(self) -> str:
        import psycopg

        name = f"shopkg_test_{next(self._names)}"
        with psycopg.connect(
            host=str(self.root), user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # name is ours, not user input
        return name

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(
            host=str(self.root), user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = _postgres_bin_dir()
    if bin_dir is None:
        reason = "PostgreSQL server binaries not found (apt-get install postgresql-15)"
        if os.environ.get("SHOPKG_TEST_POSTGRES") == "require":
            pytest.fail(reason)
        pytest.skip(reason)
    server = PostgresServer(bin_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a new, empty database on the throwaway server; dropped afterwards."""
    name = postgres_server.create_database()
    try:
        yield postgres_server.url(name)
    finally:
        postgres_server.drop_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty metadata database URL, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'meta.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A migrated metadata database on each backend."""
    db = Database(database_url).connect()
    db.upgrade()
    try:
        yield db
    finally:
        db.close()


@pytest.fixture(scope="session")
def tiny_tower() -> Callable[[Path], None]:
    """Writes a tiny seeded image tower into a directory (the same one every time)."""
    from tests.builds import tiny_tower

    return tiny_tower


@pytest.fixture(scope="session")
def make_settings(tiny_tower: Callable[[Path], None]) -> Callable[[Path], Settings]:
    """Settings for a data directory with the tiny image tower in it (a build's encoder)."""
    from foundation.settings import load_settings

    def make(data_dir: Path) -> Settings:
        settings = load_settings(data_dir=data_dir)
        tiny_tower(Path(settings.image_encoder))
        return settings

    return make


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path]:
    """The small demo catalog built once per session: its settings and its root (the catalog
    in ``demo/``, the data dir in ``var/``). Read it, or rebuild it unchanged; a test that
    changes it works on a copy."""
    from tests.builds import build_demo

    root = tmp_path_factory.mktemp("demo-build")
    return build_demo(root), root
