"""Menus without holes: what configured paths mean, one code per file, shared texts that are
all there, placeholders the code fills, ``sms.yaml``, and each file parsed once."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from statemachine.factory import StateMachineMetaclass

from ussd_gateway.errors import MenuDefinitionError
from ussd_gateway.menus import source
from ussd_gateway.menus.check import (
    check_files,
    check_menus,
    default_menu_paths,
    run_check,
    shipped_common_path,
)
from ussd_gateway.menus.loader import load_catalog
from ussd_gateway.menus.messages import ENGINE_MESSAGES, NAVIGATION, PLACEHOLDERS, SHARED_TEXTS
from ussd_gateway.menus.model import Notice
from ussd_gateway.process.cli import main

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "menus"
FIXTURES = ROOT / "tests" / "fixtures" / "menus"


def _copy(src: Path, dst: Path, *replacements: tuple[str, str]) -> Path:
    text = src.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    dst.write_text(text, encoding="utf-8")
    return dst


def _line_of(path: Path, fragment: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if fragment in line)


# --- one service code, one file -------------------------------------------------------


@pytest.fixture
def hijack(tmp_path: Path) -> Path:
    """A copy of the access menu, renamed, in a directory of its own: it claims *141*3*6#."""
    folder = tmp_path / "extra"
    folder.mkdir()
    _copy(SHIPPED / "access.yaml", folder / "aa_dup.yaml", ("name: access", "name: aa_dup"))
    return folder / "aa_dup.yaml"


def test_two_files_claiming_one_code_is_an_error_naming_both(hijack: Path) -> None:
    """Today the first in name order won silently; now both files are named, with lines."""
    access = SHIPPED / "access.yaml"
    expected = (
        f"{hijack}:8: service code '*141*3*6#' is also claimed by {access}:8; "
        "a code belongs to one menu file"
    )
    checked = check_menus([access, hijack])
    assert [str(p) for p in checked.problems] == [expected]
    assert [str(p) for p in check_files([access, hijack])] == [expected]


def test_the_loader_refuses_two_files_claiming_one_code(hijack: Path) -> None:
    """At start-up too: the gateway does not start with a hijacked code."""
    with pytest.raises(MenuDefinitionError) as caught:
        load_catalog([SHIPPED, hijack.parent])
    assert caught.value.problems == [
        f"{hijack}:8: service code '*141*3*6#' is also claimed by {SHIPPED / 'access.yaml'}:8; "
        "a code belongs to one menu file"
    ]


def test_two_files_with_one_service_name_are_an_error(tmp_path: Path) -> None:
    """Sessions name their service; two menus of one name would share sessions."""
    copy = _copy(SHIPPED / "access.yaml", tmp_path / "other.yaml", ("*141*3*6#", "*141*3*7#"))
    problems = [str(p) for p in check_menus([SHIPPED / "access.yaml", copy]).problems]
    assert problems == [
        f"{copy}:12: service name 'access' is also used by {SHIPPED / 'access.yaml'}:12; "
        "a session names its service by it"
    ]


# --- configured paths and the shared texts ----------------------------------------------


def test_configured_directory_without_common_uses_the_shipped_texts(tmp_path: Path) -> None:
    """``[menus] paths = [a directory]`` without common.yaml starts, and every text the
    engine asks for is there (it answered every hop with HTTP 500: KeyError 'nav_more')."""
    folder = tmp_path / "menus"
    folder.mkdir()
    _copy(SHIPPED / "password.yaml", folder / "password.yaml")
    _copy(SHIPPED / "sms.yaml", folder / "sms.yaml")  # a directory's sms.yaml is no menu
    catalog = load_catalog([folder])
    assert list(catalog.menus) == ["password"]
    assert catalog.navigation("ru").more == "Далее"
    assert catalog.navigation("en").back == "Back"
    for key in SHARED_TEXTS:
        for lang in ("ru", "en"):
            assert catalog.message(None, key, lang)
    shared = check_menus([folder]).shared
    assert shared is not None and shared.file == str(shipped_common_path())


def test_files_and_directories_combine(tmp_path: Path) -> None:
    """An entry is a file or a directory; the shared texts come from the common.yaml
    among them."""
    folder = tmp_path / "mine"
    folder.mkdir()
    _copy(SHIPPED / "common.yaml", folder / "common.yaml", ('"Далее"', '"Ещё"'))
    catalog = load_catalog([folder, SHIPPED / "password.yaml"])
    assert list(catalog.menus) == ["password"]
    assert catalog.navigation("ru").more == "Ещё"


def test_a_missing_shared_text_is_a_start_up_error_naming_the_key(tmp_path: Path) -> None:
    """A configured common.yaml replaces the shipped one whole, so it must have them all."""
    folder = tmp_path / "menus"
    folder.mkdir()
    _copy(SHIPPED / "password.yaml", folder / "password.yaml")
    common = _copy(
        SHIPPED / "common.yaml",
        folder / "common.yaml",
        ('  nav_more:\n    ru: "Далее"\n    en: "More"\n', ""),
    )
    with pytest.raises(MenuDefinitionError) as caught:
        load_catalog([folder])
    assert caught.value.problems == [
        f"{common}:2: shared text 'nav_more' is missing: "
        "the label of 98, the next page of a long screen"
    ]


def test_every_key_the_engine_asks_for_is_a_shared_text() -> None:
    """The engine's message keys, read from its source, are all in messages.SHARED_TEXTS
    (and so required of common.yaml)."""
    engine = "\n".join(
        p.read_text(encoding="utf-8") for p in (ROOT / "ussd_gateway/hop").glob("*.py")
    )
    asked = set(re.findall(r"_end_text\([^,]+,\s*\"(\w+)\"", engine))
    asked |= set(re.findall(r"catalog\.message\([^,]+,\s*\"(\w+)\"", engine))
    asked |= set(re.findall(r"Notice\(\"(\w+)\"\)", engine))
    asked |= set(re.findall(r"or \"(\w+)\"\)", engine))  # Notice(spec.invalid or "…")
    assert asked >= {"session_expired", "invalid_choice"}  # the patterns still match
    assert asked <= set(ENGINE_MESSAGES)
    loader = (ROOT / "ussd_gateway/menus/loader.py").read_text(encoding="utf-8")
    assert set(re.findall(r"self\.message\(None, \"(\w+)\"", loader)) == set(NAVIGATION)


def test_every_notice_the_model_raises_is_in_the_table() -> None:
    """The model's literal notice keys, read from its source, are in messages.PLACEHOLDERS
    with the values it fills them with."""
    model = (ROOT / "ussd_gateway/menus/model.py").read_text(encoding="utf-8")
    raised = set(re.findall(r"Notice\(\"(\w+)\"", model)) | set(
        re.findall(r"_fail\(\"(\w+)\"\)", model)
    )
    assert raised == {"wrong_puk", "password_mismatch"}
    assert raised <= set(PLACEHOLDERS)
    assert (
        set(re.findall(r"Notice\(\"wrong_puk\", \{\"(\w+)\"", model)) == PLACEHOLDERS["wrong_puk"]
    )


def test_two_common_files_are_an_error(tmp_path: Path) -> None:
    """The shared texts come from one file."""
    folder = tmp_path / "more"
    folder.mkdir()
    second = _copy(SHIPPED / "common.yaml", folder / "common.yaml")
    problems = [str(p) for p in check_menus([SHIPPED, folder]).problems]
    assert problems == [
        f"{second}:1: a second common.yaml: the shared texts come from one file, "
        f"{SHIPPED / 'common.yaml'}"
    ]


def test_an_empty_directory_is_reported(tmp_path: Path) -> None:
    assert [str(p) for p in check_menus([tmp_path]).problems] == [
        f"{tmp_path}:1: the directory has no menu files (*.yaml)"
    ]


# --- placeholders -----------------------------------------------------------------------


def test_an_unknown_placeholder_in_a_notice_is_an_error_with_its_line(tmp_path: Path) -> None:
    """Subscribers saw "до {max}." literally: nothing fills {max} in that notice."""
    menu = _copy(
        SHIPPED / "password.yaml",
        tmp_path / "password.yaml",
        ('en: "The password is longer than 64 characters."', 'en: "At most {max} characters."'),
    )
    line = _line_of(menu, "{max}")
    assert [str(p) for p in check_menus([menu]).problems] == [
        f"{menu}:{line}: message 'password_too_long' (en) has unknown placeholder {{max}}; "
        "nothing fills it: the text is shown as written"
    ]


def test_a_notice_takes_only_its_own_values(tmp_path: Path) -> None:
    """``wrong_puk`` is filled with {attempts_left} and nothing else."""
    menu = _copy(
        SHIPPED / "access.yaml",
        tmp_path / "access.yaml",
        ("Осталось попыток: {attempts_left}.", "Осталось попыток: {attempts}."),
    )
    line = _line_of(menu, "{attempts}.")
    assert [str(p) for p in check_menus([menu]).problems] == [
        f"{menu}:{line}: message 'wrong_puk' (ru) has unknown placeholder {{attempts}}; "
        "it is filled with {attempts_left}"
    ]


def test_a_placeholder_in_a_screen_text_is_an_error(tmp_path: Path) -> None:
    """A screen's text shows only the session's values: a placeholder nothing in the file
    sets (a notice's value is no session value) would reach the handset as nothing."""
    menu = _copy(
        SHIPPED / "password.yaml",
        tmp_path / "password.yaml",
        ('en: "Repeat the new password:"', 'en: "Repeat it ({attempts_left} left):"'),
    )
    line = _line_of(menu, "{attempts_left}")
    assert [str(p) for p in check_menus([menu]).problems] == [
        f"{menu}:{line}: screen 'confirm_password' text (en) has unknown placeholder "
        "{attempts_left}; nothing in this file sets it (an input's save_as, an option's set, "
        "a call's save; always there: {lang}, {msisdn}, {refusal})"
    ]


def test_a_notice_an_action_raises_must_have_a_text(tmp_path: Path) -> None:
    """propose_password may raise password_common: without its text a hop would fail."""
    menu = _copy(
        SHIPPED / "password.yaml",
        tmp_path / "password.yaml",
        (
            '  password_common:\n    ru: "Слишком простой пароль."\n    en: "This password is too common."\n',
            "",
        ),
    )
    line = _line_of(menu, "on: propose_password")
    assert [str(p) for p in check_menus([menu]).problems] == [
        f"{menu}:{line}: action 'propose_password' shows message 'password_common', which "
        "neither this file's messages nor common.yaml has"
    ]


def test_notice_refuses_values_its_key_is_not_listed_with() -> None:
    """The table in messages.py is what the model may fill: the two cannot drift."""
    assert Notice("wrong_puk", {"attempts_left": 2}).values == {"attempts_left": 2}
    assert Notice("password_mismatch").values == {}
    with pytest.raises(ValueError, match="max"):
        Notice("password_too_long", {"max": 64})


def test_an_unknown_placeholder_in_sms_yaml_is_reported_with_its_line(tmp_path: Path) -> None:
    """``menus check`` reads sms.yaml by the SMS command loader's rules."""
    sms = _copy(
        SHIPPED / "sms.yaml",
        tmp_path / "sms.yaml",
        ("Повторите через {seconds} с.", "Повторите до {max}."),
    )
    line = _line_of(sms, "{max}")
    out = io.StringIO()
    assert run_check([sms], out) == 1
    assert out.getvalue() == (
        f"{sms}:{line}: reply 'limited' (ru): unknown placeholder {{max}} (allowed: {{seconds}})\n"
    )


# --- the command line reads the configuration ------------------------------------------


def _config(tmp_path: Path, *paths: Path) -> Path:
    listed = ", ".join(f'"{p}"' for p in paths)
    config = tmp_path / "gateway.toml"
    config.write_text(f"[menus]\npaths = [{listed}]\n", encoding="utf-8")
    return config


def _cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_menus_check_reads_the_configured_paths(tmp_path: Path, hijack: Path) -> None:
    """Without files, ``menus check`` checks what ``serve`` would load."""
    config = _config(tmp_path, SHIPPED, hijack.parent)
    code, out = _cli("--config", str(config), "menus", "check")
    assert code == 1
    assert out.splitlines() == [
        f"{hijack}:8: service code '*141*3*6#' is also claimed by {SHIPPED / 'access.yaml'}:8; "
        "a code belongs to one menu file"
    ]
    clean = _config(tmp_path, hijack.parent)
    assert _cli("--config", str(clean), "menus", "check") == (0, "ok: 2 files\n")  # + sms.yaml


def test_menus_diagram_uses_the_configuration_and_lists_names(
    tmp_path: Path, hijack: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown name lists the valid ones; a configured menu can be drawn."""
    assert _cli("menus", "diagram", "nope")[0] == 1
    assert "no menu named 'nope'; the menus are: access, password" in capsys.readouterr().err
    config = _config(tmp_path, hijack.parent)
    code, out = _cli("--config", str(config), "menus", "diagram", "aa_dup")
    assert code == 0 and out.startswith("stateDiagram-v2")
    assert _cli("--config", str(config), "menus", "diagram", "access")[0] == 1
    assert "the menus are: aa_dup" in capsys.readouterr().err


# --- each file parsed once, each machine built once --------------------------------------


def test_start_up_parses_each_file_once_and_builds_each_machine_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The checker hands the loader what it parsed and built (it read each file twice and
    built each machine twice)."""
    parsed: list[str] = []
    built: list[str] = []
    parse = source.parse_menu_text

    def counting_parse(text: str, file: str = "<menu>") -> source.MenuSource:
        parsed.append(Path(file).name)
        return parse(text, file)

    meta_init = StateMachineMetaclass.__init__

    def counting_init(cls: Any, name: str, *args: Any, **kwargs: Any) -> None:
        built.append(name)
        meta_init(cls, name, *args, **kwargs)

    monkeypatch.setattr(source, "parse_menu_text", counting_parse)
    monkeypatch.setattr(StateMachineMetaclass, "__init__", counting_init)
    catalog = load_catalog()
    assert sorted(parsed) == sorted(p.name for p in default_menu_paths())
    assert sorted(built) == sorted(catalog.menus) == ["access", "password"]
