"""Opening the metadata database and migrating it with Alembic.

``Database(url)`` does no I/O; :meth:`Database.connect` creates the engine. Migrations live in
the top-level ``migrations`` package and are driven programmatically, so ``shopkg db upgrade``
works from an installed package without an ``alembic.ini``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from foundation.errors import DatabaseError

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


class Database:
    """The metadata database at ``url`` (SQLite by default, PostgreSQL in production)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None

    @property
    def backend(self) -> str:
        return make_url(self.url).get_backend_name()

    @property
    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def connect(self) -> Database:
        """Create the engine (and the SQLite file's directory); returns ``self``."""
        if self._engine is not None:
            return self
        parsed = make_url(self.url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        try:
            engine = create_engine(self.url, pool_pre_ping=True)
        except (SQLAlchemyError, ImportError) as e:
            raise DatabaseError(f"cannot open database {self.safe_url}: {e}") from e
        if parsed.get_backend_name() == "sqlite":
            event.listen(engine, "connect", _enable_sqlite_foreign_keys)
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        return self

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise DatabaseError("the database is not connected; call Database.connect() first")
        return self._engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        if self._sessions is None:
            self.connect()
        assert self._sessions is not None
        session = self._sessions()
        try:
            yield session
            session.commit()
        except OperationalError as e:
            session.rollback()
            raise DatabaseError(
                f"database {self.safe_url} failed: {e.orig}; is it running and migrated "
                "(shopkg db upgrade)?"
            ) from e
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        self._engine = None
        self._sessions = None

    # --- migrations -------------------------------------------------------------------------

    def alembic_config(self) -> Any:
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        # '%' is ConfigParser's interpolation character; escape it for URLs with passwords
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        config.attributes["engine"] = self.engine
        return config

    def upgrade(self, revision: str = "head") -> None:
        """Apply migrations up to ``revision``."""
        from alembic import command

        self._run_alembic(command.upgrade, revision)

    def downgrade(self, revision: str = "-1") -> None:
        """Undo migrations down to ``revision`` (``base`` removes every table)."""
        from alembic import command

        self._run_alembic(command.downgrade, revision)

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self.alembic_config()).get_current_head()

    def check_current(self) -> None:
        """Raise unless the schema is at the newest migration."""
        current, head = self.current_revision(), self.head_revision()
        if current != head:
            raise DatabaseError(
                f"database {self.safe_url} is at migration {current or 'none'}, the code needs "
                f"{head}; run: shopkg db upgrade"
            )

    def _run_alembic(self, fn: Any, revision: str) -> None:
        from alembic.util.exc import CommandError

        self.connect()
        try:
            fn(self.alembic_config(), revision)
        except CommandError as e:
            raise DatabaseError(f"migration to {revision!r} failed: {e}") from e
        except SQLAlchemyError as e:
            raise DatabaseError(f"migration on {self.safe_url} failed: {e}") from e
