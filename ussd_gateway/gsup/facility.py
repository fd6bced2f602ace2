"""GSM 04.80 (3GPP TS 24.080) Facility components as GSUP's ``ss_info`` carries them.

OsmoHLR puts one BER-encoded component in ``ss_info`` (the Facility IE's contents, without
the IE's own tag): the subscriber's processUnstructuredSS-Request (an *invoke*, opcode 59),
the subscriber's answer to our unstructuredSS-Request (a *returnResult* of opcode 60), and
from us a further prompt (an *invoke* of opcode 60) or the final answer (a *returnResult*
of opcode 59). The BER is pycrate's (``pycrate_asn1dir.SS``, the 24.080 ASN.1 compiled):
strict, so a component that is not what its tags say is refused rather than half-read.

The USSD-String's data coding scheme (3GPP TS 23.038 §5): GSM 7-bit packed for text the
GSM alphabet carries (DCS 0x0F), UCS-2 otherwise (DCS 0x48); read are GSM-7 (groups 0000,
0001 with a language, 01xx), UCS-2 (01xx, 0001 0001 with a language) and nothing else.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from pycrate_asn1dir import SS
from pycrate_asn1rt.utils import Charpy
from pycrate_mobile.TS23038 import encode_7b

from sms.encoding import USSD_OCTETS, is_gsm7, measure
from ussd_gateway.errors import PeerDecodeError
from ussd_gateway.gsup.septets import unpack_gsm7

PSSR = 59
"""processUnstructuredSS-Request: the subscriber's dialled string; its result ends."""
USSR = 60
"""unstructuredSS-Request: the network asks for more; its result is the answer."""
USSN = 61
"""unstructuredSS-Notify: a text shown without an answer (network-initiated)."""
USSD_OPERATIONS = frozenset({PSSR, USSR, USSN})

DCS_GSM7 = 0x0F
"""GSM 7-bit default alphabet, language unspecified (23.038 §5, group 0000)."""
DCS_UCS2 = 0x48
"""General data coding, uncompressed, no class, UCS-2 (23.038 §5, group 01xx)."""
MAX_USSD_OCTETS = USSD_OCTETS
"""MAP's maxUSSD-StringLength: 182 GSM-7 septets or 80 UCS-2 characters."""

# MAP error codes (TS 29.002 §17.6.6) the connector answers with.
ERROR_UNKNOWN_SUBSCRIBER = 1
ERROR_SYSTEM_FAILURE = 34
ERROR_UNEXPECTED_DATA = 36

_FACILITY = SS.SS_Facility.Facility

# pycrate's SS-Facility.Reject types problemCode as a universal INTEGER, where 24.080 §3.6.7
# has a CHOICE of context tags ([0] general problem, …): the one Reject we send is written
# out here instead — no invoke id (NULL), general problem [0] 1 "mistyped component".
_REJECT_MISTYPED = bytes((0xA4, 0x05, 0x05, 0x00, 0x80, 0x01, 0x01))


class Kind(enum.StrEnum):
    """A component's type (24.080 §3.6.2)."""

    INVOKE = "invoke"
    RETURN_RESULT = "returnResult"
    RETURN_ERROR = "returnError"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class Component:
    """One component as read: what the connector needs of it."""

    kind: Kind
    invoke_id: int | None
    operation: int | None = None
    """The opcode of an invoke or a returnResult; None for errors and rejects."""
    text: str | None = None
    """The USSD-String, decoded by its data coding scheme (None: the component has none)."""
    error: int | None = None
    """A returnError's local error code."""

    @property
    def is_ussd(self) -> bool:
        """An unstructured SS operation (not a call-independent SS like call forwarding)."""
        return self.operation in USSD_OPERATIONS


def decode(data: bytes) -> Component:
    """Read one component.

    Raises:
        PeerDecodeError: not one well-formed 24.080 component, an unknown coding scheme,
            or bytes after the component.
    """
    if not data:
        raise PeerDecodeError("empty Facility")
    char = Charpy(data)
    try:
        _FACILITY.from_ber(char, single=True)
        value = _FACILITY.get_val()
    except Exception as exc:  # pycrate raises several unrelated classes for bad input
        kind = type(exc).__name__
        raise PeerDecodeError(f"Facility is not a 24.080 component ({kind})") from None
    if char.len_bit():
        raise PeerDecodeError("bytes after the Facility's component")
    kind, fields = Kind(value[0]), value[1]
    if kind is Kind.REJECT:
        invoke = fields["id"]
        return Component(kind, invoke[1] if invoke[0] == "invokeID" else None)
    if kind is Kind.RETURN_ERROR:
        code = fields["errorCode"]
        return Component(kind, fields["invokeID"], error=code[1] if code[0] == "local" else None)
    body = fields if kind is Kind.INVOKE else fields.get("sequence")
    if body is None:  # a returnResult without a result: an acknowledgement, no text
        return Component(kind, fields["invokeID"])
    opcode = body["operationCode"]
    operation = opcode[1] if opcode[0] == "local" else None
    text = _ussd_text(body.get("parameters"))
    return Component(kind, fields["invokeID"], operation, text)


def _ussd_text(parameters: Any) -> str | None:
    if parameters is None or parameters[0] not in ("USSD-Arg", "USSD-Res"):
        return None
    ussd = parameters[1]
    return decode_string(ussd["ussd-DataCodingScheme"], ussd["ussd-String"])


def decode_string(dcs: bytes, data: bytes) -> str:
    """A USSD-String by its data coding scheme (23.038 §5).

    Raises:
        PeerDecodeError: a scheme other than GSM-7 or UCS-2, or octets that are no text.
    """
    if len(dcs) != 1:
        raise PeerDecodeError("USSD-DataCodingScheme is one octet")
    if len(data) > MAX_USSD_OCTETS:
        raise PeerDecodeError(f"USSD-String over {MAX_USSD_OCTETS} octets")
    scheme = dcs[0]
    group = scheme >> 4
    try:
        if group == 0x0:  # GSM-7 in a language the scheme names
            return unpack_gsm7(data)
        if scheme == 0x10:  # GSM-7, the first three characters a language and a CR
            return unpack_gsm7(data)[3:]
        if scheme == 0x11:  # UCS-2 after a language in two packed GSM-7 characters
            return data[2:].decode("utf-16-be")
        if group in (0x4, 0x5, 0x6, 0x7) and not scheme & 0x20:  # general, uncompressed
            alphabet = (scheme >> 2) & 0x3
            if alphabet == 0:
                return unpack_gsm7(data)
            if alphabet == 2:
                return data.decode("utf-16-be")
    except (UnicodeDecodeError, ValueError):
        raise PeerDecodeError("USSD-String does not decode in its coding scheme") from None
    raise PeerDecodeError(f"USSD-DataCodingScheme 0x{scheme:02X} is not GSM-7 or UCS-2")


def encode_string(text: str) -> tuple[int, bytes]:
    """``text`` as (data coding scheme, USSD-String): GSM-7 packed when it can be, else
    UCS-2. A final septet left free by the packing is a CR (23.038 §6.1.2.3.1, pycrate).

    Raises:
        ValueError: the text is empty (a USSD-String has an octet at least) or needs more
            than one USSD-String (the engine pages screens).
    """
    if not text:
        raise ValueError("an empty USSD-String")
    if is_gsm7(text):
        dcs, data = DCS_GSM7, encode_7b(text)[0]
    else:
        dcs, data = DCS_UCS2, text.encode("utf-16-be")
    if len(data) > MAX_USSD_OCTETS:
        raise ValueError(f"{len(data)} octets: over one USSD-String")
    return dcs, data


def fit(text: str, octets: int) -> str:
    """``text`` as it fits ``octets`` of USSD-String: whole, or cut with an ellipsis
    (``...`` in GSM-7, ``…`` in UCS-2). For the few texts the engine does not page (its
    one-screen refusals) on a channel that carries less than MAP's 160 octets: a cut text
    ends the session cleanly, where one too long would be refused by the HLR."""
    if not text or measure(text).octets <= octets:
        return text
    ellipsis = "..." if is_gsm7(text) else "…"
    cut = text
    while cut and measure(cut + ellipsis).octets > octets:  # counted, not packed
        cut = cut[:-1]
    space = cut.rfind(" ")
    if space > len(cut) - 16:  # a whole word less reads better than half a word more
        cut = cut[:space]
    return cut.rstrip() + ellipsis


def _ussd(text: str) -> tuple[str, dict[str, bytes]]:
    dcs, data = encode_string(text)
    return "USSD-Arg", {"ussd-DataCodingScheme": bytes((dcs,)), "ussd-String": data}


def _ber(value: tuple[str, dict[str, Any]]) -> bytes:
    _FACILITY.set_val(value)
    return bytes(_FACILITY.to_ber())


def invoke(invoke_id: int, operation: int, text: str) -> bytes:
    """An invoke of ``operation`` (USSR: a further prompt; PSSR: a subscriber's dialled
    string, as the core-side handset sends it; USSN: a notification)."""
    return _ber(
        ("invoke", {"invokeID": invoke_id, "operationCode": ("local", operation),
                    "parameters": _ussd(text)})
    )  # fmt: skip


def result(invoke_id: int, operation: int, text: str) -> bytes:
    """The returnResult of ``operation`` carrying ``text`` (PSSR: the final answer; USSR:
    the subscriber's answer to a prompt); an empty text, a result without one."""
    if not text:
        return _ber(("returnResult", {"invokeID": invoke_id}))
    _, ussd = _ussd(text)
    return _ber(
        ("returnResult", {"invokeID": invoke_id, "sequence": {
            "operationCode": ("local", operation), "parameters": ("USSD-Res", ussd)}})
    )  # fmt: skip


def error(invoke_id: int, code: int) -> bytes:
    """A returnError with a MAP local error code and no parameters."""
    return _ber(("returnError", {"invokeID": invoke_id, "errorCode": ("local", code)}))


def reject_mistyped() -> bytes:
    """A Reject of a component that could not be read (no invoke id to name)."""
    return _REJECT_MISTYPED
