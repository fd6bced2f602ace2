"""MO (mobile-originated) SMS as SMS gateways deliver them over HTTP, read into one value.

Four formats reach ``/sms/mo``, told apart by what they carry:

- **Kannel post-url** (``kannel-post``): a POST whose headers hold ``X-Kannel-From`` or
  ``X-Kannel-To``; the body is the text, ``text/plain`` with a charset (``"UTF-16BE"``
  for UCS-2 when smsbox has no ``mo-recode``). Kannel sends ``X-Kannel-From`` only with
  ``send-sender = true``; without it the sender may come from ``?from=%p`` in the URL.
- **JSON** (``json``): ``application/json`` ``{"from", "to", "text", "id"}``.
- **Jasmin** (``jasmin``): GET query or POST form with ``id``, ``from``, ``to``,
  ``content`` (the raw short message bytes) and optional ``coding`` (SMPP data_coding:
  8 is UCS-2) and ``binary`` (the same bytes in hex).
- **Kannel get-url** (``kannel-get``): a GET with ``from`` and ``text``, as configured
  with ``?from=%p&to=%P&text=%a&id=%I&coding=%c&charset=%C``; ``coding=2`` without
  ``mo-recode`` means the text is UTF-16BE bytes.

The query is read from its raw (still percent-encoded) form, byte for byte, because a
UCS-2 text arrives as UTF-16BE octets that no UTF-8 query decoder would keep intact. A
literal ``?`` inside the query separates fields like ``&``: Jasmin appends
``?id=…`` to its connector URL even when that URL already has ``?token=…``; both Kannel
and Jasmin percent-encode a ``?`` inside a value, so nothing real is lost.

Pure: no I/O, no aiohttp. Anything malformed is a :class:`MoParseError` whose message
names the problem, never the text.

Over 300 lines: four MO formats (Kannel get-url and post-url, Jasmin, JSON), each with
its own encodings (UCS-2, hex, charset names, concatenation), read into one message.
"""

from __future__ import annotations

import binascii
import codecs
import enum
import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

from sms.errors import MoParseError
from state.errors import InvalidMsisdn
from state.msisdn import normalize_msisdn

MAX_TEXT = 1600
"""Characters of MO text accepted: ten segments' worth; a longer one is refused."""
MAX_FIELDS = 64
"""Query or form fields read before a request is refused as garbage."""
_MAX_ADDRESS = 64
_MAX_ID = 128

# Character sets an SMS gateway may name for MO text, by Python's canonical codec name.
_CHARSETS = frozenset(
    {
        "utf-8",
        "utf-16-be",
        "utf-16",
        "iso8859-1",
        "iso8859-5",
        "ascii",
        "cp1251",
        "cp1252",
        "koi8-r",
    }
)
# SMPP data_coding values Jasmin passes on, and how their bytes read as text.
_SMPP_CODINGS = {"3": "iso8859-1", "6": "iso8859-5", "8": "utf-16-be"}
_SMPP_BINARY = frozenset({"2", "4"})


class MoSource(enum.StrEnum):
    """Which gateway format an MO arrived in (and so how to answer it)."""

    KANNEL_GET = "kannel-get"
    KANNEL_POST = "kannel-post"
    JASMIN = "jasmin"
    JSON = "json"

    @property
    def kannel(self) -> bool:
        """Whether the HTTP answer's body is sent back as the reply SMS."""
        return self in (MoSource.KANNEL_GET, MoSource.KANNEL_POST)


@dataclass(frozen=True, slots=True)
class MoMessage:
    """One SMS a subscriber sent to one of our numbers."""

    sender: str
    """The subscriber's number, normalised (``375…``) when it is one of ours, else as sent."""
    recipient: str
    """Our number (short code) the SMS was sent to, as the gateway gave it ("" if none)."""
    text: str = field(repr=False)
    message_id: str | None
    source: MoSource

    @property
    def sender_is_ours(self) -> bool:
        """Whether ``sender`` is a normalised number of the operator's country and codes."""
        try:
            return normalize_msisdn(self.sender) == self.sender
        except InvalidMsisdn:
            return False


def parse_mo(method: str, query: str | bytes, headers: Mapping[str, str], body: bytes) -> MoMessage:
    """Read one MO request.

    Args:
        method: the HTTP method (``GET`` or ``POST``).
        query: the raw query string, still percent-encoded (``request.rel_url.raw_query_string``).
        headers: the request headers; names are matched case-insensitively.
        body: the request body.

    Raises:
        MoParseError: the request is none of the formats, or a field is missing or bad.
    """
    method = method.upper()
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    fields = split_query(query)
    content_type, params = _content_type(lowered.get("content-type", ""))
    if method == "POST" and ("x-kannel-from" in lowered or "x-kannel-to" in lowered):
        return _kannel_post(fields, lowered, content_type, params, body)
    if method == "POST" and (content_type == "application/json" or content_type.endswith("+json")):
        return _json(body)
    if method == "POST" and content_type in ("application/x-www-form-urlencoded", ""):
        fields = {**fields, **split_query(body)}
    elif method not in ("GET", "POST"):
        raise MoParseError(f"method {method[:10]!r} is not an MO delivery")
    if "content" in fields or "binary" in fields:
        return _jasmin(fields)
    if method == "GET" and "text" in fields:
        return _kannel_get(fields)
    # Only Kannel's get-url comes as a GET without ``content``: a GET that is nothing else
    # is a Kannel misconfigured (say, no text=%a), and Kannel must still get a reply.
    raise MoParseError(
        "not an MO: expected Kannel (from, text or X-Kannel-* headers), "
        "Jasmin (from, to, content) or JSON (from, to, text)",
        MoSource.KANNEL_GET if method == "GET" else None,
    )


def split_query(raw: str | bytes) -> dict[str, bytes]:
    """Fields of a query string or form body: the first value of each, as raw bytes.

    ``+`` is a space and ``%XX`` an octet; a literal ``?`` separates fields like ``&``.

    Raises:
        MoParseError: more than :data:`MAX_FIELDS` fields.
    """
    data = raw.encode("utf-8", "replace") if isinstance(raw, str) else bytes(raw)
    fields: dict[str, bytes] = {}
    count = 0
    for part in data.replace(b"?", b"&").split(b"&"):
        if not part:
            continue
        count += 1
        if count > MAX_FIELDS:
            raise MoParseError(f"more than {MAX_FIELDS} fields")
        name, _, value = part.partition(b"=")
        key = unquote_to_bytes(name.replace(b"+", b" ")).decode("utf-8", "replace")
        fields.setdefault(key, unquote_to_bytes(value.replace(b"+", b" ")))
    return fields


# --- formats --------------------------------------------------------------------------


def _kannel_get(fields: Mapping[str, bytes]) -> MoMessage:
    source = MoSource.KANNEL_GET
    coding = _ascii(fields, "coding", source)
    if coding == "1":
        raise MoParseError("8-bit (binary) messages carry no command", source)
    charset = _ascii(fields, "charset", source) or ("UTF-16BE" if coding == "2" else "UTF-8")
    return MoMessage(
        sender=_sender(_required(fields, "from", source), source),
        recipient=_address(_optional(fields, "to", source), "to", source),
        text=_text(fields["text"], charset, source),
        message_id=_message_id(_optional(fields, "id", source), source),
        source=source,
    )


def _kannel_post(
    fields: Mapping[str, bytes],
    headers: Mapping[str, str],
    content_type: str,
    params: Mapping[str, str],
    body: bytes,
) -> MoMessage:
    source = MoSource.KANNEL_POST
    if content_type == "application/octet-stream":
        raise MoParseError("8-bit (binary) messages carry no command", source)
    if content_type not in ("text/plain", ""):
        raise MoParseError("Kannel post-url sends text/plain", source)
    coding = headers.get("x-kannel-coding", "").strip()
    charset = params.get("charset") or ("UTF-16BE" if coding == "2" else "UTF-8")
    raw_from = headers.get("x-kannel-from", "").strip() or _optional(fields, "from", source)
    if not raw_from:
        raise MoParseError("no sender: set send-sender = true, or ?from=%p in the post-url", source)
    raw_to = headers.get("x-kannel-to", "").strip() or _optional(fields, "to", source)
    return MoMessage(
        sender=_sender(raw_from, source),
        recipient=_address(raw_to, "to", source),
        text=_text(body, charset, source),
        message_id=_message_id(_optional(fields, "id", source), source),
        source=source,
    )


def _jasmin(fields: Mapping[str, bytes]) -> MoMessage:
    source = MoSource.JASMIN
    coding = _ascii(fields, "coding", source) or "0"
    if coding in _SMPP_BINARY:
        raise MoParseError("8-bit (binary) messages carry no command", source)
    raw = fields.get("content")
    if raw is None:
        try:
            raw = binascii.unhexlify(fields["binary"].strip())
        except (binascii.Error, ValueError):
            raise MoParseError("field 'binary' is not hex", source) from None
    charset = _SMPP_CODINGS.get(coding)
    if charset is None:
        # SMSC default alphabet (0), IA5 (1) and the rest: UTF-8 when it reads as such,
        # else Latin-1, which reads any octets (commands are ASCII either way).
        try:
            text = _text(raw, "utf-8", source)
        except MoParseError:
            text = _text(raw, "iso8859-1", source)
    else:
        text = _text(raw, charset, source)
    return MoMessage(
        sender=_sender(_required(fields, "from", source), source),
        recipient=_address(_optional(fields, "to", source), "to", source),
        text=text,
        message_id=_message_id(_optional(fields, "id", source), source),
        source=source,
    )


def _json(body: bytes) -> MoMessage:
    source = MoSource.JSON
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MoParseError("the body is not JSON", source) from None
    if not isinstance(doc, dict):
        raise MoParseError("the body must be a JSON object", source)
    sender, recipient, text, ident = (doc.get(k) for k in ("from", "to", "text", "id"))
    if not isinstance(sender, str) or not sender.strip():
        raise MoParseError("field 'from' is required (a string)", source)
    if recipient is not None and not isinstance(recipient, str):
        raise MoParseError("field 'to' must be a string", source)
    if not isinstance(text, str):
        raise MoParseError("field 'text' is required (a string)", source)
    if ident is not None and (isinstance(ident, bool) or not isinstance(ident, (str, int))):
        raise MoParseError("field 'id' must be a string or an integer", source)
    return MoMessage(
        sender=_sender(sender.strip(), source),
        recipient=_address((recipient or "").strip(), "to", source),
        text=_clean(text, source),
        message_id=_message_id(None if ident is None else str(ident), source),
        source=source,
    )


# --- fields ---------------------------------------------------------------------------


def _content_type(header: str) -> tuple[str, dict[str, str]]:
    """``text/plain; charset="UTF-16BE"`` → (``text/plain``, {``charset``: ``UTF-16BE``})."""
    main, *rest = header.split(";")
    params: dict[str, str] = {}
    for item in rest:
        name, _, value = item.partition("=")
        params.setdefault(name.strip().lower(), value.strip().strip('"').strip())
    return main.strip().lower(), params


def _optional(fields: Mapping[str, bytes], name: str, source: MoSource) -> str:
    raw = fields.get(name)
    if raw is None:
        return ""
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise MoParseError(f"field {name!r} is not UTF-8", source) from None


def _required(fields: Mapping[str, bytes], name: str, source: MoSource) -> str:
    value = _optional(fields, name, source)
    if not value:
        raise MoParseError(f"field {name!r} is required", source)
    return value


def _ascii(fields: Mapping[str, bytes], name: str, source: MoSource) -> str:
    value = _optional(fields, name, source)
    if not (value.isascii() and value.isprintable()) or len(value) > 32:
        raise MoParseError(f"field {name!r} is malformed", source)
    return value


def _address(value: str, name: str, source: MoSource) -> str:
    if len(value) > _MAX_ADDRESS or not value.isprintable():
        raise MoParseError(f"field {name!r} is not an address", source)
    return value


def _sender(value: str, source: MoSource) -> str:
    """The sender normalised to ``375…`` when it is one of ours, else kept as sent."""
    value = _address(value, "from", source)
    if not value:
        raise MoParseError("field 'from' is required", source)
    try:
        return normalize_msisdn(value)
    except InvalidMsisdn:
        return value


def _message_id(value: str | None, source: MoSource) -> str | None:
    if not value:
        return None
    if len(value) > _MAX_ID or not value.isprintable():
        raise MoParseError("field 'id' is malformed", source)
    return value


def _text(raw: bytes, charset: str, source: MoSource) -> str:
    try:
        codec = codecs.lookup(charset).name
    except (LookupError, ValueError):
        codec = ""
    if codec not in _CHARSETS:
        raise MoParseError(f"unsupported charset {charset[:32]!r}", source)
    if len(raw) > MAX_TEXT * 4:
        raise MoParseError(f"the text is longer than {MAX_TEXT} characters", source)
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError:
        raise MoParseError(f"the text is not valid {codec}", source) from None
    return _clean(text, source)


def _clean(text: str, source: MoSource) -> str:
    text = text.replace("\x00", "")
    if len(text) > MAX_TEXT:
        raise MoParseError(f"the text is longer than {MAX_TEXT} characters", source)
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise MoParseError("the text holds unpaired surrogates", source)
    return unicodedata.normalize("NFC", text)
