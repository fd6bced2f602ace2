"""Sessions (seed 001 §1.9, case 13), roles (§1.2), operator endpoints and the audit."""

from __future__ import annotations

import pytest
from account_world import ACME_ADMIN, ACME_DRIVER, ACME_STAFF, OPERATOR, OTHER_CO, PERSON, SOLE, Api
from support import ACCOUNT_SECRETS, OPEN_RU

from account.errors import SessionOver
from account.front_door import FrontDoor
from state.models import ClosedBy
from ussd_gateway.http.appkeys import FRONT_DOOR

PASSWORD, SECOND = ACCOUNT_SECRETS[:2]


async def _admin(api: Api) -> str:
    await api.register(ACME_ADMIN.msisdn, PASSWORD)
    return await api.login(ACME_ADMIN.msisdn, PASSWORD)


async def test_idle_session_ends_after_ten_minutes(api: Api) -> None:
    """9:59 idle is fine and restarts the clock; 10:01 idle is over."""
    token = await _admin(api)
    api.clock.advance(599)
    assert (await api.get("/api/v1/session", token=token)).status == 200
    api.clock.advance(599)
    assert (await api.get("/api/v1/session", token=token)).status == 200
    api.clock.advance(601)
    answer = await api.get("/api/v1/session", token=token)
    assert (answer.status, answer.error) == (401, "session_ended") and "idle" in answer.body["message"]


async def test_session_ends_after_thirty_minutes_even_with_activity(api: Api) -> None:
    """Activity every 5 minutes does not stretch the session past 30:00."""
    token = await _admin(api)
    for _ in range(5):
        api.clock.advance(300)
        assert (await api.get("/api/v1/client/subscribers", token=token)).status == 200
    api.clock.advance(299)
    assert (await api.get("/api/v1/session", token=token)).status == 200  # 29:59
    api.clock.advance(2)
    answer = await api.get("/api/v1/session", token=token)
    assert answer.status == 401 and "total" in answer.body["message"]


async def test_logout_and_password_change_end_sessions(api: Api) -> None:
    """Logout ends one; a password change ends all (the changer gets a new token)."""
    token = await _admin(api)
    other = await api.login(ACME_ADMIN.msisdn, PASSWORD)
    third = await api.login(ACME_ADMIN.msisdn, PASSWORD)
    assert (await api.post("/api/v1/session/logout", token=third)).status == 204
    assert (await api.get("/api/v1/session", token=third)).status == 401
    wrong = await api.post("/api/v1/session/password",
                           {"current_password": SECOND, "password": SECOND, "password_confirmation": SECOND},
                           token=token)
    assert (wrong.status, wrong.error) == (422, "current_password_wrong")
    changed = await api.post("/api/v1/session/password",
                             {"current_password": PASSWORD, "password": SECOND, "password_confirmation": SECOND},
                             token=token)
    assert changed.status == 200
    assert (await api.get("/api/v1/session", token=other)).status == 401
    assert (await api.get("/api/v1/session", token=token)).status == 401
    assert (await api.get("/api/v1/session", token=changed.body["token"])).status == 200
    assert (await api.post("/api/v1/login/password", {"msisdn": ACME_ADMIN.msisdn, "password": PASSWORD})).status == 401


async def test_no_or_forged_tokens(api: Api) -> None:
    """Missing, forged and over-long tokens: 401, never 5xx."""
    for token in (None, "forged", "x" * 5000):
        answer = await api.get("/api/v1/session", token=token)
        assert (answer.status, answer.error) == (401, "session_ended")


async def test_a_request_whose_session_ends_meanwhile_is_annulled(api: Api) -> None:
    """A change started in a session commits only with the session still live: when the
    session ends first (here: logout from another tab), the change is not applied."""
    token = await _admin(api)
    door: FrontDoor = api.server.app[FRONT_DOOR]
    ctx = await door.context(token)  # the request has read its session...
    assert (await api.post("/api/v1/session/logout", token=token)).status == 204  # ...then it ends
    with pytest.raises(SessionOver):
        await door.set_access(ctx, ACME_STAFF.msisdn, open_=False)
    assert (await api.store.get_subscriber(ACME_STAFF.msisdn)).access_open


async def test_a_request_in_a_busy_but_live_session_goes_through(api: Api) -> None:
    """Another tab's request moved the session's row after this request read it: the session
    is still live, so the change is decided again and applied (not reported as ended)."""
    token = await _admin(api)
    door: FrontDoor = api.server.app[FRONT_DOOR]
    ctx = await door.context(token)
    assert (await api.get("/api/v1/session", token=token)).status == 200  # another tab
    assert await door.set_access(ctx, ACME_STAFF.msisdn, open_=False) == "closed"
    assert (await api.store.get_subscriber(ACME_STAFF.msisdn)).closed_by is ClosedBy.ORGANISATION


async def test_administrator_manages_the_clients_subscribers(api: Api) -> None:
    """List, close (an organisation closure), open, and grant administrator."""
    token = await _admin(api)
    await api.register(ACME_STAFF.msisdn, SECOND)
    staff = await api.login(ACME_STAFF.msisdn, SECOND)
    listing = await api.get("/api/v1/client/subscribers", token=token)
    assert listing.status == 200
    assert [s["msisdn"] for s in listing.body["subscribers"]] == sorted(
        [ACME_ADMIN.msisdn, ACME_STAFF.msisdn, ACME_DRIVER.msisdn])
    closed = await api.post(f"/api/v1/client/subscribers/{ACME_STAFF.msisdn}/access", {"action": "close"}, token=token)
    assert (closed.status, closed.body) == (200, {"status": "closed"})
    assert (await api.store.get_subscriber(ACME_STAFF.msisdn)).closed_by is ClosedBy.ORGANISATION
    login = await api.post("/api/v1/login/password", {"msisdn": ACME_STAFF.msisdn, "password": SECOND})
    assert (login.status, login.error) == (403, "access_closed")
    assert (await api.get("/api/v1/session", token=staff)).status == 401  # its session ended
    opened = await api.post(f"/api/v1/client/subscribers/{ACME_STAFF.msisdn}/access", {"action": "open"}, token=token)
    assert opened.body == {"status": "opened"}
    granted = await api.post(f"/api/v1/client/subscribers/{ACME_DRIVER.msisdn}/administrator", token=token)
    assert granted.body == {"status": "granted"}
    await api.register(ACME_DRIVER.msisdn, SECOND)
    driver = await api.login(ACME_DRIVER.msisdn, SECOND)
    assert (await api.get("/api/v1/session", token=driver)).body["role"] == "administrator"
    audit = {(e.action, e.actor, e.channel) for e in await api.store.audit_log(msisdn=ACME_STAFF.msisdn)}
    assert {("access_closed", ACME_ADMIN.msisdn, "web"), ("access_opened", ACME_ADMIN.msisdn, "web")} <= audit
    assert ("role_granted", ACME_ADMIN.msisdn, "web") in {
        (e.action, e.actor, e.channel) for e in await api.store.audit_log(msisdn=ACME_DRIVER.msisdn)}


async def test_register_is_refused_while_closed(api: Api) -> None:
    """Registration by SMS code for a closed account: refused once the code is right."""
    token = await _admin(api)
    await api.post(f"/api/v1/client/subscribers/{ACME_STAFF.msisdn}/access", {"action": "close"}, token=token)
    api.clock.advance(61)
    code = await api.code_for(ACME_STAFF.msisdn, "register")
    answer = await api.post("/api/v1/register/sms", {"msisdn": ACME_STAFF.msisdn, "code": code,
                                                     "password": SECOND, "password_confirmation": SECOND})
    assert (answer.status, answer.error) == (403, "access_closed")
    assert "organisation" in answer.body["message"]


async def test_roles_never_reach_beyond_their_client(api: Api) -> None:
    """Another client's subscriber looks like nobody (404); nothing changes."""
    token = await _admin(api)
    for path in (f"/api/v1/client/subscribers/{OTHER_CO.msisdn}/access",
                 f"/api/v1/client/subscribers/{OPEN_RU.msisdn}/access",
                 "/api/v1/client/subscribers/375290000009/access"):
        answer = await api.post(path, {"action": "close"}, token=token)
        assert (answer.status, answer.error) == (404, "unknown_subscriber")
    granted = await api.post(f"/api/v1/client/subscribers/{OTHER_CO.msisdn}/administrator", token=token)
    assert granted.status == 404
    assert (await api.store.get_subscriber(OTHER_CO.msisdn)).access_open
    assert (await api.store.get_subscriber(OTHER_CO.msisdn)).role is None


async def test_plain_subscribers_have_no_role(api: Api) -> None:
    """A subscriber without a role may not list or manage (403)."""
    await api.register(ACME_STAFF.msisdn, PASSWORD)
    token = await api.login(ACME_STAFF.msisdn, PASSWORD)
    assert (await api.get("/api/v1/client/subscribers", token=token)).status == 403
    answer = await api.post(f"/api/v1/client/subscribers/{ACME_DRIVER.msisdn}/access", {"action": "close"}, token=token)
    assert (answer.status, answer.error) == (403, "forbidden")


async def test_single_subscriber_of_a_business_is_administrator_by_default(api: Api) -> None:
    """A sole proprietor's only subscriber is administrator (§1.2.1); an individual is not."""
    await api.register(SOLE.msisdn, PASSWORD)
    token = await api.login(SOLE.msisdn, PASSWORD)
    assert (await api.get("/api/v1/session", token=token)).body["role"] == "administrator"
    await api.register(PERSON.msisdn, PASSWORD)
    person = await api.login(PERSON.msisdn, PASSWORD)
    assert (await api.get("/api/v1/session", token=person)).body["role"] is None


async def test_supervisor_needs_a_subscription_fee(api: Api) -> None:
    """The operator grants supervisor on the client's application; not without a fee."""
    ok = await api.post(f"/api/v1/operator/subscribers/{ACME_STAFF.msisdn}/role", {"role": "supervisor"}, headers=OPERATOR)
    assert ok.body == {"status": "granted"}
    refused = await api.post(f"/api/v1/operator/subscribers/{PERSON.msisdn}/role", {"role": "supervisor"}, headers=OPERATOR)
    assert (refused.status, refused.error) == (409, "not_permitted")
    admin_for_person = await api.post(f"/api/v1/operator/subscribers/{PERSON.msisdn}/role",
                                      {"role": "administrator"}, headers=OPERATOR)
    assert admin_for_person.status == 409
    await api.register(ACME_STAFF.msisdn, PASSWORD)
    token = await api.login(ACME_STAFF.msisdn, PASSWORD)
    assert (await api.get("/api/v1/session", token=token)).body["role"] == "supervisor"
    closed = await api.post(f"/api/v1/client/subscribers/{ACME_DRIVER.msisdn}/access", {"action": "close"}, token=token)
    assert closed.status == 200


async def test_organisation_cannot_lift_an_operator_closure(api: Api) -> None:
    """The operator's closure outranks the organisation's (409); the operator lifts it."""
    token = await _admin(api)
    await api.post(f"/api/v1/operator/subscribers/{ACME_DRIVER.msisdn}/access",
                   {"action": "close", "reason": "company_restriction"}, headers=OPERATOR)
    answer = await api.post(f"/api/v1/client/subscribers/{ACME_DRIVER.msisdn}/access", {"action": "open"}, token=token)
    assert (answer.status, answer.error) == (409, "not_permitted")
    opened = await api.post(f"/api/v1/operator/subscribers/{ACME_DRIVER.msisdn}/access",
                            {"action": "open", "operator": "agent-7"}, headers=OPERATOR)
    assert opened.body == {"status": "opened"}
    actors = {(e.action, e.actor) for e in await api.store.audit_log(msisdn=ACME_DRIVER.msisdn)}
    assert ("access_opened", "operator:agent-7") in actors


async def test_operator_endpoints_need_their_own_credential(api: Api) -> None:
    """The front end's credential is not the operator's."""
    for headers in ({}, {"Authorization": "Bearer front-end-api-secret"}):
        answer = await api.post(f"/api/v1/operator/subscribers/{OPEN_RU.msisdn}/access",
                                {"action": "close", "reason": "lost_sim"}, headers=headers)
        assert answer.status == 401
        assert (await api.get("/api/v1/operator/audit", headers=headers)).status == 401
    assert (await api.store.get_subscriber(OPEN_RU.msisdn)).access_open


async def test_operator_unlocks_puk_and_reads_the_audit(api: Api) -> None:
    """A PUK1 lock from web guesses is lifted by the operator; the audit shows it all."""
    from account_world import PUK_OPTION
    from support import WRONG_PUKS

    for wrong in WRONG_PUKS[:5]:
        await api.post("/api/v1/register/puk", {"msisdn": PUK_OPTION.msisdn, "puk": wrong,
                                                "password": PASSWORD, "password_confirmation": PASSWORD})
    assert (await api.store.get_subscriber(PUK_OPTION.msisdn)).puk_locked
    unlocked = await api.post(f"/api/v1/operator/subscribers/{PUK_OPTION.msisdn}/puk-unlock", headers=OPERATOR)
    assert unlocked.body == {"status": "unlocked"}
    ok = await api.post("/api/v1/register/puk", {"msisdn": PUK_OPTION.msisdn, "puk": PUK_OPTION.puk,
                                                 "password": PASSWORD, "password_confirmation": PASSWORD})
    assert ok.status == 201
    audit = await api.get(f"/api/v1/operator/audit?msisdn={PUK_OPTION.msisdn}&limit=50", headers=OPERATOR)
    actions = [e["action"] for e in audit.body["entries"]]
    assert {"puk_failed", "puk_locked", "puk_unlocked", "password_set", "registered"} <= set(actions)
    assert all({"at", "msisdn", "action", "actor", "channel", "detail"} <= set(e) for e in audit.body["entries"])
    bad = await api.get("/api/v1/operator/audit?limit=0", headers=OPERATOR)
    assert bad.status == 400
    unknown = await api.post("/api/v1/operator/subscribers/375290000009/puk-unlock", headers=OPERATOR)
    assert unknown.status == 404


async def test_administrator_switches_registration_by_puk(api: Api) -> None:
    """The organisation's administrator enables "registration by PUK1" (seed 001 §1.4)."""
    token = await _admin(api)
    answer = await api.post(f"/api/v1/client/subscribers/{ACME_STAFF.msisdn}/puk-registration",
                            {"enabled": True}, token=token)
    assert answer.body == {"status": "enabled"}
    ok = await api.post("/api/v1/register/puk", {"msisdn": ACME_STAFF.msisdn, "puk": ACME_STAFF.puk,
                                                 "password": SECOND, "password_confirmation": SECOND})
    assert ok.status == 201
