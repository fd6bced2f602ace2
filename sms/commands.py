"""SMS commands: the first word of an MO picks one; the replies are texts per language.

The command file (``menus/sms.yaml``) lists each command's keywords and every reply in
each language. A keyword matches whatever the case and even when typed on the wrong
keyboard layout (ЙЦУКЕН ↔ QWERTY: ``RJL`` is КОД, ``ЛЩВ`` is KOD) or with look-alike
letters of the other alphabet (a Latin ``O`` inside ``КОД``). Anything unknown, and an
empty SMS, is help. Every reply must fit one SMS segment (GSM-7 160, UCS-2 70) with its
placeholders filled at their longest; that and everything else is checked at load and
reported as ``file:line: problem``.

File layout::

    commands:
      login_code: {keywords: [КОД, KOD, CODE]}
      help: {keywords: [ПОМОЩЬ, HELP]}
    replies:
      help: {ru: "…", en: "…"}
      code: {ru: "… {code} …", en: "… {code} …"}
      limited: {ru: "… {seconds} …", en: "…"}
      queued: {ru: "…", en: "…"}
      unavailable: {ru: "…", en: "…"}

Scalars are read as written (``NO`` stays the string ``NO``, never a boolean).

Over 300 lines: the command file's loader with its checks (every text measured against
the one-segment limit, in both languages) and the rendering of the replies.
"""

from __future__ import annotations

import enum
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import yaml

from sms.encoding import Encoding, measure
from sms.errors import CommandDefinitionError

LANGUAGES = ("ru", "en")
"""Languages every reply must have."""
DEFAULT_LANGUAGE = "ru"
"""The language of a sender who is not a subscriber (or whose language has no texts)."""
SEGMENT_UNITS = {Encoding.GSM7: 160, Encoding.UCS2: 70}
"""Units of one unconcatenated SMS."""
MAX_SECONDS = 99_999
"""The longest wait a reply states; ``{seconds}`` is measured at this width."""
MAX_KEYWORD = 32


class Action(enum.StrEnum):
    """What an MO asks for."""

    LOGIN_CODE = "login_code"
    HELP = "help"


class Reply(enum.StrEnum):
    """The texts an MO may get back."""

    HELP = "help"
    CODE = "code"
    """Carries ``{code}``."""
    LIMITED = "limited"
    """A code was sent too recently; may carry ``{seconds}``."""
    QUEUED = "queued"
    """The code went out in an SMS of its own."""
    UNAVAILABLE = "unavailable"
    """Storage or the code service failed; try later."""


PLACEHOLDERS: Mapping[Reply, frozenset[str]] = {
    Reply.CODE: frozenset({"code"}),
    Reply.LIMITED: frozenset({"seconds"}),
}
"""The ``{name}`` placeholders each reply is filled with (``SmsCommands.reply``); any other
placeholder in a reply is a load error with its line. A reply not listed takes none."""
_REQUIRED = {Reply.CODE: frozenset({"code"})}
_LONGEST = {"code": "0" * 6, "seconds": str(MAX_SECONDS)}

# The same keys on the two layouts, unshifted then shifted (Shift+[ types Х on ЙЦУКЕН).
_QWERTY = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`QWERTYUIOP{}ASDFGHJKL:\"ZXCVBNM<>~"
_JCUKEN = "йцукенгшщзхъфывапролджэячсмитьбюёЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮЁ"
_TO_CYRILLIC = str.maketrans(_QWERTY, _JCUKEN)
_TO_LATIN = str.maketrans(_JCUKEN[33:], _QWERTY[:33].upper())
# Letters that look alike in the two alphabets (upper case, as matching folds to it).
_LOOK_LATIN, _LOOK_CYRILLIC = "ABCEHKMOPTXY", "АВСЕНКМОРТХУ"
_LOOKS_CYRILLIC = str.maketrans(_LOOK_LATIN, _LOOK_CYRILLIC)
_LOOKS_LATIN = str.maketrans(_LOOK_CYRILLIC, _LOOK_LATIN)
_YAML_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = frozenset({"str", "int", "float", "bool", "null", "map", "seq", "timestamp"})
_PUNCTUATION = ".,!?;:\"'()«»-"


def fold(word: str) -> str:
    """The form keywords are compared in: upper case, Ё as Е."""
    return word.upper().replace("Ё", "Е")


def variants(word: str) -> Iterator[str]:
    """``word`` folded, then as if typed on the other layout, then with look-alikes swapped."""
    folded = fold(word)
    yield folded
    yield fold(folded.translate(_TO_CYRILLIC))
    yield folded.translate(_TO_LATIN)
    yield folded.translate(_LOOKS_CYRILLIC)
    yield folded.translate(_LOOKS_LATIN)


@dataclass(frozen=True, slots=True)
class SmsCommands:
    """Keywords to actions, and every reply in every language."""

    keywords: Mapping[str, Action]
    """Folded keyword → its action."""
    replies: Mapping[Reply, Mapping[str, str]]
    """Reply → language → text (a ``str.format`` template)."""

    def match(self, text: str) -> Action:
        """The action of an MO text: its first word as a keyword, else help."""
        words = text.split(maxsplit=1)
        if not words:
            return Action.HELP
        first = words[0]
        for word in dict.fromkeys((first, first.strip(_PUNCTUATION))):
            for form in variants(word):
                action = self.keywords.get(form)
                if action is not None:
                    return action
        return Action.HELP

    def language(self, lang: str | None) -> str:
        """``lang`` if the replies have texts in it, else the default language."""
        return lang if lang in LANGUAGES else DEFAULT_LANGUAGE

    def reply(self, reply: Reply, lang: str | None, *, code: str = "", seconds: int = 0) -> str:
        """The text of ``reply`` in ``lang`` (or the default) with its placeholders filled."""
        template = self.replies[reply][self.language(lang)]
        return template.format(code=code, seconds=max(0, min(int(seconds), MAX_SECONDS)))


def load_commands(path: Path) -> SmsCommands:
    """Read and check the command file.

    Raises:
        CommandDefinitionError: the file cannot be read or is invalid (every problem, with
            its line).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CommandDefinitionError([f"{path}:1: not UTF-8: {exc.reason}"]) from exc
    except OSError as exc:
        raise CommandDefinitionError([f"{path}:1: cannot read the file: {exc.strerror}"]) from exc
    return parse_commands(text, str(path))


def parse_commands(text: str, file: str = "<sms commands>") -> SmsCommands:
    """Parse and check command YAML text (see the module docstring for the layout).

    Raises:
        CommandDefinitionError: the text is not YAML or not a valid command file.
    """
    commands, problems = _check_text(text)
    if problems or commands is None:
        raise CommandDefinitionError([f"{file}:{line}: {message}" for line, message in problems])
    return commands


def check_commands(text: str) -> list[tuple[int, str]]:
    """Every problem of command YAML text as ``(line, message)``; none when it loads.

    What ``parse_commands`` refuses, for a checker that reports many files at once
    (``ussd-gateway menus check``).
    """
    return _check_text(text)[1]


def _check_text(text: str) -> tuple[SmsCommands | None, list[tuple[int, str]]]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        return None, [(line, str(exc.problem or exc))]
    except yaml.YAMLError as exc:
        return None, [(1, str(exc))]
    checker = _Checker()
    commands = checker.check(root)
    return commands, checker.problems


# --- checking -------------------------------------------------------------------------


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


class _Checker:
    """Walks the composed YAML nodes, collecting ``(line, problem)`` pairs."""

    def __init__(self) -> None:
        self.problems: list[tuple[int, str]] = []

    def add(self, line: int, message: str) -> None:
        self.problems.append((line, message))

    def check(self, root: yaml.Node | None) -> SmsCommands | None:
        if root is None:
            self.add(1, "the file is empty: expected 'commands' and 'replies'")
            return None
        self.tags(root, set())
        top = self.mapping(root, "the file", {"commands", "replies"})
        if top is None:
            return None
        keywords = self.commands(top["commands"]) if "commands" in top else {}
        replies = self.replies(top["replies"]) if "replies" in top else {}
        return SmsCommands(keywords, replies)

    def tags(self, node: yaml.Node, seen: set[int]) -> None:
        """Only YAML's plain data tags: no ``!!python/…``, no application tags."""
        if id(node) in seen:
            return
        seen.add(id(node))
        if str(node.tag).removeprefix(_YAML_TAG) not in _PLAIN_TAGS:
            self.add(_line(node), f"tag {node.tag!r} is not allowed here: plain data only")
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self.tags(key, seen)
                self.tags(value, seen)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                self.tags(item, seen)

    def mapping(
        self, node: yaml.Node, what: str, keys: set[str], *, all_required: bool = True
    ) -> dict[str, yaml.Node] | None:
        """A mapping of known scalar keys to nodes; problems for the rest."""
        if not isinstance(node, yaml.MappingNode):
            self.add(_line(node), f"{what} must be a mapping")
            return None
        found: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                self.add(_line(key_node), f"{what}: a key must be a plain name")
            elif key in found:
                self.add(_line(key_node), f"{what}: duplicate key {key!r}")
            elif key not in keys:
                expected = ", ".join(sorted(keys))
                self.add(_line(key_node), f"{what}: unknown key {key!r} (expected {expected})")
            else:
                found[key] = value_node
        if all_required:
            for key in sorted(keys - set(found)):
                self.add(_line(node), f"{what}: missing {key!r}")
        return found

    def commands(self, node: yaml.Node) -> dict[str, Action]:
        entries = self.mapping(node, "commands", {a.value for a in Action}) or {}
        keywords: dict[str, Action] = {}
        owner: dict[str, tuple[Action, str]] = {}  # every variant form → (action, keyword)
        for name, entry in entries.items():
            action = Action(name)
            fields = self.mapping(entry, f"command {name!r}", {"keywords"})
            if not fields:
                continue
            listed = fields["keywords"]
            if not isinstance(listed, yaml.SequenceNode) or not listed.value:
                self.add(_line(listed), f"command {name!r}: keywords must be a non-empty list")
                continue
            for item in listed.value:
                word = item.value if isinstance(item, yaml.ScalarNode) else None
                if not isinstance(word, str) or not self.keyword_ok(item, word):
                    continue
                folded = fold(word)
                if folded in keywords:
                    self.add(_line(item), f"keyword {word!r} is listed twice")
                    continue
                keywords[folded] = action
                for form in variants(word):
                    other = owner.setdefault(form, (action, word))
                    if other[0] is not action:
                        self.add(
                            _line(item),
                            f"keyword {word!r} of {name!r} can be mistaken for {other[1]!r} of "
                            f"{other[0].value!r} (case, keyboard layout or look-alike letters)",
                        )
                        break
        return keywords

    def keyword_ok(self, node: yaml.Node, word: str) -> bool:
        if not word or len(word) > MAX_KEYWORD or not word.isprintable() or word != word.strip():
            self.add(_line(node), f"keyword {word!r}: 1 to {MAX_KEYWORD} printable characters")
            return False
        if any(ch.isspace() for ch in word):
            self.add(_line(node), f"keyword {word!r}: one word only (the first word matches)")
            return False
        return True

    def replies(self, node: yaml.Node) -> dict[Reply, dict[str, str]]:
        entries = self.mapping(node, "replies", {r.value for r in Reply}) or {}
        replies: dict[Reply, dict[str, str]] = {}
        for name, entry in entries.items():
            reply = Reply(name)
            texts = self.mapping(entry, f"reply {name!r}", set(LANGUAGES)) or {}
            replies[reply] = {}
            for lang, text_node in texts.items():
                text = self.text(reply, lang, text_node)
                if text is not None:
                    replies[reply][lang] = text
        return replies

    def text(self, reply: Reply, lang: str, node: yaml.Node) -> str | None:
        where = f"reply {reply.value!r} ({lang})"
        if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
            self.add(_line(node), f"{where}: must be a non-empty text")
            return None
        text = str(node.value)
        allowed = PLACEHOLDERS.get(reply, frozenset())
        required = _REQUIRED.get(reply, frozenset())
        try:
            parts = list(string.Formatter().parse(text))
        except ValueError as exc:
            self.add(_line(node), f"{where}: bad braces ({exc}); write {{{{ and }}}} for braces")
            return None
        names: set[str] = set()
        for _, name, spec, conversion in parts:
            if name is None:
                continue
            if name not in allowed or spec or conversion:
                choices = ", ".join(f"{{{n}}}" for n in sorted(allowed)) or "none"
                self.add(
                    _line(node), f"{where}: unknown placeholder {{{name}}} (allowed: {choices})"
                )
                return None
            names.add(name)
        for name in sorted(required - names):
            self.add(_line(node), f"{where}: must contain {{{name}}}")
        filled = text.format(**_LONGEST)
        size = measure(filled)
        limit = SEGMENT_UNITS[size.encoding]
        if size.units > limit:
            self.add(
                _line(node),
                f"{where}: {size.units} {size.encoding.value} units with placeholders filled; "
                f"one SMS holds {limit}",
            )
        return text


def shipped_commands_path() -> Path:
    """The shipped SMS command file, ``menus/sms.yaml`` (texts of every SMS we send)."""
    return Path(str(files("menus") / "sms.yaml"))
