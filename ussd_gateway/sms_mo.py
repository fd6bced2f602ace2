"""``/sms/mo``: subscribers' SMS from Kannel, Jasmin or as JSON, and what we answer.

``GET`` and ``POST /sms/mo`` read any of the formats of :mod:`sms.mo`; the first word picks
a command of ``menus/sms.yaml`` (:mod:`sms.commands`): a login code, or the help. A code
asked for by SMS goes back in the reply (``CodeService.request(…, channel=Channel.SMS)``).

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
  sealed and expires with the code; only to our own numbers), then **200** exactly
  ``ACK/Jasmin``. A malformed MO gets **400** (Jasmin tries again a few times and drops it;
  acknowledging garbage would hide a broken route); a storage failure **503** so Jasmin
  delivers the MO again later.
- **JSON**: **200** ``{"reply": "…"}``; malformed **400**, storage failure **503**, each
  ``{"error", "message"}``.

Nothing here logs an SMS text, a reply or a code: one ``sms_mo`` line per MO with the
format, the command, the outcome and the masked sender.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog
from aiohttp import web

from sms.codes import Purpose, RequestOutcome, shipped_commands_path
from sms.commands import Action, Reply, SmsCommands, load_commands
from sms.encoding import is_gsm7
from sms.errors import MoParseError
from sms.mo import MoMessage, MoSource, parse_mo
from state.errors import StoreError
from state.models import ChangeSet, Channel, MoReceipt, OutboxMessage
from state.msisdn import mask_msisdn
from ussd_gateway.appkeys import CODES, SEALER, SETTINGS, SMS_COMMANDS, STORE
from ussd_gateway.web import caller_is_allowed

MO_PATH = "/sms/mo"
JASMIN_ACK = "ACK/Jasmin"
CODE_TTL = 300.0
"""Seconds an outbox reply holding a code may wait to be sent: the code's own life."""
PLAIN = "text/plain; charset=utf-8"

log = structlog.get_logger("ussd_gateway.sms_mo")


@dataclass(frozen=True, slots=True)
class _Answer:
    """What one MO comes to: the reply text and how it was reached (for the log)."""

    text: str
    action: Action
    outcome: str
    holds_code: bool = False


def add_mo_routes(
    app: web.Application,
    *,
    commands: SmsCommands | None = None,
    clock: Callable[[], float] | None = None,
) -> None:
    """Register ``GET``/``POST /sms/mo`` on ``app`` and load the SMS commands now.

    The app must hold ``SETTINGS``, and by the time requests arrive ``STORE``, ``CODES``
    and ``SEALER``. ``clock`` (for outbox timestamps) defaults to the code service's.

    Raises:
        CommandDefinitionError: the command file is broken (start-up fails, not an MO).
    """
    app[SMS_COMMANDS] = commands or load_commands(shipped_commands_path())

    async def handle(request: web.Request) -> web.StreamResponse:
        if not _allowed(request):
            log.warning("sms_mo_forbidden")
            return web.Response(status=403, text="Forbidden", headers={"Content-Type": PLAIN})
        body = await request.read()
        try:
            message = parse_mo(
                request.method, request.rel_url.raw_query_string, request.headers, body
            )
        except MoParseError as exc:
            return _malformed(request, exc)
        try:
            if await _already_answered(request, message):
                log.info(
                    "sms_mo",
                    source=str(message.source),
                    outcome="duplicate",
                    sender=_masked(message),
                )
                return _reply(message.source, "")
            answer = await _answer(request, message)
            if message.source is MoSource.JASMIN:
                now = clock() if clock is not None else request.app[CODES].clock()
                await _queue_reply(request, message, answer, now)
        except Exception as exc:
            # Kannel must never see a 5xx (it would text the subscriber "Could not fetch
            # content"); everything unexpected is logged here, with its traceback.
            event = "sms_mo_store_failed" if isinstance(exc, StoreError) else "sms_mo_failed"
            log.exception(event, source=str(message.source))
            return _unavailable(request, message.source)
        log.info(
            "sms_mo",
            source=str(message.source),
            action=str(answer.action),
            outcome=answer.outcome,
            sender=_masked(message),
        )
        return _reply(message.source, answer.text)

    app.router.add_get(MO_PATH, handle, allow_head=False)
    app.router.add_post(MO_PATH, handle)


# --- authentication -------------------------------------------------------------------


def _allowed(request: web.Request) -> bool:
    return caller_is_allowed(request, request.app[SETTINGS].sms.mo_secret)


# --- the reply ------------------------------------------------------------------------


async def _answer(request: web.Request, message: MoMessage) -> _Answer:
    commands = request.app[SMS_COMMANDS]
    action = commands.match(message.text)
    if not message.sender_is_ours:
        # A foreign or alphanumeric sender: no subscriber, no code, the generic help.
        return _Answer(commands.reply(Reply.HELP, None), action, "not_ours")
    subscriber = await request.app[STORE].get_subscriber(message.sender)
    lang = subscriber.lang if subscriber is not None else None
    if action is Action.HELP:
        return _Answer(commands.reply(Reply.HELP, lang), action, "help")
    result = await request.app[CODES].request(message.sender, Purpose.LOGIN, channel=Channel.SMS)
    outcome = result.outcome
    if outcome is RequestOutcome.REPLY and result.code is not None:
        text = commands.reply(Reply.CODE, lang, code=result.code)
        return _Answer(text, action, str(outcome), holds_code=True)
    if outcome is RequestOutcome.LIMITED:
        text = commands.reply(Reply.LIMITED, lang, seconds=result.retry_after)
        return _Answer(text, action, str(outcome))
    if outcome is RequestOutcome.QUEUED:
        return _Answer(commands.reply(Reply.QUEUED, lang), action, str(outcome))
    # Unknown or refused: the same help a stranger gets.
    return _Answer(commands.reply(Reply.HELP, lang), action, str(outcome))


async def _already_answered(request: web.Request, message: MoMessage) -> bool:
    """A Jasmin redelivery of an MO we answered (its ACK was lost): acknowledge, no more."""
    if message.source is not MoSource.JASMIN or not message.message_id:
        return False
    return await request.app[STORE].mo_received(str(message.source), message.message_id)


async def _queue_reply(
    request: web.Request, message: MoMessage, answer: _Answer, now: float
) -> None:
    """Jasmin's reply: an MT in the outbox, committed before we acknowledge the MO."""
    receipts: tuple[MoReceipt, ...] = ()
    if message.message_id:
        receipts = (MoReceipt(str(message.source), message.message_id, now),)
    if not message.sender_is_ours:
        # We send SMS only to our own numbers; the MO is still remembered as answered.
        if receipts:
            await request.app[STORE].commit(ChangeSet(mo_receipts=receipts))
        return
    if answer.holds_code:
        body = request.app[SEALER].seal(answer.text)
        row = OutboxMessage(
            message.sender, f"code:{Purpose.LOGIN}", body, now, expires_at=now + CODE_TTL
        )
    else:
        row = OutboxMessage(message.sender, "mo_reply", answer.text, now)
    # The reply and the receipt commit together: a redelivery finds one only with the other.
    await request.app[STORE].commit(ChangeSet(outbox=(row,), mo_receipts=receipts))


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


def _malformed(request: web.Request, exc: MoParseError) -> web.Response:
    log.warning("sms_mo_malformed", source=exc.source, reason=exc.message)
    if exc.source in (MoSource.KANNEL_GET, MoSource.KANNEL_POST):
        return _kannel(request.app[SMS_COMMANDS].reply(Reply.HELP, None))
    if exc.source == MoSource.JSON:
        return web.json_response({"error": "malformed_request", "message": exc.message}, status=400)
    return web.Response(
        status=400, text=f"Bad Request: {exc.message}", headers={"Content-Type": PLAIN}
    )


def _unavailable(request: web.Request, source: MoSource) -> web.Response:
    if source.kannel:
        return _kannel(request.app[SMS_COMMANDS].reply(Reply.UNAVAILABLE, None))
    if source is MoSource.JSON:
        message = "storage is unavailable; try again"
        return web.json_response({"error": "unavailable", "message": message}, status=503)
    return web.Response(status=503, text="Service Unavailable", headers={"Content-Type": PLAIN})


def _masked(message: MoMessage) -> str:
    return mask_msisdn(message.sender) if message.sender_is_ours else "foreign"
