"""GSUP supplementary-service messages ⇄ the engine's hops: translate, don't decide.

Like a dialect (``ussd_gateway/dialects/``) this is a pure pair with no I/O: a message from
OsmoHLR becomes a :class:`UssdRequest` (or the reason it cannot), a :class:`UssdReply`
becomes the message that answers it. The engine decides everything else.

- BEGIN with a processUnstructuredSS-Request invoke → ``begin``, hop 0, the dialled string.
- CONTINUE with the returnResult of our unstructuredSS-Request → ``continue``, the
  subscriber's input. Its hop number is the returnResult's invoke id: each prompt we send
  is an invoke numbered one more than the hop it answers, so the number comes back from the
  network and a repeat or a late resend is recognised by the engine as on every dialect.
- END from the network (the subscriber hung up, the MSC released) → ``abort``; a
  ``PROC_SS_ERROR`` (OsmoHLR forgot the session: its guard timer) → ``timeout``.
- A reply that ends → ``PROC_SS_RESULT``/END with the returnResult of the subscriber's
  processUnstructuredSS-Request; one that continues → ``PROC_SS_REQUEST``/CONTINUE with an
  unstructuredSS-Request invoke.
"""

from __future__ import annotations

from dataclasses import dataclass

from ussd_gateway.dialects.model import Op, UssdReply, UssdRequest
from ussd_gateway.errors import PeerDecodeError
from ussd_gateway.gsup import facility
from ussd_gateway.gsup.facility import Component, Kind
from ussd_gateway.gsup.messages import (
    MESSAGE_CLASS_USSD,
    GsupMessage,
    MessageType,
    SessionState,
)

DIALECT = "gsup"
"""The engine's name for this channel (its sessions are ``gsup:<imsi>-<id>``)."""
MAX_HOP = 127
"""The highest hop a session reaches: an invoke id is an INTEGER (-128..127) of 24.080."""
DEFAULT_PSSR_INVOKE = 1
"""The invoke id of a subscriber's processUnstructuredSS-Request when the gateway no longer
knows it (a session begun before a restart): the one handsets use."""


@dataclass(frozen=True, slots=True)
class Inbound:
    """A message from the core, read: the hop to run, with what answering it needs."""

    request: UssdRequest
    invoke_id: int | None
    """The component's invoke id (a BEGIN's is the one the final result answers)."""


def session_id(euse: str, gsup_session: int, begun_ms: int, serial: int) -> str:
    """The engine's id of a session begun by a BEGIN: the EUSE's name (one per instance),
    the GSUP session id (for reading beside OsmoHLR's log), the millisecond of the BEGIN
    and a serial of the process. Never the GSUP numbers alone: an MSC counts its ids from
    the start again after a restart, so a BEGIN may carry those of a session already
    ended. No IMSI either: it would sit in every hop's log line (the MSISDN is masked
    there, an IMSI would not be)."""
    return f"{euse}-{gsup_session:08x}-{begun_ms:x}-{serial:x}"


def read(message: GsupMessage, msisdn: str, sid: str) -> Inbound:
    """The hop a message from the core asks for in the engine's session ``sid``, the
    subscriber being ``msisdn``.

    Raises:
        PeerDecodeError: no session id or state, a Facility that is not one readable
            component, or not the component its state calls for.
    """
    if message.session_id is None or message.session_state is None:
        raise PeerDecodeError("a supplementary-service message without its session")

    def hop(op: Op, text: str = "", number: int | None = None, key: str = "") -> UssdRequest:
        return UssdRequest(
            dialect=DIALECT,
            session_id=sid,
            msisdn=msisdn,
            op=op,
            text=text,
            hop_key=key or str(number),
            number=number,
        )

    if message.is_error:
        return Inbound(hop(Op.TIMEOUT, key="error"), None)
    state = message.session_state
    if state is SessionState.END:
        return Inbound(hop(Op.ABORT, key="end"), None)
    if message.ss_info is None:
        raise PeerDecodeError("a BEGIN or CONTINUE without its Facility")
    component = facility.decode(message.ss_info)
    if state is SessionState.BEGIN:
        if not (component.kind is Kind.INVOKE and component.operation == facility.PSSR):
            raise PeerDecodeError("a BEGIN is a processUnstructuredSS-Request invoke")
        return Inbound(hop(Op.BEGIN, _text(component), 0), component.invoke_id)
    if state is SessionState.CONTINUE:
        if not (component.kind is Kind.RETURN_RESULT and component.operation == facility.USSR):
            raise PeerDecodeError("a CONTINUE is the result of an unstructuredSS-Request")
        number = component.invoke_id
        if number is None or not 1 <= number <= MAX_HOP:
            raise PeerDecodeError("the result answers no prompt of ours (its invoke id)")
        return Inbound(hop(Op.CONTINUE, _text(component), number), number)
    raise PeerDecodeError(f"session state {state.name} from the core")


def _text(component: Component) -> str:
    if component.text is None:
        raise PeerDecodeError("a USSD component without its USSD-String")
    return component.text


def answer(
    message: GsupMessage,
    request: UssdRequest,
    reply: UssdReply,
    pssr_invoke: int | None,
    octets: int = facility.MAX_USSD_OCTETS,
) -> GsupMessage | None:
    """The message answering ``request`` with ``reply`` (None: nothing to send, as after
    the network's own END or error), its text fitted to ``octets`` (the channel's limit;
    the engine pages its screens to it, this cuts what it does not page).

    Raises:
        ValueError: the reply's text needs more than one USSD-String.
    """
    if request.op in (Op.ABORT, Op.TIMEOUT):
        return None
    number = request.number or 0
    if reply.ends or number >= MAX_HOP:
        invoke = final_invoke(pssr_invoke)
        if not reply.ends:  # out of invoke ids: end where a prompt would follow
            return end_with_error(message, invoke, facility.ERROR_SYSTEM_FAILURE)
        return end_with_text(message, invoke, facility.fit(reply.text, octets))
    info = facility.invoke(number + 1, facility.USSR, facility.fit(reply.text, octets))
    return _ss(message, MessageType.PROC_SS_REQUEST, SessionState.CONTINUE, info)


def final_invoke(pssr_invoke: int | None) -> int:
    """The invoke id a final answer is for: the subscriber's processUnstructuredSS-Request's
    (0 is one too), :data:`DEFAULT_PSSR_INVOKE` when it is not known."""
    return DEFAULT_PSSR_INVOKE if pssr_invoke is None else pssr_invoke


def end_with_text(message: GsupMessage, pssr_invoke: int, text: str) -> GsupMessage:
    """An END with the returnResult of the subscriber's processUnstructuredSS-Request.

    Raises:
        ValueError: ``text`` needs more than one USSD-String.
    """
    info = facility.result(pssr_invoke, facility.PSSR, text)
    return _ss(message, MessageType.PROC_SS_RESULT, SessionState.END, info)


def end_with_error(message: GsupMessage, invoke_id: int, code: int) -> GsupMessage:
    """An END with a returnError (a MAP error code): a hop the gateway could not run."""
    return _ss(
        message, MessageType.PROC_SS_RESULT, SessionState.END, facility.error(invoke_id, code)
    )


def end_with_reject(message: GsupMessage) -> GsupMessage:
    """An END with a Reject: a Facility that could not be read."""
    return _ss(message, MessageType.PROC_SS_RESULT, SessionState.END, facility.reject_mistyped())


def _ss(message: GsupMessage, kind: MessageType, state: SessionState, info: bytes) -> GsupMessage:
    return GsupMessage(
        type=kind,
        imsi=message.imsi,
        session_id=message.session_id,
        session_state=state,
        ss_info=info,
        message_class=MESSAGE_CLASS_USSD,
    )
