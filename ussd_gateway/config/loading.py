"""Loading: the file, the environment over it, one check of both, then the settings.

Every problem is collected before anything is refused, so ``config check`` can print them
all; each names its key (``server.port``, ``[sever]``) and where the value came from: the
file, the variable (``USSD_GATEWAY_PORT``) or the default. No problem quotes a value that
could be a secret.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from state.msisdn import NumberingPlan
from ussd_gateway.config.environment import (
    BY_KEY,
    CONFIG_VARIABLE,
    ENVIRONMENT_ONLY,
    Variables,
    read_variables,
    suggestion,
)
from ussd_gateway.config.errors import ConfigError
from ussd_gateway.config.sections import Document, Section
from ussd_gateway.config.settings import (
    DIALECT_NAMES,
    AccountSettings,
    CodeSettings,
    OsmocomSettings,
    Settings,
    SmsSettings,
)

_DEFAULT = Settings()


@dataclass(frozen=True)
class Source:
    """Where a value came from."""

    kind: Literal["file", "environment", "default"]
    name: str = ""
    """The file's path, the variable's name, or what a default follows."""

    def __str__(self) -> str:
        if self.kind == "default":
            return f"default ({self.name})" if self.name else "default"
        return f"{self.kind} {self.name}"


DEFAULT = Source("default")


@dataclass(frozen=True)
class Loaded:
    """The checked configuration: the document as written, where each value came from, and
    the settings made of it."""

    file: Path | None
    document: Document
    sources: Mapping[str, Source]
    """``section.key`` → its source; a key absent here has its default."""
    settings: Settings
    ignored: tuple[str, ...]
    """``USSD_GATEWAY_*`` variables that are no setting."""

    def source(self, key: str) -> Source:
        """Where ``section.key`` came from."""
        return self.sources.get(key, DEFAULT)


def load(file: Path | None = None, environ: Mapping[str, str] | None = None) -> Loaded:
    """Read ``file`` (or ``$USSD_GATEWAY_CONFIG``), apply ``environ``, check, build.

    Raises:
        ConfigError: with every problem found, one line each.
    """
    env = dict(environ or {})
    path = file or (Path(env[CONFIG_VARIABLE]) if env.get(CONFIG_VARIABLE) else None)
    reading = _Reading(path)
    doc = reading.file(_read(path) if path is not None else {})
    variables = read_variables(env)
    reading.environment(variables, doc)
    try:
        document = Document.model_validate(doc)
    except ValidationError as refused:
        reading.add_validation(refused)
        raise ConfigError(*reading.problems) from None
    reading.raise_any()
    plan = document.numbering.plan()
    if document.codes.allowed_prefixes is None:
        codes = document.codes.model_copy(update={"allowed_prefixes": list(plan.own_prefixes)})
        document = document.model_copy(update={"codes": codes})
        reading.sources["codes.allowed_prefixes"] = Source("default", "the numbering plan")
    settings = _settings(document, plan, reading)
    reading.raise_any()
    return Loaded(path, document, dict(reading.sources), settings, variables.ignored)


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None


class _Reading:
    """One load: where each value came from, and the problems found so far, each said with
    its key's source."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.sources: dict[str, Source] = {}
        self.problems: list[str] = []

    def file(self, raw: dict[str, Any]) -> dict[str, Any]:
        """The file's tables as the document to check (keys only the environment sets out)."""
        doc: dict[str, Any] = {}
        for section, table in raw.items():
            self.sources[section] = Source("file", str(self.path))
            if not isinstance(table, dict):
                doc[section] = table  # the schema says it must be a table
                continue
            doc[section] = {}
            for key, value in table.items():
                dotted = f"{section}.{key}"
                if dotted in ENVIRONMENT_ONLY:
                    hint = "; a file names store.pepper_file" if key == "puk_pepper" else ""
                    self.add_file(f"{dotted} is read from {BY_KEY[dotted]} only{hint}")
                    continue
                doc[section][key] = value
                self.sources[dotted] = Source("file", str(self.path))
        return doc

    def environment(self, variables: Variables, doc: dict[str, Any]) -> None:
        """The variables' values over the file's."""
        self.problems.extend(variables.problems)
        for dotted, value in variables.values.items():
            section, key = dotted.split(".")
            table = doc.setdefault(section, {})
            if isinstance(table, dict):
                table[key] = value
                self.sources[dotted] = Source("environment", BY_KEY[dotted])

    def add_file(self, text: str) -> None:
        self.problems.append(f"{self.path}: {text}")

    def add(self, key: str, text: str) -> None:
        """A refused value of ``key``, said with where it came from."""
        source = self.sources.get(key, DEFAULT)
        if source.kind == "file":
            self.problems.append(f"{source.name}: invalid setting {key}: {text}")
        elif source.kind == "environment":
            self.problems.append(f"invalid setting {source.name} ({key}): {text}")
        else:  # a default that a value set beside it contradicts (a default is no secret)
            section, name = key.split(".")
            model = Document.model_fields[section].annotation
            default = model.model_fields[name].default if isinstance(model, type) else None
            self.problems.append(
                f"{self._where(section)}: invalid setting {key} (its default, {default!r}): {text}"
            )

    def _where(self, section: str) -> str:
        """The file and variables that set keys of ``section``."""
        names = {
            s.name for k, s in self.sources.items() if k == section or k.startswith(section + ".")
        }
        return ", ".join(sorted(names)) if names else "the defaults"

    def add_validation(self, refused: ValidationError) -> None:
        # Only loc, type and msg are read: an error's "input" may be a secret.
        for error in refused.errors(include_url=False, include_input=False):
            loc = [str(part) for part in error["loc"]]
            text = _message(error["msg"])
            if error["type"] == "extra_forbidden":
                self._unknown(loc)
            elif len(loc) == 1:
                self._section(loc[0], error["type"], text)
            else:
                item = "".join(f"[{i}]" for i in loc[2:])
                self.add(f"{loc[0]}.{loc[1]}", f"{item + ': ' if item else ''}{text}")

    def _unknown(self, loc: list[str]) -> None:
        sections = list(Document.model_fields)
        if len(loc) == 1:
            self.add_file(f"unknown section [{loc[0]}]{suggestion(loc[0], sections)}")
            return
        model = Document.model_fields[loc[0]].annotation
        keys = list(model.model_fields) if isinstance(model, type) else []
        self.add_file(f"unknown key {loc[0]}.{loc[1]}{suggestion(loc[1], keys)}")

    def _section(self, section: str, kind: str, text: str) -> None:
        if kind in ("model_type", "model_attributes_type", "dict_type"):
            text = "must be a table"
        self.problems.append(f"{self._where(section)}: invalid section [{section}]: {text}")

    def raise_any(self) -> None:
        if self.problems:
            raise ConfigError(*self.problems)


def _message(msg: str) -> str:
    """pydantic's message, as the rest of a sentence."""
    msg = msg.removeprefix("Value error, ")
    return msg[:1].lower() + msg[1:] if msg[1:2].islower() else msg


def _settings(doc: Document, plan: NumberingPlan, reading: _Reading) -> Settings:
    """The settings the code reads, from a checked document."""
    store = doc.store
    location = store.database
    if store.password_file is not None:
        try:
            password = Path(store.password_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reading.add(
                "store.password_file",
                f"cannot read {store.password_file}: {exc.__class__.__name__}",
            )
        else:
            if location.is_postgres:
                location = replace(location, password=password)
            else:
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


def _fields(section: Section) -> dict[str, Any]:
    """A section's values by key, as they are (secrets stay ``Secret``)."""
    return {name: getattr(section, name) for name in type(section).model_fields}
