"""The menu checker: every broken fixture reports exactly its expected problems."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from ussd_gateway.menus.check import (
    Problem,
    check_files,
    check_source,
    default_menu_paths,
    mermaid,
    run_check,
)
from ussd_gateway.menus.source import parse_menu_text

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "menus"
BROKEN = sorted((FIXTURES / "broken").rglob("*.yaml"))
GOOD = sorted((FIXTURES / "good").glob("*.yaml"))
_EXPECT = re.compile(r"# expect: (\d+): (.+)")


def _expectations(path: Path) -> list[tuple[int, str]]:
    """The ``# expect: <line>: <substring>`` header of a fixture."""
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _EXPECT.fullmatch(line.rstrip())
        if match:
            found.append((int(match.group(1)), match.group(2)))
    return found


def _unmatched(
    expected: list[tuple[int, str]], problems: list[Problem]
) -> tuple[list[tuple[int, str]], list[Problem]]:
    """Expectations no problem meets, and problems no expectation explains."""
    missing = [
        (line, text)
        for line, text in expected
        if not any(p.line == line and text in p.message for p in problems)
    ]
    unexpected = [
        p
        for p in problems
        if not any(p.line == line and text in p.message for line, text in expected)
    ]
    return missing, unexpected


def test_fixtures_exist() -> None:
    """There is a broken fixture per problem class and each declares what it expects."""
    assert len(BROKEN) >= 12
    for path in BROKEN:
        assert _expectations(path), f"{path.name} has no '# expect:' lines"


@pytest.mark.parametrize(
    "path", BROKEN, ids=[str(p.relative_to(FIXTURES / "broken")) for p in BROKEN]
)
def test_broken_fixture(path: Path) -> None:
    """A broken fixture reports each expected problem at its line, and nothing else (with
    one back-end, ``billing``, configured: a call may name it)."""
    problems = check_files([path], backends=frozenset({"billing"}))
    missing, unexpected = _unmatched(_expectations(path), problems)
    assert not missing, f"not reported: {missing}; reported: {[str(p) for p in problems]}"
    assert not unexpected, f"unexpected: {[str(p) for p in unexpected]}"
    assert all(p.file == str(path) for p in problems)


def test_good_fixture_is_clean() -> None:
    """The minimal valid service and its common.yaml have no problems."""
    assert check_files(GOOD) == []


def test_common_beside_the_file_supplies_messages() -> None:
    """Without its sibling common.yaml the good service misses the shared message."""
    service = FIXTURES / "good" / "minimal.yaml"
    source = parse_menu_text(service.read_text(encoding="utf-8"), "minimal.yaml")
    problems = check_source(source)
    assert [p.message for p in problems] == [
        "input.invalid names message 'bad_input', which does not exist"
    ]
    assert check_files([service]) == []


def test_shipped_menus_are_clean() -> None:
    """The menus shipped in the package pass every check."""
    paths = default_menu_paths()
    assert {p.name for p in paths} >= {"access.yaml", "password.yaml", "common.yaml"}
    assert [str(p) for p in check_files(paths)] == []


def test_run_check_clean_output_and_exit_code() -> None:
    """Clean files print ``ok: N files`` and return 0."""
    out = io.StringIO()
    assert run_check([str(p) for p in GOOD], out) == 0
    assert out.getvalue() == f"ok: {len(GOOD)} files\n"


def test_run_check_problem_output_and_exit_code() -> None:
    """Problems print one ``file:line: message`` per line and return 1."""
    path = FIXTURES / "broken" / "unreachable.yaml"
    out = io.StringIO()
    assert run_check([str(path)], out) == 1
    lines = out.getvalue().splitlines()
    assert lines == [
        f"{path}:12: state 'island' is unreachable from the initial state 'menu'",
        f"{path}:15: state 'lost' is unreachable from the initial state 'menu'",
    ]


def test_run_check_defaults_to_shipped_menus(monkeypatch: pytest.MonkeyPatch) -> None:
    """No paths means the package's menus."""
    monkeypatch.setattr(
        "ussd_gateway.menus.check.default_menu_paths", lambda: [GOOD[0].parent / "minimal.yaml"]
    )
    out = io.StringIO()
    assert run_check([], out) == 0
    assert out.getvalue() == "ok: 1 files\n"


def test_problems_are_sorted_by_line() -> None:
    """check_source returns problems in line order."""
    path = FIXTURES / "broken" / "missing_screens.yaml"
    source = parse_menu_text(path.read_text(encoding="utf-8"), str(path))
    lines = [p.line for p in check_source(source)]
    assert lines == sorted(lines)


def test_problem_str() -> None:
    """A problem prints as ``file:line: message``."""
    assert str(Problem("menus/a.yaml", 7, "boom")) == "menus/a.yaml:7: boom"


def test_mermaid_draws_the_machine() -> None:
    """The Mermaid diagram names the diagram type and every state id."""
    path = FIXTURES / "good" / "minimal.yaml"
    diagram = mermaid(path)
    assert "stateDiagram-v2" in diagram
    for state in ("start", "menu", "ask_puk", "closed", "done"):
        assert re.search(rf"\b{state}\b", diagram), state


def test_yaml_syntax_error_is_reported_with_its_line(tmp_path: Path) -> None:
    """Invalid YAML becomes a Problem at the faulty line instead of an exception."""
    path = tmp_path / "bad.yaml"
    path.write_text('service:\n  code: "*1#"\n  title: [ru\nmachine: {}\n', encoding="utf-8")
    problems = check_files([path])
    assert len(problems) == 1
    assert problems[0].file == str(path)
    assert problems[0].line == 4


def test_broken_sibling_common_is_reported_once(tmp_path: Path) -> None:
    """A broken common.yaml beside checked files is reported even if not listed."""
    good = (FIXTURES / "good" / "minimal.yaml").read_text(encoding="utf-8")
    (tmp_path / "a.yaml").write_text(good, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(good, encoding="utf-8")
    (tmp_path / "common.yaml").write_text("messages: [\n", encoding="utf-8")
    problems = check_files([tmp_path / "a.yaml", tmp_path / "b.yaml"])
    common = [p for p in problems if p.file.endswith("common.yaml")]
    assert len(common) == 1
