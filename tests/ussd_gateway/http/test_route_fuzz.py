"""Every registered route, fed what no peer should send: no 5xx, no leak.

Hypothesis picks a route of ``app.router.routes()`` (path parameters filled in), a method,
a credential (none, each configured secret as Bearer, Basic or ``?token=``), a declared
Content-Type (right, wrong, absent, nonsense) and a body: invalid UTF-8, random bytes,
oversized fields, JSON of the wrong shape, forms. Every answer must be below 500 and show
no traceback or file path; no log line written meanwhile may hold a secret or an unmasked
subscriber number. A fixed sweep first sends every route the nastiest bodies, so each is
covered whatever Hypothesis draws. Bounded: a few hundred requests, well under 20 s.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import (
    API_SECRET,
    MO_SECRET,
    PEPPER_HEX,
    SECRETS,
    SUBSCRIBERS,
    log_offset,
    read_log_since,
    seed,
)

from state.credentials import Pepper
from state.sqlite import SqliteStore
from ussd_gateway.app import create_app
from ussd_gateway.config import AccountSettings, CodeSettings, Secret, Settings, SmsSettings

OPERATOR_SECRET = "operator-fuzz-secret"
METRICS_SECRET = "metrics-fuzz-secret"
ALL_SECRETS = (API_SECRET, MO_SECRET, OPERATOR_SECRET, METRICS_SECRET, *SECRETS.values())
LEAKS = ("Traceback", '.py"', "/work/", 'File "')
FULL_NUMBER = re.compile(r"(?<![0-9])375[0-9]{9}(?![0-9])")
METHODS_WITH_BODY = ("POST", "PUT", "PATCH", "DELETE")
MEMBER = SUBSCRIBERS[0].msisdn
OPENAPI = Path(__file__).resolve().parents[3] / "ussd_gateway" / "http" / "openapi.yaml"

CONTENT_TYPES = (
    None,
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=zzz",
    "text/xml",
    "text/plain; charset=utf-16",
    "application/octet-stream",
    "a/b;;;===",
    "",
)
NASTY_BODIES = (
    b"",
    b"\xff\xfe\xfa\x80\xc3\x28",  # invalid UTF-8
    b'{"msisdn": "\xff\xfe", "purpose": "login"}',  # invalid UTF-8 inside JSON
    b"\x00" * 64,
    b"[" * 5000 + b"]" * 5000,  # deep nesting
    json.dumps({"msisdn": "9" * 5000, "purpose": "l" * 5000, "password": "p" * 10_000}).encode(),
    b"x" * 40_000,  # over the body limit
    b"from=%FF%FE&text=%C3%28&id=" + b"1" * 3000,
    b"--zzz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\xff\r\n--zzz--\r\n",
    json.dumps([1, 2, 3]).encode(),
    json.dumps({"msisdn": 375291112233, "code": ["1"], "text": None}).encode(),
)


@dataclasses.dataclass(frozen=True)
class Route:
    method: str
    path: str
    takes_json: bool = False
    """The OpenAPI document gives it a JSON request body (an /api/v1 route reading one)."""


def _settings(tmp: Path) -> Settings:
    return Settings(
        database=tmp / "fuzz.sqlite3",
        puk_pepper=Secret(PEPPER_HEX),
        dialect_secrets={name: Secret(value) for name, value in SECRETS.items()},
        sms=SmsSettings(mo_secret=Secret(MO_SECRET), outbox_file=tmp / "outbox.jsonl"),
        codes=CodeSettings(api_secret=Secret(API_SECRET)),
        account=AccountSettings(operator_secret=Secret(OPERATOR_SECRET)),
        metrics_secret=Secret(METRICS_SECRET),
        argon2_time_cost=1,
        argon2_memory_kib=8 * 1024,
    )


def _json_bodied() -> set[tuple[str, str]]:
    """(method, path template) of the document's operations with a JSON request body."""
    document = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    return {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if isinstance(operation, dict)
        and "application/json" in operation.get("requestBody", {}).get("content", {})
    }


def _routes(server: TestServer) -> list[Route]:
    """Every registered route with its path parameters filled in (a member's number)."""
    json_bodied = _json_bodied()
    found: list[Route] = []
    for route in server.app.router.routes():  # type: ignore[union-attr]
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        if not path:
            continue
        template = str(path)
        path = re.sub(r"\{[^}]*\}", MEMBER, template)
        methods = ("POST", "GET") if route.method == "*" else (route.method,)
        found += [
            Route(m, path, template.startswith("/api/v1/") and (m, template) in json_bodied)
            for m in methods
            if m != "HEAD"
        ]
    return sorted(set(found), key=lambda r: (r.path, r.method))


def _auth(choice: tuple[str, str] | None) -> tuple[dict[str, str], dict[str, str]]:
    """(headers, query) presenting a secret the way ``choice`` says."""
    if choice is None:
        return {}, {}
    how, secret = choice
    if how == "bearer":
        return {"Authorization": f"Bearer {secret}"}, {}
    if how == "basic":
        return {"Authorization": "Basic " + base64.b64encode(f"u:{secret}".encode()).decode()}, {}
    if how == "query":
        return {}, {"token": secret}
    return {"Authorization": secret}, {}  # garbage scheme


class _Harness:
    """The app on a loopback port, driven from a synchronous test (Hypothesis)."""

    def __init__(self, tmp: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.tmp = tmp
        self.server, self.http, self.store = self.loop.run_until_complete(self._start())
        self.routes = _routes(self.server)

    async def _start(self) -> tuple[TestServer, aiohttp.ClientSession, SqliteStore]:
        settings = _settings(self.tmp)
        store = await SqliteStore.open(settings.database)
        await seed(store, Pepper.from_hex(PEPPER_HEX), SUBSCRIBERS)
        server = TestServer(create_app(settings), host="127.0.0.1")
        await server.start_server()
        return server, aiohttp.ClientSession(), store

    def send(
        self, route: Route, body: bytes, content_type: str | None, auth: tuple[str, str] | None
    ) -> tuple[int, str]:
        return self.loop.run_until_complete(self._send(route, body, content_type, auth))

    async def _send(
        self, route: Route, body: bytes, content_type: str | None, auth: tuple[str, str] | None
    ) -> tuple[int, str]:
        headers, query = _auth(auth)
        skip: tuple[str, ...] = ()
        if content_type is None:
            skip = ("Content-Type",)
        else:
            headers["Content-Type"] = content_type
        url = self.server.make_url(route.path).with_query(query)
        data = body if route.method in METHODS_WITH_BODY else None
        async with self.http.request(
            route.method, url, data=data, headers=headers, skip_auto_headers=skip
        ) as response:
            return response.status, (await response.read()).decode("utf-8", "replace")

    def close(self) -> None:
        async def stop() -> None:
            await self.http.close()
            await self.server.close()
            await self.store.close()

        self.loop.run_until_complete(stop())
        self.loop.close()


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[_Harness]:
    h = _Harness(tmp_path)
    yield h
    h.close()


def _check(route: Route, status: int, body: str) -> None:
    assert status < 500, (route, status, body[:300])
    for leak in LEAKS:
        assert leak not in body, (route, leak, body[:300])


def _check_log(since: int) -> None:
    for line in read_log_since(since):
        for key, value in line.items():
            if key in ("timestamp", "request_id"):
                continue
            text = str(value)
            for secret in ALL_SECRETS:
                assert secret not in text, (key, line.get("event"))
            assert not FULL_NUMBER.search(text), (key, text[:200])


AUTHS = st.one_of(
    st.none(),
    st.tuples(st.sampled_from(("bearer", "basic", "query", "raw")), st.sampled_from(ALL_SECRETS)),
)
FIELD_NAMES = st.sampled_from(
    ("msisdn", "purpose", "code", "password", "password_confirmation", "puk", "text", "from",
     "id", "content", "action", "reason", "role", "email", "token", "session_id")
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
    | st.text(max_size=50) | st.sampled_from(("375291112233", "+7 916 123 45 67", "x" * 3000)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(FIELD_NAMES, inner, max_size=4),
    max_leaves=12,
)
BODIES = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(NASTY_BODIES),
    st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=6).map(lambda d: json.dumps(d).encode()),
    st.dictionaries(FIELD_NAMES, st.binary(max_size=40), max_size=5).map(
        lambda d: b"&".join(k.encode() + b"=" + v for k, v in d.items())
    ),
)


def test_every_route_survives_the_fixed_sweep(harness: _Harness) -> None:
    """Each route × each nasty body, with the right-looking and the wrong content types."""
    since = log_offset()
    assert len(harness.routes) >= 20
    assert sum(r.takes_json for r in harness.routes) >= 10
    auths = (None, ("bearer", API_SECRET), ("query", MO_SECRET), ("bearer", OPERATOR_SECRET))
    turn = 0
    for route in harness.routes:
        for body in NASTY_BODIES:
            for content_type in (None, "application/json", "text/xml"):
                turn += 1
                status, text = harness.send(route, body, content_type, auths[turn % len(auths)])
                _check(route, status, text)
    for route in harness.routes:
        if not route.path.startswith("/api/v1/"):
            continue
        body = json.dumps({"msisdn": MEMBER, "purpose": "login"}).encode()
        for secret in (API_SECRET, OPERATOR_SECRET):
            status, _ = harness.send(route, body, "text/xml", ("bearer", secret))
            _check_api_rules(harness, route, body, "text/xml", ("bearer", secret), status)
            status, _ = harness.send(route, body, "application/json", ("query", secret))
            _check_api_rules(harness, route, body, "application/json", ("query", secret), status)
    _check_log(since)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_random_requests_to_every_route(harness: _Harness, data: Any) -> None:
    """Hypothesis' routes, credentials, content types and bodies."""
    since = log_offset()
    route = data.draw(st.sampled_from(harness.routes), label="route")
    body = data.draw(BODIES, label="body")
    content_type = data.draw(st.sampled_from(CONTENT_TYPES), label="content_type")
    auth = data.draw(AUTHS, label="auth")
    status, text = harness.send(route, body, content_type, auth)
    _check(route, status, text)
    if route.path.startswith("/api/v1/"):
        _check_api_rules(harness, route, body, content_type, auth, status)
    _check_log(since)


def _check_api_rules(
    harness: _Harness,
    route: Route,
    body: bytes,
    content_type: str | None,
    auth: tuple[str, str] | None,
    status: int,
) -> None:
    """The API's two rules: a secret in the URL counts for nothing, and a body declared as
    anything but JSON is never taken."""
    if auth is not None and auth[0] == "query":
        anonymous, _ = harness.send(route, body, content_type, None)
        assert status == anonymous or {status, anonymous} <= {401, 429}, (route, status)
    declared = (content_type or "application/json").split(";")[0].strip().lower()
    if route.takes_json and declared != "application/json":
        assert status >= 300, (route, content_type, status)
