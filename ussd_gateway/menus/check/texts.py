"""Texts: one per language, ``{name}`` placeholders, and whether each fits a USSD screen.

A placeholder must be one the code fills that text with: a notice's values are listed per
message key in ``ussd_gateway/menus/messages.py``; a screen's text shows the session's
values (``values.py``: what the file sets, and the built-ins); every other text (labels,
titles, the engine's messages) is shown as written, so any placeholder in it would reach
the handset as ``{name}``. A text is measured in the encoding it will be sent in (GSM-7
septets or UCS-2 units, from ``sms.encoding``) against the context's limit, with every
placeholder standing in as two digits. A line of a paginated screen must fit a middle page
beside both navigation lines; a message is shown whole, so all of it must fit. The
``messages`` section is checked here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sms.encoding import Encoding, Measure, measure

from ..messages import NO_VALUES, placeholders
from ..messages import PLACEHOLDER as _PLACEHOLDER
from ..source import PathKey
from ..values import BUILTINS
from .context import Context

# A placeholder's value is unknown here; two digits is what attempt counters render as.
_PLACEHOLDER_SAMPLE = "99"
_NAV_DEFAULTS = {"nav_more": ("98", "More"), "nav_back": ("00", "Back")}
_ENCODING_NAMES = {Encoding.GSM7: "GSM-7", Encoding.UCS2: "UCS-2"}


def nav_lines(messages: dict[str, Any], languages: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """The pagination lines (``98. More``, ``00. Back``) by language, as the engine shows them:
    labels from the common messages ``nav_more``/``nav_back``, else the English defaults."""
    nav: dict[str, dict[str, str]] = {}
    for name, (key, fallback) in _NAV_DEFAULTS.items():
        texts = messages.get(name)
        for lang in languages:
            label = texts.get(lang) if isinstance(texts, Mapping) else None
            nav.setdefault(lang, {})[name] = (
                f"{key}. {label if isinstance(label, str) else fallback}"
            )
    return nav


def check_texts(
    ctx: Context,
    path: PathKey,
    value: Any,
    what: str,
    allowed: frozenset[str] = NO_VALUES,
    *,
    session_values: bool = False,
) -> dict[str, str]:
    """Check a per-language text mapping; return the usable texts by language.

    ``allowed``: the placeholders the code fills this text with (none: shown as written).
    ``session_values``: they are the session's values (a screen's text): an unknown one is
    a value nothing in the file sets.
    """
    if not isinstance(value, Mapping):
        ctx.add(path, f"{what} must map each language ({', '.join(ctx.languages)}) to a text")
        return {}
    for lang in ctx.languages:
        if lang not in value:
            ctx.add(path, f"{what} is missing language {lang!r}")
    usable: dict[str, str] = {}
    for lang, text in value.items():
        where = (*path, lang)
        if lang not in ctx.languages:
            ctx.add(where, f"{what} has unknown language {lang!r}")
        elif not isinstance(text, str):
            ctx.add(where, f"{what} ({lang}) must be a string")
        else:
            stray = _PLACEHOLDER.sub("", text)
            if "{" in stray or "}" in stray:
                ctx.add(where, f"{what} ({lang}) has a '{{' or '}}' outside a {{name}} placeholder")
            else:
                _check_placeholders(ctx, where, f"{what} ({lang})", text, allowed, session_values)
            usable[lang] = text
    return usable


def _check_placeholders(
    ctx: Context,
    where: PathKey,
    what: str,
    text: str,
    allowed: frozenset[str],
    session_values: bool,
) -> None:
    for name in dict.fromkeys(_PLACEHOLDER.findall(text)):
        if name in allowed:
            continue
        if session_values:
            filled = (
                "nothing in this file sets it (an input's save_as, an option's set, a call's "
                "save; always there: " + ", ".join(f"{{{n}}}" for n in sorted(BUILTINS)) + ")"
            )
        elif allowed:
            filled = "it is filled with " + ", ".join(f"{{{n}}}" for n in sorted(allowed))
        else:
            filled = "nothing fills it: the text is shown as written"
        ctx.add(where, f"{what} has unknown placeholder {{{name}}}; {filled}")


def overflow(ctx: Context, subject: str, text: str) -> str | None:
    """``None`` if ``text`` fits one screen, else the message saying by how much."""
    m: Measure = measure(_PLACEHOLDER.sub(_PLACEHOLDER_SAMPLE, text))
    limit = ctx.limits[m.encoding]
    if m.units <= limit:
        return None
    name = _ENCODING_NAMES[m.encoding]
    return f"{subject} is {m.units} {name} characters; the limit is {limit}"


def check_page_line(ctx: Context, path: PathKey, subject: str, lang: str, line: str) -> None:
    # The paginator keeps a line whole only if it fits a middle page, beside both
    # navigation lines; a longer one would be split across pages.
    navs = list(ctx.nav[lang].values())
    problem = overflow(ctx, f"{subject} with '{navs[0]}' and '{navs[1]}'", "\n".join([line, *navs]))
    if problem:
        ctx.add(path, problem)


def check_messages(ctx: Context, data: Mapping[Any, Any]) -> None:
    messages = data.get("messages")
    if messages is None:
        return
    if not isinstance(messages, Mapping):
        ctx.add(("messages",), "messages must map message keys to texts")
        return
    for key, value in messages.items():
        path = ("messages", key)
        allowed = placeholders(str(key))
        for lang, text in check_texts(ctx, path, value, f"message {key!r}", allowed).items():
            problem = overflow(ctx, f"message {key!r} ({lang})", text)
            if problem:
                ctx.add((*path, lang), problem)
