"""The settings from a checked document: each section's values where the code reads them.

What a value needs besides its check is done here: a secret read from its file
(``store.password_file``, ``backends.NAME.token_file``), a path made a ``Path``, hours made
seconds, the numbering plan's own ranges as the code prefixes' default. A problem found
here (an unreadable file, a prefix outside the country) goes to the caller's
:class:`Problems`, said with the key, like the schema's refusals.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from state.msisdn import NumberingPlan
from ussd_gateway.config.secrets import Secret
from ussd_gateway.config.sections import BackendSection, Document, Section
from ussd_gateway.config.settings import (
    DIALECT_NAMES,
    AccountSettings,
    BackendSettings,
    CodeSettings,
    OsmocomSettings,
    Settings,
    SmsSettings,
)

_DEFAULT = Settings()


class Problems(Protocol):
    def add(self, key: str, text: str) -> None:
        """A refused value of ``key``."""


def settings_of(doc: Document, plan: NumberingPlan, reading: Problems) -> Settings:
    """The settings the code reads, from a checked document."""
    store = doc.store
    location = store.database
    if store.password_file is not None:
        password = _secret_file(store.password_file, "store.password_file", reading)
        if password is not None and location.is_postgres:
            location = replace(location, password=password)
        elif password is not None:
            reading.add("store.password_file", "is for a postgresql:// database")
    prefixes = tuple(doc.codes.allowed_prefixes or plan.own_prefixes)
    for prefix in prefixes:
        if not prefix.startswith(plan.country_code):
            reading.add(
                "codes.allowed_prefixes",
                f"{prefix} is no number of +{plan.country_code} (numbering.country_code)",
            )
    account = doc.account
    return Settings(
        host=doc.server.host,
        port=doc.server.port,
        max_body_bytes=doc.server.max_body_bytes,
        demo=doc.server.demo,
        database=location.path or _DEFAULT.database,
        database_url=location if location.is_postgres else None,
        pool_size=store.pool_size,
        pepper_file=Path(store.pepper_file) if store.pepper_file else None,
        puk_pepper=store.puk_pepper,
        session_idle=doc.sessions.idle_seconds,
        session_total=doc.sessions.total_seconds,
        dialect_secrets={
            name: secret
            for name in DIALECT_NAMES
            if (secret := getattr(doc.dialects, name)) is not None
        },
        menu_paths=tuple(Path(p) for p in doc.menus.paths),
        hop_budget=doc.menus.hop_budget_seconds,
        backends={name: _backend(name, b, reading) for name, b in doc.backends.items()},
        log_level=doc.log.level,
        metrics_secret=doc.metrics.secret,
        numbering=plan,
        sms=SmsSettings(**{**_fields(doc.sms), "outbox_file": Path(doc.sms.outbox_file)}),
        codes=CodeSettings(
            api_secret=doc.codes.api_secret,
            allowed_prefixes=prefixes,
            global_per_hour=doc.codes.global_per_hour,
        ),
        account=AccountSettings(
            operator_secret=account.operator_secret,
            session_idle=account.session_idle_seconds,
            session_total=account.session_total_seconds,
            temporary_password_ttl=account.temporary_password_hours * 3600.0,
            smtp_host=account.smtp_host,
            smtp_port=account.smtp_port,
            smtp_sender=account.smtp_sender,
            smtp_username=account.smtp_username,
            smtp_password=account.smtp_password,
            smtp_starttls=account.smtp_starttls,
            smtp_tls=account.smtp_tls,
            portal_url=account.portal_url,
        ),
        osmocom=OsmocomSettings(
            enabled=doc.osmocom.enabled,
            hlr_host=doc.osmocom.hlr_host,
            hlr_port=doc.osmocom.hlr_port,
            ctrl_port=doc.osmocom.ctrl_port,
            euse_name=doc.osmocom.euse_name,
            reconnect_min=doc.osmocom.reconnect_min_seconds,
            reconnect_max=doc.osmocom.reconnect_max_seconds,
            ping_seconds=doc.osmocom.ping_seconds,
            max_ussd_octets=doc.osmocom.max_ussd_octets,
        ),
    )


def _secret_file(path: str, key: str, reading: Problems) -> str | None:
    """The secret a file of ``key`` holds (stripped), or None with the problem said."""
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reading.add(key, f"cannot read {path}: {exc.__class__.__name__}")
        return None


def _backend(name: str, section: BackendSection, reading: Problems) -> BackendSettings:
    token = section.token
    if section.token_file is not None:
        text = _secret_file(section.token_file, f"backends.{name}.token_file", reading)
        token = Secret(text) if text is not None else None
    return BackendSettings(
        url=section.url.rstrip("/"),
        token=token,
        timeout=section.timeout_seconds,
        ca_file=Path(section.ca_file) if section.ca_file else None,
        **{k: getattr(section, k) for k in _BACKEND_AS_IS},
    )


_BACKEND_AS_IS = ("tls_verify", "failures_to_open", "open_seconds", "max_connections")


def _fields(section: Section) -> dict[str, Any]:
    """A section's values by key, as they are (secrets stay ``Secret``)."""
    return {name: getattr(section, name) for name in type(section).model_fields}
