"""The account API over HTTP (``/api/v1/…``), described in ``openapi.yaml`` beside this file.

Two callers: the web front end (its credential, Bearer or Basic, as for ``/api/v1/codes``)
and the front end on behalf of a logged-in user (plus ``X-Session-Token``); the operator's
routes are ``http/operator_api.py``. Handlers only read fields and shape answers; the decisions
are :class:`FrontDoor`'s and the core's.
"""

from __future__ import annotations

from dataclasses import asdict
from importlib.resources import files
from typing import Any

from aiohttp import web

from account.codes import CODE_MAX_CHARS
from account.front_door import Context, FrontDoor, Method, NewSession
from ussd_gateway.errors import BadRequest
from ussd_gateway.http.appkeys import FRONT_DOOR, SETTINGS
from ussd_gateway.http.auth import require
from ussd_gateway.http.body import FIELDS, json_body
from ussd_gateway.http.paths import path_msisdn

SESSION_HEADER = "X-Session-Token"
SHORT_SECRET_CHARS = 32
"""PUK1 (8 digits) and account numbers: anything longer is refused unread."""
USSD_REGISTRATION = {
    "ussd": "*141*0#",
    "message": {
        "ru": "Для регистрации через USSD наберите с Вашего мобильного устройства *141*0# и"
        " следуйте подсказкам.",
        "en": "To register by USSD, dial *141*0# from your mobile phone and follow the prompts.",
    },
}


def _front_end(request: web.Request) -> FrontDoor:
    require(request, request.app[SETTINGS].codes.api_secret, "missing or wrong API credentials")
    return request.app[FRONT_DOOR]


async def _context(request: web.Request, *, allow_must_change: bool = False) -> Context:
    door = _front_end(request)
    return await door.context(
        request.headers.get(SESSION_HEADER), allow_must_change=allow_must_change
    )


def _session(new: NewSession, status: int = 200) -> web.Response:
    return web.json_response(
        {
            "token": new.token,
            "msisdn": new.msisdn,
            "method": new.method,
            "must_change_password": new.must_change_password,
            "expires_at": new.expires_at,
            "idle_timeout_seconds": new.idle_seconds,
        },
        status=status,
    )


# --- registration -------------------------------------------------------------------------


async def register_sms(request: web.Request) -> web.Response:
    """Register (set the password) with an SMS code of purpose ``register``."""
    door = _front_end(request)
    doc = await json_body(request)
    await door.register_by_sms(
        FIELDS.msisdn(doc),
        FIELDS.text(doc, "code", limit=CODE_MAX_CHARS),
        FIELDS.text(doc, "password"),
        FIELDS.text(doc, "password_confirmation"),
    )
    return web.json_response({"status": "registered"}, status=201)


async def register_puk(request: web.Request) -> web.Response:
    """Register with the SIM's PUK1 (the "registration by PUK1" option)."""
    door = _front_end(request)
    doc = await json_body(request)
    await door.register_by_puk(
        FIELDS.msisdn(doc),
        FIELDS.text(doc, "puk", limit=SHORT_SECRET_CHARS),
        FIELDS.text(doc, "password"),
        FIELDS.text(doc, "password_confirmation"),
    )
    return web.json_response({"status": "registered"}, status=201)


async def register_ussd(request: web.Request) -> web.Response:
    """How to register by USSD: dial ``*141*0#``."""
    _front_end(request)
    return web.json_response(USSD_REGISTRATION)


# --- login --------------------------------------------------------------------------------


async def login_password(request: web.Request) -> web.Response:
    """Phone number and password (or the e-mailed temporary password)."""
    door = _front_end(request)
    doc = await json_body(request)
    return _session(await door.login_by_password(FIELDS.msisdn(doc), FIELDS.text(doc, "password")))


async def login_sms(request: web.Request) -> web.Response:
    """Phone number and a one-time code of purpose ``login``."""
    door = _front_end(request)
    doc = await json_body(request)
    return _session(
        await door.login_by_sms(FIELDS.msisdn(doc), FIELDS.text(doc, "code", limit=CODE_MAX_CHARS))
    )


async def login_account(request: web.Request) -> web.Response:
    """Account number and passport number / UNP (or the account password): step 1."""
    door = _front_end(request)
    doc = await json_body(request)
    challenge = await door.start_account_login(
        FIELDS.text(doc, "account", limit=SHORT_SECRET_CHARS), FIELDS.text(doc, "password")
    )
    return web.json_response({"challenge": challenge, "status": "code_sent"}, status=202)


async def login_email(request: web.Request) -> web.Response:
    """E-mail and password: step 1 (an M-code goes to the contact number)."""
    door = _front_end(request)
    doc = await json_body(request)
    challenge = await door.start_email_login(
        FIELDS.text(doc, "email", limit=254), FIELDS.text(doc, "password")
    )
    return web.json_response({"challenge": challenge, "status": "code_sent"}, status=202)


def _confirm(method: str) -> Any:
    async def confirm(request: web.Request) -> web.Response:
        door = _front_end(request)
        doc = await json_body(request)
        new = await door.finish_login(
            FIELDS.text(doc, "challenge", limit=256),
            FIELDS.text(doc, "code", limit=CODE_MAX_CHARS),
            method,
        )
        return _session(new)

    confirm.__doc__ = f"Step 2 of the {method} login: the challenge and the SMS code."
    return confirm


async def forgot_password(request: web.Request) -> web.Response:
    """A temporary password by e-mail; the same answer whether or not anything was sent."""
    door = _front_end(request)
    doc = await json_body(request)
    await door.forgot_password(FIELDS.msisdn(doc))
    return web.json_response({"status": "accepted"}, status=202)


# --- the session --------------------------------------------------------------------------


async def session_info(request: web.Request) -> web.Response:
    """Who the session is, its role and limits."""
    ctx = await _context(request, allow_must_change=True)
    await request.app[FRONT_DOOR].touch(ctx)
    return web.json_response(
        {
            "msisdn": ctx.subscriber.msisdn,
            "method": ctx.session.method,
            "must_change_password": ctx.session.must_change,
            "role": str(ctx.role) if ctx.role else None,
            "client_kind": str(ctx.client.kind),
            "expires_at": ctx.session.created_at + request.app[FRONT_DOOR].times.total,
        }
    )


async def logout(request: web.Request) -> web.Response:
    """End the session."""
    ctx = await _context(request, allow_must_change=True)
    await request.app[FRONT_DOOR].logout(ctx)
    return web.Response(status=204)


async def change_password(request: web.Request) -> web.Response:
    """A new password; every session of the subscriber ends and a new token is returned."""
    ctx = await _context(request, allow_must_change=True)
    doc = await json_body(request)
    current = FIELDS.text(doc, "current_password", required=False) or None
    new = await request.app[FRONT_DOOR].change_password(
        ctx, current, FIELDS.text(doc, "password"), FIELDS.text(doc, "password_confirmation")
    )
    return _session(new)


# --- roles --------------------------------------------------------------------------------


async def client_subscribers(request: web.Request) -> web.Response:
    """The client's subscribers (administrator or supervisor)."""
    ctx = await _context(request)
    views = await request.app[FRONT_DOOR].subscribers(ctx)
    return web.json_response({"subscribers": [asdict(v) for v in views]})


async def client_access(request: web.Request) -> web.Response:
    """Close or open a subscriber's access on the organisation's behalf."""
    ctx = await _context(request)
    doc = await json_body(request)
    action = doc.get("action")
    if action not in ("close", "open"):
        raise BadRequest("field 'action' must be 'close' or 'open'")
    outcome = await request.app[FRONT_DOOR].set_access(
        ctx, path_msisdn(request), open_=action == "open"
    )
    return web.json_response({"status": outcome})


async def client_administrator(request: web.Request) -> web.Response:
    """Grant administrator rights to another subscriber of the same client."""
    ctx = await _context(request)
    outcome = await request.app[FRONT_DOOR].grant_administrator(ctx, path_msisdn(request))
    return web.json_response({"status": outcome})


async def client_puk_registration(request: web.Request) -> web.Response:
    """Switch a subscriber's "registration by PUK1" option."""
    ctx = await _context(request)
    doc = await json_body(request)
    outcome = await request.app[FRONT_DOOR].set_puk_registration(
        ctx, path_msisdn(request), FIELDS.boolean(doc, "enabled")
    )
    return web.json_response({"status": outcome})


async def openapi_document(request: web.Request) -> web.Response:
    """The API's OpenAPI 3 document."""
    text = files("ussd_gateway.http").joinpath("openapi.yaml").read_text(encoding="utf-8")
    return web.Response(text=text, content_type="application/yaml")


def add_account_routes(app: web.Application) -> None:
    """Register the account API."""
    r = app.router
    r.add_get("/api/v1/openapi.yaml", openapi_document)
    r.add_post("/api/v1/register/sms", register_sms)
    r.add_post("/api/v1/register/puk", register_puk)
    r.add_get("/api/v1/register/ussd", register_ussd)
    r.add_post("/api/v1/login/password", login_password)
    r.add_post("/api/v1/login/sms", login_sms)
    r.add_post("/api/v1/login/account", login_account)
    r.add_post("/api/v1/login/account/confirm", _confirm(Method.ACCOUNT))
    r.add_post("/api/v1/login/email", login_email)
    r.add_post("/api/v1/login/email/confirm", _confirm(Method.EMAIL))
    r.add_post("/api/v1/password/forgot", forgot_password)
    r.add_get("/api/v1/session", session_info)
    r.add_post("/api/v1/session/logout", logout)
    r.add_post("/api/v1/session/password", change_password)
    r.add_get("/api/v1/client/subscribers", client_subscribers)
    r.add_post("/api/v1/client/subscribers/{msisdn}/access", client_access)
    r.add_post("/api/v1/client/subscribers/{msisdn}/administrator", client_administrator)
    r.add_post("/api/v1/client/subscribers/{msisdn}/puk-registration", client_puk_registration)
