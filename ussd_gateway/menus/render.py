"""From a state's screen to the text a handset shows: notice, text, options, pages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sms.encoding import measure
from ussd_gateway.dialects.model import UssdReply
from ussd_gateway.menus.loader import DEFAULT_LANGUAGE, Screen, Texts
from ussd_gateway.menus.messages import PLACEHOLDER as _PLACEHOLDER
from ussd_gateway.menus.values import shown


def fill(template: str, values: Mapping[str, Any], *, missing: str | None = None) -> str:
    """Replace ``{name}`` placeholders; unlike ``str.format`` it can't reach attributes.
    A value is shown as ``values.shown`` says; a name without one is left as written, or
    shown as ``missing``."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return shown(values[name])
        return match.group(0) if missing is None else missing

    return _PLACEHOLDER.sub(one, template)


def pick(texts: Texts, lang: str) -> str:
    """The text in ``lang``, or in the default language."""
    return texts.get(lang) or texts[DEFAULT_LANGUAGE]


def screen_lines(
    screen: Screen, lang: str, *, notice: str | None = None, values: Mapping[str, Any] = {}
) -> list[str]:
    """The lines of a screen: an optional notice, its text, then ``key. label`` options."""
    lines = [notice] if notice else []
    text = pick(screen.text, lang)
    # A value the dialogue has not come to set (a path that skipped its call) shows as
    # nothing, never as "{name}" (the checker requires every name to be set somewhere).
    lines.append(fill(text, values, missing="") if screen.shows_values else text)
    lines += [f"{o.key}. {pick(o.label, lang)}" for o in screen.options]
    return lines


def reply(text: str, *, ends: bool) -> UssdReply:
    """A reply measured in the encoding it will travel in."""
    m = measure(text)
    return UssdReply(text, ends, m.encoding, m.units)
