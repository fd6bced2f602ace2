"""Which routes take a secret from the URL: only the peers that cannot send headers."""

from __future__ import annotations

import dataclasses
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from support import API_SECRET, MO_SECRET, OPEN_RU, SECRETS

from ussd_gateway.config import Settings
from ussd_gateway.config.secrets import Secret
from ussd_gateway.config.settings import AccountSettings

OPERATOR_SECRET = "operator-tools-secret"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings plus an operator credential."""
    return dataclasses.replace(
        settings, account=AccountSettings(operator_secret=Secret(OPERATOR_SECRET))
    )


@pytest.mark.parametrize(
    ("method", "path", "secret", "body"),
    [
        ("GET", "/api/v1/operator/audit", OPERATOR_SECRET, None),
        ("POST", "/api/v1/codes", API_SECRET, {"msisdn": OPEN_RU.msisdn, "purpose": "login"}),
        ("GET", "/api/v1/session", API_SECRET, None),
    ],
)
async def test_apis_refuse_a_secret_in_the_url(
    http: aiohttp.ClientSession, gateway: TestServer,
    method: str, path: str, secret: str, body: object,
) -> None:
    """``?token=`` on the front-end and operator APIs is 401; the same secret as Bearer works."""
    url = gateway.make_url(path).with_query(token=secret)
    async with http.request(method, url, json=body) as response:
        assert response.status == 401
        assert (await response.json())["error"] == "unauthorized"
    headers = {"Authorization": f"Bearer {secret}"}
    async with http.request(method, gateway.make_url(path), json=body, headers=headers) as response:
        assert (await response.json()).get("error") != "unauthorized"


async def test_peers_keep_the_secret_in_the_url(
    http: aiohttp.ClientSession, gateway: TestServer
) -> None:
    """The USSD dialects, /sms/mo and /sms/dlr still take ``?token=``."""
    ussd = gateway.make_url("/ussd").with_query(token=SECRETS["native"])
    async with http.post(ussd, json={}) as response:
        assert response.status == 400  # past the credentials, to the dialect's parser
    query = f"token={quote(MO_SECRET)}&from={quote(OPEN_RU.msisdn)}&to=141&text=HELP"
    async with http.get(str(gateway.make_url("/sms/mo")) + "?" + query) as response:
        assert response.status == 200
    async with http.get(gateway.make_url("/sms/dlr").with_query(token=MO_SECRET)) as response:
        assert response.status != 401 and response.status != 403
