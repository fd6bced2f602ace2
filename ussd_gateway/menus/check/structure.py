"""The file's shape outside the machine and screens: known keys, and the ``service`` section.

``check_keys`` is the unknown-key check every section uses. The service section names the
USSD code, the title in every language and optional lower screen limits; a lowered limit
becomes the context's limit for every later length check of the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sms.encoding import Encoding, measure, ussd_limit

from ..source import PathKey
from .context import Context
from .texts import check_texts

_SERVICE_FILE_KEYS = frozenset({"service", "machine", "screens", "messages", "guards", "calls"})
_COMMON_FILE_KEYS = frozenset({"messages"})
_SERVICE_KEYS = frozenset({"code", "title", "limit"})
_CODE = re.compile(r"\*[0-9]+(\*[0-9]+)*#")


def check_keys(
    ctx: Context, path: PathKey, node: Mapping[Any, Any], allowed: frozenset[str], kind: str
) -> None:
    for key in node:
        if key not in allowed:
            ctx.add((*path, key), f"unknown {kind} key {key!r}; expected one of {sorted(allowed)}")


def check_top_level(ctx: Context, data: Mapping[Any, Any], *, common: bool) -> None:
    """``common.yaml`` holds only engine-wide messages; a service file holds all sections."""
    allowed = _COMMON_FILE_KEYS if common else _SERVICE_FILE_KEYS
    check_keys(ctx, (), data, allowed, "top-level")


def check_service(ctx: Context, data: Mapping[Any, Any]) -> None:
    service = data.get("service")
    if not isinstance(service, Mapping):
        ctx.add(("service",), "missing 'service' mapping with 'code' and 'title'")
        return
    check_keys(ctx, ("service",), service, _SERVICE_KEYS, "service")
    code = service.get("code")
    if code is None:
        ctx.add(("service",), "missing service.code")
    elif not isinstance(code, str) or not _CODE.fullmatch(code):
        ctx.add(("service", "code"), f"service.code {code!r} is not a USSD code like '*141*0#'")
    if "title" in service:
        check_texts(ctx, ("service", "title"), service["title"], "service title")
    else:
        ctx.add(("service",), "missing service.title")
    limit = service.get("limit")
    if limit is not None:
        _check_limit(ctx, limit)


def _check_limit(ctx: Context, limit: Any) -> None:
    if not isinstance(limit, Mapping):
        ctx.add(("service", "limit"), "service.limit must map gsm7/ucs2 to a number")
        return
    for encoding in Encoding:
        value = limit.get(encoding.value)
        if value is None:
            continue
        most = ussd_limit(encoding)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= most:
            path = ("service", "limit", encoding.value)
            ctx.add(path, f"service.limit.{encoding.value} must be a whole number from 1 to {most}")
        else:
            ctx.limits[encoding] = value
            _check_limit_room(ctx, encoding, value)
    check_keys(ctx, ("service", "limit"), limit, frozenset(e.value for e in Encoding), "limit")


_MIN_PAGE_TEXT = 10
"""Units of text a middle page must hold besides its two navigation lines."""


def _check_limit_room(ctx: Context, encoding: Encoding, value: int) -> None:
    """A lowered limit must leave a middle page room for text beside both navigation lines."""
    for lang, navs in ctx.nav.items():
        nav = measure("\n".join(["", *navs.values()]))
        if nav.encoding is not encoding:
            continue
        need = nav.units + _MIN_PAGE_TEXT
        if value < need:
            ctx.add(
                ("service", "limit", encoding.value),
                f"service.limit.{encoding.value} of {value} leaves no room for text beside the "
                f"navigation lines ({lang}); use at least {need}",
            )
