"""Settings: a TOML file, then ``USSD_GATEWAY_*`` environment variables over it, checked.

A mistake is refused at start-up, by name: an unknown section or key (``[sever]``,
``sessions.idle_secs``), a value of the wrong type or out of range (``server.port``), each
with the file or the variable it came from; a secret is never shown (``**********``).
``ussd-gateway config check`` prints the effective configuration, or every problem.

Built on pydantic v2 (``sections.py``): strict, closed models say which key is wrong and
why, all problems at once, without quoting the value (``hide_input_in_errors``). Not
pydantic-settings: the variable names are fixed and do not follow the keys
(``USSD_GATEWAY_SESSION_IDLE`` is ``sessions.idle_seconds``), its sources merge before
validation so a refusal could not say whether the file or a variable was wrong, and its
booleans take ``on``/``t``/``y`` too; the mapping is one table (``environment.py``). Not
msgspec: it stops at the first error, and ``config check`` reports every one.

Example file (every key optional; the defaults shown)::

    [server]
    host = "127.0.0.1"
    port = 8080
    max_body_bytes = 16384

    [store]
    database = "var/gateway.sqlite3"                 # or "postgresql://user@host/db"
    password_file = "/run/secrets/db-password"       # PostgreSQL: the URL's password
    pool_size = 10                                   # PostgreSQL: connections/instance
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
    hop_budget_seconds = 4.0             # a hop's back-end calls, all together

    [log]
    level = "info"                       # debug, info, warning, error, critical

    [metrics]
    secret = "…"                         # /metrics wants Bearer <secret>; absent: open

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
    allowed_prefixes = ["37525", "37529", "37533", "37544"]   # absent: [numbering]'s ranges
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

    [numbering]                          # the operator's numbers (state/msisdn.py)
    country_code = "375"
    trunk_prefixes = ["80", "0"]         # dialled at home before the national number
    national_digits = 9                  # after the country code: range + subscriber number
    operator_ranges = ["25", "29", "33", "44"]
    name = "Belarusian"                  # for refusals: "only Belarusian numbers (+375) …"

    [backends.billing]                   # one table a back-end; menus call it by its name
    url = "https://billing.example.by/api"
    token_file = "/etc/ussd-gateway/billing-token"   # or token = "…": Authorization: Bearer
    timeout_seconds = 2.0                # less when the hop's budget has less left
    tls_verify = true
    failures_to_open = 5                 # the circuit breaker: this many failures in a row…
    open_seconds = 30.0                  # …and calls fail at once for this long
    max_connections = 20

    [osmocom]                            # the gateway as OsmoHLR's external USSD entity
    enabled = false
    hlr_host = "127.0.0.1"               # OsmoHLR's GSUP address (hlr / gsup / bind ip)
    hlr_port = 4222
    ctrl_port = 4259                     # OsmoHLR's CTRL: the MSISDN of an IMSI
    euse_name = "ussd-gateway"           # OsmoHLR's "euse NAME": we connect as EUSE-<name>
    reconnect_min_seconds = 0.5          # doubled after each failure…
    reconnect_max_seconds = 30           # …up to this
    ping_seconds = 10                    # IPA PING; no PONG as long again: reconnect
    max_ussd_octets = 112                # OsmoHLR 1.5 forwards no longer USSD-String

Environment: ``USSD_GATEWAY_CONFIG`` names the file; every other variable sets one key (the
table is ``environment.VARIABLES``), e.g. ``USSD_GATEWAY_PORT`` (``server.port``). Two keys
are read from the environment only: ``USSD_GATEWAY_PUK_PEPPER`` (hex; a file names
``store.pepper_file``) and ``USSD_GATEWAY_DEMO`` (true turns caller authentication off:
never in production).

The modules: ``settings.py`` (what the code reads: ``Settings`` and its parts, dataclasses),
``sections.py`` (the file's schema), ``environment.py`` (the variables), ``secrets.py``
(``Secret``), ``loading.py`` (file + environment → one check, and where each value came
from), ``building.py`` (the checked document → the settings), ``errors.py`` (``ConfigError``).
"""

from ussd_gateway.config.errors import ConfigError
from ussd_gateway.config.loading import Loaded, Source, load
from ussd_gateway.config.secrets import MASK, Secret
from ussd_gateway.config.settings import (
    DIALECT_NAMES,
    LOG_LEVELS,
    SENDERS,
    AccountSettings,
    BackendSettings,
    CodeSettings,
    OsmocomSettings,
    Settings,
    SmsSettings,
)

__all__ = [
    "DIALECT_NAMES",
    "LOG_LEVELS",
    "MASK",
    "SENDERS",
    "AccountSettings",
    "BackendSettings",
    "CodeSettings",
    "ConfigError",
    "Loaded",
    "OsmocomSettings",
    "Secret",
    "Settings",
    "SmsSettings",
    "Source",
    "load",
]
