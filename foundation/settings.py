"""Typed settings, layered defaults → TOML file → ``SHOPKG_*`` environment → explicit overrides.

Nothing is read at import time: :func:`load_settings` reads the file and the environment when
it is called. An invalid value stops start-up with one :class:`~foundation.errors.ConfigError`
whose message names the setting, where the value came from and what is allowed.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from foundation.errors import ConfigError

ENV_PREFIX = "SHOPKG_"
CONFIG_ENV = "SHOPKG_CONFIG"
DEFAULT_CONFIG_FILE = "shopkg.toml"

GRAPH_SCHEMES = ("kuzu", "neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")
DB_BACKENDS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class GraphURI:
    """A parsed graph-store address: ``kuzu://`` + a directory, or a Neo4j Bolt URI."""

    scheme: str
    target: str  # directory for kuzu, the full URI for neo4j/bolt

    @property
    def backend(self) -> Literal["kuzu", "neo4j"]:
        return "kuzu" if self.scheme == "kuzu" else "neo4j"

    @property
    def path(self) -> Path:
        if self.backend != "kuzu":
            raise ConfigError(f"graph URI {self.target!r} is not a kuzu:// directory")
        return Path(self.target)

    def __str__(self) -> str:
        return f"kuzu://{self.target}" if self.backend == "kuzu" else self.target


def parse_graph_uri(uri: str) -> GraphURI:
    """Parse ``kuzu:///abs/dir``, ``kuzu://rel/dir``, ``neo4j://host:7687`` or ``bolt://…``."""
    scheme, sep, rest = uri.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in GRAPH_SCHEMES:
        raise ValueError(
            f"unsupported graph URI {uri!r}; use kuzu:///path/to/dir, neo4j://host:7687 "
            "or bolt://host:7687"
        )
    if not rest:
        raise ValueError(
            f"graph URI {uri!r} names no {'directory' if scheme == 'kuzu' else 'host'}"
        )
    if scheme == "kuzu":
        return GraphURI("kuzu", rest)
    return GraphURI(scheme, uri)


def normalize_db_url(url: str) -> str:
    """Check a SQLAlchemy URL and pick the psycopg 3 driver for PostgreSQL by default."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise ValueError(f"not a database URL: {url!r} (e.g. sqlite:///var/shopkg.db)") from e
    if parsed.get_backend_name() not in DB_BACKENDS:
        raise ValueError(
            f"unsupported database {parsed.get_backend_name()!r}; use sqlite:///PATH "
            "or postgresql://USER@HOST/DB"
        )
    if parsed.drivername in ("postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class Settings(BaseSettings):
    """Everything ShopKG can be configured with. Build one with :func:`load_settings`.

    Why the rate-limit defaults are what they are: the public endpoints serve a live-stream
    audience, thousands of viewers at once, many of them behind one carrier-grade NAT,
    company gateway or CDN, so one address can stand for hundreds of shoppers.
    ``public_rate_limit`` (6000 per minute per address and endpoint, 100/s on average) lets
    such a crowd through while one client in a loop still cannot monopolize an endpoint; and
    the load benchmark (50 clients on 127.0.0.1 for 60 s, about 150 requests/s in all, half
    of them searches: some 4500 searches a minute) stays under it with limits on. Logins stay
    at 10 per minute: only admins log in, and password guessing is the risk there. Behind a
    reverse proxy, set ``trusted_proxies``, or every shopper shares the proxy's bucket.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", validate_default=True, frozen=True
    )

    data_dir: Path = Field(
        Path("var"), description="holds the graph store, indexes, SQLite DB, models and uploads"
    )
    graph: str = Field("", description="graph store URI; default kuzu://<data_dir>/graph")
    db: str = Field("", description="SQLAlchemy URL; default sqlite:///<data_dir>/shopkg.db")
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr = SecretStr("")
    neo4j_database: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    web_workers: int = Field(
        0,
        ge=0,
        le=64,
        description="server processes of `shopkg serve`; 0: one per core, at most 4 (each "
        "loads its own assistant: one process serves about half the requests of two on two "
        "cores, see BENCHMARKS.md)",
    )
    secret_key: SecretStr = Field(
        SecretStr(""), description="signs web sessions; generated into data_dir when empty"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    cpu_bf16: bool = Field(
        True,
        description="encode text batches in bf16 on a CPU with native bf16 (AMX/AVX512-BF16) "
        "when the model's vectors stay within cosine 0.9999 of fp32 (1.5-2.2x faster)",
    )
    onnx_runtime: bool = Field(
        True,
        description="run the image tower on ONNX Runtime on a CPU (float32, 1.8x the images/s "
        "of torch in bf16); false: torch",
    )
    text_encoder: str = Field(
        "all-MiniLM-L6-v2", description="bundled model name or a local model directory"
    )
    image_encoder: str = Field(
        "",
        description="local CLIP or ShopKG image-tower directory; default <data_dir>/models/"
        "image-tower when trained there, else the tower shipped with ShopKG; `none`: no photos",
    )
    image_value_attributes: tuple[str, ...] = Field(
        ("color", "pattern"),
        description="attributes whose values the build reads from photos when an item's text "
        "leaves them out (AliMe MKG's multimodal values); empty: none",
    )
    image_value_precision: float = Field(
        0.9,
        gt=0,
        le=1,
        description="a value read from a photo becomes a fact when its confidence reaches the "
        "threshold at which held-out photos of items stating the attribute reach this precision",
    )
    catalog_name: str = Field(
        "",
        max_length=200,
        description="the catalog's stable name for `shopkg build` (records are keyed by it, so "
        "a renamed or date-stamped export stays the same catalog); default: see `build --name`",
    )
    batch_size: int = Field(512, ge=1, le=1_000_000)
    max_request_bytes: int = Field(1 << 20, ge=1024)
    max_upload_bytes: int = Field(8 << 20, ge=1024)
    max_header_bytes: int = Field(
        16 << 10, ge=1024, description="request headers, all together (431 beyond)"
    )
    rate_limits_enabled: bool = Field(
        True, description="apply public_rate_limit and login_rate_limit; false turns both off"
    )
    public_rate_limit: str = Field(
        "6000 per minute", description="per client address and public API endpoint"
    )
    login_rate_limit: str = Field(
        "10 per minute", description="login (and logout) POSTs per client address"
    )
    live_question_rate_limit: str = Field(
        "5 per 10 seconds;30 per minute",
        description="questions one viewer may ask in one live room (the page's viewer token, "
        "else the client address); the per-address public limit applies as well",
    )
    push_port: int = Field(
        0,
        ge=0,
        le=65535,
        description="port of the live rooms' push server (server-sent events) beside the web "
        "app; 0: the web port + 1",
    )
    push_url: str = Field(
        "",
        max_length=300,
        description="where browsers reach the push server, e.g. https://shop.example/push "
        "behind a proxy; empty: http://<the page's host>:<push port>",
    )
    trusted_proxies: int = Field(
        0,
        ge=0,
        le=10,
        description="reverse proxies in front of the app that append to X-Forwarded-For; "
        "0 ignores that header",
    )
    rate_limit_storage: str = Field(
        "memory://",
        description="where rate-limit counters live: memory:// (one process) or a shared "
        "store such as redis://host:6379 for several workers (needs the redis package)",
    )

    @field_validator("graph")
    @classmethod
    def _check_graph(cls, value: str) -> str:
        if value:
            parse_graph_uri(value)
        return value

    @field_validator("db")
    @classmethod
    def _check_db(cls, value: str) -> str:
        return normalize_db_url(value) if value else value

    @field_validator("public_rate_limit", "login_rate_limit", "live_question_rate_limit")
    @classmethod
    def _check_rate_limit(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError as e:
            raise ValueError(
                f"not a rate limit: {value!r}; write e.g. '6000 per minute' or "
                "'100/second;5000/hour' (turn limits off with rate_limits_enabled = false)"
            ) from e
        return value

    @field_validator("rate_limit_storage")
    @classmethod
    def _check_rate_limit_storage(cls, value: str) -> str:
        if "://" not in value:
            raise ValueError("use memory:// or a storage URI such as redis://host:6379")
        return value

    @field_validator("push_url")
    @classmethod
    def _check_push_url(cls, value: str) -> str:
        if value and not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~/-]*)?", value):
            raise ValueError("use an http(s) URL such as https://shop.example/push")
        return value.rstrip("/")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _fill_derived_defaults(self) -> Settings:
        # frozen model: defaults derived from data_dir are set through object.__setattr__
        if not self.graph:
            object.__setattr__(self, "graph", f"kuzu://{self.data_dir / 'graph'}")
        if not self.db:
            object.__setattr__(self, "db", f"sqlite:///{self.data_dir / 'shopkg.db'}")
        if not self.image_encoder:
            object.__setattr__(self, "image_encoder", str(self.data_dir / "models" / "image-tower"))
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # overrides > environment > (the TOML file, passed in as init values by load_settings)
        return (init_settings, env_settings)

    @property
    def graph_uri(self) -> GraphURI:
        return parse_graph_uri(self.graph)

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "indexes"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    def public_dict(self) -> dict[str, Any]:
        """The effective settings with secrets masked, for ``shopkg config``."""
        shown = self.model_dump(mode="json")
        for name in ("neo4j_password", "secret_key"):
            shown[name] = "***" if getattr(self, name).get_secret_value() else ""
        from sqlalchemy.engine import make_url

        shown["db"] = make_url(self.db).render_as_string(hide_password=True)
        shown["rate_limit_storage"] = _hide_password(self.rate_limit_storage)
        return shown


def _hide_password(uri: str) -> str:
    """``uri`` with the password of its user part masked (``redis://:***@host:6379``)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if not parts.password:
        return uri
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{parts.netloc.rpartition('@')[2]}"))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError as e:
        raise ConfigError(f"settings file {path} does not exist") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"settings file {path} is not valid TOML: {e}") from e
    # allow both top-level keys and a [shopkg] table
    table = data.get("shopkg", data)
    if not isinstance(table, dict):
        raise ConfigError(f"settings file {path}: [shopkg] must be a table")
    return dict(table)


def _config_path(explicit: Path | None, environ: Mapping[str, str]) -> Path | None:
    if explicit is not None:
        return explicit
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def _describe_source(
    field: str,
    overrides: Mapping[str, Any],
    environ: Mapping[str, str],
    file: Path | None,
    file_values: Mapping[str, Any],
) -> str:
    env_name = f"{ENV_PREFIX}{field.upper()}"
    if field in overrides:
        return f"setting {field!r} (given explicitly)"
    if env_name in {k.upper() for k in environ}:
        return f"setting {env_name}"
    if field in file_values:
        return f"setting {field!r} in {file}"
    return f"setting {field!r} (default)"


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Build the settings from defaults, a TOML file, the environment and ``overrides``.

    ``config_file`` defaults to ``$SHOPKG_CONFIG``, then ``./shopkg.toml`` when it exists.
    ``overrides`` whose value is ``None`` are ignored, so CLI options can be passed straight in.
    """
    env = dict(os.environ)
    path = _config_path(Path(config_file) if config_file is not None else None, env)
    file_values = _read_toml(path) if path is not None else {}
    given = {k: v for k, v in overrides.items() if v is not None}
    unknown = sorted(set(given) - set(Settings.model_fields))
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
    # the environment must outrank the file, so the file's values only fill what the env lacks
    env_names = {k.upper() for k in env}
    from_file = {
        k: v for k, v in file_values.items() if f"{ENV_PREFIX}{k.upper()}" not in env_names
    }
    try:
        return Settings(**{**from_file, **given})
    except ValidationError as e:
        first = e.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        if first["type"] == "extra_forbidden":
            where = f" in {path}" if path is not None and field in file_values else ""
            allowed = ", ".join(sorted(Settings.model_fields))
            raise ConfigError(f"unknown setting {field!r}{where}; known settings: {allowed}") from e
        source = _describe_source(field, given, env, path, file_values)
        bad = first.get("input")
        message = str(first["msg"]).removeprefix("Value error, ")
        more = f" (and {e.error_count() - 1} more problem(s))" if e.error_count() > 1 else ""
        raise ConfigError(f"invalid {source} = {bad!r}: {message}{more}") from e
