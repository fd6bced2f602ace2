"""Dialect parsers and renderers: field validation, edge cases, fuzzing (pure and over HTTP)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import CLOSED_SELF, OPEN_RU, SECRETS, TYPED_SECRETS

from sms.encoding import Encoding
from ussd_gateway.dialects import (
    DIALECTS,
    HttpAnswer,
    Op,
    UssdReply,
    UssdRequest,
    africastalking,
    hubtel,
    native,
)
from ussd_gateway.dialects.model import MAX_INPUT, MAX_SESSION_ID
from ussd_gateway.errors import DialectParseError
from ussd_gateway.http.errors import answered

Parse = Callable[[Mapping[str, str], bytes], UssdRequest]
PARSERS: dict[str, Parse] = {name: spec.parse for name, spec in DIALECTS.items()}
JSON_DIALECTS = ("native", "hubtel")
HEADERS: dict[str, str] = {}
MSISDN = "+" + OPEN_RU.msisdn
SECRET_VALUES = sorted(TYPED_SECRETS)
"""PUK1s and passwords: none may ever appear in an error message."""


# --- request builders ----------------------------------------------------------------------


def native_doc(**changes: Any) -> dict[str, Any]:
    """A valid native begin request, with ``changes`` applied (``None`` removes a field)."""
    doc: dict[str, Any] = {"session_id": "s-1", "msisdn": MSISDN, "op": "begin",
                           "text": "*141*3*6#", "hop": 0}
    return _apply(doc, changes)


def hubtel_doc(**changes: Any) -> dict[str, Any]:
    """A valid Hubtel Initiation, with ``changes`` applied (``None`` removes a field)."""
    doc: dict[str, Any] = {"Type": "Initiation", "Mobile": OPEN_RU.msisdn, "SessionId": "h-1",
                           "ServiceCode": "141", "Message": "*141*3*6#", "Operator": "a1",
                           "Sequence": 1, "ClientState": ""}
    return _apply(doc, changes)


def at_fields(**changes: Any) -> dict[str, Any]:
    """Valid Africa's Talking form fields, with ``changes`` applied (``None`` removes one)."""
    doc: dict[str, Any] = {"sessionId": "at-1", "serviceCode": "*141*3*6#",
                           "phoneNumber": MSISDN, "networkCode": "25702", "text": ""}
    return _apply(doc, changes)


def _apply(doc: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def as_json(doc: object) -> bytes:
    """A JSON body as a real centre sends it (UTF-8, non-ASCII unescaped)."""
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def as_form(fields: Mapping[str, Any]) -> bytes:
    """A form body as Africa's Talking sends it."""
    return urlencode(fields).encode("ascii")


def parse_error(dialect: str, body: bytes) -> str:
    """The message of the DialectParseError ``body`` must raise."""
    with pytest.raises(DialectParseError) as caught:
        PARSERS[dialect](HEADERS, body)
    answer = answered(caught.value)  # the HTTP layer's one error table
    assert answer is not None and (answer.status, answer.code) == (400, "malformed_request")
    return caught.value.message


# --- native ---------------------------------------------------------------------------------


def test_native_begin_is_read_field_by_field() -> None:
    """A native begin becomes a BEGIN request with hop key "0" and the dialled text."""
    req = native.parse(HEADERS, as_json(native_doc(service_code="*141#")))
    # The number arrives in any spelling and leaves the dialect normalised.
    assert req == UssdRequest(
        "native", "s-1", OPEN_RU.msisdn, Op.BEGIN, "*141*3*6#", "0", "*141#", number=0
    )


@pytest.mark.parametrize("field", ["session_id", "msisdn", "op"])
def test_native_required_fields_are_named(field: str) -> None:
    """A missing required native field is named in the error."""
    assert parse_error("native", as_json(native_doc(**{field: None}))) == (
        f"field '{field}' is required"
    )


def test_native_continue_requires_hop() -> None:
    """A continue without ``hop`` is refused, naming ``hop``."""
    body = as_json(native_doc(op="continue", text="1", hop=None))
    assert parse_error("native", body) == "field 'hop' is required"


@pytest.mark.parametrize("op", ["BEGIN", "end", "", "stop"])
def test_native_op_must_be_known(op: str) -> None:
    """An unknown ``op`` (ops are lower case) is refused with the list of valid ops."""
    assert parse_error("native", as_json(native_doc(op=op))) == (
        "field 'op' must be one of begin, continue, abort, timeout"
    )


@pytest.mark.parametrize("hop", [-1, 1.5, True, "x", "-1", "1e3", "１", "1234567890", 10**9, [1]])
def test_native_hop_must_be_a_small_non_negative_integer(hop: object) -> None:
    """``hop`` is a non-negative integer below 10**9 (a JSON number or a string of digits)."""
    message = parse_error("native", as_json(native_doc(op="continue", text="1", hop=hop)))
    assert message.startswith("field 'hop' must be")


def test_native_numbers_as_strings_are_accepted() -> None:
    """A hop sent as a string of digits counts like the number."""
    req = native.parse(HEADERS, as_json(native_doc(op="continue", text="1", hop="007")))
    assert req.op is Op.CONTINUE and req.hop_key == "7"


def test_native_msisdn_as_a_number_is_refused() -> None:
    """A JSON number where the msisdn string belongs is refused, naming the field."""
    body = as_json(native_doc(msisdn=int(OPEN_RU.msisdn)))
    assert parse_error("native", body) == "field 'msisdn' must be a string"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"hop": 1}, "a begin request has hop 0"),
        ({"op": "continue", "text": "1", "hop": 0}, "a continue request has hop 1 or more"),
    ],
)
def test_native_hop_must_fit_the_op(changes: dict[str, Any], message: str) -> None:
    """A begin is hop 0 and a continue is hop 1 or more."""
    assert parse_error("native", as_json(native_doc(**changes))) == message


@pytest.mark.parametrize("op", [Op.ABORT, Op.TIMEOUT])
def test_native_abort_and_timeout_need_no_text_or_hop(op: Op) -> None:
    """abort and timeout carry only the session and the number."""
    req = native.parse(HEADERS, as_json(native_doc(op=str(op), text=None, hop=None)))
    assert (req.op, req.text, req.hop_key) == (op, "", "0")


@pytest.mark.parametrize("session_id", ["", "   ", "\t\n"])
def test_native_session_id_must_not_be_blank(session_id: str) -> None:
    """A blank session id is refused."""
    body = as_json(native_doc(session_id=session_id))
    assert parse_error("native", body) == "field 'session_id' must not be empty"


def test_native_session_id_length_is_bounded() -> None:
    """A session id of MAX_SESSION_ID characters passes; one more is refused."""
    assert native.parse(HEADERS, as_json(native_doc(session_id="s" * MAX_SESSION_ID)))
    body = as_json(native_doc(session_id="s" * (MAX_SESSION_ID + 1)))
    message = parse_error("native", body)
    assert message == f"field 'session_id' is longer than {MAX_SESSION_ID} characters"


def test_native_text_is_at_most_one_ussd_string() -> None:
    """An input of MAX_INPUT characters passes; one more is refused."""
    ok = native.parse(HEADERS, as_json(native_doc(op="continue", hop=1, text="я" * MAX_INPUT)))
    assert ok.text == "я" * MAX_INPUT
    body = as_json(native_doc(op="continue", hop=1, text="я" * (MAX_INPUT + 1)))
    assert parse_error("native", body) == f"field 'text' is longer than {MAX_INPUT} characters"


@pytest.mark.parametrize("field", ["session_id", "msisdn", "text"])
def test_native_nul_characters_are_refused(field: str) -> None:
    """A NUL inside a text field is refused, naming the field."""
    body = as_json(native_doc(**{field: "12\x0034"}))
    assert parse_error("native", body) == f"field '{field}' contains a NUL character"


# --- Hubtel ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "op"),
    [
        ("Initiation", Op.BEGIN), ("INITIATION", Op.BEGIN), ("initiation", Op.BEGIN),
        ("Response", Op.CONTINUE), ("rEsPoNsE", Op.CONTINUE),
        ("Release", Op.ABORT), ("RELEASE", Op.ABORT),
        ("Timeout", Op.TIMEOUT), ("TIMEOUT", Op.TIMEOUT),
    ],
)
def test_hubtel_type_is_case_insensitive(kind: str, op: Op) -> None:
    """Hubtel's Type is matched in any case."""
    assert hubtel.parse(HEADERS, as_json(hubtel_doc(Type=kind))).op is op


@pytest.mark.parametrize("kind", ["Begin", "", "Initiation ", "İnitiation"])
def test_hubtel_unknown_type_is_refused(kind: str) -> None:
    """An unknown Type is refused with the list of valid ones."""
    assert parse_error("hubtel", as_json(hubtel_doc(Type=kind))) == (
        "field 'Type' must be Initiation, Response, Release or Timeout"
    )


def test_hubtel_request_is_read_field_by_field() -> None:
    """A Hubtel Response becomes a CONTINUE whose hop key is its Sequence."""
    body = as_json(hubtel_doc(Type="Response", Message="2", Sequence=3))
    req = hubtel.parse(HEADERS, body)
    assert req == UssdRequest(
        "hubtel", "h-1", OPEN_RU.msisdn, Op.CONTINUE, "2", "3", "141", number=3
    )


@pytest.mark.parametrize("field", ["Type", "SessionId", "Mobile", "Sequence"])
def test_hubtel_required_fields_are_named(field: str) -> None:
    """A missing required Hubtel field is named in the error."""
    assert parse_error("hubtel", as_json(hubtel_doc(**{field: None}))) == (
        f"field '{field}' is required"
    )


@pytest.mark.parametrize(("sequence", "key"), [("2", "2"), (2, "2"), ("0", "0")])
def test_hubtel_sequence_may_be_a_string(sequence: object, key: str) -> None:
    """Sequence is accepted as a number or a string of digits."""
    assert hubtel.parse(HEADERS, as_json(hubtel_doc(Sequence=sequence))).hop_key == key


@pytest.mark.parametrize("sequence", [-1, "-1", 2.0, False, "two", "", 10**12])
def test_hubtel_sequence_must_be_a_non_negative_integer(sequence: object) -> None:
    """A Sequence that is not a small non-negative integer is refused, naming it."""
    message = parse_error("hubtel", as_json(hubtel_doc(Sequence=sequence)))
    assert message.startswith("field 'Sequence' must be")


@pytest.mark.parametrize(("code", "kept"), [(141, "141"), ("*141#", "*141#"), ("1" * 33, ""),
                                            (None, ""), ([141], "")])
def test_hubtel_service_code_is_optional_and_lenient(code: object, kept: str) -> None:
    """ServiceCode may be a number or a string; anything else or over-long is ignored."""
    assert hubtel.parse(HEADERS, as_json(hubtel_doc(ServiceCode=code))).service_code == kept


def test_hubtel_mobile_as_a_number_is_refused() -> None:
    """A JSON number where Mobile belongs is refused, naming the field."""
    body = as_json(hubtel_doc(Mobile=int(OPEN_RU.msisdn)))
    assert parse_error("hubtel", body) == "field 'Mobile' must be a string"


def test_hubtel_message_is_at_most_one_ussd_string() -> None:
    """A Message over MAX_INPUT characters is refused, naming the field."""
    body = as_json(hubtel_doc(Type="Response", Message="1" * (MAX_INPUT + 1), Sequence=2))
    assert parse_error("hubtel", body) == f"field 'Message' is longer than {MAX_INPUT} characters"


def test_hubtel_nul_in_message_is_refused() -> None:
    """A NUL in Message is refused, naming the field."""
    body = as_json(hubtel_doc(Message="*141\x00#"))
    assert parse_error("hubtel", body) == "field 'Message' contains a NUL character"


# --- Africa's Talking -----------------------------------------------------------------------


def test_at_first_hop_has_empty_text() -> None:
    """The first AT hop is a cumulative CONTINUE with empty text and hop key ""."""
    req = africastalking.parse(HEADERS, as_form(at_fields()))
    assert req == UssdRequest("africastalking", "at-1", OPEN_RU.msisdn, Op.CONTINUE, "", "", "*141*3*6#",
                              cumulative=True)


@pytest.mark.parametrize("text", ["1*2", f"2*{CLOSED_SELF.puk}", "1*2*3*4*5", "*", "**", "1*"])
def test_at_cumulative_text_keeps_its_stars(text: str) -> None:
    """Cumulative text keeps every ``*``; the whole text is the hop key."""
    req = africastalking.parse(HEADERS, as_form(at_fields(text=text)))
    assert (req.text, req.hop_key, req.cumulative) == (text, text, True)


def test_at_form_encoding_is_decoded() -> None:
    """``%2A`` is a star, ``+`` a space, ``%D0%AF`` a Cyrillic letter."""
    body = (b"sessionId=at-1&serviceCode=%2A141%2A3%2A6%23&phoneNumber=%2B375291112233"
            b"&text=1%2Aa+b%D0%AF")
    req = africastalking.parse(HEADERS, body)
    assert (req.service_code, req.msisdn, req.text) == ("*141*3*6#", OPEN_RU.msisdn, "1*a bЯ")


def test_at_repeated_fields_take_the_first() -> None:
    """A field sent twice counts once, with its first value."""
    body = as_form(at_fields()) + b"&text=9&sessionId=other"
    req = africastalking.parse(HEADERS, body)
    assert (req.session_id, req.text) == ("at-1", "")


@pytest.mark.parametrize("field", ["sessionId", "phoneNumber", "serviceCode"])
def test_at_required_fields_are_named(field: str) -> None:
    """A missing required AT field is named in the error."""
    body = as_form(at_fields(**{field: None}))
    assert parse_error("africastalking", body) == f"field '{field}' is required"


def test_at_cumulative_text_length_is_bounded() -> None:
    """Cumulative text may reach 2048 characters, not more."""
    ok = "1*" * 1023 + "12"  # 2048 characters
    assert len(africastalking.parse(HEADERS, as_form(at_fields(text=ok))).text) == 2048
    message = parse_error("africastalking", as_form(at_fields(text=ok + "3")))
    assert message == "field 'text' is longer than 2048 characters"


@pytest.mark.parametrize("field", ["sessionId", "phoneNumber", "text"])
def test_at_nul_characters_are_refused(field: str) -> None:
    """A percent-encoded NUL is refused, naming the field."""
    body = as_form(at_fields(**{field: "1\x002"}))
    assert parse_error("africastalking", body) == f"field '{field}' contains a NUL character"


@pytest.mark.parametrize("body", [b"sessionId=at-1&text=%FF", b"text=%C3%28", b"%E2%82=1"])
def test_at_percent_encoded_non_utf8_is_refused(body: bytes) -> None:
    """Percent-escapes that decode to invalid UTF-8 make the form invalid."""
    assert parse_error("africastalking", body) == "body is not a valid form"


# --- every dialect --------------------------------------------------------------------------


def _valid_body(dialect: str) -> bytes:
    return as_form(at_fields()) if dialect == "africastalking" else as_json(
        native_doc() if dialect == "native" else hubtel_doc()
    )


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize("body", [b"\xff\xfe{}", b'{"a": "\xe9"}', b"text=\xc3\x28", b"\x80"])
def test_non_utf8_bodies_are_refused(dialect: str, body: bytes) -> None:
    """A body that is not UTF-8 is refused as such, by every dialect."""
    assert parse_error(dialect, body) == "body is not UTF-8"


@pytest.mark.parametrize("dialect", JSON_DIALECTS)
@pytest.mark.parametrize("body", [b"[]", b'"op"', b"1", b"null", b"true", b'[{"op": "begin"}]'])
def test_json_that_is_not_an_object_is_refused(dialect: str, body: bytes) -> None:
    """A JSON document that is not an object is refused."""
    assert parse_error(dialect, body) == "body must be a JSON object"


@pytest.mark.parametrize("dialect", JSON_DIALECTS)
@pytest.mark.parametrize("body", [b"", b"{", b"{'op': 'begin'}", b"op=begin", b'{"a": 1}{}'])
def test_json_syntax_errors_say_where(dialect: str, body: bytes) -> None:
    """Invalid JSON is refused with a line and column, never with the body."""
    assert parse_error(dialect, body).startswith("body is not JSON (line 1, column ")


@pytest.mark.parametrize("dialect", JSON_DIALECTS)
def test_json_nul_escapes_are_refused(dialect: str) -> None:
    """A ``\\u0000`` escape in the session id is refused like a raw NUL."""
    field = "session_id" if dialect == "native" else "SessionId"
    body = _valid_body(dialect).replace(b'-1"', b'-1\\u0000"')
    assert parse_error(dialect, body) == f"field '{field}' contains a NUL character"


def test_empty_form_names_the_first_missing_field() -> None:
    """An empty AT body is refused for its missing session id."""
    assert parse_error("africastalking", b"") == "field 'sessionId' is required"


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize("secret", SECRET_VALUES)
def test_errors_never_echo_a_secret(dialect: str, secret: str) -> None:
    """A PUK1 or password in a rejected field never appears in the error message."""
    long = secret * (MAX_INPUT // len(secret) + 1)
    bodies = {
        "native": [native_doc(op="continue", hop=1, text=long), native_doc(op=secret),
                   native_doc(hop=[secret]), native_doc(msisdn=[secret]),
                   native_doc(session_id=secret + "\x00")],
        "hubtel": [hubtel_doc(Message=long), hubtel_doc(Type=secret), hubtel_doc(Sequence=[secret]),
                   hubtel_doc(Mobile={"v": secret})],
        "africastalking": [at_fields(text=long * 12), at_fields(sessionId=secret + "\x00"),
                           at_fields(phoneNumber=None, text=secret)],
    }[dialect]
    for doc in bodies:
        body = as_form(doc) if dialect == "africastalking" else as_json(doc)
        assert secret not in parse_error(dialect, body)


# --- renderers ------------------------------------------------------------------------------

SCREEN = UssdReply("Доступ открыт.\n1. Закрыть", False, Encoding.UCS2, 25)
FINAL = UssdReply("Access closed.", True, Encoding.GSM7, 14)


def _request(dialect: str) -> UssdRequest:
    return UssdRequest(dialect, "s-9", MSISDN, Op.CONTINUE, "1", "1")


def test_native_render_is_exact() -> None:
    """The native reply echoes the session and declares encoding and length."""
    assert native.render(SCREEN, _request("native")) == HttpAnswer(
        200, "application/json; charset=utf-8",
        '{"session_id": "s-9", "op": "continue", "text": "Доступ открыт.\\n1. Закрыть", '
        '"encoding": "ucs2", "length": 25}'.encode(),
    )
    assert json.loads(native.render(FINAL, _request("native")).body)["op"] == "end"


def test_at_render_is_exact() -> None:
    """Africa's Talking gets ``CON``/``END`` and the screen, as UTF-8 plain text."""
    request = _request("africastalking")
    assert africastalking.render(SCREEN, request) == HttpAnswer(
        200, "text/plain; charset=utf-8", "CON Доступ открыт.\n1. Закрыть".encode()
    )
    assert africastalking.render(FINAL, request).body == b"END Access closed."


def test_hubtel_render_is_exact() -> None:
    """Hubtel gets Response/Release, the screen and an empty ClientState."""
    assert hubtel.render(SCREEN, _request("hubtel")) == HttpAnswer(
        200, "application/json; charset=utf-8",
        '{"Type": "Response", "Message": "Доступ открыт.\\n1. Закрыть", '
        '"ClientState": ""}'.encode(),
    )
    assert json.loads(hubtel.render(FINAL, _request("hubtel")).body)["Type"] == "Release"


@pytest.mark.parametrize(
    ("dialect", "content_type", "body"),
    [
        ("native", "application/json; charset=utf-8",
         '{"error": "malformed_request", "message": "поле \'x\'"}'),
        ("hubtel", "application/json; charset=utf-8",
         '{"error": "malformed_request", "message": "поле \'x\'"}'),
        ("africastalking", "text/plain; charset=utf-8", "malformed_request: поле 'x'"),
    ],
)
def test_render_error_is_exact(dialect: str, content_type: str, body: str) -> None:
    """Errors are JSON ``{"error", "message"}`` or AT's ``code: message`` text."""
    answer = DIALECTS[dialect].render_error(400, "malformed_request", "поле 'x'")
    assert answer == HttpAnswer(400, content_type, body.encode())


def test_dialect_registry_routes() -> None:
    """Each dialect is registered under its name with its own route."""
    assert {name: spec.path for name, spec in DIALECTS.items()} == {
        "native": "/ussd", "africastalking": "/ussd/africastalking", "hubtel": "/ussd/hubtel",
    }


# --- pathological JSON (once a 500: json's ValueError and RecursionError escaped) ----------

HUGE_INTEGER = b'{"hop": ' + b"1" * 4301 + b"}"
DEEP_NESTING = b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}"
PATHOLOGICAL = "body is not JSON we accept (too deep or too large)"


@pytest.mark.parametrize("dialect", JSON_DIALECTS)
def test_json_with_a_huge_integer_is_a_parse_error(dialect: str) -> None:
    """An integer over Python's 4300-digit limit (a 4.3 KB body) is a DialectParseError."""
    assert parse_error(dialect, HUGE_INTEGER) == PATHOLOGICAL


@pytest.mark.parametrize("dialect", JSON_DIALECTS)
def test_deeply_nested_json_is_a_parse_error(dialect: str) -> None:
    """JSON nested thousands deep (10 KB, under the body limit) is a DialectParseError."""
    assert parse_error(dialect, DEEP_NESTING) == PATHOLOGICAL


# --- fuzzing the parsers --------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
field_text = st.one_of(
    st.text(max_size=40), st.sampled_from(["", " ", "0", "1", "begin", "continue", "abort",
                                           "Initiation", "RESPONSE", MSISDN, "*141*3*6#"]),
    st.text(alphabet="0123456789*#", max_size=20), st.just("\x00"),
    st.text(min_size=180, max_size=200),
)
field_values = st.one_of(json_values, field_text)


def shaped(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with some of the dialect's own keys (so parsing gets past the first check)."""
    return st.dictionaries(st.sampled_from(keys), field_values, max_size=len(keys)).flatmap(
        lambda known: st.dictionaries(st.text(max_size=8), json_values, max_size=2).map(
            lambda extra: {**extra, **known}
        )
    )


NATIVE_KEYS = ["session_id", "msisdn", "op", "text", "hop", "service_code"]
HUBTEL_KEYS = ["Type", "Mobile", "SessionId", "ServiceCode", "Message", "Operator", "Sequence",
               "ClientState"]
AT_KEYS = ["sessionId", "serviceCode", "phoneNumber", "networkCode", "text"]


def parses_or_refuses(dialect: str, body: bytes) -> UssdRequest | None:
    """Parse ``body``: a UssdRequest that respects the limits, or None for a DialectParseError."""
    try:
        req = PARSERS[dialect](HEADERS, body)
    except DialectParseError as exc:
        answer = answered(exc)
        assert exc.message and answer is not None and answer.status == 400
        return None
    limit = 2048 if dialect == "africastalking" else MAX_INPUT
    assert req.dialect == dialect and isinstance(req.op, Op)
    assert req.session_id and req.session_id == req.session_id.strip()
    assert len(req.session_id) <= MAX_SESSION_ID and len(req.text) <= limit
    assert "\x00" not in req.session_id + req.msisdn + req.text
    return req


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@given(body=st.binary(max_size=512))
def test_fuzz_arbitrary_bytes(dialect: str, body: bytes) -> None:
    """Arbitrary bytes either parse or raise DialectParseError, nothing else."""
    parses_or_refuses(dialect, body)


@pytest.mark.parametrize("dialect", JSON_DIALECTS)
@given(doc=st.dictionaries(st.text(max_size=12), json_values, max_size=6))
def test_fuzz_arbitrary_json_objects(dialect: str, doc: dict[str, Any]) -> None:
    """Arbitrary JSON objects either parse or raise DialectParseError."""
    parses_or_refuses(dialect, as_json(doc))


@given(doc=shaped(NATIVE_KEYS))
def test_fuzz_native_shaped_objects(doc: dict[str, Any]) -> None:
    """Objects with native keys and arbitrary values either parse or raise DialectParseError."""
    parses_or_refuses("native", as_json(doc))


@given(doc=shaped(HUBTEL_KEYS))
def test_fuzz_hubtel_shaped_objects(doc: dict[str, Any]) -> None:
    """Objects with Hubtel keys and arbitrary values either parse or raise DialectParseError."""
    req = parses_or_refuses("hubtel", as_json(doc))
    if req is not None:
        assert req.op is {"initiation": Op.BEGIN, "response": Op.CONTINUE, "release": Op.ABORT,
                          "timeout": Op.TIMEOUT}[str(doc["Type"]).lower()]


@given(fields=st.dictionaries(st.one_of(st.sampled_from(AT_KEYS), st.text(max_size=8)),
                              field_text, max_size=8))
def test_fuzz_at_form_fields(fields: dict[str, str]) -> None:
    """Arbitrary form fields either parse or raise DialectParseError; text is kept verbatim."""
    req = parses_or_refuses("africastalking", as_form(fields))
    if req is not None:
        assert req.text == req.hop_key == fields.get("text", "")


@given(text=st.text(max_size=300))
def test_fuzz_at_raw_text_bodies(text: str) -> None:
    """Any text sent as a form body either parses or raises DialectParseError."""
    parses_or_refuses("africastalking", text.encode("utf-8"))


@pytest.mark.parametrize("dialect", JSON_DIALECTS)
@given(doc=st.dictionaries(st.text(max_size=12), json_values, max_size=6),
       secret=st.sampled_from(SECRET_VALUES))
def test_fuzz_errors_never_echo_values(dialect: str, doc: dict[str, Any], secret: str) -> None:
    """Whatever is wrong with a request, a secret in any of its fields is not in the error."""
    keys = NATIVE_KEYS if dialect == "native" else HUBTEL_KEYS
    for key in keys:
        try:
            PARSERS[dialect](HEADERS, as_json({**doc, key: secret * 30}))
        except DialectParseError as exc:
            assert secret not in exc.message


# --- fuzzing over HTTP ----------------------------------------------------------------------

CONTENT_TYPES = {"native": "application/json", "hubtel": "application/json",
                 "africastalking": "application/x-www-form-urlencoded"}
KEYS = {"native": NATIVE_KEYS, "hubtel": HUBTEL_KEYS, "africastalking": AT_KEYS}
NUMBERS = [MSISDN, OPEN_RU.msisdn, CLOSED_SELF.msisdn, "80441112233", "375290000000", "12345"]
DIALLED = ["*141*3*6#", "*141*0#", "*141*3*6*1#", "*141*3*6*9#", "*141*0*12#", "*999#", "141"]
INPUTS = ["", "1", "2", "7", "98", "00", "1*1", "2*90000001", "Kolokolchik#9", " 1 "]
SESSIONS = ["f-1", "f-2", "f-3"]
"""Few session ids, so examples run into each other's sessions: continues, repeats, clashes."""


def _valid(dialect: str) -> st.SearchStrategy[dict[str, Any]]:
    """Well-formed requests of one dialect, from a small vocabulary."""
    one = st.sampled_from
    if dialect == "native":
        common = {"session_id": one(SESSIONS), "msisdn": one(NUMBERS)}
        return st.one_of(
            st.fixed_dictionaries({**common, "op": st.just("begin"), "text": one(DIALLED),
                                   "hop": st.just(0)}),
            st.fixed_dictionaries({**common, "op": st.just("continue"), "text": one(INPUTS),
                                   "hop": st.integers(1, 4)}),
            st.fixed_dictionaries({**common, "op": one(["abort", "timeout"])}),
        )
    if dialect == "hubtel":
        return st.fixed_dictionaries({
            "Type": one(["Initiation", "Response", "Response", "RELEASE", "timeout"]),
            "Mobile": one(NUMBERS), "SessionId": one(SESSIONS), "ServiceCode": one(["141", 141]),
            "Message": one(DIALLED + INPUTS), "Sequence": one([1, 2, "3", 4]),
        })
    return st.fixed_dictionaries({
        "sessionId": one(SESSIONS), "phoneNumber": one(NUMBERS),
        "serviceCode": one(["*141*3*6#", "*141*0#", "*141#", "*999#"]), "text": one(INPUTS),
    })


def plausible(dialect: str) -> st.SearchStrategy[dict[str, Any]]:
    """Well-formed requests with at most one field replaced by anything at all."""
    values = field_text if dialect == "africastalking" else field_values
    spoil = st.lists(st.tuples(st.sampled_from(KEYS[dialect]), values), max_size=1)
    return st.tuples(_valid(dialect), spoil).map(lambda pair: {**pair[0], **dict(pair[1])})


def http_bodies(dialect: str) -> st.SearchStrategy[bytes]:
    """Bodies for one route: random bytes, JSON of any shape, forms, objects with its keys."""
    encode: Callable[[dict[str, Any]], bytes] = (
        as_form if dialect == "africastalking" else as_json
    )
    return st.one_of(
        st.binary(max_size=300),
        json_values.map(as_json),
        st.dictionaries(st.text(max_size=8), st.text(max_size=20), max_size=5).map(as_form),
        shaped(KEYS[dialect]).map(encode),
    )


async def post(http: aiohttp.ClientSession, gateway: TestServer, dialect: str, body: bytes,
               headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """POST ``body`` to the dialect's route with its caller secret; status and body."""
    sent = {"Content-Type": CONTENT_TYPES[dialect], "Authorization": f"Bearer {SECRETS[dialect]}"}
    url = gateway.make_url(DIALECTS[dialect].path)
    async with http.post(url, data=body, headers={**sent, **(headers or {})}) as resp:
        return resp.status, await resp.read()


HTTP_FUZZ = settings(max_examples=60, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])


async def assert_no_5xx(http: aiohttp.ClientSession, gateway: TestServer, dialect: str,
                        body: bytes) -> None:
    """Post ``body``: the answer is not a 5xx and shows no traceback."""
    status, answer = await post(http, gateway, dialect, body)
    assert status < 500, answer[:300]
    assert b"Traceback" not in answer


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@HTTP_FUZZ
@given(data=st.data())
async def test_fuzz_http_arbitrary_bodies(
    dialect: str, gateway: TestServer, http: aiohttp.ClientSession, data: st.DataObject
) -> None:
    """Arbitrary bodies posted to a dialect's route never get a 5xx or a traceback."""
    await assert_no_5xx(http, gateway, dialect, data.draw(http_bodies(dialect), label="body"))


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@HTTP_FUZZ
@given(data=st.data())
async def test_fuzz_http_near_valid_requests(
    dialect: str, gateway: TestServer, http: aiohttp.ClientSession, data: st.DataObject
) -> None:
    """Well-formed requests with at most one spoilt field, through the engine: never a 5xx."""
    doc = data.draw(plausible(dialect), label="request")
    body = as_form(doc) if dialect == "africastalking" else as_json(doc)
    await assert_no_5xx(http, gateway, dialect, body)


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
async def test_http_wrong_secret_is_not_echoed(
    dialect: str, gateway: TestServer, http: aiohttp.ClientSession
) -> None:
    """A wrong caller secret gets 401 without the presented or the expected secret."""
    presented = "presented-" + CLOSED_SELF.puk
    status, answer = await post(http, gateway, dialect, _valid_body(dialect),
                                {"Authorization": f"Bearer {presented}"})
    assert status == 401
    assert presented.encode() not in answer and SECRETS[dialect].encode() not in answer


@pytest.mark.parametrize("body", [HUGE_INTEGER, DEEP_NESTING], ids=["huge-integer", "deep-nesting"])
@pytest.mark.parametrize("dialect", JSON_DIALECTS)
async def test_http_pathological_json_is_a_400(
    dialect: str, body: bytes, gateway: TestServer, http: aiohttp.ClientSession
) -> None:
    """Pathological JSON within the body limit is answered 400, not 500."""
    status, _ = await post(http, gateway, dialect, body)
    assert status == 400
