"""The worked self-service menu ``*100#`` (menus/examples/selfservice.yaml) against the real
billing simulator process, in every dialect; and a new service added with YAML and a
configuration entry only, served by a real gateway process.

The dialogues are the shipped scripts of ``simulators/scripts/selfservice/`` (exact screen
texts: ``expect_text``), run by the terminal handset's own runner.
"""

from __future__ import annotations

import asyncio
import io
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from support import SECRETS

from simulators.handset import Handset, run_script
from simulators.process import gateway_process
from state.credentials import Pepper
from state.sqlite import SqliteStore
from ussd_gateway.app import create_app
from ussd_gateway.config import Settings
from ussd_gateway.process.demo import DEMO_BILLING_TOKEN, seed_demo, with_billing

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((ROOT / "simulators" / "scripts" / "selfservice").glob("*.yaml"))
AUTH = {"Authorization": f"Bearer {DEMO_BILLING_TOKEN}"}


@pytest.fixture
async def billing(tmp_path: Path) -> AsyncIterator[str]:
    """``ussd-billing serve`` on a free port, demo data, orders effective after a day."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulators.billing", "serve", "--port", "0",
        "--effective-after", "86400", "--record", str(tmp_path / "billing.jsonl"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode()
    assert " on http://" in line, line
    try:
        yield line.split(" on ", 1)[1].split()[0]
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), 10)


@pytest.fixture
async def demo_gateway(billing: str, tmp_path: Path) -> AsyncIterator[str]:
    """The gateway as ``make run`` starts it: demo data, the billing as back-end."""
    settings = with_billing(
        Settings(database=tmp_path / "demo.sqlite3", pepper_file=tmp_path / "pepper", demo=True),
        billing,
    )
    store = await SqliteStore.open(settings.database)
    await seed_demo(store, Pepper.load_or_create(tmp_path / "pepper"))
    await store.close()
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url(""))
    await server.close()


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
async def test_worked_service_dialogues(
    script: Path, dialect: str, demo_gateway: str, http: aiohttp.ClientSession
) -> None:
    """Each dialogue, screen for screen, in each dialect."""
    out = io.StringIO()
    code = await run_script(script, url=demo_gateway, dialect=dialect, secret=None,
                            session=http, out=out)  # fmt: skip
    assert code == 0, out.getvalue()


async def test_an_unconfirmed_request_never_reaches_the_billing(
    demo_gateway: str, billing: str, http: aiohttp.ClientSession
) -> None:
    """The annulled dialogue formed an order and hung up: the billing has no order of it;
    the connect dialogue's one order is there, once (its hop was not repeated)."""
    for name in ("annulled", "connect"):
        out = io.StringIO()
        script = ROOT / "simulators" / "scripts" / "selfservice" / f"{name}.yaml"
        assert await run_script(script, url=demo_gateway, session=http, out=out) == 0, out
    async with http.get(f"{billing}/orders", headers=AUTH) as response:
        orders = (await response.json())["orders"]
    assert [(o["msisdn"], o["service"], o["action"]) for o in orders] == [
        ("375291000001", "social", "connect")
    ]


NEW_MENU = """
service:
  code: "*102#"
  title: {ru: "Мой тариф", en: "My tariff"}
calls:
  tariff:
    backend: billing
    path: "/subscribers/{msisdn}"
    save: {name: tariff, data: traffic_left_mb}
machine:
  name: tariff
  states:
    start:
      initial: true
      transitions:
        - {target: shown, on: tariff}
    shown: {final: true}
screens:
  shown:
    text:
      ru: "Ваш тариф: {name}. Осталось {data} МБ."
      en: "Your tariff: {name}. {data} MB left."
"""


async def test_a_new_service_with_yaml_and_configuration_only(
    billing: str, settings: Settings, store: SqliteStore, tmp_path: Path,
    http: aiohttp.ClientSession,
) -> None:
    """From scratch: a menu file and a [backends] table, nothing else; a real gateway
    process serves it (its store seeded with the demo subscribers)."""
    await seed_demo(store, Pepper.load_or_create(tmp_path / "pepper"))
    (tmp_path / "menus").mkdir()
    (tmp_path / "menus" / "tariff.yaml").write_text(NEW_MENU, encoding="utf-8")
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'[menus]\npaths = ["{tmp_path / "menus"}"]\n\n'
        f'[backends.billing]\nurl = "{billing}"\ntoken = "{DEMO_BILLING_TOKEN}"\n',
        encoding="utf-8",
    )
    env = {
        "USSD_GATEWAY_CONFIG": str(config),
        "USSD_GATEWAY_DATABASE": str(settings.database),
        "USSD_GATEWAY_PUK_PEPPER_FILE": str(tmp_path / "pepper"),
        "USSD_GATEWAY_SECRET_NATIVE": SECRETS["native"],
        "USSD_GATEWAY_OUTBOX_FILE": str(tmp_path / "outbox.jsonl"),
    }
    async with gateway_process(env, log=tmp_path / "gateway.log") as gateway:
        phone = Handset(http, url=gateway.url, msisdn="375331000002", secret=SECRETS["native"])
        screen = await phone.dial("*102#")
    assert (screen.text, screen.ends) == ("Your tariff: Smart. 512 MB left.", True)
