"""``/metrics`` behind an optional bearer secret (``[metrics] secret``)."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from support import FakeClock

from state.sqlite import SqliteStore
from ussd_gateway.app import create_app
from ussd_gateway.config import Secret, Settings

METRICS_SECRET = "prometheus-scrape-secret"


@pytest.fixture
async def guarded(
    settings: Settings, store: SqliteStore, clock: FakeClock
) -> AsyncIterator[TestServer]:
    """The gateway with a metrics secret."""
    with_secret = dataclasses.replace(settings, metrics_secret=Secret(METRICS_SECRET))
    server = TestServer(create_app(with_secret, clock=clock), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


async def _status(http: aiohttp.ClientSession, url: object, **headers: str) -> int:
    async with http.get(url, headers=headers) as response:  # type: ignore[arg-type]
        return response.status


async def test_with_a_secret_metrics_want_the_bearer(
    http: aiohttp.ClientSession, guarded: TestServer
) -> None:
    """No credential, a wrong one or a ?token= is 401; the Bearer gets the exposition."""
    url = guarded.make_url("/metrics")
    assert await _status(http, url) == 401
    assert await _status(http, url, Authorization="Bearer wrong") == 401
    assert await _status(http, url.with_query(token=METRICS_SECRET)) == 401
    async with http.get(url, headers={"Authorization": f"Bearer {METRICS_SECRET}"}) as response:
        assert response.status == 200
        assert "ussd_hops_total" in await response.text()
    basic = base64.b64encode(f"prometheus:{METRICS_SECRET}".encode()).decode()
    assert await _status(http, url, Authorization=f"Basic {basic}") == 200


async def test_without_a_secret_metrics_stay_open(
    http: aiohttp.ClientSession, gateway: TestServer
) -> None:
    """Compatibility: no [metrics] secret, no credential needed."""
    assert await _status(http, gateway.make_url("/metrics")) == 200


def test_the_setting_from_file_and_environment_is_masked(tmp_path: Path) -> None:
    """``[metrics] secret`` in the file, USSD_GATEWAY_METRICS_SECRET over it; never shown."""
    path = tmp_path / "gw.toml"
    path.write_text('[metrics]\nsecret = "from-the-file"\n', encoding="utf-8")
    from_file = Settings.load(path, {})
    assert from_file.metrics_secret is not None
    assert from_file.metrics_secret.reveal() == "from-the-file"
    assert "from-the-file" not in repr(from_file)
    env = Settings.load(path, {"USSD_GATEWAY_METRICS_SECRET": "from-the-env"})
    assert env.metrics_secret is not None and env.metrics_secret.reveal() == "from-the-env"
    assert Settings.load(None, {}).metrics_secret is None
