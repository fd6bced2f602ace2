"""Loading: the file, the environment over it, one check of both, then the settings.

Every problem is collected before anything is refused, so ``config check`` can print them
all; each names its key (``server.port``, ``[sever]``) and where the value came from: the
file, the variable (``USSD_GATEWAY_PORT``) or the default. No problem quotes a value that
could be a secret.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from ussd_gateway.config.building import settings_of
from ussd_gateway.config.environment import (
    BY_KEY,
    CONFIG_VARIABLE,
    ENVIRONMENT_ONLY,
    Variables,
    read_variables,
    suggestion,
)
from ussd_gateway.config.errors import ConfigError
from ussd_gateway.config.sections import BackendSection, Document
from ussd_gateway.config.settings import (
    Settings,
)


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
    settings = settings_of(document, plan, reading)
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
                if isinstance(value, dict):  # a table of tables: [backends.NAME]
                    for sub in value:
                        self.sources[f"{dotted}.{sub}"] = Source("file", str(self.path))
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
                item = "".join(f"[{i}]" for i in loc[2:] if i != "[key]")
                self.add(f"{loc[0]}.{loc[1]}", f"{item + ': ' if item else ''}{text}")

    def _unknown(self, loc: list[str]) -> None:
        sections = list(Document.model_fields)
        if len(loc) == 1:
            self.add_file(f"unknown section [{loc[0]}]{suggestion(loc[0], sections)}")
            return
        if loc[0] == "backends" and len(loc) == 3:  # a table of tables: [backends.NAME]
            keys = list(BackendSection.model_fields)
            self.add_file(f"unknown key backends.{loc[1]}.{loc[2]}{suggestion(loc[2], keys)}")
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
