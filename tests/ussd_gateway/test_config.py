"""Settings: a TOML file, environment variables over it, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from ussd_gateway.config import ConfigError, Settings

FILE = """
[server]
port = 9000
[store]
database = "/srv/gw.sqlite3"
pepper_file = "/etc/gw/pepper"
[sessions]
idle_seconds = 30
total_seconds = 120
[dialects]
native = "file-secret"
hubtel = "hubtel-secret"
"""


def test_file_then_environment(tmp_path: Path) -> None:
    """The file sets values; USSD_GATEWAY_* variables override them."""
    path = tmp_path / "gw.toml"
    path.write_text(FILE, encoding="utf-8")
    env = {"USSD_GATEWAY_PORT": "9100", "USSD_GATEWAY_SECRET_NATIVE": "env-secret"}
    settings = Settings.load(path, env)
    assert (settings.port, settings.database, settings.pepper_file) == (
        9100, Path("/srv/gw.sqlite3"), Path("/etc/gw/pepper")
    )
    assert (settings.session_idle, settings.session_total) == (30.0, 120.0)
    assert settings.dialect_secrets["native"].reveal() == "env-secret"
    assert settings.dialect_secrets["hubtel"].reveal() == "hubtel-secret"
    assert "africastalking" not in settings.dialect_secrets
    assert not settings.demo


def test_config_path_from_environment(tmp_path: Path) -> None:
    """USSD_GATEWAY_CONFIG names the file when --config is not given."""
    path = tmp_path / "gw.toml"
    path.write_text(FILE, encoding="utf-8")
    assert Settings.load(None, {"USSD_GATEWAY_CONFIG": str(path)}).port == 9000


def test_secrets_are_masked_in_repr(tmp_path: Path) -> None:
    """Printing settings never shows a secret."""
    settings = Settings.load(None, {"USSD_GATEWAY_SECRET_NATIVE": "very-secret",
                                    "USSD_GATEWAY_PUK_PEPPER": "ab" * 32})
    assert "very-secret" not in repr(settings) and "abab" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"USSD_GATEWAY_PORT": "eighty"}, "invalid setting"),
        ({"USSD_GATEWAY_SESSION_IDLE": "200", "USSD_GATEWAY_SESSION_TOTAL": "100"}, "idle"),
    ],
)
def test_bad_values_are_clear_errors(env: dict[str, str], fragment: str) -> None:
    """A bad value is a ConfigError naming the problem."""
    with pytest.raises(ConfigError, match=fragment):
        Settings.load(None, env)


def test_broken_file_names_itself(tmp_path: Path) -> None:
    """A TOML syntax error names the file."""
    path = tmp_path / "broken.toml"
    path.write_text("[server\nport = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="broken.toml"):
        Settings.load(path, {})


def test_a_postgresql_database_with_its_password_in_a_file(tmp_path: Path) -> None:
    """``store.database`` may be a PostgreSQL URL; the password file wins and is never shown."""
    secret = tmp_path / "db-password"
    secret.write_text("from-the-file\n", encoding="utf-8")
    path = tmp_path / "gw.toml"
    path.write_text(
        '[store]\ndatabase = "postgresql://gw:in-the-url@db.example:5432/gw"\n'
        f'password_file = "{secret}"\npool_size = 4\n',
        encoding="utf-8",
    )
    settings = Settings.load(path, {})
    location = settings.store_location
    assert location.is_postgres and settings.pool_size == 4
    assert location.dsn() == "postgresql://gw:from-the-file@db.example:5432/gw"
    assert "from-the-file" not in repr(settings) and "in-the-url" not in repr(settings)
    env = Settings.load(None, {"USSD_GATEWAY_DATABASE": "/srv/x.sqlite3"})
    assert env.store_location.path == Path("/srv/x.sqlite3") and not env.store_location.is_postgres


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"USSD_GATEWAY_DATABASE": "mysql://gw:hunter2@db/gw"}, "store.database"),
        ({"USSD_GATEWAY_DATABASE_PASSWORD_FILE": "/nonexistent/pw",
          "USSD_GATEWAY_DATABASE": "postgresql://gw@db/gw"}, "store.password_file"),
        ({"USSD_GATEWAY_DATABASE_POOL_SIZE": "0"}, "store.pool_size"),
    ],
)
def test_a_bad_store_setting_names_the_key_not_the_secret(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.load(None, env)
    assert names in str(refused.value) and "hunter2" not in str(refused.value)
