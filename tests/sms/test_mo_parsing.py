"""sms/mo.py: every MO format reads into one MoMessage; anything else is a MoParseError."""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sms.errors import MoParseError, SmsError
from sms.mo import MAX_FIELDS, MAX_TEXT, MoMessage, MoSource, parse_mo, split_query

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def kannel_get(text: bytes | str, **extra: str) -> MoMessage:
    raw = text.encode() if isinstance(text, str) else text
    query = "from=%2B375291112233&to=141&text=" + quote(raw) + "".join(
        f"&{k}={quote(v)}" for k, v in extra.items()
    )
    return parse_mo("GET", query, {}, b"")


def test_kannel_get_reads_the_configured_fields() -> None:
    """get-url ?from=%p&to=%P&text=%a&smsc=%i&id=%I&coding=%c&charset=%C."""
    query = (
        "from=%2B375291112233&to=141&text=KOD&smsc=FAKE"
        "&id=6d5a0e9c-3b6a-4f0e-9a51-0c6f0d2b1f11&coding=0&charset=UTF-8"
    )
    message = parse_mo("GET", query, {}, b"")
    assert message == MoMessage(
        sender="375291112233",
        recipient="141",
        text="KOD",
        message_id="6d5a0e9c-3b6a-4f0e-9a51-0c6f0d2b1f11",
        source=MoSource.KANNEL_GET,
    )
    assert message.sender_is_ours
    assert message.source.kannel


def test_kannel_get_plus_is_a_space_and_cyrillic_is_utf8() -> None:
    """Kannel encodes a space as + and recodes UCS-2 to UTF-8 with mo-recode."""
    assert kannel_get("КОД сейчас", charset="UTF-8").text == "КОД сейчас"
    assert parse_mo("GET", "from=375291112233&text=kod+now", {}, b"").text == "kod now"


def test_kannel_get_utf16be_without_mo_recode() -> None:
    """coding=2 without mo-recode: the text is UTF-16BE octets, charset or not."""
    raw = "Код".encode("utf-16-be")
    assert kannel_get(raw, coding="2", charset="UTF-16BE").text == "Код"
    assert kannel_get(raw, coding="2").text == "Код"


def test_kannel_get_sender_spellings_normalise() -> None:
    """Every spelling of one of our numbers becomes the one key; others stay as sent."""
    for spelling in ("+375291112233", "375291112233", "80291112233", "+375 29 111-22-33"):
        message = parse_mo("GET", urlencode({"from": spelling, "text": "x"}), {}, b"")
        assert message.sender == "375291112233"
    foreign = parse_mo("GET", urlencode({"from": "+79161234567", "text": "x"}), {}, b"")
    assert foreign.sender == "+79161234567"
    assert not foreign.sender_is_ours
    alpha = parse_mo("GET", urlencode({"from": "375991234567", "text": "x"}), {}, b"")
    assert not alpha.sender_is_ours


def test_kannel_get_empty_text_is_allowed() -> None:
    """An empty SMS is an MO (it gets the help), not an error."""
    assert parse_mo("GET", "from=375291112233&text=", {}, b"").text == ""


def test_kannel_post_reads_headers_and_body() -> None:
    """post-url: text/plain body, X-Kannel-From/To headers (send-sender = true)."""
    headers = {
        "Content-Type": 'text/plain; charset="UTF-8"',
        "X-Kannel-From": "+375291112233",
        "X-Kannel-To": "141",
        "X-Kannel-Coding": "0",
    }
    message = parse_mo("POST", "", headers, "код".encode())
    assert (message.sender, message.recipient, message.text) == ("375291112233", "141", "код")
    assert message.source is MoSource.KANNEL_POST


def test_kannel_post_header_names_are_case_insensitive() -> None:
    """Header names match whatever their case."""
    headers = {"content-type": "text/plain", "x-kannel-from": "375291112233"}
    assert parse_mo("POST", "", headers, b"HELP").text == "HELP"


def test_kannel_post_utf16be() -> None:
    """UCS-2 without mo-recode: Kannel labels the body UTF-16BE (quoted), or coding 2."""
    body = "Помощь".encode("utf-16-be")
    labelled = {"Content-Type": 'text/plain; charset="UTF-16BE"', "X-Kannel-From": "375291112233"}
    assert parse_mo("POST", "", labelled, body).text == "Помощь"
    coded = {"Content-Type": "text/plain", "X-Kannel-From": "375291112233", "X-Kannel-Coding": "2"}
    assert parse_mo("POST", "", coded, body).text == "Помощь"


def test_kannel_post_sender_from_the_url_when_not_sent() -> None:
    """Without send-sender Kannel omits X-Kannel-From; ?from=%p in the URL works instead."""
    headers = {"Content-Type": "text/plain", "X-Kannel-To": "141"}
    message = parse_mo("POST", "from=%2B375291112233", headers, b"KOD")
    assert message.sender == "375291112233"
    with pytest.raises(MoParseError, match="send-sender") as caught:
        parse_mo("POST", "", headers, b"KOD")
    assert caught.value.source is MoSource.KANNEL_POST


def test_kannel_binary_is_refused() -> None:
    """8-bit data carries no command."""
    with pytest.raises(MoParseError, match="binary"):
        kannel_get("x", coding="1")
    headers = {"Content-Type": "application/octet-stream", "X-Kannel-From": "375291112233"}
    with pytest.raises(MoParseError, match="binary"):
        parse_mo("POST", "", headers, b"\x01\x02")


def test_jasmin_post_form() -> None:
    """Jasmin POSTs a form: id, from, to, origin-connector, content, coding."""
    form = urlencode(
        {
            "id": "16fd2706-8baf-433b-82eb-8c7fada847da",
            "from": "375291112233",
            "to": "141",
            "origin-connector": "smppc1",
            "content": "KOD",
            "coding": "0",
            "priority": "1",
        }
    ).encode()
    message = parse_mo("POST", "", FORM, form)
    assert message == MoMessage(
        "375291112233", "141", "KOD", "16fd2706-8baf-433b-82eb-8c7fada847da", MoSource.JASMIN
    )


def test_jasmin_get_with_token_already_in_the_url() -> None:
    """Jasmin appends ?id=… to a connector URL that may already hold ?token=…."""
    query = "token=abc?" + urlencode({"id": "1", "from": "375291112233", "to": "141",
                                      "content": "HELP"})
    assert split_query(query)["token"] == b"abc"
    assert parse_mo("GET", query, {}, b"").text == "HELP"


def test_jasmin_ucs2_content_and_binary() -> None:
    """coding 8 is UCS-2 (UTF-16BE octets); ``binary`` (hex) stands in for content."""
    raw = "Код".encode("utf-16-be")
    form = urlencode({"id": "1", "from": "375291112233", "to": "141", "content": raw,
                      "coding": "8"}).encode()
    assert parse_mo("POST", "", FORM, form).text == "Код"
    hexed = urlencode({"id": "1", "from": "375291112233", "binary": raw.hex(), "coding": "8"})
    assert parse_mo("GET", hexed, {}, b"").text == "Код"
    with pytest.raises(MoParseError, match="hex"):
        parse_mo("GET", "from=375291112233&binary=zz", {}, b"")


def test_jasmin_default_alphabet_reads_any_octets() -> None:
    """coding 0: UTF-8 when it is, else Latin-1 (never an error for a command)."""
    form = urlencode({"from": "375291112233", "content": b"KOD\xe9"}).encode()
    assert parse_mo("POST", "", FORM, form).text == "KODé"


def test_json() -> None:
    """JSON {"from", "to", "text", "id"}; id may be a number."""
    body = json.dumps({"from": "+375 29 111 22 33", "to": "141", "text": "код", "id": 7})
    message = parse_mo("POST", "", {"Content-Type": "application/json"}, body.encode())
    assert message == MoMessage("375291112233", "141", "код", "7", MoSource.JSON)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"text": "x"}',
        b'{"from": 375291112233, "text": "x"}',
        b'{"from": "375291112233"}',
        b'{"from": "375291112233", "text": 5}',
        b'{"from": "375291112233", "text": "x", "id": true}',
        b'{"from": "375291112233", "text": "x", "to": 141}',
        b'{"from": "375291112233", "text": "\\ud800"}',
        b"\xff\xfe",
    ],
)
def test_json_malformed(body: bytes) -> None:
    """A JSON MO missing or mistyping a field is refused, naming the format."""
    with pytest.raises(MoParseError) as caught:
        parse_mo("POST", "", {"Content-Type": "application/json"}, body)
    assert caught.value.source is MoSource.JSON


@pytest.mark.parametrize(
    ("method", "query", "headers", "body"),
    [
        ("GET", "", {}, b""),
        ("GET", "from=375291112233", {}, b""),
        ("GET", "text=KOD", {}, b""),
        ("GET", "from=&text=KOD", {}, b""),
        ("POST", "", {"Content-Type": "text/plain"}, b"KOD"),
        ("PUT", "from=375291112233&text=KOD", {}, b""),
        ("GET", "from=375291112233&text=KOD&charset=rot13", {}, b""),
        ("GET", "from=375291112233&text=KOD&charset=zlib", {}, b""),
        ("GET", "from=375291112233&text=%FF%FE%FD&charset=UTF-8", {}, b""),
        ("GET", "from=375291112233&text=%00%41%D8&coding=2", {}, b""),
        ("GET", "from=375%0A291112233&text=x", {}, b""),
        ("GET", "from=" + "1" * 65 + "&text=x", {}, b""),
        ("GET", "from=375291112233&text=x&id=" + "a" * 129, {}, b""),
        ("GET", "from=%FF&text=x", {}, b""),
        ("GET", "&".join(f"f{i}=1" for i in range(MAX_FIELDS + 1)), {}, b""),
    ],
)
def test_malformed(method: str, query: str, headers: dict[str, str], body: bytes) -> None:
    """Missing fields, unknown charsets, undecodable text, bad addresses: MoParseError."""
    with pytest.raises(MoParseError):
        parse_mo(method, query, headers, body)


def test_unrecognised_get_is_answered_as_kannel() -> None:
    """Only Kannel sends a GET without content: a bad one is Kannel's (it needs a reply)."""
    with pytest.raises(MoParseError) as caught:
        parse_mo("GET", "from=375291112233", {}, b"")
    assert caught.value.source is MoSource.KANNEL_GET
    with pytest.raises(MoParseError) as caught:
        parse_mo("POST", "x=1", FORM, b"y=2")
    assert caught.value.source is None


def test_text_limit_and_nuls() -> None:
    """At most 1600 characters (ten segments); NULs are dropped."""
    assert kannel_get("K\x00OD").text == "KOD"
    assert len(kannel_get("я" * MAX_TEXT).text) == MAX_TEXT
    with pytest.raises(MoParseError, match="longer"):
        kannel_get("a" * (MAX_TEXT + 1))


def test_parse_error_never_echoes_the_text() -> None:
    """The message names the problem, never what the subscriber typed."""
    secret = "31415926" * 201
    with pytest.raises(MoParseError) as caught:
        kannel_get(secret)
    assert "31415926" not in str(caught.value)
    assert isinstance(caught.value, SmsError)


def test_message_repr_hides_the_text() -> None:
    """A logged MoMessage never shows the SMS text."""
    assert "31415926" not in repr(kannel_get("31415926"))


header_names = st.sampled_from(
    ["Content-Type", "X-Kannel-From", "X-Kannel-To", "X-Kannel-Coding", "Authorization", "X"]
)
header_values = st.one_of(
    st.sampled_from(
        ["application/json", "text/plain", 'text/plain; charset="UTF-16BE"',
         "application/x-www-form-urlencoded", "application/octet-stream", "2", "+375291112233"]
    ),
    st.text(max_size=40),
)
field_names = st.sampled_from(
    ["from", "to", "text", "id", "coding", "charset", "content", "binary", "token", "x"]
)
raw_query = st.lists(
    st.tuples(field_names, st.one_of(st.text(max_size=30), st.binary(max_size=30))),
    max_size=8,
).map(lambda pairs: urlencode(pairs))


@settings(max_examples=400, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "get"]),
    query=st.one_of(raw_query, st.text(max_size=80)),
    headers=st.dictionaries(header_names, header_values, max_size=4),
    body=st.one_of(
        st.binary(max_size=200),
        raw_query.map(str.encode),
        st.dictionaries(
            st.sampled_from(["from", "to", "text", "id"]),
            st.one_of(st.text(max_size=20), st.integers(), st.none(), st.booleans()),
        ).map(lambda d: json.dumps(d).encode()),
    ),
)
def test_arbitrary_requests_raise_only_parse_errors(
    method: str, query: str, headers: dict[str, str], body: bytes
) -> None:
    """Whatever arrives, parsing returns a well-formed message or raises MoParseError."""
    try:
        message = parse_mo(method, query, headers, body)
    except MoParseError:
        return
    assert len(message.text) <= MAX_TEXT
    assert "\x00" not in message.text
    assert message.sender and message.sender.isprintable()
    message.text.encode("utf-8")  # no lone surrogates reach the rest of the gateway
