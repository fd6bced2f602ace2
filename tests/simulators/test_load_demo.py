"""ussd-load against a demo-like gateway: its population written by ``--write-subscribers``,
imported with ``ussd-gateway subscribers import`` beside the demo subscribers, no secrets."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from support import PEPPER_HEX

from simulators import load, population
from state.credentials import Pepper
from state.sqlite import SqliteStore
from ussd_gateway.app import create_app
from ussd_gateway.config import Secret, Settings, SmsSettings
from ussd_gateway.process.cli import main as gateway_cli
from ussd_gateway.process.demo import seed_demo


def test_the_population_file_is_what_import_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Numbers and PUK1s by the shared formula, named as bench.seed names them."""
    path = tmp_path / "load.csv"
    assert load.main(["--write-subscribers", str(path), "--first", "5", "--subscribers", "3"]) == 0
    assert "ussd-gateway subscribers import" in capsys.readouterr().out
    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [r["msisdn"] for r in rows] == [population.msisdn(i) for i in (5, 6, 7)]
    assert rows[0] == {
        "msisdn": population.msisdn(5),
        "puk1": population.puk(5),
        "client_ref": "bench-5",
        "client_name": "Subscriber 5",
    }
    assert load.main(["--write-subscribers", str(path), "--subscribers", "0"]) == 2


async def test_ussd_load_against_a_seeded_demo_is_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's recipe: write the population, import it into the demo's database, run
    ussd-load without a secret (demo mode): every dialogue checks."""
    database = tmp_path / "demo" / "gateway.sqlite3"
    database.parent.mkdir()
    pepper = Pepper.from_hex(PEPPER_HEX)
    demo_store = await SqliteStore.open(database)
    await seed_demo(demo_store, pepper)
    await demo_store.close()

    people = tmp_path / "demo" / "load.csv"
    assert load.main(["--write-subscribers", str(people), "--subscribers", "40"]) == 0
    monkeypatch.setenv("USSD_GATEWAY_DATABASE", str(database))
    monkeypatch.setenv("USSD_GATEWAY_PUK_PEPPER", PEPPER_HEX)
    out = io.StringIO()
    code = await asyncio.to_thread(gateway_cli, ["subscribers", "import", str(people)], out)
    assert code == 0 and "40 created" in out.getvalue()

    settings = Settings(
        database=database,
        puk_pepper=Secret(PEPPER_HEX),
        sms=SmsSettings(outbox_file=tmp_path / "outbox.jsonl"),
        demo=True,
    )
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    try:
        config = load.LoadConfig(
            url=str(server.make_url("")).rstrip("/"),
            handsets=4,
            seconds=1.0,
            warmup=0.2,
            # Two subscribers a handset: its walk comes back to one it closed after two
            # dialogues and opens it, however slow the machine (with 40 a slow CI machine
            # closed ten a handset in the second and never came back to open one).
            subscribers=8,
        )
        summary = (await load.run_load(config)).summary()
    finally:
        await server.close()
    assert summary["errors"] == 0, summary["error_samples"]
    assert summary["hops"] > 0 and {"close", "open"} <= set(summary["kinds"])
