"""The settings file's schema: its sections and keys, each typed and range-checked.

One pydantic model per ``[section]``, strict (a TOML string is no number, an integer no
boolean) and closed (an unknown key or section is refused by name). Values from the
environment arrive here already read from their text (``environment.py``), so one schema
checks both. Every default is the one of ``settings.py``, which reads it from the module that
owns the policy; nothing is restated here.

A refusal never quotes a value: pydantic's messages name what was expected, validators here
say the same, and ``hide_input_in_errors`` keeps the value out of ``str(ValidationError)``.

Over 300 lines (a few): one model per section, the whole file's schema read in one place.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from state.msisdn import BELARUS, NumberingPlan
from ussd_gateway.config.settings import (
    LOG_LEVELS,
    SENDERS,
    AccountSettings,
    BackendSettings,
    CodeSettings,
    OsmocomSettings,
    Settings,
    SmsSettings,
)
from ussd_gateway.config.values import (
    Digits,
    Location,
    OptionalSecret,
    OptionalUrl,
    PathText,
    Pepper,
    Port,
    Text,
    Url,
    lower,
    one_of,
    seconds,
)

_DEFAULT, _SMS, _CODES, _ACCOUNT = Settings(), SmsSettings(), CodeSettings(), AccountSettings()
_OSMOCOM = OsmocomSettings()


def not_below(key: str, *, than: str) -> Any:
    """A section's check that ``key`` is not less than ``than`` (a key declared before it)."""

    def check(cls: type[BaseModel], value: float, info: ValidationInfo) -> float:
        least = info.data.get(than)
        if least is not None and value < least:
            raise ValueError(f"must not be less than {than} ({least:g})")
        return value

    return field_validator(key)(classmethod(check))


class Section(BaseModel):
    """A closed, strict, frozen table of the file."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, hide_input_in_errors=True)


class ServerSection(Section):
    """``[server]``: where the gateway listens."""

    host: Text = _DEFAULT.host
    port: Port = _DEFAULT.port
    max_body_bytes: Annotated[int, Field(ge=1024, le=16 * 1024 * 1024)] = _DEFAULT.max_body_bytes
    demo: bool = _DEFAULT.demo
    """Environment only (``USSD_GATEWAY_DEMO``): caller authentication off."""


class StoreSection(Section):
    """``[store]``: the database, its password, the PUK1 pepper."""

    database: Location = _DEFAULT.store_location
    password_file: PathText | None = None
    pool_size: Annotated[int, Field(ge=1, le=1000)] = _DEFAULT.pool_size
    pepper_file: PathText | None = None
    puk_pepper: Pepper = _DEFAULT.puk_pepper
    """Environment only (``USSD_GATEWAY_PUK_PEPPER``): a file holds ``pepper_file`` instead."""


class SessionsSection(Section):
    """``[sessions]``: a USSD session's limits (``hop/timeouts.py``)."""

    idle_seconds: Annotated[float, seconds(3600)] = _DEFAULT.session_idle
    total_seconds: Annotated[float, Field(validate_default=True), seconds(3600)] = (
        _DEFAULT.session_total
    )

    _total_not_below_idle = not_below("total_seconds", than="idle_seconds")


class DialectsSection(Section):
    """``[dialects]``: one caller secret per dialect of ``settings.DIALECT_NAMES`` (empty or
    absent: not set)."""

    native: OptionalSecret = None
    africastalking: OptionalSecret = None
    hubtel: OptionalSecret = None


class MenusSection(Section):
    """``[menus]``: menu files instead of the shipped ones, and a hop's back-end budget."""

    paths: list[PathText] = []
    hop_budget_seconds: Annotated[float, seconds(8)] = _DEFAULT.hop_budget
    """At most 8 s: a USSD centre gives up on an answer after about 10 s."""


_BACKEND = BackendSettings(url="http://127.0.0.1")


class BackendSection(Section):
    """``[backends.NAME]``: an operator back-end menus may call by NAME."""

    url: Url
    token: OptionalSecret = None
    token_file: PathText | None = None
    timeout_seconds: Annotated[float, seconds(8)] = _BACKEND.timeout
    tls_verify: bool = _BACKEND.tls_verify
    ca_file: PathText | None = None
    failures_to_open: Annotated[int, Field(ge=1, le=1000)] = _BACKEND.failures_to_open
    open_seconds: Annotated[float, seconds(3600)] = _BACKEND.open_seconds
    max_connections: Annotated[int, Field(ge=1, le=1000)] = _BACKEND.max_connections

    @model_validator(mode="after")
    def _one_token(self) -> BackendSection:
        if self.token is not None and self.token_file is not None:
            raise ValueError("token and token_file exclude each other: set one")
        return self


class LogSection(Section):
    """``[log]``: the level."""

    level: Annotated[str, BeforeValidator(lower), AfterValidator(one_of(LOG_LEVELS))] = (
        _DEFAULT.log_level
    )


class MetricsSection(Section):
    """``[metrics]``: who may scrape ``/metrics`` (no secret: anyone reaching the port)."""

    secret: OptionalSecret = _DEFAULT.metrics_secret


class SmsSection(Section):
    """``[sms]``: how MT messages leave, who may call the SMS callbacks."""

    sender: Annotated[str, AfterValidator(one_of(SENDERS))] = _SMS.sender
    sender_id: Annotated[str, Field(min_length=1, max_length=15)] = _SMS.sender_id
    outbox_file: PathText = str(_SMS.outbox_file)
    kannel_sendsms_url: Url = _SMS.kannel_sendsms_url
    kannel_username: str = _SMS.kannel_username
    kannel_password: OptionalSecret = _SMS.kannel_password
    jasmin_send_url: Url = _SMS.jasmin_send_url
    jasmin_username: str = _SMS.jasmin_username
    jasmin_password: OptionalSecret = _SMS.jasmin_password
    dlr_url: OptionalUrl = _SMS.dlr_url
    max_segments: Annotated[int, Field(ge=1, le=255)] = _SMS.max_segments
    mo_secret: OptionalSecret = _SMS.mo_secret

    @field_validator("sender_id")
    @classmethod
    def _sender_id(cls, value: str) -> str:
        # GSM 03.40: an alphanumeric originator is at most 11 characters, a number 15 digits.
        if not value.isdigit() and len(value) > 11:
            raise ValueError("an alphanumeric sender id is at most 11 characters")
        return value


class CodesSection(Section):
    """``[codes]``: the one-time code policy's configurable parts."""

    api_secret: OptionalSecret = _CODES.api_secret
    allowed_prefixes: Annotated[list[Digits], Field(min_length=1)] | None = None
    """Absent: the numbering plan's own ranges (``loading.py`` fills them in)."""
    global_per_hour: Annotated[int, Field(ge=1, le=1_000_000)] = _CODES.global_per_hour


class AccountSection(Section):
    """``[account]``: the operator's credential, web sessions, e-mail."""

    operator_secret: OptionalSecret = _ACCOUNT.operator_secret
    session_idle_seconds: Annotated[float, seconds(7 * 86400)] = _ACCOUNT.session_idle
    session_total_seconds: Annotated[float, Field(validate_default=True), seconds(7 * 86400)] = (
        _ACCOUNT.session_total
    )
    temporary_password_hours: Annotated[float, Field(gt=0, le=168, allow_inf_nan=False)] = (
        _ACCOUNT.temporary_password_ttl / 3600
    )
    smtp_host: Text = _ACCOUNT.smtp_host
    smtp_port: Port = _ACCOUNT.smtp_port
    smtp_sender: Text = _ACCOUNT.smtp_sender
    smtp_username: str = _ACCOUNT.smtp_username
    smtp_password: OptionalSecret = _ACCOUNT.smtp_password
    smtp_starttls: bool = _ACCOUNT.smtp_starttls
    smtp_tls: Annotated[bool, Field(validate_default=True)] = _ACCOUNT.smtp_tls
    portal_url: Url = _ACCOUNT.portal_url

    _total_not_below_idle = not_below("session_total_seconds", than="session_idle_seconds")

    @field_validator("smtp_tls")
    @classmethod
    def _one_kind_of_tls(cls, tls: bool, info: ValidationInfo) -> bool:
        if tls and info.data.get("smtp_starttls"):
            raise ValueError("implicit TLS and STARTTLS exclude each other: set one")
        return tls


class NumberingSection(Section):
    """``[numbering]``: the operator's numbering plan (``state/msisdn.py``)."""

    country_code: Digits = BELARUS.country_code
    trunk_prefixes: list[Digits] = list(BELARUS.trunk_prefixes)
    national_digits: int = BELARUS.national_digits
    operator_ranges: list[Digits] = list(BELARUS.operator_ranges)
    name: str = BELARUS.name
    """An adjective for refusals ("Belarusian"); empty: they name the country code."""

    @model_validator(mode="after")
    def _a_plan(self) -> NumberingSection:
        self.plan()  # its own checks: no range may read like a prefix, E.164's length
        return self

    def plan(self) -> NumberingPlan:
        """The plan these keys describe."""
        return NumberingPlan(
            country_code=self.country_code,
            trunk_prefixes=tuple(self.trunk_prefixes),
            national_digits=self.national_digits,
            operator_ranges=tuple(self.operator_ranges),
            name=self.name,
        )


def _backend_name(name: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", name):
        raise ValueError("a back-end's name is lower case letters, digits and _ (as menus name it)")
    return name


class OsmocomSection(Section):
    """``[osmocom]``: the gateway as an external USSD entity of OsmoHLR (GSUP)."""

    enabled: bool = _OSMOCOM.enabled
    hlr_host: Text = _OSMOCOM.hlr_host
    hlr_port: Port = _OSMOCOM.hlr_port
    ctrl_port: Port = _OSMOCOM.ctrl_port
    euse_name: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")] = (
        _OSMOCOM.euse_name
    )
    reconnect_min_seconds: Annotated[float, seconds(60)] = _OSMOCOM.reconnect_min
    reconnect_max_seconds: Annotated[float, Field(validate_default=True), seconds(600)] = (
        _OSMOCOM.reconnect_max
    )
    ping_seconds: Annotated[float, seconds(300)] = _OSMOCOM.ping_seconds
    max_ussd_octets: Annotated[int, Field(ge=32, le=160)] = _OSMOCOM.max_ussd_octets

    _max_not_below_min = not_below("reconnect_max_seconds", than="reconnect_min_seconds")


class Document(Section):
    """The whole file: every section optional, no other section allowed."""

    server: ServerSection = Field(default_factory=ServerSection)
    store: StoreSection = Field(default_factory=StoreSection)
    sessions: SessionsSection = Field(default_factory=SessionsSection)
    dialects: DialectsSection = Field(default_factory=DialectsSection)
    menus: MenusSection = Field(default_factory=MenusSection)
    log: LogSection = Field(default_factory=LogSection)
    metrics: MetricsSection = Field(default_factory=MetricsSection)
    sms: SmsSection = Field(default_factory=SmsSection)
    codes: CodesSection = Field(default_factory=CodesSection)
    account: AccountSection = Field(default_factory=AccountSection)
    numbering: NumberingSection = Field(default_factory=NumberingSection)
    backends: dict[Annotated[str, AfterValidator(_backend_name)], BackendSection] = {}
    osmocom: OsmocomSection = Field(default_factory=OsmocomSection)


def field_annotation(dotted: str) -> Any:
    """The declared type of ``section.key`` (how the environment's text is read)."""
    section, key = dotted.split(".")
    model = Document.model_fields[section].annotation
    assert isinstance(model, type) and issubclass(model, Section)
    return model.model_fields[key].annotation
