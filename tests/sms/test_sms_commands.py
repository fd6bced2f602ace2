"""sms/commands.py and menus/sms.yaml: keywords in any case and layout, one-segment replies."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms.commands import (
    LANGUAGES,
    MAX_SECONDS,
    Action,
    Reply,
    SmsCommands,
    load_commands,
    parse_commands,
)
from sms.encoding import Encoding, measure
from sms.errors import CommandDefinitionError, SmsError

SHIPPED = Path(__file__).resolve().parents[2] / "menus" / "sms.yaml"


@pytest.fixture(scope="module")
def commands() -> SmsCommands:
    """The shipped command file."""
    return load_commands(SHIPPED)


@pytest.mark.parametrize(
    "text",
    [
        "КОД", "код", "Код", "KOD", "kod", "Kod", "CODE", "code",
        "RJL", "rjl",            # КОД typed on a Latin layout
        "ЛЩВ", "лщв",            # KOD typed on a Russian layout
        "СЩВУ",                  # CODE typed on a Russian layout
        "KOД", "КOД", "CОDE",    # look-alike letters of the other alphabet mixed in
        "  код  ", "код.", "КОД!", "код пожалуйста", "KOD\n",
    ],
)
def test_code_keywords(commands: SmsCommands, text: str) -> None:
    """КОД / KOD / CODE in any case, on either layout, with look-alikes: a login code."""
    assert commands.match(text) is Action.LOGIN_CODE


@pytest.mark.parametrize(
    "text",
    ["ПОМОЩЬ", "помощь", "HELP", "help", "GJVJOM", "РУДЗ", "", "   ", "\n", "привет",
     "КОДЫ", "кодекс", "123456", "пришлите код", "*141*0#", "K", "☃"],
)
def test_help_and_anything_unknown(commands: SmsCommands, text: str) -> None:
    """ПОМОЩЬ / HELP, an empty SMS and anything unknown: the help."""
    assert commands.match(text) is Action.HELP


@given(st.text(max_size=50))
def test_match_never_fails(text: str) -> None:
    """Any text at all picks an action."""
    assert load_commands(SHIPPED).match(text) in set(Action)


def test_help_mentions_both_ussd_codes(commands: SmsCommands) -> None:
    """The help tells where to set a password and to open or close access, in each language."""
    for lang in LANGUAGES:
        text = commands.reply(Reply.HELP, lang)
        assert "*141*0#" in text
        assert "*141*3*6#" in text


def test_every_reply_fits_one_segment(commands: SmsCommands) -> None:
    """Each reply, placeholders filled at their longest, is one SMS in each language."""
    for reply in Reply:
        for lang in LANGUAGES:
            text = commands.reply(reply, lang, code="999999", seconds=MAX_SECONDS)
            assert text.strip()
            size = measure(text)
            assert size.units <= {Encoding.GSM7: 160, Encoding.UCS2: 70}[size.encoding], text


def test_replies_per_language(commands: SmsCommands) -> None:
    """Russian is the default; English for English speakers; placeholders are filled."""
    ru = commands.reply(Reply.CODE, "ru", code="123456")
    assert "123456" in ru
    assert "Код" in ru
    assert commands.reply(Reply.CODE, None, code="123456") == ru
    assert commands.reply(Reply.CODE, "de", code="123456") == ru
    en = commands.reply(Reply.CODE, "en", code="123456")
    assert "123456" in en
    assert en.isascii()
    assert "42" in commands.reply(Reply.LIMITED, "ru", seconds=42)
    assert str(MAX_SECONDS) in commands.reply(Reply.LIMITED, "en", seconds=10**9)


# --- broken files ------------------------------------------------------------------------

VALID = """\
commands:
  login_code:
    keywords: [КОД, KOD]
  help:
    keywords: [HELP]
replies:
  help: {ru: "Помощь: *141*0#", en: "Help: *141*0#"}
  code: {ru: "Код {code}", en: "Code {code}"}
  limited: {ru: "Ждите {seconds} с", en: "Wait {seconds} s"}
  queued: {ru: "Отправлен", en: "Sent"}
  unavailable: {ru: "Недоступно", en: "Unavailable"}
"""


def problems(text: str) -> list[str]:
    """The problems parse_commands reports for ``text``."""
    with pytest.raises(CommandDefinitionError) as caught:
        parse_commands(textwrap.dedent(text), "sms.yaml")
    assert isinstance(caught.value, SmsError)
    return caught.value.problems


def test_valid_fixture_parses() -> None:
    """The minimal file the broken fixtures start from is itself valid."""
    commands = parse_commands(VALID)
    assert commands.match("ЛЩВ") is Action.LOGIN_CODE
    assert commands.match("no") is Action.HELP


def test_scalars_stay_strings() -> None:
    """A keyword like NO or ON is a word, not a YAML boolean."""
    text = VALID.replace("keywords: [HELP]", "keywords: [HELP, NO, on, 'yes']")
    commands = parse_commands(text)
    assert commands.keywords["NO"] is Action.HELP
    assert commands.keywords["ON"] is Action.HELP


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("commands: [\n", 2, "expected"),
        ("", 1, "empty"),
        ("- a\n", 1, "must be a mapping"),
        (VALID.replace("replies:", "replies:\n  extra: {ru: a, en: b}"), 7, "unknown key 'extra'"),
        (VALID.replace("  help:\n    keywords: [HELP]\n", ""), 2, "missing 'help'"),
        (VALID.replace("keywords: [HELP]", "keywords: []"), 5, "non-empty list"),
        (VALID.replace("keywords: [HELP]", "keywords: [КОД]"), 5, "listed twice"),
        (VALID.replace("keywords: [HELP]", "keywords: [RJL]"), 5, "mistaken for 'КОД'"),
        (VALID.replace("keywords: [HELP]", "keywords: [лщв]"), 5, "mistaken for 'KOD'"),
        (VALID.replace("keywords: [HELP]", "keywords: ['two words']"), 5, "one word"),
        (VALID.replace('en: "Code {code}"', 'en: "Code"'), 8, "must contain {code}"),
        (VALID.replace('en: "Code {code}"', 'en: "Code {code} {x}"'), 8, "unknown placeholder"),
        (VALID.replace('en: "Sent"', 'en: "Sent {code}"'), 10, "unknown placeholder"),
        (VALID.replace('en: "Code {code}"', 'en: "Code {code!r}"'), 8, "unknown placeholder"),
        (VALID.replace('en: "Code {code}"', 'en: "Code {code"'), 8, "bad braces"),
        (VALID.replace(', en: "Sent"', ""), 10, "missing 'en'"),
        (VALID.replace('en: "Sent"', 'de: "Gesendet"'), 10, "unknown key 'de'"),
        (VALID.replace('en: "Sent"', 'en: ""'), 10, "non-empty text"),
        (VALID.replace('en: "Sent"', "en: [a]"), 10, "non-empty text"),
        (VALID.replace('ru: "Отправлен"', "ru: " + "Ж" * 71), 10, "71 ucs2 units"),
        (VALID.replace('en: "Sent"', "en: " + "s" * 161), 10, "161 gsm7 units"),
        # {{}} is the text "{}": two GSM-7 extension characters, two septets each.
        (VALID.replace('en: "Sent"', 'en: "{{}}' + "s" * 157 + '"'), 10, "161 gsm7 units"),
        (VALID.replace('en: "Code {code}"', 'en: "' + "c" * 155 + '{code}"'), 8, "161 gsm7"),
        (VALID.replace("queued:", "code:"), 10, "duplicate key 'code'"),
    ],
)
def test_broken_files_report_the_line(text: str, line: int, fragment: str) -> None:
    """Each problem names the file and line where it is."""
    found = problems(text)
    assert any(p.startswith(f"sms.yaml:{line}:") and fragment in p for p in found), found


def test_every_problem_is_reported_at_once() -> None:
    """A file with several faults reports them all, not just the first."""
    text = VALID.replace('en: "Sent"', 'en: ""').replace("keywords: [HELP]", "keywords: []")
    assert len(problems(text)) == 2


def test_load_reports_unreadable_files(tmp_path: Path) -> None:
    """A missing or non-UTF-8 file is a definition error, not a crash."""
    with pytest.raises(CommandDefinitionError, match="cannot read"):
        load_commands(tmp_path / "missing.yaml")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("commands: {}\n# \xe9\n".encode("latin-1"))
    with pytest.raises(CommandDefinitionError, match="not UTF-8"):
        load_commands(latin)


def test_tags_are_refused() -> None:
    """Python (or any application) tags are refused, with the line."""
    found = problems(VALID.replace('en: "Sent"', 'en: !!python/name:os.system "Sent"'))
    assert any(p.startswith("sms.yaml:10:") and "not allowed" in p for p in found), found


def test_aliases_are_read_as_plain_data() -> None:
    """An anchor and its alias read as the same text (no expansion tricks)."""
    text = VALID.replace('ru: "Отправлен"', 'ru: &sent "Отправлен"').replace(
        'ru: "Недоступно"', "ru: *sent"
    )
    assert parse_commands(text).reply(Reply.UNAVAILABLE, "ru") == "Отправлен"
