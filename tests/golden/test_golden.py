"""Golden dialogues: each dialect's raw requests against the real gateway, replies byte for byte.

Layout: ``tests/golden/<dialect>/<case>.request`` and ``<case>.reply``; every dialect has the
same case names (:data:`CASES`). A case is a whole dialogue, posted hop by hop to the real
gateway (seeded SQLite file, loopback HTTP, fixed clock) on a fresh database.

``.request`` is a YAML list of hops::

    - content_type: application/json; charset=utf-8
      body: '{"session_id": "g-1", "op": "begin", ...}'   # the literal text sent (UTF-8)
      authorization: Bearer nope     # optional: the Authorization header (null: none);
                                     # default: DEFAULT_AUTHORIZATION[dialect]
      query: token={secret}          # optional: a query string for the dialect's route

Placeholders, in ``body``, ``authorization`` and ``query`` only: ``{secret}`` (the dialect's
caller secret from conftest), ``{basic}`` (base64 of ``gateway:{secret}``), ``{pad:N}``
(N times ``x``, for bodies too large to keep in a file). Session ids are literal: each
test runs on its own database.

``.reply`` is a YAML list, one entry per hop: ``{status, content_type, body}``, the body as
the exact text received. ``UPDATE_GOLDEN=1`` rewrites the ``.reply`` files from the running
gateway instead of comparing; every rewritten reply must be read and checked against
``menus/*.yaml`` before it is committed.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp.test_utils import TestServer
from support import DIALECTS, SECRETS, TYPED_SECRETS, assert_not_stored

from ussd_gateway.config import Settings

GOLDEN = Path(__file__).resolve().parent
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
PATHS = {"native": "/ussd", "africastalking": "/ussd/africastalking", "hubtel": "/ussd/hubtel"}
DEFAULT_AUTHORIZATION = {
    "native": "Bearer {secret}",
    # Africa's Talking is given a callback URL; user:password in it arrives as Basic.
    "africastalking": "Basic {basic}",
    "hubtel": "Bearer {secret}",
}
CASES = frozenset({
    "access_close", "access_open_puk", "access_wrong_puk", "access_shortcut_close",
    "access_org_closed", "access_operator_closed", "password_set", "password_mismatch",
    "password_in_dial_string", "unknown_subscriber", "unknown_code", "invalid_choice",
    "repeat_hop", "abort", "malformed_body", "missing_field", "wrong_secret", "huge_body",
    "bad_msisdn",
})
DIALECT_DIFFERENCES: dict[tuple[str, str], str] = {}
"""Cases whose dialogue differs in kind (not only in wire format) between dialects."""

_PLACEHOLDER = re.compile(r"\{(secret|basic|pad:(\d+))\}")
_HOP_KEYS = {"content_type", "body", "authorization", "query", "path"}
_UNSET = object()


@dataclass(frozen=True)
class Hop:
    """One request of a golden dialogue, placeholders still in."""

    content_type: str
    body: str
    authorization: str | None
    query: str
    path: str | None = None
    """A route other than the dialect's hop route (Africa's Talking's events)."""


@dataclass(frozen=True)
class Answer:
    """One reply as received: what the ``.reply`` files hold."""

    status: int
    content_type: str
    body: str


def _expand(text: str, dialect: str) -> str:
    secret = SECRETS[dialect]

    def value(match: re.Match[str]) -> str:
        if match.group(1) == "secret":
            return secret
        if match.group(1) == "basic":
            return base64.b64encode(f"gateway:{secret}".encode()).decode("ascii")
        return "x" * int(match.group(2))

    return _PLACEHOLDER.sub(value, text)


def load_hops(path: Path, dialect: str) -> list[Hop]:
    """The hops of a ``.request`` file, checked for unknown keys."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(raw, list) and raw, f"{path}: a non-empty list of hops"
    hops: list[Hop] = []
    for n, item in enumerate(raw):
        assert isinstance(item, dict), f"{path} hop {n}: a mapping"
        assert set(item) <= _HOP_KEYS, f"{path} hop {n}: unknown keys {set(item) - _HOP_KEYS}"
        auth: Any = item.get("authorization", _UNSET)
        hops.append(Hop(
            content_type=str(item["content_type"]),
            body=str(item["body"]),
            authorization=DEFAULT_AUTHORIZATION[dialect] if auth is _UNSET else auth,
            query=str(item.get("query", "")),
            path=str(item["path"]) if "path" in item else None,
        ))
    return hops


def load_answers(path: Path) -> list[Answer]:
    """The expected replies of a ``.reply`` file."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(raw, list), f"{path}: a list of replies"
    return [Answer(int(r["status"]), str(r["content_type"]), str(r["body"])) for r in raw]


class _Dumper(yaml.SafeDumper):
    """Multi-line bodies as literal blocks, so a screen reads as the handset shows it."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_answers(path: Path, answers: list[Answer]) -> None:
    """Write a ``.reply`` file and check it reads back to exactly ``answers``."""
    text = yaml.dump([asdict(a) for a in answers], Dumper=_Dumper, allow_unicode=True,
                     sort_keys=False, width=10**6)
    path.write_text(text, encoding="utf-8")
    assert load_answers(path) == answers, f"{path}: YAML round trip lost something"


async def post(http: aiohttp.ClientSession, base: str, dialect: str, hop: Hop) -> Answer:
    """Send one hop's raw bytes and read the raw answer."""
    url = base + (hop.path or PATHS[dialect]) + (f"?{_expand(hop.query, dialect)}" if hop.query else "")
    headers = {"Content-Type": hop.content_type}
    if hop.authorization is not None:
        headers["Authorization"] = _expand(hop.authorization, dialect)
    body = _expand(hop.body, dialect).encode("utf-8")
    async with http.post(url, data=body, headers=headers, allow_redirects=False) as resp:
        raw = await resp.read()
        return Answer(resp.status, resp.headers.get("Content-Type", ""), raw.decode("utf-8"))


def _discover() -> list[Any]:
    return [
        pytest.param(dialect, path.stem, id=f"{dialect}/{path.stem}")
        for dialect in DIALECTS
        for path in sorted((GOLDEN / dialect).glob("*.request"))
    ]


def test_every_dialect_has_the_same_cases() -> None:
    """Each dialect directory holds exactly the listed cases, each with a request and a reply."""
    for dialect in DIALECTS:
        folder = GOLDEN / dialect
        requests = {p.stem for p in folder.glob("*.request")}
        replies = {p.stem for p in folder.glob("*.reply")}
        assert requests == CASES, f"{dialect}: {sorted(requests ^ CASES)} differ from CASES"
        assert replies == CASES or UPDATE, f"{dialect}: replies missing {sorted(CASES - replies)}"
        strays = {p.name for p in folder.iterdir()} - {f"{c}{s}" for c in CASES
                                                      for s in (".request", ".reply")}
        assert not strays, f"{dialect}: unexpected files {sorted(strays)}"


def test_dialect_differences_name_real_cases() -> None:
    """Every documented per-dialect difference names an existing dialect and case."""
    for dialect, case in DIALECT_DIFFERENCES:
        assert dialect in DIALECTS and case in CASES


@pytest.mark.parametrize(("dialect", "case"), _discover())
async def test_golden(
    dialect: str, case: str, gateway: TestServer, http: aiohttp.ClientSession, settings: Settings
) -> None:
    """The gateway answers every hop exactly as the ``.reply`` file says, storing no secret."""
    folder = GOLDEN / dialect
    hops = load_hops(folder / f"{case}.request", dialect)
    base = str(gateway.make_url("")).rstrip("/")
    actual = [await post(http, base, dialect, hop) for hop in hops]
    assert_not_stored(str(settings.database), *TYPED_SECRETS)
    reply_path = folder / f"{case}.reply"
    if UPDATE:
        dump_answers(reply_path, actual)
        return
    expected = load_answers(reply_path)
    assert len(actual) == len(expected), f"{len(hops)} hops sent, {len(expected)} replies expected"
    for n, (got, want) in enumerate(zip(actual, expected, strict=True)):
        assert got == want, f"hop {n}: {hops[n].body[:120]!r}"
