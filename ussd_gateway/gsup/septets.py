"""GSM 7-bit packing of a USSD-String (3GPP TS 23.038 §6.1.2.3), the reading side.

Packing is pycrate's (``pycrate_mobile.TS23038.encode_7b``, which writes the CR that fills
a free final septet). Unpacking is here because pycrate's ``decode_7b`` drops any final
``@`` or CR, where only a CR in a final septet that the octets leave exactly free is the
packing's fill: a screen or an input may well end in ``@``.
"""

from __future__ import annotations

from sms.encoding import decode_gsm7

_CR = 0x0D


def unpack_septets(data: bytes) -> bytes:
    """The septets packed in ``data``, one a byte, without the fill CR of USSD packing."""
    count = len(data) * 8 // 7
    value = int.from_bytes(data, "little")  # septet 0 sits in the lowest bits
    septets = bytes((value >> (7 * i)) & 0x7F for i in range(count))
    if len(data) * 8 % 7 == 0 and septets.endswith(bytes((_CR,))):
        # 7n octets hold 8n septets exactly: a CR in the last is the fill of a text one
        # septet shorter (a text that really ends in CR is sent with two, §6.1.2.3.1).
        septets = septets[:-1]
    return septets


def unpack_gsm7(data: bytes) -> str:
    """The text of a packed GSM-7 USSD-String.

    Raises:
        ValueError: the septets are no GSM-7 text (a dangling escape).
    """
    return decode_gsm7(unpack_septets(data))
