"""The JSON Schema of a menu file, for editors: ``menus/menu.schema.json``.

It is generated from the checker's own tables (the keys each section takes, the languages,
the service code's form, the screen limits, the reserved option keys, the model's action
names), so the two cannot drift; ``tests/ussd_gateway/menus/test_schema.py`` requires the
published file to be this output, every shipped and good menu to pass it and every
fixture broken in its shape to fail it. The ``machine`` section is python-statemachine's
own statechart document (its ``statemachine/io/schemas/statechart.schema.json``) narrowed
to what a USSD menu may use: flat states, and actions named from ``callbacks.ACTIONS``.

The schema is a help while typing, not the judge: ``ussd-gateway menus check`` (and
start-up) checks everything it says and what no schema can (targets, reachability, texts
that fit a screen, placeholders, shared texts). Regenerate the file with
``python -m ussd_gateway.menus.check.schema > menus/menu.schema.json``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from sms.encoding import Encoding, ussd_limit

from ..callbacks import ACTIONS
from ..calls import FIELD_PATH, METHODS, OnFailure
from .context import LANGUAGES
from .screens import _INPUT_KEYS, _OPTION_KEYS, _RESERVED_KEYS, _SCREEN_KEYS
from .structure import _CODE, _COMMON_FILE_KEYS, _SERVICE_FILE_KEYS, _SERVICE_KEYS
from .values import _CALL_KEYS, NAME

SCHEMA_FILE = "menu.schema.json"

_STRING = {"type": "string"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/definitions/{name}"}


def _object(
    properties: dict[str, Any], keys: frozenset[str], required: tuple[str, ...] = ()
) -> dict[str, Any]:
    # Every key the checker knows, and no other (``check_keys``).
    assert set(properties) == set(keys), sorted(set(properties) ^ set(keys))
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {key: properties[key] for key in sorted(properties)},
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return schema


def menu_schema() -> dict[str, Any]:
    """The schema of a service file or of ``common.yaml``."""
    texts = {
        "type": "object",
        "description": "One text per language.",
        "properties": {lang: _STRING for lang in LANGUAGES},
        "required": list(LANGUAGES),
        "additionalProperties": False,
    }
    limits = {
        encoding.value: {"type": "integer", "minimum": 1, "maximum": ussd_limit(encoding)}
        for encoding in Encoding
    }
    service = _object(
        {
            "code": {"type": "string", "pattern": f"^{_CODE.pattern}$"},
            "title": _ref("texts"),
            "limit": _object(limits, frozenset(limits)),
        },
        _SERVICE_KEYS,
        ("code", "title"),
    )
    action = {
        "type": "string",
        "description": "An action of callbacks.ACTIONS, or a call of the file's calls section.",
        "anyOf": [{"enum": sorted(ACTIONS)}, {"pattern": f"^{NAME.pattern}$"}],
    }
    actions = {"oneOf": [_ref("action"), {"type": "array", "items": _ref("action")}]}
    guard = {
        "description": "Guard names (ussd_gateway/menus/callbacks.py, or the file's guards) "
        "joined by and/or/not.",
        "oneOf": [_STRING, {"type": "array", "items": _STRING}],
    }
    flag = {
        "oneOf": [
            {"type": "boolean"},
            {"type": "string", "enum": ["true", "false", "yes", "no", "on", "off"]},
        ]
    }
    transition = {
        "type": "object",
        "properties": {
            "event": _STRING,
            "target": _STRING,
            "cond": _ref("guard"),
            "unless": _ref("guard"),
            "internal": _ref("flag"),
            "on": _ref("actions"),
            "before": _ref("actions"),
            "after": _ref("actions"),
        },
        "additionalProperties": False,
    }
    state = {
        "type": "object",
        "properties": {
            "initial": _ref("flag"),
            "final": _ref("flag"),
            "enter": _ref("actions"),
            "exit": _ref("actions"),
            "transitions": {"type": "array", "items": _ref("transition")},
        },
        "additionalProperties": False,
    }
    machine = {
        "type": "object",
        "description": "A python-statemachine statechart with flat states.",
        "properties": {
            "name": _STRING,
            "description": _STRING,
            "states": {"type": "object", "minProperties": 1, "additionalProperties": _ref("state")},
        },
        "required": ["states"],
        "additionalProperties": False,
    }
    option = _object(
        {
            "key": {
                "type": "string",
                "pattern": "^[0-9]{1,2}$",
                "not": {"enum": sorted(_RESERVED_KEYS)},
            },
            "event": _STRING,
            "label": _ref("texts"),
            "set": {
                "type": "object",
                "description": "Values saved when the option is chosen.",
                "propertyNames": {"pattern": f"^{NAME.pattern}$"},
                "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
            },
        },
        _OPTION_KEYS,
        ("key", "event", "label"),
    )
    input_spec = _object(
        {
            "event": _STRING,
            "secret": {"type": "boolean"},
            "pattern": {"type": "string", "format": "regex"},
            "max_length": {"type": "integer", "minimum": 1},
            "invalid": {"type": "string", "description": "A key under messages:"},
            "save_as": {
                "type": "string",
                "pattern": f"^{NAME.pattern}$",
                "description": "Save the accepted input under this name (never a secret).",
            },
        },
        _INPUT_KEYS,
        ("event",),
    )
    screen = _object(
        {
            "text": _ref("texts"),
            "options": {"type": "array", "minItems": 1, "items": _ref("option")},
            "input": _ref("input"),
        },
        _SCREEN_KEYS,
        ("text",),
    )
    screen["not"] = {"required": ["options", "input"]}
    messages = {"type": "object", "additionalProperties": _ref("texts")}
    call = _object(
        {
            "backend": {"type": "string", "description": "A [backends.NAME] of the gateway."},
            "method": {"type": "string", "enum": list(METHODS)},
            "path": {"type": "string", "pattern": "^/[^/]"},
            "body": {"type": "object"},
            "save": {
                "type": "object",
                "propertyNames": {"pattern": f"^{NAME.pattern}$"},
                "additionalProperties": {"type": "string", "pattern": f"^{FIELD_PATH.pattern}$"},
            },
            "on_failure": {"type": "string", "enum": list(OnFailure)},
        },
        _CALL_KEYS,
        ("backend", "path"),
    )
    service_file = _object(
        {
            "service": _ref("service"),
            "machine": _ref("machine"),
            "screens": {"type": "object", "additionalProperties": _ref("screen")},
            "messages": _ref("messages"),
            "guards": {
                "type": "object",
                "description": "Named guard expressions (the guard language).",
                "propertyNames": {"pattern": f"^{NAME.pattern}$"},
                "additionalProperties": _STRING,
            },
            "calls": {
                "type": "object",
                "propertyNames": {"pattern": f"^{NAME.pattern}$"},
                "additionalProperties": _ref("call"),
            },
        },
        _SERVICE_FILE_KEYS,
        ("service", "machine"),
    )
    common_file = _object({"messages": _ref("messages")}, _COMMON_FILE_KEYS, ("messages",))
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "USSD gateway menu file",
        "description": (
            "A service menu (service, machine, screens, messages) or the shared common.yaml "
            "(messages). Generated by ussd_gateway/menus/check/schema.py; "
            "`ussd-gateway menus check` has the last word."
        ),
        "oneOf": [_ref("serviceFile"), _ref("commonFile")],
        "definitions": {
            "serviceFile": service_file,
            "commonFile": common_file,
            "service": service,
            "machine": machine,
            "state": state,
            "transition": transition,
            "flag": flag,
            "guard": guard,
            "action": action,
            "actions": actions,
            "screen": screen,
            "option": option,
            "input": input_spec,
            "messages": messages,
            "texts": texts,
            "call": call,
        },
    }


def schema_text() -> str:
    """The published file's text."""
    return json.dumps(menu_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(schema_text())
