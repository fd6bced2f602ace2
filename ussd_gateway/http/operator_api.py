"""The operator's API (``/api/v1/operator/…``): close, open, unlock, roles, the audit log.

Callers present the operator credential. Handlers read fields and shape answers; the
decisions are :class:`account.operator.AccountService`'s and the core's.
"""

from __future__ import annotations

from aiohttp import web

from account.errors import NotPermitted
from state import roles
from state.errors import InvalidMsisdn
from state.models import Channel, ClosedBy, Role
from state.msisdn import normalize_msisdn
from ussd_gateway.errors import BadRequest
from ussd_gateway.fields import MAX_MSISDN_CHARS
from ussd_gateway.http.appkeys import OPERATOR, SETTINGS, STORE
from ussd_gateway.http.auth import require
from ussd_gateway.http.body import FIELDS, json_body
from ussd_gateway.http.paths import path_msisdn

OPERATOR_REASONS = {
    "lost_sim": ClosedBy.OPERATOR,
    "company_restriction": ClosedBy.OPERATOR,
    "organisation_request": ClosedBy.ORGANISATION,
}
"""A closure's reason → whose closure it is (an organisation's request is the organisation's)."""


def _operator(request: web.Request) -> None:
    require(
        request,
        request.app[SETTINGS].account.operator_secret,
        "missing or wrong operator credentials",
    )


async def operator_access(request: web.Request) -> web.Response:
    """Close (lost SIM, company restriction, organisation's request) or open access."""
    _operator(request)
    doc = await json_body(request)
    msisdn = path_msisdn(request)
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
        path_msisdn(request), actor="operator", channel=Channel.WEB
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
        path_msisdn(request), role, actor="operator", channel=Channel.WEB
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


def add_operator_routes(app: web.Application) -> None:
    """Register the operator's API."""
    r = app.router
    r.add_post("/api/v1/operator/subscribers/{msisdn}/access", operator_access)
    r.add_post("/api/v1/operator/subscribers/{msisdn}/puk-unlock", operator_puk_unlock)
    r.add_post("/api/v1/operator/subscribers/{msisdn}/role", operator_role)
    r.add_get("/api/v1/operator/audit", operator_audit)
