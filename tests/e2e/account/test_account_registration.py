"""Registration over HTTP: by SMS code, by PUK1 (with its option), by USSD (seed 000)."""

from __future__ import annotations

import pytest
from account_world import PUK_OPTION, Api
from support import ACCOUNT_SECRETS, OPEN_EN, OPEN_RU, WRONG_PUKS, assert_not_stored

from state.access import PUK_ATTEMPTS

PASSWORD, SECOND = ACCOUNT_SECRETS[0], ACCOUNT_SECRETS[1]


def _form(msisdn: str, proof: dict[str, str], password: str, confirmation: str | None = None) -> dict[str, str]:
    return {"msisdn": msisdn, **proof, "password": password,
            "password_confirmation": password if confirmation is None else confirmation}


async def test_register_by_sms_code_then_log_in(api: Api) -> None:
    """A registration code and a new password: 201, then the password logs in."""
    code = await api.code_for("+375 29 111-22-33", "register")
    answer = await api.post("/api/v1/register/sms", _form(OPEN_RU.msisdn, {"code": code}, PASSWORD))
    assert (answer.status, answer.body) == (201, {"status": "registered"})
    token = await api.login("80291112233", PASSWORD)
    me = await api.get("/api/v1/session", token=token)
    assert me.body["msisdn"] == OPEN_RU.msisdn and me.body["method"] == "password"
    entries = await api.store.audit_log(msisdn=OPEN_RU.msisdn)
    assert {"registered", "password_set", "login"} <= {e.action for e in entries}
    assert all(e.channel == "web" for e in entries if e.action in ("registered", "password_set"))
    assert_not_stored(api.store.path, PASSWORD, code)


@pytest.mark.parametrize(
    ("password", "confirmation", "reason"),
    [
        ("short1", None, "password_too_short"),
        ("qwerty123", None, "password_common"),
        ("my 1112233 number", None, "password_msisdn"),
        ("3456789012", None, "password_sequential"),
        ("aaaaaaaaaa", None, "password_repeated"),
        ("x" * 65, None, "password_too_long"),
        (PASSWORD, SECOND, "password_mismatch"),
    ],
)
async def test_registration_refuses_bad_passwords_and_keeps_the_code(
    api: Api, password: str, confirmation: str | None, reason: str
) -> None:
    """The same policy as *141*0# (case 12); the code is not spent by a refused password."""
    code = await api.code_for(OPEN_RU.msisdn, "register")
    answer = await api.post("/api/v1/register/sms", _form(OPEN_RU.msisdn, {"code": code}, password, confirmation))
    assert (answer.status, answer.error) == (422, reason)
    assert (await api.store.get_subscriber(OPEN_RU.msisdn)).password_hash is None
    ok = await api.post("/api/v1/register/sms", _form(OPEN_RU.msisdn, {"code": code}, PASSWORD))
    assert ok.status == 201


async def test_long_and_unicode_passwords_are_accepted_and_huge_ones_bounded(api: Api) -> None:
    """64 characters and any Unicode are fine (case 12); 10 KB is refused before hashing."""
    unicode_password = "Ромашка-полевая-" + "ё" * 48
    assert len(unicode_password) == 64
    await api.register(OPEN_RU.msisdn, unicode_password)
    await api.login(OPEN_RU.msisdn, unicode_password)
    huge = await api.post("/api/v1/login/password", {"msisdn": OPEN_RU.msisdn, "password": "p" * 10_240})
    assert huge.status == 400 and "password" in huge.body["message"]


async def test_wrong_or_cross_bound_codes_register_nothing(api: Api) -> None:
    """A login code is no registration code, nor is another number's (case 3)."""
    login_code = await api.code_for(OPEN_RU.msisdn, "login")
    other = await api.code_for(OPEN_EN.msisdn, "register")
    for msisdn, code in ((OPEN_RU.msisdn, login_code), (OPEN_RU.msisdn, other), (OPEN_RU.msisdn, "000000")):
        answer = await api.post("/api/v1/register/sms", _form(msisdn, {"code": code}, PASSWORD))
        assert (answer.status, answer.error) == (401, "invalid_credentials")
    assert (await api.store.get_subscriber(OPEN_RU.msisdn)).password_hash is None


async def test_register_by_puk_needs_the_option(api: Api) -> None:
    """Without the option a right PUK1 gets a refusal that says how to enable it."""
    answer = await api.post("/api/v1/register/puk", _form(OPEN_RU.msisdn, {"puk": OPEN_RU.puk}, PASSWORD))
    assert answer.status == 403 and answer.error == "puk_registration_disabled"
    assert "Registration by PUK1" in answer.body["message"] and "*141*0#" in answer.body["message"]
    assert (await api.store.get_subscriber(OPEN_RU.msisdn)).password_hash is None


async def test_register_by_puk_with_the_option(api: Api) -> None:
    """With the option, PUK1 and a password register; login works."""
    answer = await api.post("/api/v1/register/puk", _form(PUK_OPTION.msisdn, {"puk": PUK_OPTION.puk}, PASSWORD))
    assert answer.status == 201
    await api.login(PUK_OPTION.msisdn, PASSWORD)
    assert "registered" in {e.action for e in await api.store.audit_log(msisdn=PUK_OPTION.msisdn)}


async def test_wrong_puks_on_the_web_count_towards_the_ussd_lock(api: Api) -> None:
    """Web PUK1 guesses share *141*3*6#'s durable counter: the 5th locks, alerts, and a right
    PUK1 afterwards is refused like a wrong one (case 9)."""
    for wrong in WRONG_PUKS[:PUK_ATTEMPTS]:
        answer = await api.post("/api/v1/register/puk", _form(PUK_OPTION.msisdn, {"puk": wrong}, PASSWORD))
        assert (answer.status, answer.error) == (401, "invalid_credentials")
    sub = await api.store.get_subscriber(PUK_OPTION.msisdn)
    assert sub.puk_locked and sub.puk_failures == PUK_ATTEMPTS
    assert [m.kind for m in await api.store.outbox(PUK_OPTION.msisdn)] == ["puk_locked_alert"]
    right = await api.post("/api/v1/register/puk", _form(PUK_OPTION.msisdn, {"puk": PUK_OPTION.puk}, PASSWORD))
    assert (right.status, right.error) == (401, "invalid_credentials")
    assert (await api.store.get_subscriber(PUK_OPTION.msisdn)).password_hash is None


async def test_unknown_number_and_wrong_puk_look_alike(api: Api) -> None:
    """A stranger's number and a wrong PUK1 get the same answer (case 6)."""
    stranger = await api.post("/api/v1/register/puk", _form("375290000009", {"puk": WRONG_PUKS[0]}, PASSWORD))
    wrong = await api.post("/api/v1/register/puk", _form(OPEN_RU.msisdn, {"puk": WRONG_PUKS[0]}, PASSWORD))
    assert (stranger.status, stranger.body) == (wrong.status, wrong.body)


async def test_register_by_ussd_points_to_the_code(api: Api) -> None:
    """The USSD way is *141*0#."""
    answer = await api.get("/api/v1/register/ussd")
    assert answer.status == 200 and answer.body["ussd"] == "*141*0#"
    assert "*141*0#" in answer.body["message"]["ru"]


async def test_the_api_needs_the_front_end_credential(api: Api) -> None:
    """No or a wrong credential: 401 and nothing happens."""
    for headers in ({}, {"Authorization": "Bearer nope"}):
        answer = await api.post("/api/v1/register/puk",
                                _form(PUK_OPTION.msisdn, {"puk": PUK_OPTION.puk}, PASSWORD), headers=headers)
        assert answer.status == 401 and answer.error == "unauthorized"
    assert (await api.store.get_subscriber(PUK_OPTION.msisdn)).password_hash is None


@pytest.mark.parametrize("body", [b"", b"[]", b"{", b"{\"msisdn\": 5}", b"\xff\xfe"])
async def test_malformed_bodies_are_400(api: Api, body: bytes) -> None:
    """Malformed input gets a clear 400 and changes nothing."""
    async with api.http.post(api.server.make_url("/api/v1/login/password"), data=body,
                             headers={**{"Content-Type": "application/json"}, **dict(FRONT_HEADERS)}) as r:
        assert r.status == 400
        assert (await r.json())["error"] == "bad_request"


FRONT_HEADERS = {"Authorization": "Bearer front-end-api-secret"}
