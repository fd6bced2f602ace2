"""Delivery reports: ``/sms/dlr`` updates the outbox row a provider reports on.

**Kannel** (``GET``): the ``dlr-url`` our Kannel sender gives is
``<dlr_url>?id=<outbox id>&status=%d&token=<mo_secret>``; Kannel fills ``%d`` with the
report type: 1 delivered, 2 undelivered, 4 queued on the SMSC, 8 delivered to the SMSC,
16 rejected by the SMSC. The answer is ``200 OK``, also for an id we don't know (a report
for a purged row must not make Kannel try again).

**Jasmin** (``POST``, form): Jasmin posts ``id`` (its message uuid, which our Jasmin sender
stored as the provider reference), ``message_status`` and ``level`` to the ``dlr-url`` our
sender gave (``<dlr_url>?token=<mo_secret>``); it wants the body ``ACK/Jasmin`` or it
tries again.

Callers present ``SmsSettings.mo_secret`` (``?token=``, or ``Authorization: Bearer`` /
Basic); a wrong or missing one gets 403, as does any caller when no secret is configured
(demo mode skips the check). The token is never logged (the request log has the path only).
Each report is counted by provider and status (``ussd_sms_delivery_reports_total``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog
from aiohttp import web

from ussd_gateway.errors import BadRequest
from ussd_gateway.http.appkeys import METRICS, SETTINGS, STORE
from ussd_gateway.http.auth import caller_is_allowed
from ussd_gateway.http.body import FIELDS
from ussd_gateway.metrics.service import NOT_COUNTED

log = structlog.get_logger("ussd_gateway.http.sms_dlr")

KANNEL_DLR_TYPES = {
    1: "delivered",
    2: "undelivered",
    4: "queued",
    8: "smsc_accepted",
    16: "rejected",
}
"""Kannel's DLR type (``%d``) → the outbox's ``delivery``."""
JASMIN_STATUSES = {
    "DELIVRD": "delivered",
    "UNDELIV": "undelivered",
    "EXPIRED": "undelivered",
    "DELETED": "undelivered",
    "UNKNOWN": "undelivered",
    "REJECTD": "rejected",
    "ACCEPTD": "queued",
    "ENROUTE": "queued",
    "ESME_ROK": "smsc_accepted",
}
"""Jasmin's ``message_status`` → ``delivery``; any other ``ESME_*`` is ``rejected``."""
JASMIN_ACK = "ACK/Jasmin"
_MAX_ID_DIGITS = 18


def _allowed(request: web.Request) -> bool:
    return caller_is_allowed(request, request.app[SETTINGS].sms.mo_secret, query_ok=True)


def _number(value: str, max_digits: int) -> bool:
    return value.isascii() and value.isdigit() and len(value) <= max_digits


def _count(request: web.Request, source: str, delivery: str) -> None:
    (request.app.get(METRICS) or NOT_COUNTED).delivery_reported(source, delivery)


def _forbidden() -> web.Response:
    log.warning("sms_dlr_forbidden")
    return web.Response(status=403, text="Forbidden")


def _bad(reason: str) -> web.Response:
    log.warning("sms_dlr_malformed", reason=reason)
    return web.Response(status=400, text="Bad Request")


def add_dlr_routes(app: web.Application, *, clock: Callable[[], float] = time.time) -> None:
    """Register ``GET /sms/dlr`` (Kannel) and ``POST /sms/dlr`` (Jasmin) on ``app``.

    The app must hold ``SETTINGS`` and, by the time requests arrive, ``STORE`` (and
    ``METRICS``, to count the reports).
    """

    async def kannel_dlr(request: web.Request) -> web.Response:
        if not _allowed(request):
            return _forbidden()
        raw_id, raw_status = request.query.get("id", ""), request.query.get("status", "")
        if not (_number(raw_id, _MAX_ID_DIGITS) and _number(raw_status, 3)):
            return _bad("id and status must be numbers")
        delivery = KANNEL_DLR_TYPES.get(int(raw_status), f"type_{int(raw_status)}")
        message_id = int(raw_id)
        found = await request.app[STORE].record_delivery(
            message_id=message_id, delivery=delivery, now=clock()
        )
        _count(request, "kannel", delivery)
        log.info("sms_dlr", message_id=message_id, delivery=delivery, known=found)
        return web.Response(text="OK")

    async def jasmin_dlr(request: web.Request) -> web.Response:
        if not _allowed(request):
            return _forbidden()
        # Our own reader, not aiohttp's request.post(): a body that is not UTF-8 or a
        # multipart type without a boundary is a 400 (Jasmin posts a plain form), never a
        # 500 that Jasmin would retry.
        try:
            form = FIELDS.form(await request.read())
        except BadRequest as exc:
            return _bad(exc.message)
        ref, status = form.get("id"), form.get("message_status")
        if not isinstance(ref, str) or not ref or not isinstance(status, str) or not status:
            return _bad("id and message_status are required")
        delivery = JASMIN_STATUSES.get(status.upper())
        if delivery is None:
            delivery = "rejected" if status.upper().startswith("ESME_") else "unknown"
        found = await request.app[STORE].record_delivery(
            provider_ref=ref[:100], delivery=delivery, now=clock()
        )
        _count(request, "jasmin", delivery)
        log.info("sms_dlr", provider_ref=ref[:100], delivery=delivery, known=found)
        return web.Response(text=JASMIN_ACK)

    app.router.add_get("/sms/dlr", kannel_dlr)
    app.router.add_post("/sms/dlr", jasmin_dlr)
