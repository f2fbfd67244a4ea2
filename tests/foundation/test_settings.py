from __future__ import annotations

from pathlib import Path

import pytest

from foundation.errors import ConfigError
from foundation.settings import load_settings, parse_graph_uri


def test_defaults_put_everything_under_the_data_dir() -> None:
    settings = load_settings()
    assert settings.data_dir == Path("var")
    assert settings.graph == "kuzu://var/graph"
    assert settings.graph_uri.backend == "kuzu"
    assert settings.graph_uri.path == Path("var/graph")
    assert settings.db == "sqlite:///var/shopkg.db"
    assert settings.host == "127.0.0.1"
    assert settings.index_dir == Path("var/indexes")


def test_data_dir_moves_the_derived_defaults() -> None:
    settings = load_settings(data_dir=Path("/srv/shop"))
    assert settings.graph_uri.path == Path("/srv/shop/graph")
    assert settings.db == "sqlite:////srv/shop/shopkg.db"


def test_layers_file_then_environment_then_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "shop.toml"
    config.write_text('port = 9000\nhost = "0.0.0.0"\nlog_level = "debug"\n')
    assert load_settings(config).port == 9000
    assert load_settings(config).log_level == "DEBUG"
    monkeypatch.setenv("SHOPKG_PORT", "9100")
    settings = load_settings(config)
    assert settings.port == 9100
    assert settings.host == "0.0.0.0"
    assert load_settings(config, port=9200).port == 9200


def test_config_file_from_environment_and_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "shopkg.toml").write_text("port = 9300\n")
    assert load_settings().port == 9300
    other = tmp_path / "other.toml"
    other.write_text("[shopkg]\nport = 9400\n")
    monkeypatch.setenv("SHOPKG_CONFIG", str(other))
    assert load_settings().port == 9400


def test_bad_graph_uri_names_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPKG_GRAPH", "foo://x")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "SHOPKG_GRAPH" in message
    assert "'foo://x'" in message
    assert "kuzu:///" in message and "neo4j://" in message
    assert "\n" not in message


def test_bad_value_in_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    config = tmp_path / "shop.toml"
    config.write_text("port = 70000\n")
    with pytest.raises(ConfigError, match=r"'port' in .*shop\.toml = 70000.*65535"):
        load_settings(config)


def test_unknown_setting_in_file_lists_the_known_ones(tmp_path: Path) -> None:
    config = tmp_path / "shop.toml"
    config.write_text("prot = 1\n")
    with pytest.raises(ConfigError, match=r"unknown setting 'prot'.*known settings: .*port"):
        load_settings(config)


def test_unknown_override_and_missing_or_broken_files_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(colour="red")
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("port = [\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("mysql://u@h/db", "unsupported database 'mysql'"),
        ("not a url", "not a database URL"),
    ],
)
def test_bad_database_urls_are_refused(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: str
) -> None:
    monkeypatch.setenv("SHOPKG_DB", value)
    with pytest.raises(ConfigError, match=expected):
        load_settings()


def test_postgresql_urls_use_psycopg3() -> None:
    settings = load_settings(db="postgresql://shop:pw@db.local/shopkg")
    assert settings.db.startswith("postgresql+psycopg://shop:pw@db.local/shopkg")
    assert settings.public_dict()["db"] == "postgresql+psycopg://shop:***@db.local/shopkg"


def test_secrets_are_masked_in_the_public_view() -> None:
    shown = load_settings(
        neo4j_password="hunter2",
        secret_key="s3cret",
        rate_limit_storage="redis://:hunter3@cache:6379/0",
    ).public_dict()
    assert shown["neo4j_password"] == "***"
    assert shown["secret_key"] == "***"
    assert shown["rate_limit_storage"] == "redis://:***@cache:6379/0"
    assert "hunter2" not in str(shown) and "hunter3" not in str(shown)


def test_rate_limits_come_from_the_environment_and_bad_ones_are_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHOPKG_PUBLIC_RATE_LIMIT", "100/second;5000/hour")
    monkeypatch.setenv("SHOPKG_TRUSTED_PROXIES", "2")
    monkeypatch.setenv("SHOPKG_RATE_LIMITS_ENABLED", "false")
    settings = load_settings()
    assert settings.public_rate_limit == "100/second;5000/hour"
    assert settings.trusted_proxies == 2 and not settings.rate_limits_enabled
    monkeypatch.setenv("SHOPKG_PUBLIC_RATE_LIMIT", "lots")
    with pytest.raises(ConfigError, match="SHOPKG_PUBLIC_RATE_LIMIT = 'lots': not a rate limit"):
        load_settings()
    monkeypatch.delenv("SHOPKG_PUBLIC_RATE_LIMIT")
    with pytest.raises(ConfigError, match="rate_limit_storage"):
        load_settings(rate_limit_storage="localhost:6379")


@pytest.mark.parametrize(
    ("uri", "backend", "target"),
    [
        ("kuzu:///abs/graph", "kuzu", "/abs/graph"),
        ("kuzu://rel/graph", "kuzu", "rel/graph"),
        ("neo4j://db.local:7687", "neo4j", "neo4j://db.local:7687"),
        ("bolt+s://db.local", "neo4j", "bolt+s://db.local"),
    ],
)
def test_graph_uris_parse(uri: str, backend: str, target: str) -> None:
    parsed = parse_graph_uri(uri)
    assert parsed.backend == backend
    assert parsed.target == target


@pytest.mark.parametrize("uri", ["kuzu://", "graph", "http://x", "neo4j://"])
def test_malformed_graph_uris_are_refused(uri: str) -> None:
    with pytest.raises(ValueError, match="graph URI"):
        parse_graph_uri(uri)
