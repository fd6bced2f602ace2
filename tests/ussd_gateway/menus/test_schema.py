"""The published menu schema (``menus/menu.schema.json``): generated from the checker, passed
by every good menu, failed by every fixture broken in its shape."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest
from jsonschema.exceptions import best_match

from ussd_gateway.menus.check import default_menu_paths
from ussd_gateway.menus.check.schema import SCHEMA_FILE, menu_schema, schema_text
from ussd_gateway.menus.source import MenuSource, parse_menu_text, read_menu_file

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "menus"
ROOT = Path(__file__).resolve().parents[3]
GOOD = [
    *default_menu_paths(),
    *sorted((FIXTURES / "good").glob("*.yaml")),
    *sorted((FIXTURES / "paginated").glob("*.yaml")),
    *sorted((ROOT / "menus" / "examples").glob("*.yaml")),
]
SHAPE_BROKEN = [
    "bad_code.yaml",
    "bad_target.yaml",
    "common/common.yaml",
    "input_fields.yaml",
    "languages.yaml",
    "limit.yaml",
    "missing_code.yaml",
    "missing_parts.yaml",
    "missing_screens.yaml",
    "not_a_mapping.yaml",
    "option_keys.yaml",
    "unknown_action.yaml",
    "unknown_keys.yaml",
]
"""Fixtures broken in a way a schema can say (the others need the checker: targets,
reachability, lengths, placeholders)."""

VALIDATOR = jsonschema.Draft7Validator(menu_schema(), format_checker=jsonschema.FormatChecker())


def _schema_problems(menu: MenuSource) -> list[str]:
    """Schema errors as ``file:line: message``, the line found from the error's path (the
    most relevant error under the file's ``oneOf``)."""
    errors = [best_match([error]) for error in VALIDATOR.iter_errors(menu.data)]
    return [f"{menu.file}:{menu.line_of(*e.absolute_path)}: {e.message}" for e in errors]


def test_the_published_schema_is_the_generated_one() -> None:
    """``python -m ussd_gateway.menus.check.schema > menus/menu.schema.json`` is up to date,
    and the file is shipped with the package."""
    published = files("menus") / SCHEMA_FILE
    assert published.read_text(encoding="utf-8") == schema_text()
    jsonschema.Draft7Validator.check_schema(json.loads(schema_text()))


@pytest.mark.parametrize("path", GOOD, ids=[f"{p.parent.name}/{p.name}" for p in GOOD])
def test_good_menus_pass_the_schema(path: Path) -> None:
    assert _schema_problems(read_menu_file(path)) == []


@pytest.mark.parametrize("name", SHAPE_BROKEN)
def test_fixtures_broken_in_shape_fail_the_schema(name: str) -> None:
    menu = read_menu_file(FIXTURES / "broken" / name)
    error = best_match(VALIDATOR.iter_errors(menu.data))
    assert error is not None, f"{name} passes the schema"


def test_schema_errors_map_to_lines() -> None:
    """An error's path in the document is a line in the file, as the checker reports."""
    text = (FIXTURES / "good" / "minimal.yaml").read_text(encoding="utf-8")
    menu = parse_menu_text(text.replace('code: "*100*1#"', 'code: "*100*1"'), "minimal.yaml")
    [problem] = _schema_problems(menu)
    assert problem.startswith("minimal.yaml:4: '*100*1' does not match ")


def test_machines_also_pass_the_librarys_own_schema() -> None:
    """The machine section stays a python-statemachine document: the library's published
    statechart schema accepts every good menu's machine."""
    library = json.loads(
        (files("statemachine.io") / "schemas" / "statechart.schema.json").read_text("utf-8")
    )
    validator = jsonschema.Draft202012Validator(library)
    for path in GOOD:
        data = read_menu_file(path).data
        if "machine" in data:
            errors = [e.message for e in validator.iter_errors(data["machine"])]
            assert errors == [], path
