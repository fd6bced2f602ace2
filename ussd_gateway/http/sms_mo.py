"""``/sms/mo``: subscribers' SMS from Kannel, Jasmin or as JSON, and what we answer.

``GET`` and ``POST /sms/mo`` read any of the formats of :mod:`sms.mo`; what an MO comes to
is decided by :class:`account.sms_requests.SmsRequests`. This module translates formats:

Answers, per caller (decided here, once):

- **Caller authentication** (``sms.mo_secret``: ``?token=``, ``Authorization: Bearer`` or
  the Basic password; skipped in demo mode; with no secret configured every caller is
  refused): a missing or wrong secret gets **403** ``Forbidden`` (text/plain) whatever the
  format, before anything is read or changed. A forged caller is not our Kannel, so the
  "never an error to Kannel" rule does not apply to it; a Kannel configured with the wrong
  token shows up as 403s in both logs.
- **Kannel** (get-url, post-url): the answer's body *is* the reply SMS, so it is always
  **200** ``text/plain; charset=utf-8`` with a non-empty one-segment body, never a 5xx
  (Kannel would send "Could not fetch content, sorry." instead), with ``X-Kannel-Coding: 2``
  when the text is not GSM-7 (Cyrillic: Kannel needs ``accept-x-kannel-headers = true``,
  else it sends "?" for each letter). A malformed MO gets the help text; a storage or
  code-service failure gets the "temporarily unavailable" text.
- **Jasmin**: the reply goes out as an MT through the outbox (a body holding a code is
  sealed and expires with the code; only to our own numbers; committed by
  ``SmsRequests``), then **200** exactly
  ``ACK/Jasmin``. A malformed MO gets **400** (Jasmin tries again a few times and drops it;
  acknowledging garbage would hide a broken route); a storage failure **503** so Jasmin
  delivers the MO again later.
- **JSON**: **200** ``{"reply": "…"}``; malformed **400**, storage failure **503**, each
  ``{"error", "message"}``.

Nothing here logs an SMS text, a reply or a code: one ``sms_mo`` line per MO with the
format, the command, the outcome and the masked sender; the same format and outcome are
counted (``ussd_sms_mo_total``; also ``malformed``, ``unavailable`` and ``forbidden``).
"""

from __future__ import annotations

import structlog
from aiohttp import web

from account.sms_requests import MoAnswer, SmsRequests
from sms.commands import SmsCommands, load_commands, shipped_commands_path
from sms.encoding import is_gsm7
from sms.errors import MoParseError
from sms.mo import MoMessage, MoSource, parse_mo
from state.errors import StoreError
from state.msisdn import mask_msisdn
from ussd_gateway.http.appkeys import METRICS, SETTINGS, SMS_COMMANDS, SMS_REQUESTS
from ussd_gateway.http.auth import caller_is_allowed
from ussd_gateway.metrics.service import NOT_COUNTED

MO_PATH = "/sms/mo"
JASMIN_ACK = "ACK/Jasmin"
PLAIN = "text/plain; charset=utf-8"

log = structlog.get_logger("ussd_gateway.sms_mo")


def add_mo_routes(app: web.Application, *, commands: SmsCommands | None = None) -> None:
    """Register ``GET``/``POST /sms/mo`` on ``app`` and load the SMS commands now.

    The app must hold ``SETTINGS``, and by the time requests arrive ``SMS_REQUESTS`` (and
    ``METRICS``, to count the MO).

    Raises:
        CommandDefinitionError: the command file is broken (start-up fails, not an MO).
    """
    app[SMS_COMMANDS] = commands or load_commands(shipped_commands_path())
    app.router.add_get(MO_PATH, handle_mo, allow_head=False)
    app.router.add_post(MO_PATH, handle_mo)


def replace_commands(app: web.Application, commands: SmsCommands) -> None:
    """A reload: every MO answered and every code SMS composed from now on uses
    ``commands`` (checked already). ``SMS_COMMANDS`` stays the set start-up loaded; the set
    of the moment is ``SmsRequests.commands``, which the code SMS's composer reads too."""
    app[SMS_REQUESTS].commands = commands


async def handle_mo(request: web.Request) -> web.StreamResponse:
    """Authenticate, read the MO in its format, answer it in the same."""
    counters = request.app.get(METRICS) or NOT_COUNTED
    if not caller_is_allowed(request, request.app[SETTINGS].sms.mo_secret, query_ok=True):
        counters.mo_answered("unknown", "forbidden")
        log.warning("sms_mo_forbidden")
        return web.Response(status=403, text="Forbidden", headers={"Content-Type": PLAIN})
    body = await request.read()
    requests = request.app[SMS_REQUESTS]
    try:
        message = parse_mo(request.method, request.rel_url.raw_query_string, request.headers, body)
    except MoParseError as exc:
        counters.mo_answered(str(exc.source or "unknown"), "malformed")
        return _malformed(requests, exc)
    try:
        answer = await requests.answer(message)
    except Exception as exc:
        # Kannel must never see a 5xx (it would text the subscriber "Could not fetch
        # content"); everything unexpected is logged here, with its traceback.
        event = "sms_mo_store_failed" if isinstance(exc, StoreError) else "sms_mo_failed"
        log.exception(event, source=str(message.source))
        counters.mo_answered(str(message.source), "unavailable")
        return _unavailable(requests, message.source)
    counters.mo_answered(str(message.source), answer.outcome)
    _log(message, answer)
    return _reply(message.source, answer.text)


def _log(message: MoMessage, answer: MoAnswer) -> None:
    fields = {"source": str(message.source), "outcome": answer.outcome, "sender": _masked(message)}
    if answer.action is not None:
        fields["action"] = str(answer.action)
    log.info("sms_mo", **fields)


def _kannel(text: str) -> web.Response:
    """Kannel's reply SMS. Text beyond GSM-7 (Cyrillic) needs ``X-Kannel-Coding: 2``, or
    Kannel 1.4.5 sends every such letter as ``?`` (needs ``accept-x-kannel-headers``)."""
    headers = {"Content-Type": PLAIN}
    if not is_gsm7(text):
        headers["X-Kannel-Coding"] = "2"
    return web.Response(text=text, headers=headers)


def _reply(source: MoSource, text: str) -> web.Response:
    if source.kannel:
        return _kannel(text)
    if source is MoSource.JASMIN:
        return web.Response(text=JASMIN_ACK, headers={"Content-Type": PLAIN})
    return web.json_response({"reply": text})


def _malformed(requests: SmsRequests, exc: MoParseError) -> web.Response:
    log.warning("sms_mo_malformed", source=exc.source, reason=exc.message)
    if exc.source in (MoSource.KANNEL_GET, MoSource.KANNEL_POST):
        return _kannel(requests.help_text())
    if exc.source == MoSource.JSON:
        return web.json_response({"error": "malformed_request", "message": exc.message}, status=400)
    return web.Response(
        status=400, text=f"Bad Request: {exc.message}", headers={"Content-Type": PLAIN}
    )


def _unavailable(requests: SmsRequests, source: MoSource) -> web.Response:
    if source.kannel:
        return _kannel(requests.unavailable_text())
    if source is MoSource.JSON:
        message = "storage is unavailable; try again"
        return web.json_response({"error": "unavailable", "message": message}, status=503)
    return web.Response(status=503, text="Service Unavailable", headers={"Content-Type": PLAIN})


def _masked(message: MoMessage) -> str:
    return mask_msisdn(message.sender) if message.sender_is_ours else "foreign"
