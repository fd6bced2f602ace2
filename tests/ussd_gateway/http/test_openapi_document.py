"""The served OpenAPI document against the real app: schemathesis generates the requests.

The gateway runs on a loopback port in a thread of its own (its own event loop), on a fresh
SQLite file per operation, with valid front-end, operator, session, dialect and SMS-callback
credentials, so the generated requests reach the handlers and not only the 401 path. Every
response must be documented (status, body schema, content type, headers) and none may be a
5xx. The document covers every route the app registers, the USSD dialects, the SMS
callbacks, health, readiness and metrics as well as ``/api/v1``.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
import yaml
from aiohttp import web
from hypothesis import HealthCheck, settings
from schemathesis import Case as AnyCase
from schemathesis import Response
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support import API_SECRET, MO_SECRET, PASSWORDS, PEPPER_HEX, SECRETS

from state.credentials import Pepper, Sealer
from state.credentials import identity_digest
from state.models import ClientKind, Role
from state.sqlite import SqliteStore
from state.store import SubscriberRecord
from ussd_gateway.app import create_app
from ussd_gateway.config import AccountSettings, CodeSettings, Secret, Settings, SmsSettings

OPERATOR_SECRET = "operator-tools-secret"
ADMIN = "375291234567"  # the document's example number: its examples reach real accounts
ADMIN_PUK = "12345678"  # the document's example PUK1
MEMBER = "375291000002"  # the document's example path number
UNP = "190000001"
PASSWORD = PASSWORDS[0]
CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
TIMEOUT = 10.0
Case = AnyCase[Any]


class _Letters:
    """A mailer that keeps the letters (no SMTP in tests)."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


@dataclass
class Served:
    """The app on a loopback port, and a live session of the client's administrator."""

    url: str
    loop: asyncio.AbstractEventLoop
    store: SqliteStore
    routes: set[tuple[str, str]] = field(default_factory=set)
    """(METHOD, path) of every route the app registers."""
    http: requests.Session = field(default_factory=requests.Session)
    token: str | None = None

    def sent_code(self, msisdn: str) -> str:
        """The last one-time code sent to ``msisdn`` (read from the outbox, unsealed)."""
        rows = asyncio.run_coroutine_threadsafe(self.store.outbox(msisdn), self.loop).result(
            TIMEOUT
        )
        text = Sealer(Pepper.from_hex(PEPPER_HEX)).open(rows[-1].body)
        return str(re.findall(r"\d{6}", text)[0])

    def _post(self, path: str, body: dict[str, Any]) -> requests.Response:
        headers = {"Authorization": f"Bearer {API_SECRET}"}
        return self.http.post(self.url + path, json=body, headers=headers, timeout=TIMEOUT)

    def live_token(self) -> str:
        """The administrator's session token, logging in again if the last one is over."""
        if self.token is not None:
            answer = self.http.get(
                self.url + "/api/v1/session",
                headers={"Authorization": f"Bearer {API_SECRET}", "X-Session-Token": self.token},
                timeout=TIMEOUT,
            )
            if answer.status_code == 200:
                return self.token
        login = {"msisdn": ADMIN, "password": PASSWORD}
        answer = self._post("/api/v1/login/password", login)
        if answer.status_code != 200:  # a generated request changed the password: set it again
            registration = {
                "msisdn": ADMIN,
                "puk": ADMIN_PUK,
                "password": PASSWORD,
                "password_confirmation": PASSWORD,
            }
            assert self._post("/api/v1/register/puk", registration).status_code == 201
            answer = self._post("/api/v1/login/password", login)
        assert answer.status_code == 200, answer.text
        self.token = str(answer.json()["token"])
        return self.token

    def authorize(self, case: Case) -> None:
        """Valid credentials for the case's operation, replacing any generated ones."""
        path = case.operation.path
        if path in PUBLIC:
            return
        if path.startswith("/ussd"):
            secret = SECRETS[DIALECT_OF[path]]
        elif path.startswith("/sms/"):
            secret = MO_SECRET
        else:
            secret = OPERATOR_SECRET if path.startswith("/api/v1/operator/") else API_SECRET
        case.headers["Authorization"] = f"Bearer {secret}"
        if path.startswith(("/api/v1/session", "/api/v1/client/")):
            case.headers["X-Session-Token"] = self.live_token()


def _org_member(pepper: Pepper, msisdn: str, puk: str, role: Role | None) -> SubscriberRecord:
    """A subscriber of one legal entity with an account number, UNP and e-mail."""
    return SubscriberRecord(
        msisdn,
        pepper.digest(puk),
        "client:org",
        ClientKind.LEGAL_ENTITY,
        "Org",
        account="1234567890",
        identity_digest=identity_digest(pepper, UNP),
        email="accounts@example.by",
        contact_msisdn=ADMIN,
        role=role,
        puk_registration=role is not None,
    )


async def _seed(store: SqliteStore, pepper: Pepper) -> None:
    await store.import_subscribers(
        [
            _org_member(pepper, ADMIN, ADMIN_PUK, Role.ADMINISTRATOR),
            _org_member(pepper, MEMBER, "87654321", None),
        ]
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """The real gateway in a background thread, the administrator registered by PUK1."""
    config = Settings(
        database=tmp_path / "gateway.sqlite3",
        puk_pepper=Secret(PEPPER_HEX),
        dialect_secrets={name: Secret(value) for name, value in SECRETS.items()},
        sms=SmsSettings(mo_secret=Secret(MO_SECRET), outbox_file=tmp_path / "outbox.jsonl"),
        codes=CodeSettings(api_secret=Secret(API_SECRET)),
        account=AccountSettings(operator_secret=Secret(OPERATOR_SECRET)),
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> tuple[web.AppRunner, SqliteStore, str]:
        store = await SqliteStore.open(config.database)
        await _seed(store, Pepper.from_hex(PEPPER_HEX))
        runner = web.AppRunner(create_app(config, store=store, mailer=_Letters()))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        return runner, store, f"http://{host}:{port}"

    runner, store, url = asyncio.run_coroutine_threadsafe(start(), loop).result(TIMEOUT)
    served = Served(url, loop, store, registered(runner.app))
    registration = {
        "msisdn": ADMIN,
        "puk": ADMIN_PUK,
        "password": PASSWORD,
        "password_confirmation": PASSWORD,
    }
    assert served._post("/api/v1/register/puk", registration).status_code == 201
    try:
        yield served
    finally:
        served.http.close()

        async def stop() -> None:
            await runner.cleanup()
            await store.close()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(TIMEOUT + 15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(TIMEOUT)
        loop.close()


DOCUMENT = Path(__file__).resolve().parents[3] / "ussd_gateway" / "http" / "openapi.yaml"
schema = schemathesis.openapi.from_path(DOCUMENT)
PUBLIC = {"/api/v1/openapi.yaml", "/healthz", "/readyz", "/metrics"}
"""Routes without a caller credential."""
DIALECT_OF = {
    "/ussd": "native",
    "/ussd/hubtel": "hubtel",
    "/ussd/africastalking": "africastalking",
    "/ussd/africastalking/events": "africastalking",
}
NOT_YET_SERVED = {("GET", "/readyz")}
"""Documented ahead of its handler (another branch adds /readyz): allowed to be missing."""


def registered(app: web.Application) -> set[tuple[str, str]]:
    """(METHOD, path) of every route of ``app``; the HEAD that aiohttp adds to a GET is the
    GET's."""
    return {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }


def test_every_route_the_app_registers_is_documented(served: Served) -> None:
    """The document lists every route with its methods, USSD, SMS and health included,
    and nothing the app does not serve (save what is on its way)."""
    documented = {(method.upper(), path) for path, item in PATHS.items() for method in item}
    assert served.routes - documented == set(), "registered but not documented"
    assert documented - served.routes <= NOT_YET_SERVED, "documented but not registered"


def test_the_served_document_is_this_one(served: Served) -> None:
    """GET /api/v1/openapi.yaml serves the file the generated tests below are built from."""
    answer = served.http.get(served.url + "/api/v1/openapi.yaml", timeout=TIMEOUT)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/yaml")
    assert answer.content == DOCUMENT.read_bytes()


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_answer_is_documented(case: Case, served: Served) -> None:
    """No 5xx for any generated request; status, body, content type and headers as documented."""
    operation = (case.operation.method.upper(), case.operation.path)
    if operation not in served.routes:
        pytest.skip("documented ahead of its handler")
    served.authorize(case)
    case.call_and_validate(base_url=served.url, session=served.http, checks=CHECKS)


PATHS: dict[str, dict[str, Any]] = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))["paths"]
OPERATIONS = [
    (method.upper(), path)
    for path, item in PATHS.items()
    for method in item
    if path not in PUBLIC
]
WITH_BODY = [(m, p) for m, p in OPERATIONS if "requestBody" in PATHS[p][m.lower()]]
REQUIRED_QUERY = {"/sms/dlr": {"id": "1", "status": "1"}}


def _case(method: str, path: str, body: Any = None, **headers: str) -> Case:
    operation = schema[path][method]
    params = {"msisdn": MEMBER} if "{msisdn}" in path else None
    query = REQUIRED_QUERY.get(path) if method == "GET" else None
    request_body = PATHS[path][method.lower()].get("requestBody")
    if request_body is not None:
        # The first media type listed (a $ref'd body is JSON).
        media_type = next(iter(request_body.get("content", {"application/json": None})))
        return operation.Case(
            path_parameters=params, query=query, headers=headers, body=body, media_type=media_type
        )
    return operation.Case(path_parameters=params, query=query, headers=headers)


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_no_credentials_is_a_documented_refusal(served: Served, method: str, path: str) -> None:
    """Without the caller's credential every operation answers its documented 401 (403, in
    plain text, for the SMS gateway's callbacks)."""
    case = _case(method, path, {})
    answer = case.call_and_validate(base_url=served.url, session=served.http, checks=CHECKS)
    assert answer.status_code == (403 if path.startswith("/sms/") else 401)


@pytest.mark.parametrize("path", sorted(PUBLIC - {"/api/v1/openapi.yaml"}))
def test_the_public_routes_answer_as_documented(served: Served, path: str) -> None:
    """Health, readiness and metrics need no credential."""
    if ("GET", path) not in served.routes:
        pytest.skip("documented ahead of its handler")
    answer = _case("GET", path).call_and_validate(
        base_url=served.url, session=served.http, checks=CHECKS
    )
    assert answer.status_code == 200


@pytest.mark.parametrize(("method", "path"), WITH_BODY)
def test_a_body_over_the_limit_is_a_documented_413(served: Served, method: str, path: str) -> None:
    """A body over 16 KiB (from an authorized caller) is the documented 413."""
    case = _case(method, path, {"padding": "x" * 17_000})
    served.authorize(case)
    answer = case.call_and_validate(base_url=served.url, session=served.http, checks=CHECKS)
    assert answer.status_code == 413


def test_send_limits_and_the_account_login_are_as_documented(served: Served) -> None:
    """429 with Retry-After; the account-number login's challenge, code and forced change."""

    def call(method: str, path: str, body: Any = None, **headers: str) -> Response:
        case = _case(method, path, body, Authorization=f"Bearer {API_SECRET}", **headers)
        return case.call_and_validate(base_url=served.url, session=served.http, checks=CHECKS)

    codes = {"msisdn": MEMBER, "purpose": "login"}
    assert call("POST", "/api/v1/codes", codes).status_code == 202
    assert call("POST", "/api/v1/codes", codes).status_code == 429
    claim = {"account": "1234567890", "password": UNP}
    started = call("POST", "/api/v1/login/account", claim)
    assert started.status_code == 202
    # A second claim within the minute: no new SMS, and no 429 that would confirm the claim.
    again = call("POST", "/api/v1/login/account", claim)
    assert again.status_code == 202
    confirm = {"challenge": started.json()["challenge"], "code": served.sent_code(ADMIN)}
    session = call("POST", "/api/v1/login/account/confirm", confirm)
    assert session.status_code == 200 and session.json()["must_change_password"] is True
    token = session.json()["token"]
    refused = call("GET", "/api/v1/client/subscribers", **{"X-Session-Token": token})
    assert (refused.status_code, refused.json()["error"]) == (403, "password_change_required")
    assert call("GET", "/api/v1/session", **{"X-Session-Token": token}).status_code == 200
    reused = {"password": UNP, "password_confirmation": UNP}
    answer = call("POST", "/api/v1/session/password", reused, **{"X-Session-Token": token})
    assert answer.status_code == 422
    new = {"password": PASSWORDS[2], "password_confirmation": PASSWORDS[2]}
    changed = call("POST", "/api/v1/session/password", new, **{"X-Session-Token": token})
    assert changed.status_code == 200 and changed.json()["method"] == "account"
    over = call("GET", "/api/v1/session", **{"X-Session-Token": token})
    assert (over.status_code, over.json()["error"]) == (401, "session_ended")
    fresh = {"X-Session-Token": changed.json()["token"]}
    listed = call("GET", "/api/v1/client/subscribers", **fresh)
    assert {s["msisdn"] for s in listed.json()["subscribers"]} == {ADMIN, MEMBER}
    assert call("POST", "/api/v1/session/logout", **fresh).status_code == 204


def test_unhashable_reason_is_a_bad_request(served: Served) -> None:
    """``{"action": "close", "reason": {}}`` must be a 400, not a 500 (http.py operator_access)."""
    case = _case(
        "POST",
        "/api/v1/operator/subscribers/{msisdn}/access",
        {"action": "close", "reason": {}},
        Authorization=f"Bearer {OPERATOR_SECRET}",
    )
    answer = case.call(base_url=served.url, session=served.http)
    assert answer.status_code == 400
