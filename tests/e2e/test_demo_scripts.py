"""The README's dialogues: the shipped simulator scripts pass against the demo data."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from simulators.handset import run_script
from state.credentials import Pepper
from state.sqlite import SqliteStore
from ussd_gateway.app import create_app
from ussd_gateway.config import Settings
from ussd_gateway.process.demo import seed_demo

SCRIPTS = Path(__file__).resolve().parents[2] / "simulators" / "scripts"


@pytest.mark.parametrize("script", sorted(SCRIPTS.glob("*.yaml")), ids=lambda p: p.name)
async def test_script_passes_on_demo_data(
    script: Path, dialect: str, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """`make run` data + `ussd-handset --script` succeed in every dialect."""
    settings = Settings(database=tmp_path / "demo.sqlite3", pepper_file=tmp_path / "pepper",
                        demo=True)
    store = await SqliteStore.open(settings.database)
    created = await seed_demo(store, Pepper.load_or_create(tmp_path / "pepper"))
    assert created and not await seed_demo(store, Pepper.load_or_create(tmp_path / "pepper"))
    await store.close()
    server = TestServer(create_app(replace(settings)), host="127.0.0.1")
    await server.start_server()
    out = io.StringIO()
    try:
        code = await run_script(script, url=str(server.make_url("")), msisdn=None,
                                dialect=dialect, secret=None, session=http, out=out)
    finally:
        await server.close()
    assert code == 0, out.getvalue()
