"""The JSON APIs take JSON bodies only: another declared type is 415 unsupported_media_type."""

from __future__ import annotations

import json

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from support import API_SECRET, OPEN_RU

BODY = json.dumps({"msisdn": OPEN_RU.msisdn, "purpose": "login"}).encode()
AUTH = f"Bearer {API_SECRET}"


@pytest.mark.parametrize(
    "content_type",
    ["text/xml", "application/x-www-form-urlencoded", "text/plain", "application/jsonx",
     "multipart/form-data; boundary=x"],
)
async def test_other_types_are_415(
    http: aiohttp.ClientSession, gateway: TestServer, content_type: str
) -> None:
    """A JSON body declared as something else is refused before it is read."""
    headers = {"Authorization": AUTH, "Content-Type": content_type}
    async with http.post(gateway.make_url("/api/v1/codes"), data=BODY, headers=headers) as r:
        assert r.status == 415
        assert (await r.json())["error"] == "unsupported_media_type"


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON", None]
)
async def test_json_with_or_without_charset_and_no_type_are_read(
    http: aiohttp.ClientSession, gateway: TestServer, content_type: str | None
) -> None:
    """application/json, with any charset parameter, or no Content-Type at all: read as JSON."""
    headers = {"Authorization": AUTH}
    if content_type is not None:
        headers["Content-Type"] = content_type
    async with http.post(
        gateway.make_url("/api/v1/codes"), data=BODY, headers=headers,
        skip_auto_headers=() if content_type else ("Content-Type",),
    ) as r:
        assert r.status == 202, await r.text()


async def test_the_operator_api_is_json_only_too(
    http: aiohttp.ClientSession, gateway: TestServer
) -> None:
    """The same rule on the account API (one reader for every /api/v1 body)."""
    headers = {"Authorization": AUTH, "Content-Type": "text/xml"}
    body = b"<login><msisdn>375291112233</msisdn></login>"
    async with http.post(gateway.make_url("/api/v1/login/password"), data=body, headers=headers) as r:
        assert r.status == 415
