"""The environment: each ``USSD_GATEWAY_*`` variable stands for one key of the file.

The names are the documented, deployed ones (``USSD_GATEWAY_SESSION_IDLE`` is
``sessions.idle_seconds``), so they are a table here rather than derived from the keys. A
variable's text is read by its key's declared type (``sections.py``): integers and numbers
in decimal, lists comma-separated, booleans strictly ``true``/``false``, ``1``/``0`` or
``yes``/``no`` (any case); then the schema checks it like a value from the file.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from ussd_gateway.config.sections import field_annotation

PREFIX = "USSD_GATEWAY_"
CONFIG_VARIABLE = PREFIX + "CONFIG"
"""The settings file, when ``--config`` is not given."""

VARIABLES: Mapping[str, str] = {
    PREFIX + name: key
    for name, key in {
        "HOST": "server.host",
        "PORT": "server.port",
        "MAX_BODY_BYTES": "server.max_body_bytes",
        "DEMO": "server.demo",
        "DATABASE": "store.database",
        "DATABASE_PASSWORD_FILE": "store.password_file",
        "DATABASE_POOL_SIZE": "store.pool_size",
        "PUK_PEPPER_FILE": "store.pepper_file",
        "PUK_PEPPER": "store.puk_pepper",
        "SESSION_IDLE": "sessions.idle_seconds",
        "SESSION_TOTAL": "sessions.total_seconds",
        "SECRET_NATIVE": "dialects.native",
        "SECRET_AFRICASTALKING": "dialects.africastalking",
        "SECRET_HUBTEL": "dialects.hubtel",
        "LOG_LEVEL": "log.level",
        "METRICS_SECRET": "metrics.secret",
        "SMS_SENDER": "sms.sender",
        "SMS_SENDER_ID": "sms.sender_id",
        "OUTBOX_FILE": "sms.outbox_file",
        "KANNEL_SENDSMS_URL": "sms.kannel_sendsms_url",
        "KANNEL_USERNAME": "sms.kannel_username",
        "KANNEL_PASSWORD": "sms.kannel_password",
        "JASMIN_SEND_URL": "sms.jasmin_send_url",
        "JASMIN_USERNAME": "sms.jasmin_username",
        "JASMIN_PASSWORD": "sms.jasmin_password",
        "SMS_DLR_URL": "sms.dlr_url",
        "SMS_MAX_SEGMENTS": "sms.max_segments",
        "SMS_MO_SECRET": "sms.mo_secret",
        "API_SECRET": "codes.api_secret",
        "CODE_PREFIXES": "codes.allowed_prefixes",
        "CODE_GLOBAL_PER_HOUR": "codes.global_per_hour",
        "OPERATOR_SECRET": "account.operator_secret",
        "WEB_SESSION_IDLE": "account.session_idle_seconds",
        "WEB_SESSION_TOTAL": "account.session_total_seconds",
        "TEMPORARY_PASSWORD_HOURS": "account.temporary_password_hours",
        "SMTP_HOST": "account.smtp_host",
        "SMTP_PORT": "account.smtp_port",
        "SMTP_SENDER": "account.smtp_sender",
        "SMTP_USERNAME": "account.smtp_username",
        "SMTP_PASSWORD": "account.smtp_password",
        "SMTP_STARTTLS": "account.smtp_starttls",
        "SMTP_TLS": "account.smtp_tls",
        "PORTAL_URL": "account.portal_url",
        "NUMBERING_COUNTRY_CODE": "numbering.country_code",
        "NUMBERING_TRUNK_PREFIXES": "numbering.trunk_prefixes",
        "NUMBERING_NATIONAL_DIGITS": "numbering.national_digits",
        "NUMBERING_OPERATOR_RANGES": "numbering.operator_ranges",
        "NUMBERING_NAME": "numbering.name",
        "OSMOCOM_ENABLED": "osmocom.enabled",
        "OSMOCOM_HLR_HOST": "osmocom.hlr_host",
        "OSMOCOM_HLR_PORT": "osmocom.hlr_port",
        "OSMOCOM_CTRL_PORT": "osmocom.ctrl_port",
        "OSMOCOM_EUSE_NAME": "osmocom.euse_name",
        "OSMOCOM_RECONNECT_MIN": "osmocom.reconnect_min_seconds",
        "OSMOCOM_RECONNECT_MAX": "osmocom.reconnect_max_seconds",
        "OSMOCOM_PING_SECONDS": "osmocom.ping_seconds",
        "OSMOCOM_MAX_USSD_OCTETS": "osmocom.max_ussd_octets",
    }.items()
}
"""Variable → the key it sets."""

BY_KEY: Mapping[str, str] = {key: variable for variable, key in VARIABLES.items()}

ENVIRONMENT_ONLY = frozenset({"server.demo", "store.puk_pepper"})
"""Keys a file may not set: demo mode (no caller authentication) is a deliberate act at
start-up, and the pepper's value belongs in a secret store (a file holds ``pepper_file``)."""

_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


@dataclass(frozen=True)
class Variables:
    """What the environment says: values by key, refusals, and names that are no setting."""

    values: Mapping[str, Any]
    """``section.key`` → the value read from its variable's text."""
    problems: tuple[str, ...]
    ignored: tuple[str, ...]
    """``USSD_GATEWAY_*`` variables that set nothing (a simulator's own, or a misspelling)."""


def read_variables(environ: Mapping[str, str]) -> Variables:
    """Read every known variable of ``environ`` by its key's type."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    ignored: list[str] = []
    for variable in sorted(environ):
        if not variable.startswith(PREFIX) or variable == CONFIG_VARIABLE:
            continue
        key = VARIABLES.get(variable)
        if key is None:
            ignored.append(variable)
            continue
        try:
            values[key] = parse(environ[variable], field_annotation(key))
        except ValueError as exc:
            problems.append(f"invalid setting {variable} ({key}): {exc}")
    return Variables(values, tuple(problems), tuple(ignored))


def parse(text: str, annotation: Any) -> Any:
    """A variable's text as a value of ``annotation`` (the schema checks its range after).

    Raises:
        ValueError: the text is no value of that type; the message never quotes it.
    """
    kind = _kind(annotation)
    stripped = text.strip()
    if kind is bool:
        if stripped.lower() not in _BOOLEANS:
            raise ValueError("must be true or false (true/false, 1/0, yes/no)")
        return _BOOLEANS[stripped.lower()]
    if kind is int:
        if not _INTEGER.fullmatch(stripped):
            raise ValueError("must be an integer")
        return int(stripped)
    if kind is float:
        if not _NUMBER.fullmatch(stripped):
            raise ValueError("must be a number")
        return float(stripped)
    if kind is list:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def _kind(annotation: Any) -> Any:
    """The plain type under ``Annotated[…]`` and ``… | None``: bool, int, float, list or other."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _kind(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return _kind(next(a for a in get_args(annotation) if a is not type(None)))
    if origin is list:
        return list
    return annotation if annotation in (bool, int, float) else str


def suggestion(name: str, known: list[str]) -> str:
    """`` (did you mean X?)`` for a near miss, else nothing."""
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]}?)" if close else ""
