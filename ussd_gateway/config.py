"""Settings: a TOML file, then ``USSD_GATEWAY_*`` environment variables over it.

Example file (every key optional)::

    [server]
    host = "127.0.0.1"
    port = 8080
    max_body_bytes = 16384

    [store]
    database = "/var/lib/ussd-gateway/gateway.sqlite3"   # or "postgresql://user@host/db"
    password_file = "/run/secrets/db-password"           # PostgreSQL: the URL's password
    pool_size = 10                                       # PostgreSQL: connections/instance
    pepper_file = "/etc/ussd-gateway/puk-pepper"     # hex; kept outside the database

    [sessions]
    idle_seconds = 60
    total_seconds = 180

    [dialects]
    native = "shared secret"             # one caller secret per dialect
    africastalking = "shared secret"
    hubtel = "shared secret"

    [menus]
    paths = []                           # empty: the shipped menus

    [sms]
    sender = "file"                      # file | kannel | jasmin
    sender_id = "A1"                     # the "from" of MT messages
    outbox_file = "var/outbox.jsonl"     # the file sender's output (development)
    kannel_sendsms_url = "http://127.0.0.1:13013/cgi-bin/sendsms"
    kannel_username = "gateway"
    kannel_password = "…"
    jasmin_send_url = "http://127.0.0.1:1401/send"
    jasmin_username = "gateway"
    jasmin_password = "…"
    dlr_url = "http://127.0.0.1:8080/sms/dlr"   # given to Kannel/Jasmin for delivery reports
    max_segments = 3
    mo_secret = "…"                      # callers of /sms/mo and /sms/dlr (?token= / Basic)

    [codes]
    api_secret = "…"                     # the account front end, for /api/v1/codes
    allowed_prefixes = ["37525", "37529", "37533", "37544"]   # our own number ranges
    global_per_hour = 2000

    [account]
    operator_secret = "…"                # operator endpoints (/api/v1/operator/…)
    session_idle_seconds = 600           # seed 001 §1.9
    session_total_seconds = 1800
    temporary_password_hours = 24
    smtp_host = "127.0.0.1"              # temporary passwords go out by e-mail
    smtp_port = 25
    smtp_sender = "A1 Customer Service <noreply@example.by>"
    smtp_username = ""
    smtp_password = "…"
    smtp_starttls = false
    smtp_tls = false                     # implicit TLS (port 465)
    portal_url = "https://my.example.by"

Environment: ``USSD_GATEWAY_CONFIG`` (the file), ``_HOST``, ``_PORT``, ``_DATABASE``,
``_DATABASE_PASSWORD_FILE``, ``_DATABASE_POOL_SIZE``,
``_PUK_PEPPER`` (hex) or ``_PUK_PEPPER_FILE``, ``_SECRET_NATIVE``,
``_SECRET_AFRICASTALKING``, ``_SECRET_HUBTEL``, ``_SESSION_IDLE``, ``_SESSION_TOTAL``,
``_LOG_LEVEL``, ``_DEMO`` (1 turns caller authentication off: never in production),
``_SMS_SENDER``, ``_KANNEL_SENDSMS_URL``, ``_KANNEL_USERNAME``, ``_KANNEL_PASSWORD``,
``_JASMIN_SEND_URL``, ``_JASMIN_USERNAME``, ``_JASMIN_PASSWORD``, ``_SMS_DLR_URL``,
``_SMS_MO_SECRET``, ``_API_SECRET``, ``_OUTBOX_FILE``, ``_OPERATOR_SECRET``, ``_SMTP_HOST``,
``_SMTP_PORT``, ``_SMTP_SENDER``, ``_SMTP_USERNAME``, ``_SMTP_PASSWORD``, ``_SMTP_STARTTLS``,
``_SMTP_TLS``, ``_PORTAL_URL``.

Over 300 lines: a third of it is this documented example and the variable list, and each
section's reader is a few lines of checks; one file is one place to look up a setting.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from account.codes import CodePolicy
from account.recovery import TEMPORARY_PASSWORD_TTL
from state import websessions
from state.backends import DEFAULT_POOL_SIZE, DatabaseLocation
from ussd_gateway.hop import timeouts

_CODE_POLICY = CodePolicy()
"""The code policy's own figures: the defaults of its configurable parts."""

DIALECT_NAMES = ("native", "africastalking", "hubtel")
_PREFIX = "USSD_GATEWAY_"


class ConfigError(ValueError):
    """The configuration is unusable; the message names the setting."""


class Secret:
    """A configured secret: compared, never shown (``repr`` hides it)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def reveal(self) -> str:
        """The value, for the one place that compares it."""
        return self._value


SENDERS = ("file", "kannel", "jasmin")


@dataclass(frozen=True)
class SmsSettings:
    """How MT messages leave and who may call the SMS callbacks."""

    sender: str = "file"
    sender_id: str = "A1"
    outbox_file: Path = Path("var/outbox.jsonl")
    kannel_sendsms_url: str = "http://127.0.0.1:13013/cgi-bin/sendsms"
    kannel_username: str = ""
    kannel_password: Secret | None = None
    jasmin_send_url: str = "http://127.0.0.1:1401/send"
    jasmin_username: str = ""
    jasmin_password: Secret | None = None
    dlr_url: str | None = None
    max_segments: int = 3
    mo_secret: Secret | None = None


@dataclass(frozen=True)
class CodeSettings:
    """The one-time code policy's configurable parts (reference/security.md)."""

    api_secret: Secret | None = None
    allowed_prefixes: tuple[str, ...] = _CODE_POLICY.allowed_prefixes
    global_per_hour: int = _CODE_POLICY.global_per_hour


@dataclass(frozen=True)
class AccountSettings:
    """The account front door: operator credential, web sessions, e-mail (seed 001 §1.9)."""

    operator_secret: Secret | None = None
    session_idle: float = websessions.IDLE_SECONDS
    session_total: float = websessions.TOTAL_SECONDS
    temporary_password_ttl: float = TEMPORARY_PASSWORD_TTL
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_sender: str = "A1 Customer Service <noreply@example.by>"
    smtp_username: str = ""
    smtp_password: Secret | None = None
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_timeout: float = 10.0
    portal_url: str = "https://my.example.by"


@dataclass(frozen=True)
class Settings:
    """Everything the gateway is configured with."""

    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 16 * 1024
    database: Path = Path("var/gateway.sqlite3")
    """The SQLite file (the default store)."""
    database_url: DatabaseLocation | None = None
    """A PostgreSQL database instead of the file (several instances share it)."""
    pool_size: int = DEFAULT_POOL_SIZE
    pepper_file: Path | None = None
    puk_pepper: Secret | None = None
    session_idle: float = timeouts.IDLE_SECONDS
    session_total: float = timeouts.TOTAL_SECONDS
    dialect_secrets: Mapping[str, Secret] = field(default_factory=dict)
    menu_paths: tuple[Path, ...] = ()
    log_level: str = "info"
    demo: bool = False
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19 * 1024
    sms: SmsSettings = field(default_factory=lambda: SmsSettings())
    codes: CodeSettings = field(default_factory=lambda: CodeSettings())
    account: AccountSettings = field(default_factory=lambda: AccountSettings())

    @property
    def store_location(self) -> DatabaseLocation:
        """Where the store is: the PostgreSQL database if one is set, else the file."""
        return self.database_url or DatabaseLocation(path=self.database)

    @classmethod
    def load(cls, file: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``file`` (or ``$USSD_GATEWAY_CONFIG``), then apply the environment."""
        env = dict(environ or {})
        path = file or (Path(env[_PREFIX + "CONFIG"]) if env.get(_PREFIX + "CONFIG") else None)
        doc: dict[str, Any] = {}
        if path is not None:
            try:
                doc = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"cannot read {path}: {exc}") from exc
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{path}: {exc}") from exc
        return cls._from(doc, env)

    @classmethod
    def _from(cls, doc: Mapping[str, Any], env: Mapping[str, str]) -> Settings:
        server, store = doc.get("server", {}), doc.get("store", {})
        sessions, menus = doc.get("sessions", {}), doc.get("menus", {})

        def pick(env_name: str, section: Mapping[str, Any], key: str, default: Any) -> Any:
            return env.get(_PREFIX + env_name, section.get(key, default))

        secrets = {
            name: Secret(str(value))
            for name in DIALECT_NAMES
            if (
                value := env.get(
                    f"{_PREFIX}SECRET_{name.upper()}", doc.get("dialects", {}).get(name)
                )
            )
        }
        location = _database(store, env)
        pepper_text = env.get(_PREFIX + "PUK_PEPPER")
        pepper_file = pick("PUK_PEPPER_FILE", store, "pepper_file", None)
        try:
            settings = cls(
                host=str(pick("HOST", server, "host", "127.0.0.1")),
                port=int(pick("PORT", server, "port", 8080)),
                max_body_bytes=int(pick("MAX_BODY_BYTES", server, "max_body_bytes", 16 * 1024)),
                database=location.path or Path("var/gateway.sqlite3"),
                database_url=location if location.is_postgres else None,
                pool_size=int(pick("DATABASE_POOL_SIZE", store, "pool_size", DEFAULT_POOL_SIZE)),
                pepper_file=Path(pepper_file) if pepper_file else None,
                puk_pepper=Secret(pepper_text) if pepper_text else None,
                session_idle=float(
                    pick("SESSION_IDLE", sessions, "idle_seconds", timeouts.IDLE_SECONDS)
                ),
                session_total=float(
                    pick("SESSION_TOTAL", sessions, "total_seconds", timeouts.TOTAL_SECONDS)
                ),
                dialect_secrets=secrets,
                menu_paths=tuple(Path(p) for p in menus.get("paths", [])),
                log_level=str(pick("LOG_LEVEL", doc.get("log", {}), "level", "info")).lower(),
                demo=str(env.get(_PREFIX + "DEMO", "")).lower() in ("1", "true", "yes"),
                sms=_sms_settings(doc.get("sms", {}), env),
                codes=_code_settings(doc.get("codes", {}), env),
                account=_account_settings(doc.get("account", {}), env),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"invalid setting: {exc}") from exc
        if not 0 < settings.session_idle <= settings.session_total:
            raise ConfigError("sessions: 0 < idle_seconds <= total_seconds")
        if not 0 < settings.account.session_idle <= settings.account.session_total:
            raise ConfigError("account: 0 < session_idle_seconds <= session_total_seconds")
        if not 1 <= settings.pool_size <= 1000:
            raise ConfigError("store.pool_size must be between 1 and 1000")
        if settings.sms.sender not in SENDERS:
            raise ConfigError(f"sms.sender must be one of {', '.join(SENDERS)}")
        return settings


def _database(store: Mapping[str, Any], env: Mapping[str, str]) -> DatabaseLocation:
    """``store.database`` (a path or a PostgreSQL URL) and the password file, if any."""
    text = env.get(_PREFIX + "DATABASE", store.get("database", "var/gateway.sqlite3"))
    password_file = env.get(_PREFIX + "DATABASE_PASSWORD_FILE", store.get("password_file"))
    password = None
    if password_file:
        try:
            password = Path(str(password_file)).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"store.password_file: cannot read {password_file}: {exc.__class__.__name__}"
            ) from None
    try:
        location = DatabaseLocation.parse(str(text), password=password)
    except ValueError as exc:
        # The message names the problem, never the URL (it may hold a password).
        raise ConfigError(f"store.database: {exc}") from None
    if password is not None and not location.is_postgres:
        raise ConfigError("store.password_file is for a postgresql:// database")
    return location


def _secret(value: object) -> Secret | None:
    return Secret(str(value)) if value else None


def _sms_settings(section: Mapping[str, Any], env: Mapping[str, str]) -> SmsSettings:
    def pick(env_name: str, key: str, default: Any) -> Any:
        return env.get(_PREFIX + env_name, section.get(key, default))

    default = SmsSettings()
    return SmsSettings(
        sender=str(pick("SMS_SENDER", "sender", default.sender)),
        sender_id=str(pick("SMS_SENDER_ID", "sender_id", default.sender_id)),
        outbox_file=Path(pick("OUTBOX_FILE", "outbox_file", default.outbox_file)),
        kannel_sendsms_url=str(
            pick("KANNEL_SENDSMS_URL", "kannel_sendsms_url", default.kannel_sendsms_url)
        ),
        kannel_username=str(pick("KANNEL_USERNAME", "kannel_username", "")),
        kannel_password=_secret(pick("KANNEL_PASSWORD", "kannel_password", None)),
        jasmin_send_url=str(pick("JASMIN_SEND_URL", "jasmin_send_url", default.jasmin_send_url)),
        jasmin_username=str(pick("JASMIN_USERNAME", "jasmin_username", "")),
        jasmin_password=_secret(pick("JASMIN_PASSWORD", "jasmin_password", None)),
        dlr_url=pick("SMS_DLR_URL", "dlr_url", None),
        max_segments=int(pick("SMS_MAX_SEGMENTS", "max_segments", default.max_segments)),
        mo_secret=_secret(pick("SMS_MO_SECRET", "mo_secret", None)),
    )


def _code_settings(section: Mapping[str, Any], env: Mapping[str, str]) -> CodeSettings:
    default = CodeSettings()
    prefixes = env.get(_PREFIX + "CODE_PREFIXES")
    return CodeSettings(
        api_secret=_secret(env.get(_PREFIX + "API_SECRET", section.get("api_secret"))),
        allowed_prefixes=tuple(
            prefixes.split(",")
            if prefixes
            else section.get("allowed_prefixes", default.allowed_prefixes)
        ),
        global_per_hour=int(
            env.get(
                _PREFIX + "CODE_GLOBAL_PER_HOUR",
                section.get("global_per_hour", default.global_per_hour),
            )
        ),
    )


def _flag(value: object) -> bool:
    return str(value).lower() in ("1", "true", "yes")


def _account_settings(section: Mapping[str, Any], env: Mapping[str, str]) -> AccountSettings:
    def pick(env_name: str, key: str, default: Any) -> Any:
        return env.get(_PREFIX + env_name, section.get(key, default))

    default = AccountSettings()
    hours = float(
        pick("TEMPORARY_PASSWORD_HOURS", "temporary_password_hours", TEMPORARY_PASSWORD_TTL / 3600)
    )
    return AccountSettings(
        operator_secret=_secret(pick("OPERATOR_SECRET", "operator_secret", None)),
        session_idle=float(pick("WEB_SESSION_IDLE", "session_idle_seconds", default.session_idle)),
        session_total=float(
            pick("WEB_SESSION_TOTAL", "session_total_seconds", default.session_total)
        ),
        temporary_password_ttl=hours * 3600.0,
        smtp_host=str(pick("SMTP_HOST", "smtp_host", default.smtp_host)),
        smtp_port=int(pick("SMTP_PORT", "smtp_port", default.smtp_port)),
        smtp_sender=str(pick("SMTP_SENDER", "smtp_sender", default.smtp_sender)),
        smtp_username=str(pick("SMTP_USERNAME", "smtp_username", "")),
        smtp_password=_secret(pick("SMTP_PASSWORD", "smtp_password", None)),
        smtp_starttls=_flag(pick("SMTP_STARTTLS", "smtp_starttls", False)),
        smtp_tls=_flag(pick("SMTP_TLS", "smtp_tls", False)),
        portal_url=str(pick("PORTAL_URL", "portal_url", default.portal_url)),
    )
