"""The web handset's server without a browser: clear 4xx answers to bad input, secrets
masked in the timeline and the recording on every dialect, the demo list kept current."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from support import CLOSED_SELF, OPEN_RU, SECRETS, WRONG_PUKS

from simulators.scenario import load_script
from simulators.web.app import create_app
from simulators.web.cli import dialect_secrets
from simulators.web.config import WebConfig
from simulators.web.phones import GatewayLink
from simulators.web.subscribers import DEMO_SUBSCRIBERS
from ussd_gateway.process.demo import DEMO_SUBSCRIBERS as GATEWAY_DEMO


@asynccontextmanager
async def serving(link: GatewayLink, scripts: Path) -> AsyncIterator[TestServer]:
    """ussd-handset web in process on ``link``, saving scripts to ``scripts``."""
    server = TestServer(create_app(WebConfig(link, scripts)), host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
async def web(gateway: TestServer, tmp_path: Path) -> AsyncIterator[TestServer]:
    """ussd-handset web in process, on the real gateway (in process too), every secret set."""
    link = GatewayLink(str(gateway.make_url("")).rstrip("/"), dict(SECRETS))
    async with serving(link, tmp_path / "scripts") as server:
        yield server


async def call(
    http: aiohttp.ClientSession, web: TestServer, method: str, path: str, body: Any = None,
    *, raw: bytes | None = None,
) -> tuple[int, Any]:
    async with http.request(method, web.make_url(path), json=body if raw is None else None,
                            data=raw) as r:
        return r.status, await r.json()


async def phone(http: aiohttp.ClientSession, web: TestServer, msisdn: str, dialect: str) -> str:
    status, view = await call(http, web, "POST", "/api/phones", {"msisdn": msisdn,
                                                                  "dialect": dialect})
    assert status == 201
    return str(view["id"])


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "fragment"),
    [
        ("POST", "/api/phones", {"msisdn": "call me"}, 400, "phone number"),
        ("POST", "/api/phones", {"msisdn": OPEN_RU.msisdn, "dialect": "smpp"}, 400, "one of"),
        ("POST", "/api/phones", [1, 2], 400, "JSON object"),
        ("POST", "/api/phones/nope/dial", {"code": "*141#"}, 404, "no such phone"),
        ("POST", "{phone}/dial", {"code": "141"}, 400, "ending in '#'"),
        ("POST", "{phone}/dial", {"code": 141}, 400, "must be a string"),
        ("POST", "{phone}/send", {"text": "1"}, 409, "nothing was dialled"),
        ("POST", "{phone}/send", {"text": "1" * 183}, 400, "longer than 182"),
        ("POST", "{phone}/abort", None, 409, "no session"),
        ("POST", "{phone}/recording/save", {"name": "x"}, 400, "nothing recorded"),
        ("POST", "{phone}/recording/save", {"name": "../etc/passwd"}, 400, "a script name"),
        ("POST", "{phone}/replay", {"yaml": "steps: [dial: *141#]"}, 400, "quote USSD codes"),
        ("POST", "{phone}/replay", {"name": "missing", "source": "saved"}, 404, "no such"),
        ("POST", "{phone}/replay/step", None, 409, "no script"),
        ("GET", "/static/..%2Fapp.py", None, 404, "no such file"),
        ("GET", "/static/app.py", None, 404, "no such file"),
    ],
)
async def test_bad_input_gets_a_clear_4xx(
    http: aiohttp.ClientSession, web: TestServer, method: str, path: str, body: Any,
    status: int, fragment: str,
) -> None:
    """Each refusal names the problem in JSON; none is a 5xx or a traceback."""
    if path.startswith("{phone}"):
        path = path.replace("{phone}", f"/api/phones/{await phone(http, web, OPEN_RU.msisdn, 'native')}")
    got, answer = await call(http, web, method, path, body)
    assert got == status and fragment in answer["message"], answer
    assert "Traceback" not in answer["message"]


async def test_a_body_that_is_not_json_is_a_400(
    http: aiohttp.ClientSession, web: TestServer
) -> None:
    status, answer = await call(http, web, "POST", "/api/phones", raw=b"msisdn=1")
    assert status == 400 and answer["error"] == "bad_request"


@pytest.mark.parametrize("dialect", ["native", "africastalking", "hubtel"])
async def test_puk1_and_caller_secret_are_masked_in_timeline_and_recording(
    http: aiohttp.ClientSession, web: TestServer, dialect: str, tmp_path: Path
) -> None:
    """On every dialect the wire is shown with <hidden> for the PUK1 and the caller's secret
    (Africa's Talking's cumulative text too); the saved script keeps what was typed."""
    base = f"/api/phones/{await phone(http, web, CLOSED_SELF.msisdn, dialect)}"
    await call(http, web, "POST", f"{base}/dial", {"code": "*141*3*6#"})
    _, asked = await call(http, web, "POST", f"{base}/send", {"text": "2"})
    assert asked["secret"] is True
    _, wrong = await call(http, web, "POST", f"{base}/send", {"text": WRONG_PUKS[0]})
    assert wrong["secret"] and wrong["running"] and "Неверный PUK1" in wrong["screen"]["text"]
    _, opened = await call(http, web, "POST", f"{base}/send", {"text": CLOSED_SELF.puk})
    assert opened["screen"]["ends"] and not opened["secret"]
    _, timeline = await call(http, web, "GET", f"{base}/timeline")
    _, recording = await call(http, web, "GET", f"{base}/recording")
    shown = str(timeline) + str(recording) + str(opened)
    for secret in (WRONG_PUKS[0], CLOSED_SELF.puk, SECRETS[dialect]):
        assert secret not in shown
    assert [h["outcome"] for h in timeline["hops"]] == ["continue"] * 3 + ["end"]
    assert "Bearer <hidden>" in str(timeline) and 'send: "<hidden>"' in recording["yaml"]
    if dialect == "africastalking":
        assert timeline["hops"][-1]["request"]["body"].endswith("text=2*<hidden>*<hidden>")
    _, saved = await call(http, web, "POST", f"{base}/recording/save", {"name": f"open-{dialect}"})
    script = load_script(saved["path"])
    assert [s.arg for s in script.steps] == ["*141*3*6#", "2", WRONG_PUKS[0], CLOSED_SELF.puk]
    assert CLOSED_SELF.puk not in saved["yaml"]


async def test_config_names_the_dialects_with_a_secret_but_not_the_secrets(
    http: aiohttp.ClientSession, web: TestServer
) -> None:
    _, config = await call(http, web, "GET", "/api/config")
    assert config["secrets"] == sorted(SECRETS)
    assert not any(value in str(config) for value in SECRETS.values())


async def test_the_page_may_load_nothing_from_elsewhere(
    http: aiohttp.ClientSession, web: TestServer
) -> None:
    """The Content-Security-Policy allows only this server's own files."""
    async with http.get(web.make_url("/")) as r:
        assert r.status == 200 and "<title>USSD web handset</title>" in await r.text()
        assert r.headers["Content-Security-Policy"].startswith("default-src 'self'")
    for name in ("page.js", "phone.js", "script.js", "api.js", "style.css"):
        async with http.get(web.make_url(f"/static/{name}")) as r:
            assert r.status == 200
            assert "http://" not in await r.text() and "https://" not in await r.text()


def test_the_demo_list_is_the_demo_data() -> None:
    """The page offers exactly the numbers `make run` seeds (and no PUK1)."""
    assert [m for m, _ in DEMO_SUBSCRIBERS] == [d.msisdn for d in GATEWAY_DEMO]
    assert not any(d.puk1 in str(DEMO_SUBSCRIBERS) for d in GATEWAY_DEMO)


def test_secrets_come_from_the_gateways_variables() -> None:
    environ = {"USSD_GATEWAY_SECRET_HUBTEL": "h", "USSD_GATEWAY_SECRET": "any"}
    assert dialect_secrets(environ) == {"native": "any", "africastalking": "any", "hubtel": "h"}
    assert dialect_secrets({}) == {}


async def test_a_loaded_script_lists_secret_inputs_hidden_and_menu_choices_plain(
    http: aiohttp.ClientSession, web: TestServer
) -> None:
    """The shipped access.yaml: its PUK1s are <hidden> in the page's list, its 1s and 2s not."""
    base = f"/api/phones/{await phone(http, web, OPEN_RU.msisdn, 'native')}"
    status, loaded = await call(http, web, "POST", f"{base}/replay",
                                {"name": "access", "source": "shipped"})
    assert status == 200
    sends = [s["step"] for s in loaded["steps"] if s["step"].startswith("send")]
    assert sends == ["send 1", "send 1", "send 2", "send <hidden>", "send <hidden>"]
    assert "40718263" not in str(loaded)


def test_without_chromium_the_browser_tests_skip_or_fail_under_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One clear reason to skip on a developer's machine; a failure under CI=true."""
    import browser_world

    monkeypatch.setattr(browser_world, "find_chromium", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Chromium is not installed"):
        browser_world.require_chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true, so this is a failure"):
        browser_world.require_chromium()


async def test_the_gateways_refusal_is_shown_on_the_phone_and_in_the_timeline(
    http: aiohttp.ClientSession, gateway: TestServer, tmp_path: Path
) -> None:
    """A wrong caller secret: the gateway's 401 is the phone's error and the hop's outcome,
    the page's own request still succeeds (the phone works; the gateway said no)."""
    link = GatewayLink(str(gateway.make_url("")).rstrip("/"), {"native": "not-the-secret"})
    async with serving(link, tmp_path) as web:
        base = f"/api/phones/{await phone(http, web, OPEN_RU.msisdn, 'native')}"
        status, view = await call(http, web, "POST", f"{base}/dial", {"code": "*141*3*6#"})
        _, timeline = await call(http, web, "GET", f"{base}/timeline")
    assert status == 200 and view["error"].startswith("HTTP 401") and not view["running"]
    (hop,) = timeline["hops"]
    assert hop["reply"]["status"] == 401 and hop["outcome"].startswith("HTTP 401")
    assert "not-the-secret" not in str(timeline)


async def test_an_unreachable_gateway_is_said_so(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    from simulators.process import free_port

    link = GatewayLink(f"http://127.0.0.1:{free_port()}", {}, timeout=2)
    async with serving(link, tmp_path) as web:
        base = f"/api/phones/{await phone(http, web, OPEN_RU.msisdn, 'native')}"
        status, view = await call(http, web, "POST", f"{base}/dial", {"code": "*141*3*6#"})
        _, inbox = await call(http, web, "GET", f"{base}/inbox")
    assert status == 200 and view["error"].startswith("cannot reach")
    assert inbox == {"available": False, "message": "no SMSC simulator given (--smsc URL)"}


async def test_a_replayed_secret_after_the_end_stays_hidden(
    http: aiohttp.ClientSession, web: TestServer
) -> None:
    """A script that expects a PUK1 prompt where the session has in fact ended: its PUK1
    is hidden in the list, in the step's result and in the error saying why it failed."""
    base = f"/api/phones/{await phone(http, web, OPEN_RU.msisdn, 'native')}"
    script = (
        'steps:\n  - dial: "*141*3*6#"\n  - send: "1"\n  - send: "1"\n'
        '  - expect: "PUK1|."\n'  # matches the END screen; the listing reads a PUK1 prompt
        f'  - send: "{OPEN_RU.puk}"\n'
    )
    status, loaded = await call(http, web, "POST", f"{base}/replay", {"yaml": script})
    assert status == 200 and loaded["steps"][-1]["step"] == "send <hidden>"
    results = [await call(http, web, "POST", f"{base}/replay/step") for _ in range(5)]
    _, last = results[-1]
    assert last["verdict"] == "ERROR step 5", results
    assert last["result"]["message"] == "cannot send: the session has ended"
    assert last["result"]["step"] == "send <hidden>"
    assert OPEN_RU.puk not in str(results) + str(loaded)
