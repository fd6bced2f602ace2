"""The settings as the code reads them: frozen dataclasses, each default from its owner.

These are what ``create_app`` and the commands are given. They are plain dataclasses (built
from the checked file and environment by ``loading.py``, or directly by tests and tools), so
``dataclasses.replace(settings, …)`` works; what an operator writes is checked in
``sections.py`` before any of these is made. Policy figures are read from the modules that
own them: the USSD session limits from ``hop/timeouts.py``, the web session's from
``state/websessions.py``, the code policy's from ``account/codes.py``, the temporary
password's lifetime from ``account/recovery.py``, the numbering plan from ``state/msisdn.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from account.codes import CodePolicy
from account.recovery import TEMPORARY_PASSWORD_TTL
from state import websessions
from state.backends import DEFAULT_POOL_SIZE, DatabaseLocation
from state.msisdn import BELARUS, NumberingPlan
from ussd_gateway.config.secrets import Secret
from ussd_gateway.hop import timeouts
from ussd_gateway.hop.timeouts import HOP_BUDGET

_CODE_POLICY = CodePolicy()
"""The code policy's own figures: the defaults of its configurable parts."""

DIALECT_NAMES = ("native", "africastalking", "hubtel")
SENDERS = ("file", "kannel", "jasmin")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


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
    """Numbers codes may be sent to; loaded from a file without it, the plan's own ranges."""
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
class BackendSettings:
    """One operator back-end a menu may call (``[backends.NAME]``; ``ussd_gateway/backends``)."""

    url: str
    """The base URL; a menu's call path is appended to it, and nothing else is reached."""
    token: Secret | None = None
    """Sent as ``Authorization: Bearer …``."""
    timeout: float = 2.0
    """Seconds one call may take (less when the hop's budget has less left)."""
    tls_verify: bool = True
    ca_file: Path | None = None
    """A CA bundle for a back-end with a private certificate authority."""
    failures_to_open: int = 5
    """Consecutive failures that open the circuit: calls then fail at once…"""
    open_seconds: float = 30.0
    """…for this long, then one trial call decides."""
    max_connections: int = 20


@dataclass(frozen=True)
class OsmocomSettings:
    """The EUSE connector: the gateway as OsmoHLR's external USSD entity over GSUP
    (``ussd_gateway/gsup/``). Off unless ``enabled``."""

    enabled: bool = False
    hlr_host: str = "127.0.0.1"
    hlr_port: int = 4222
    """OsmoHLR's GSUP port (its ``hlr`` / ``gsup`` / ``bind ip``; the port is fixed)."""
    ctrl_port: int = 4259
    """OsmoHLR's CTRL port, asked for the MSISDN of an IMSI (``gsup/subscribers.py``)."""
    euse_name: str = "ussd-gateway"
    """OsmoHLR's ``euse NAME``: the connector identifies as ``EUSE-<name>``."""
    reconnect_min: float = 0.5
    """Seconds before the first reconnection; doubled each failure up to ``reconnect_max``."""
    reconnect_max: float = 30.0
    ping_seconds: float = 10.0
    """An IPA PING this often; no answer within as long again and the link is re-made."""
    max_ussd_octets: int = 112
    """Octets of one USSD-String the HLR forwards: OsmoHLR 1.5 (libosmocore 1.7) reads only
    short-form BER lengths, so a final result's string is at most 112 octets (128 GSM-7
    characters, 56 UCS-2); a core that takes MAP's full 160 may set 160."""


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
    metrics_secret: Secret | None = None
    """With it, ``/metrics`` needs ``Authorization: Bearer <secret>``; without, it is open."""
    demo: bool = False
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19 * 1024
    numbering: NumberingPlan = BELARUS
    """The operator's numbers; ``create_app`` installs it for the process (state/msisdn.py)."""
    sms: SmsSettings = field(default_factory=lambda: SmsSettings())
    codes: CodeSettings = field(default_factory=lambda: CodeSettings())
    account: AccountSettings = field(default_factory=lambda: AccountSettings())
    backends: Mapping[str, BackendSettings] = field(default_factory=dict)
    hop_budget: float = HOP_BUDGET
    """Seconds a USSD hop may spend on back-end calls, all together (``hop/engine.py``)."""
    osmocom: OsmocomSettings = field(default_factory=lambda: OsmocomSettings())

    @property
    def store_location(self) -> DatabaseLocation:
        """Where the store is: the PostgreSQL database if one is set, else the file."""
        return self.database_url or DatabaseLocation(path=self.database)

    @classmethod
    def load(cls, file: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``file`` (or ``$USSD_GATEWAY_CONFIG``), then apply the environment.

        Raises:
            ConfigError: naming every problem: the key, and the file or variable it came from.
        """
        # loading.py builds this class: imported here, not at the top, to keep one direction.
        from ussd_gateway.config.loading import load

        return load(file, environ).settings
