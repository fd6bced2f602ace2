"""ussd-handset: the dialect codecs (pure) and the script runner against a stub gateway."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl

import aiohttp
import pytest
from aiohttp import web
from aiohttp.typedefs import Handler
from hypothesis import given
from hypothesis import strategies as st

from simulators.dialects import (
    AfricasTalkingCodec,
    Dialect,
    HandsetState,
    HttpError,
    HubtelCodec,
    NativeCodec,
    Op,
    Reply,
    Screen,
    SimulatorError,
    codec_for,
    new_session,
    service_code,
)
from simulators.handset import Handset, interactive, main, run_script
from simulators.process import free_port
from sms.encoding import Encoding, Measure

MSISDN = "+375291234567"
ALL = [d.value for d in Dialect]

# --- codecs --------------------------------------------------------------------------------


def _walk(codec: Any, inputs: list[str], client_states: list[str] | None = None) -> Iterator[Any]:
    """Requests of one session: the dial, then one per input, advancing state like the handset."""
    state = new_session(MSISDN, "*141*3*6#", "sid-1")
    yield codec.request(state, Op.BEGIN)
    for n, text in enumerate(inputs):
        reply = Reply(Screen("menu", False), client_state=(client_states or [""] * 99)[n])
        op, previous = (Op.BEGIN, "") if n == 0 else (Op.CONTINUE, inputs[n - 1])
        state = state.advanced(op, previous, reply)
        yield codec.request(state, Op.CONTINUE, text)


def _form(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body.decode("ascii"), keep_blank_values=True).items()}


@given(st.lists(st.text(max_size=12), max_size=6))
def test_africastalking_text_is_every_input_so_far_joined_by_star(inputs: list[str]) -> None:
    """AT's text is "" on the dial, then all inputs of the session so far joined by '*'."""
    requests = list(_walk(AfricasTalkingCodec(), inputs))
    for k, request in enumerate(requests):
        form = _form(request.body)
        assert form["text"] == "*".join(inputs[:k])
        assert form["serviceCode"] == "*141*3*6#"
        assert form["phoneNumber"] == MSISDN and form["sessionId"] == "sid-1"
        assert form["networkCode"] == "25702"
        assert request.path == "/ussd/africastalking"
        assert request.header("content-type") == "application/x-www-form-urlencoded"


@given(st.lists(st.text(max_size=12), max_size=6))
def test_native_request_round_trips_hop_and_this_hops_text(inputs: list[str]) -> None:
    """Native requests carry the dial on hop 0, then each input alone with hop counting up."""
    requests = list(_walk(NativeCodec(), inputs))
    for hop, request in enumerate(requests):
        body = json.loads(request.body.decode("utf-8"))
        assert body == {
            "session_id": "sid-1", "msisdn": MSISDN, "op": "begin" if hop == 0 else "continue",
            "text": "*141*3*6#" if hop == 0 else inputs[hop - 1], "hop": hop,
        }
        assert request.path == "/ussd"


@given(st.lists(st.text(max_size=12), min_size=1, max_size=6),
       st.lists(st.text(max_size=8), min_size=6, max_size=6))
def test_hubtel_sequence_counts_and_client_state_is_echoed(
    inputs: list[str], states: list[str]
) -> None:
    """Hubtel: Initiation with Sequence 1, then Responses counting up, echoing ClientState."""
    requests = list(_walk(HubtelCodec(), inputs, states))
    first = json.loads(requests[0].body)
    assert first["Type"] == "Initiation" and first["Message"] == "*141*3*6#"
    assert first["Sequence"] == 1 and first["ClientState"] == ""
    for n, request in enumerate(requests[1:]):
        body = json.loads(request.body)
        assert body["Type"] == "Response" and body["Message"] == inputs[n]
        assert body["Sequence"] == n + 2 and body["ClientState"] == states[n]
        assert body["ServiceCode"] == "141" and body["Operator"] == "a1"


def test_abort_requests_per_dialect() -> None:
    """Abort is op=abort (native), Type=Release (Hubtel), an Incomplete end-of-session event (AT)."""
    state = HandsetState("s", MSISDN, "*141#", hop=2, inputs=("1",), client_state="cs")
    native = json.loads(NativeCodec().request(state, Op.ABORT).body)
    assert native["op"] == "abort" and native["hop"] == 2 and native["text"] == ""
    hubtel = json.loads(HubtelCodec().request(state, Op.ABORT).body)
    assert hubtel["Type"] == "Release" and hubtel["Sequence"] == 3 and hubtel["ClientState"] == "cs"
    event = AfricasTalkingCodec().request(state, Op.ABORT)
    assert event is not None and event.path == "/ussd/africastalking/events"
    fields = dict(parse_qsl(event.body.decode()))
    assert (fields["sessionId"], fields["status"], fields["phoneNumber"]) == ("s", "Incomplete", MSISDN)


@pytest.mark.parametrize("dialect", ALL)
def test_bearer_header_only_with_a_secret(dialect: str) -> None:
    """Authorization: Bearer is sent only when a secret is configured."""
    state = new_session(MSISDN, "*141#")
    codec = codec_for(dialect)
    plain, signed = codec.request(state, Op.BEGIN), codec.request(state, Op.BEGIN, secret="s3")
    assert plain is not None and signed is not None
    assert plain.header("Authorization") is None
    assert signed.header("authorization") == "Bearer s3"


def test_session_ids_are_fresh() -> None:
    """Each dialled session gets its own random id."""
    assert len({new_session(MSISDN, "*141#").session_id for _ in range(50)}) == 50


@pytest.mark.parametrize(
    ("dialled", "code"), [("*141*3*6#", "141"), ("*141#", "141"), ("*100*2#", "100")]
)
def test_service_code_digits(dialled: str, code: str) -> None:
    """Hubtel's ServiceCode is the first group of digits of the dialled string."""
    assert service_code(dialled) == code


@given(st.text(), st.booleans())
def test_africastalking_reply_parses_any_text(text: str, ends: bool) -> None:
    """'CON '/'END ' plus any UTF-8 text parses back to that exact text."""
    body = (("END " if ends else "CON ") + text).encode("utf-8")
    reply = AfricasTalkingCodec().parse(new_session(MSISDN, "*1#"), 200, "text/plain", body)
    assert reply.screen == Screen(text, ends)


def test_native_and_hubtel_replies_parse() -> None:
    """Native and Hubtel replies give the screen, the declared measure and the ClientState."""
    state = new_session(MSISDN, "*1#", "abc")
    body = json.dumps({"session_id": "abc", "op": "end", "text": "Привет", "encoding": "ucs2",
                       "length": 6}).encode()
    native = NativeCodec().parse(state, 200, "application/json", body)
    assert native.screen == Screen("Привет", True)
    assert native.declared == Measure(Encoding.UCS2, 6) and native.disagreement() is None
    body = json.dumps({"Type": "Response", "Message": "1. A", "ClientState": "x"}).encode()
    hubtel = HubtelCodec().parse(state, 200, "application/json", body)
    assert hubtel.screen == Screen("1. A", False) and hubtel.client_state == "x"


_STATE = new_session(MSISDN, "*1#", "abc")


def _native(**changes: Any) -> bytes:
    """A well-formed native reply body, with ``changes`` spoiling it."""
    good = {"session_id": "abc", "op": "continue", "text": "x", "encoding": "gsm7", "length": 1}
    return json.dumps(good | changes).encode()


@pytest.mark.parametrize(
    ("codec", "status", "ctype", "body", "message"),
    [
        (AfricasTalkingCodec(), 200, "text/plain", b"Hello", "start with 'CON ' or 'END '"),
        (AfricasTalkingCodec(), 200, "text/plain", b"CON \xff", "not UTF-8"),
        (AfricasTalkingCodec(), 200, "application/json", b"CON x", "not text/plain"),
        (AfricasTalkingCodec(), 500, "text/plain", b"Internal Server Error",
         "HTTP 500: Internal Server Error"),
        (NativeCodec(), 200, "application/json", b"<html>", "not JSON"),
        (NativeCodec(), 200, "application/json", b"[1]", "not an object"),
        (NativeCodec(), 200, "application/json", _native(op="more"), "field 'op'"),
        (NativeCodec(), 200, "application/json", _native(session_id="z"), "session 'z'"),
        (NativeCodec(), 200, "application/json", _native(length=True), "'length' should be int"),
        (NativeCodec(), 200, "application/json", _native(encoding="utf8"), "field 'encoding'"),
        (NativeCodec(), 401, "application/json",
         b'{"error": "unauthorized", "message": "bad token"}', "HTTP 401 unauthorized: bad token"),
        (HubtelCodec(), 200, "application/json", b'{"Type": "End", "Message": "x"}',
         "field 'Type'"),
        (HubtelCodec(), 200, "application/json", b'{"Type": "Release", "Message": 5}', "'Message'"),
        (HubtelCodec(), 404, "text/plain", b"404: Not Found", "HTTP 404: 404: Not Found"),
    ],
)
def test_malformed_replies_raise_clear_errors(
    codec: Any, status: int, ctype: str, body: bytes, message: str
) -> None:
    """Malformed bodies and error statuses raise SimulatorError naming the problem and status."""
    with pytest.raises(SimulatorError) as info:
        codec.parse(_STATE, status, ctype, body)
    assert message in str(info.value)
    assert isinstance(info.value, HttpError) == (status != 200)


def test_screen_measure_and_label() -> None:
    """Screens report encoding, length and limit via sms.encoding."""
    assert Screen("Баланс: 5 BYN", False).label() == "[UCS-2 13/80]"
    assert Screen("Balance {5}", True).label() == "[GSM-7 13/182]"  # braces cost two septets
    assert not Screen("Я" * 81, False).fits and Screen("a" * 182, False).fits


def test_declared_measure_disagreement_is_explained() -> None:
    """A gateway that declares the wrong length is caught."""
    reply = Reply(Screen("abc", False), declared=Measure(Encoding.GSM7, 4))
    assert "declared gsm7 length 4" in (reply.disagreement() or "")


# --- a stub gateway: each dialect, menu "1" -> END "bye" -----------------------------------

LOG = web.AppKey("log", list)
MENU = "Menu\n1. Bye"
BAD_CODE = "*400#"
LONG_CODE = "*999#"  # replies with an 81-character UCS-2 screen, one over the limit
LYING_CODE = "*777#"  # native: declares a length one more than the text's


def _menu(dialled: str, inputs: list[str]) -> tuple[str, bool]:
    if dialled == LONG_CODE:
        return "Я" * 81, False
    if not inputs:
        return MENU, False
    return ("bye", True) if inputs[-1] == "1" else ("Unknown choice\n" + MENU, False)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


def _stub_gateway(secret: str | None = None, delay: float = 0.0) -> web.Application:
    log: list[tuple[str, dict[str, Any]]] = []
    sessions: dict[str, dict[str, Any]] = {}

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        await asyncio.sleep(delay)
        if secret and request.headers.get("Authorization") != f"Bearer {secret}":
            return _error(401, "unauthorized", "missing or wrong bearer secret")
        return await handler(request)

    async def native(request: web.Request) -> web.Response:
        body = await request.json()
        log.append(("native", body))
        sid, op = body["session_id"], body["op"]
        if op == "begin":
            if body["hop"] != 0 or sid in sessions:
                return _error(400, "bad_hop", "begin must be hop 0 of a new session")
            if body["text"] == BAD_CODE:
                return _error(400, "unknown_code", f"unknown service code {BAD_CODE}")
            sessions[sid] = {"dialled": body["text"], "inputs": [], "hop": 0}
        elif sid not in sessions or body["hop"] != sessions[sid]["hop"] + 1:
            return _error(400, "bad_hop", "hop out of order")
        s = sessions[sid]
        s["hop"] = body["hop"]
        if op == "abort":
            del sessions[sid]
            return web.json_response(
                {"session_id": sid, "op": "end", "text": "", "encoding": "gsm7", "length": 0}
            )
        if op == "continue":
            s["inputs"].append(body["text"])
        text, ends = _menu(s["dialled"], s["inputs"])
        measured = Screen(text, ends)
        if ends:
            del sessions[sid]
        return web.json_response({
            "session_id": sid, "op": "end" if ends else "continue", "text": text,
            "encoding": measured.encoding.value,
            "length": measured.length + (s["dialled"] == LYING_CODE),
        })

    async def africastalking(request: web.Request) -> web.Response:
        form = dict(await request.post())
        log.append(("africastalking", form))
        sid, text = str(form["sessionId"]), str(form["text"])
        inputs = text.split("*") if text else []
        if not inputs:
            if form["serviceCode"] == BAD_CODE:
                return _error(400, "unknown_code", f"unknown service code {BAD_CODE}")
            sessions[sid] = {"dialled": form["serviceCode"]}
        elif sid not in sessions or len(inputs) != sessions[sid].get("n", 0) + 1:
            return _error(400, "bad_text", "text is not cumulative")
        sessions[sid]["n"] = len(inputs)
        screen, ends = _menu(str(form["serviceCode"]), inputs)
        return web.Response(text=("END " if ends else "CON ") + screen)

    async def africastalking_events(request: web.Request) -> web.Response:
        form = dict(await request.post())
        log.append(("africastalking-events", form))
        sessions.pop(str(form["sessionId"]), None)
        return web.Response(text="OK")

    async def hubtel(request: web.Request) -> web.Response:
        body = await request.json()
        log.append(("hubtel", body))
        sid, kind, seq = body["SessionId"], body["Type"], body["Sequence"]
        if kind == "Initiation":
            if seq != 1 or body["ClientState"] != "" or body["ServiceCode"] != body["Message"][1:4]:
                return _error(400, "bad_init", "bad Initiation")
            if body["Message"] == BAD_CODE:
                return _error(400, "unknown_code", f"unknown service code {BAD_CODE}")
            sessions[sid] = {"dialled": body["Message"], "inputs": [], "seq": 0}
        elif (sid not in sessions or seq != sessions[sid]["seq"] + 1
              or body["ClientState"] != f"state-{sessions[sid]['seq']}"):
            return _error(400, "bad_sequence", "Sequence or ClientState out of order")
        s = sessions[sid]
        s["seq"] = seq
        if kind == "Release":
            del sessions[sid]
            return web.json_response({"Type": "Release", "Message": "", "ClientState": ""})
        if kind == "Response":
            s["inputs"].append(body["Message"])
        text, ends = _menu(s["dialled"], s["inputs"])
        return web.json_response({"Type": "Release" if ends else "Response", "Message": text,
                                  "ClientState": f"state-{seq}"})

    app = web.Application(middlewares=[guard])
    app[LOG] = log
    app.add_routes([web.post("/ussd", native), web.post("/ussd/africastalking", africastalking),
                    web.post("/ussd/africastalking/events", africastalking_events),
                    web.post("/ussd/hubtel", hubtel)])
    return app


PASSING = {"steps": [
    {"dial": "*141#"},
    {"expect": "Menu.*Bye", "ends": False},
    {"send": "1"},
    {"expect_text": "bye", "ends": True},
]}


async def _run(server: Any, script: Any, dialect: str = "native", **kwargs: Any) -> tuple[int, str]:
    out = io.StringIO()
    async with aiohttp.ClientSession() as http:
        code = await run_script(script, url=str(server.make_url("/")), msisdn=MSISDN,
                                dialect=dialect, session=http, out=out, **kwargs)
    return code, out.getvalue()


@pytest.mark.parametrize("dialect", ALL)
async def test_script_passes(aiohttp_server: Any, dialect: str) -> None:
    """A 2-hop scenario passes on every dialect and logs each step."""
    server = await aiohttp_server(_stub_gateway())
    code, out = await _run(server, PASSING, dialect)
    assert code == 0, out
    assert "> dial *141#" in out and "    Menu" in out and "> send 1" in out
    assert out.count("  ok") == 4 and "PASS" in out


async def test_script_file_keeps_digits_as_text(aiohttp_server: Any, tmp_path: Path) -> None:
    """YAML scalars like 01 are sent as typed, and the file's msisdn/dialect win."""
    server = await aiohttp_server(_stub_gateway())
    path = tmp_path / "s.yaml"
    path.write_text(
        "msisdn: 375290000000\ndialect: hubtel\nsteps:\n"
        "  - dial: '*141#'\n  - send: 01\n  - expect: Unknown\n  - send: 1\n  - ends: true\n",
        encoding="utf-8",
    )
    code, out = await _run(server, str(path), "native")
    assert code == 0, out
    sent = [body for dialect, body in server.app[LOG]]
    assert {d for d, _ in server.app[LOG]} == {"hubtel"}
    assert [b["Message"] for b in sent] == ["*141#", "01", "1"]
    assert sent[0]["Mobile"] == "375290000000"


@pytest.mark.parametrize("dialect", ALL)
async def test_expect_mismatch_fails_with_step_expectation_and_screen(
    aiohttp_server: Any, dialect: str
) -> None:
    """A failing expect exits 1 naming the step, the pattern and the actual screen."""
    server = await aiohttp_server(_stub_gateway())
    script = {"steps": [{"dial": "*141#"}, {"expect": "Доступ .* открыт"}]}
    code, out = await _run(server, script, dialect)
    assert code == 1, out
    assert "FAIL step 2" in out and "/Доступ .* открыт/" in out
    assert "actual screen:" in out and "    1. Bye" in out
    if dialect != "africastalking":  # the failed session is not left open on the gateway
        assert server.app[LOG][-1][1].get("op", server.app[LOG][-1][1].get("Type")) in (
            "abort", "Release")


async def test_ends_mismatch_fails(aiohttp_server: Any) -> None:
    """Asserting END on a CON screen exits 1."""
    server = await aiohttp_server(_stub_gateway())
    code, out = await _run(server, {"steps": [{"dial": "*141#", "ends": True}]})
    assert code == 1 and "expected: session ends (END)" in out


@pytest.mark.parametrize("dialect", ALL)
async def test_overlong_screen_fails(aiohttp_server: Any, dialect: str) -> None:
    """Any received screen over the USSD limit fails the script, asserted or not."""
    server = await aiohttp_server(_stub_gateway())
    code, out = await _run(server, {"steps": [{"dial": LONG_CODE}]}, dialect)
    assert code == 1, out
    assert "[UCS-2 81/80] !! 1 over the USSD limit" in out and "at most 80 units" in out


async def test_declared_length_must_match_text(aiohttp_server: Any) -> None:
    """A native reply whose declared length disagrees with its text fails the script."""
    server = await aiohttp_server(_stub_gateway())
    code, out = await _run(server, {"steps": [{"dial": LYING_CODE}]})
    assert code == 1 and "declared gsm7 length 12" in out


@pytest.mark.parametrize("dialect", ALL)
async def test_send_after_end_is_a_script_error(aiohttp_server: Any, dialect: str) -> None:
    """Sending after END exits 2, saying the session ended and showing the last screen."""
    server = await aiohttp_server(_stub_gateway())
    script = {"steps": [{"dial": "*141#"}, {"send": "1"}, {"send": "2"}]}
    code, out = await _run(server, script, dialect)
    assert code == 2, out
    assert "ERROR step 3: cannot send: the session has ended" in out and "    bye" in out
    assert "'2'" not in out  # the input is not quoted: it could be a PUK1
    assert len(server.app[LOG]) == 2


async def test_dial_while_running_is_a_script_error(aiohttp_server: Any) -> None:
    """Dialling while a session runs exits 2."""
    server = await aiohttp_server(_stub_gateway())
    code, out = await _run(server, {"steps": [{"dial": "*141#"}, {"dial": "*141#"}]})
    assert code == 2 and "ERROR step 2: cannot dial *141#: a session is still running" in out


@pytest.mark.parametrize("dialect", ALL)
async def test_server_4xx_exits_2_with_its_message(aiohttp_server: Any, dialect: str) -> None:
    """A 4xx reply exits 2 and prints the status and the server's message."""
    server = await aiohttp_server(_stub_gateway())
    code, out = await _run(server, {"steps": [{"dial": BAD_CODE}]}, dialect)
    assert code == 2, out
    assert f"ERROR step 1: HTTP 400 unknown_code: unknown service code {BAD_CODE}" in out


@pytest.mark.parametrize("dialect", ALL)
async def test_secret_is_sent_as_bearer(aiohttp_server: Any, dialect: str) -> None:
    """With the right secret the script passes; without it the gateway's 401 is reported."""
    server = await aiohttp_server(_stub_gateway(secret="s3cret"))
    assert (await _run(server, PASSING, dialect, secret="s3cret"))[0] == 0
    code, out = await _run(server, PASSING, dialect)
    assert code == 2 and "HTTP 401 unauthorized: missing or wrong bearer secret" in out


@pytest.mark.parametrize(("dialect", "sent"), [("native", "abort"), ("hubtel", "Release"),
                                                ("africastalking", "Incomplete")])
async def test_abort_then_dial_again(aiohttp_server: Any, dialect: str, sent: str | None) -> None:
    """abort: true ends the session the dialect's way, and a new dial gets a fresh session id."""
    server = await aiohttp_server(_stub_gateway())
    script = {"steps": [{"dial": "*141#"}, {"send": "7"}, {"abort": True}, {"dial": "*141#"},
                        {"send": "1", "ends": True}]}
    code, out = await _run(server, script, dialect)
    assert code == 0, out
    log = [body for _, body in server.app[LOG]]
    kinds = [b.get("op") or b.get("Type") or b.get("status") for b in log]
    assert kinds[2] == sent and len(log) == 5
    ids = {b.get("session_id") or b.get("SessionId") or b.get("sessionId") for b in log}
    assert len(ids) == 2


async def test_session_open_at_end_of_script_is_aborted(aiohttp_server: Any) -> None:
    """A scenario that stops mid-session aborts it so no session is left on the gateway."""
    server = await aiohttp_server(_stub_gateway())
    code, out = await _run(server, {"steps": [{"dial": "*141#"}]})
    assert code == 0 and "> abort (session still running" in out
    assert server.app[LOG][-1][1]["op"] == "abort"


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ({"steps": [{"dial": "*1#", "sned": "1"}]}, "step 1: unknown key(s) sned"),
        ({"steps": [{"dial": "*1#", "send": "1"}]}, "step 1: one action per step"),
        ({"steps": [{"dial": "*1#"}, {"send": 1}]}, "step 2: send must be a string"),
        ({"steps": [{"expect": "("}]}, "step 1: expect is not a valid regex"),
        ({"steps": [{"abort": False}]}, "step 1: abort must be true"),
        ({"steps": [{"ends": "no"}]}, "step 1: ends must be true or false"),
        ({"steps": []}, "non-empty 'steps'"),
        ({"steps": [{"dial": "*1#"}], "dialect": "ussdc"}, "unknown dialect"),
        ({"steps": [{"dial": "*1#"}], "extra": 1}, "unknown top-level key(s): extra"),
    ],
)
async def test_invalid_script_exits_2_before_any_request(
    aiohttp_server: Any, script: dict[str, Any], message: str
) -> None:
    """Script errors are found up front: exit 2, nothing sent."""
    server = await aiohttp_server(_stub_gateway())
    code, out = await _run(server, script)
    assert code == 2 and message in out, out
    assert server.app[LOG] == []


async def test_expect_before_any_screen_is_a_script_error(aiohttp_server: Any) -> None:
    """Checking a screen before dialling exits 2."""
    server = await aiohttp_server(_stub_gateway())
    code, out = await _run(server, {"steps": [{"expect": "x"}]})
    assert code == 2 and "no screen yet" in out


async def test_timeout_exits_2(aiohttp_server: Any) -> None:
    """A gateway slower than --timeout is a connection error."""
    server = await aiohttp_server(_stub_gateway(delay=1.0))
    code, out = await _run(server, PASSING, timeout=0.2)
    assert code == 2 and "no reply from" in out


async def test_connection_refused_exits_2() -> None:
    """No gateway listening exits 2 with 'cannot reach'."""
    out = io.StringIO()
    async with aiohttp.ClientSession() as http:
        code = await run_script(PASSING, url=f"http://127.0.0.1:{free_port()}", msisdn=MSISDN,
                                session=http, out=out)
    assert code == 2 and "ERROR step 1: cannot reach" in out.getvalue()


async def test_unquoted_code_gets_a_hint(tmp_path: Path) -> None:
    """An unquoted *141# (a YAML alias) is a script error that says to quote it."""
    path = tmp_path / "s.yaml"
    path.write_text("steps:\n  - dial: *141#\n", encoding="utf-8")
    out = io.StringIO()
    async with aiohttp.ClientSession() as http:
        code = await run_script(path, msisdn=MSISDN, session=http, out=out)
    assert code == 2 and 'quote USSD codes: dial: "*141#"' in out.getvalue()


def test_main_script_mode_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The console script: missing msisdn and an unreachable gateway both exit 2."""
    path = tmp_path / "s.yaml"
    path.write_text("steps:\n  - dial: '*141#'\n", encoding="utf-8")
    assert main(["--script", str(path)]) == 2
    assert "no msisdn" in capsys.readouterr().out
    assert main(["--script", str(path), "--msisdn", MSISDN,
                 "--url", f"http://127.0.0.1:{free_port()}"]) == 2
    assert "cannot reach" in capsys.readouterr().out
    assert main([]) == 2 and "--msisdn is required" in capsys.readouterr().err


def test_main_via_gsup_usage(capsys: pytest.CaptureFixture[str]) -> None:
    """--via gsup wants --imsi and no --script, and no --msisdn: with them it goes on to
    OsmoHLR (none listens here), or says the test extra is missing."""
    assert main(["--via", "gsup"]) == 2
    assert "--via gsup takes --imsi, and no --script" in capsys.readouterr().err
    assert main(["--via", "gsup", "--imsi", "901700000000001", "--script", "s.yaml"]) == 2
    assert "--via gsup takes --imsi" in capsys.readouterr().err
    hlr = f"127.0.0.1:{free_port()}"
    assert main(["--via", "gsup", "--imsi", "901700000000001", "--hlr", hlr]) == 2
    err = capsys.readouterr().err
    assert "--msisdn is required" not in err
    assert f"cannot connect to OsmoHLR at {hlr}" in err or "needs the test extra" in err


@pytest.mark.parametrize("dialect", ALL)
async def test_interactive_session(aiohttp_server: Any, dialect: str) -> None:
    """Interactive mode boxes screens with a status line, aborts on empty input, quits on EOF."""
    server = await aiohttp_server(_stub_gateway())
    typed = iter(["*141#", "9", "1", "", "*141#", "", "*400#", "*141#", "/abort", None])
    out = io.StringIO()

    def read_line(prompt: str) -> str | None:
        line = next(typed)
        out.write(f"{prompt}{line if line is not None else '^D'}\n")
        return line

    async with aiohttp.ClientSession() as http:
        handset = Handset(http, url=str(server.make_url("/")), msisdn=MSISDN, dialect=dialect)
        assert await interactive(handset, read_line=read_line, out=out) == 0
    transcript = out.getvalue()
    assert "│ Menu" in transcript and "┌" in transcript
    assert "[GSM-7 11/182]\nreply> 9" in transcript
    assert "│ bye" in transcript and "[GSM-7 3/182] (session ended)\ndial> \n" in transcript
    assert transcript.count("(aborted)") == 2
    error = "! HTTP 400 unknown_code: unknown service code *400#\ndial> *141#"
    assert error in transcript
