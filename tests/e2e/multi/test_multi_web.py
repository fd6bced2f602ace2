"""A web session of the account API is the database's, not an instance's."""

from __future__ import annotations

import aiohttp
import pytest
from multi_cluster import (
    ASK_PASSWORD,
    PASSWORD_SET,
    REPEAT_PASSWORD,
    WEB,
    Cluster,
    RoamingHandset,
    api_get,
    api_post,
    audit_actions,
)
from support import PASSWORDS, SECRETS

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.asyncio(loop_scope="module")]

SESSION = "X-Session-Token"


async def test_session_made_on_one_used_on_another_ended_on_a_third(
    gateways: Cluster, http: aiohttp.ClientSession
) -> None:
    """The password set by USSD (hops on all three instances), a login on the first
    instance, the session used on the second and logged out on the third: the first then
    refuses it too; a second session of the same subscriber lives on everywhere."""
    sub = WEB[0]
    password = PASSWORDS[4]
    first, second, third = gateways.urls
    phone = RoamingHandset(
        http, urls=gateways.urls, msisdn=sub.msisdn, dialect="hubtel", secret=SECRETS["hubtel"]
    )
    assert (await phone.dial("*141*0#")).text == ASK_PASSWORD
    assert (await phone.send(password)).text == REPEAT_PASSWORD
    assert (await phone.send(password)).text == PASSWORD_SET

    login = {"msisdn": sub.msisdn, "password": password}
    status, made = await api_post(http, first, "/api/v1/login/password", login)
    assert status == 200 and made["msisdn"] == sub.msisdn, made
    token = {SESSION: made["token"]}
    status, kept = await api_post(http, second, "/api/v1/login/password", login)
    assert status == 200
    other = {SESSION: kept["token"]}

    status, info = await api_get(http, second, "/api/v1/session", headers=token)
    assert status == 200 and info["msisdn"] == sub.msisdn and info["method"] == "password"
    status, _ = await api_post(http, third, "/api/v1/session/logout", {}, headers=token)
    assert status == 204

    for url in (first, second, third):
        status, body = await api_get(http, url, "/api/v1/session", headers=token)
        assert status == 401, (url, body)
        status, body = await api_get(http, url, "/api/v1/session", headers=other)
        assert status == 200, (url, body)
    status, _ = await api_post(http, first, "/api/v1/session/logout", {}, headers=token)
    assert status == 401  # ended once, by the third instance
    assert audit_actions(await gateways.store.audit_log(msisdn=sub.msisdn)) == [
        "password_set",
        "login",
        "login",
        "logout",
    ]
