"""The account API over HTTP (``/api/v1/…``), described in ``openapi.yaml`` beside this file.

Three callers: the web front end (its credential, Bearer or Basic, as for ``/api/v1/codes``),
the front end on behalf of a logged-in user (plus ``X-Session-Token``), and the operator's
tools (the operator credential). Handlers only read fields and shape answers; the decisions
are :class:`FrontDoor`'s and the core's.
"""

from __future__ import annotations

from dataclasses import asdict
from importlib.resources import files
from typing import Any

from aiohttp import web

from account.codes import CODE_MAX_CHARS
from account.errors import NotPermitted
from account.front_door import Context, FrontDoor, Method, NewSession
from state import roles
from state.errors import InvalidMsisdn
from state.models import Channel, ClosedBy, Role
from state.msisdn import normalize_msisdn
from ussd_gateway.errors import BadRequest
from ussd_gateway.fields import MAX_MSISDN_CHARS
from ussd_gateway.http.appkeys import FRONT_DOOR, OPERATOR, SETTINGS, STORE
from ussd_gateway.http.auth import require
from ussd_gateway.http.body import FIELDS, json_body

SESSION_HEADER = "X-Session-Token"
SHORT_SECRET_CHARS = 32
"""PUK1 (8 digits) and account numbers: anything longer is refused unread."""
OPERATOR_REASONS = {
    "lost_sim": ClosedBy.OPERATOR,
    "company_restriction": ClosedBy.OPERATOR,
    "organisation_request": ClosedBy.ORGANISATION,
}
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


def _operator(request: web.Request) -> None:
    require(
        request,
        request.app[SETTINGS].account.operator_secret,
        "missing or wrong operator credentials",
    )


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


def _path_msisdn(request: web.Request) -> str:
    try:
        return normalize_msisdn(request.match_info["msisdn"][:MAX_MSISDN_CHARS])
    except InvalidMsisdn as exc:
        raise BadRequest(f"path 'msisdn': {exc}") from None


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
        ctx, _path_msisdn(request), open_=action == "open"
    )
    return web.json_response({"status": outcome})


async def client_administrator(request: web.Request) -> web.Response:
    """Grant administrator rights to another subscriber of the same client."""
    ctx = await _context(request)
    outcome = await request.app[FRONT_DOOR].grant_administrator(ctx, _path_msisdn(request))
    return web.json_response({"status": outcome})


async def client_puk_registration(request: web.Request) -> web.Response:
    """Switch a subscriber's "registration by PUK1" option."""
    ctx = await _context(request)
    doc = await json_body(request)
    outcome = await request.app[FRONT_DOOR].set_puk_registration(
        ctx, _path_msisdn(request), FIELDS.boolean(doc, "enabled")
    )
    return web.json_response({"status": outcome})


# --- operator -----------------------------------------------------------------------------


async def operator_access(request: web.Request) -> web.Response:
    """Close (lost SIM, company restriction, organisation's request) or open access."""
    _operator(request)
    doc = await json_body(request)
    msisdn = _path_msisdn(request)
    action = doc.get("action")
    name = FIELDS.text(doc, "operator", limit=64, required=False)
    actor = f"operator:{name}" if name else "operator"
    operator = request.app[OPERATOR]
    if action == "close":
        reason = doc.get("reason")
        if not isinstance(reason, str) or reason not in OPERATOR_REASONS:
            raise BadRequest(f"field 'reason' must be one of {', '.join(OPERATOR_REASONS)}")
        decision = await operator.close_access(
            msisdn, by=OPERATOR_REASONS[reason], actor=actor, channel=Channel.WEB, reason=reason
        )
    elif action == "open":
        decision = await operator.open_access(
            msisdn, by=ClosedBy.OPERATOR, actor=actor, channel=Channel.WEB, reason="operator"
        )
    else:
        raise BadRequest("field 'action' must be 'close' or 'open'")
    return web.json_response({"status": str(decision.outcome)})


async def operator_puk_unlock(request: web.Request) -> web.Response:
    """Lift a PUK1 lock."""
    _operator(request)
    decision = await request.app[OPERATOR].unlock_puk(
        _path_msisdn(request), actor="operator", channel=Channel.WEB
    )
    return web.json_response({"status": str(decision.outcome)})


async def operator_role(request: web.Request) -> web.Response:
    """Grant or revoke a role on the client's application (supervisor, administrator)."""
    _operator(request)
    doc = await json_body(request)
    if "role" not in doc:
        raise BadRequest("field 'role' is required ('administrator', 'supervisor' or null)")
    value = doc.get("role")
    try:
        role = Role(value) if value is not None else None
    except ValueError:
        raise BadRequest("field 'role' must be 'administrator', 'supervisor' or null") from None
    decision = await request.app[OPERATOR].set_role(
        _path_msisdn(request), role, actor="operator", channel=Channel.WEB
    )
    if decision.outcome == roles.RoleOutcome.NOT_ELIGIBLE:
        raise NotPermitted(
            "administrator: legal entities and sole proprietors only;"
            " supervisor: clients with a subscription fee only"
        )
    return web.json_response({"status": str(decision.outcome)})


async def operator_audit(request: web.Request) -> web.Response:
    """The audit log, newest first (``msisdn``, ``since``, ``limit`` ≤ 1000)."""
    _operator(request)
    query = request.query
    msisdn = None
    if "msisdn" in query:
        try:
            msisdn = normalize_msisdn(query["msisdn"][:MAX_MSISDN_CHARS])
        except InvalidMsisdn as exc:
            raise BadRequest(f"query 'msisdn': {exc}") from None
    try:
        limit = int(query.get("limit", "100"))
        since = float(query["since"]) if "since" in query else None
    except ValueError:
        raise BadRequest("query 'limit' must be an integer and 'since' a number") from None
    if not 1 <= limit <= 1000 or (since is not None and not 0 <= since < 1e11):
        raise BadRequest("query 'limit' must be 1 to 1000 and 'since' a Unix time")
    entries = await request.app[STORE].audit_log(msisdn=msisdn, since=since, limit=limit)
    return web.json_response(
        {
            "entries": [
                {
                    "at": e.at,
                    "msisdn": e.msisdn,
                    "action": e.action,
                    "actor": e.actor,
                    "channel": str(e.channel),
                    "detail": e.detail,
                }
                for e in entries
            ]
        }
    )


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
    r.add_post("/api/v1/operator/subscribers/{msisdn}/access", operator_access)
    r.add_post("/api/v1/operator/subscribers/{msisdn}/puk-unlock", operator_puk_unlock)
    r.add_post("/api/v1/operator/subscribers/{msisdn}/role", operator_role)
    r.add_get("/api/v1/operator/audit", operator_audit)
