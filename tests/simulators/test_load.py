"""ussd-load: every reply is checked, a wrong one is an error, and real servers pass clean."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from support import API_SECRET, MO_SECRET, PEPPER_HEX, SECRETS

import bench.bare
from bench.seed import seed
from simulators import population
from simulators.dialects import Screen
from simulators.load import LoadConfig, Mix, hold_sessions, run_load
from simulators.load_check import CONFIRM_CLOSE, OPEN_MENU, Expect, WrongReply, check_http
from simulators.load_stats import LoadStats, percentile
from simulators.process import gateway_process
from state.credentials import Pepper

OPEN_TEXT = "Доступ в Личный кабинет открыт.\n1. Закрыть\n2. Открыть"


def test_the_checker_refuses_a_wrong_text_a_wrong_end_and_an_oversized_screen() -> None:
    """Text, CON/END and the USSD limit are each checked."""
    OPEN_MENU.check(Screen(OPEN_TEXT, ends=False))
    with pytest.raises(WrongReply, match="not matching"):
        OPEN_MENU.check(Screen("Доступ в Личный кабинет закрыт.\n1. Закрыть\n2. Открыть", False))
    with pytest.raises(WrongReply, match="CON expected"):
        OPEN_MENU.check(Screen(OPEN_TEXT, ends=True))
    anything = Expect("any screen", re.compile(".*", re.DOTALL), ends=False)
    anything.check(Screen("я" * 80, ends=False))
    with pytest.raises(WrongReply, match="over the USSD limit"):
        anything.check(Screen("я" * 81, ends=False))


def test_http_checks_want_an_allowed_status_and_body() -> None:
    """A status or a body outside what the route may answer is a wrong reply."""
    allowed = {202: re.compile(r'^\{"status":"accepted"\}$')}
    check_http("codes", 202, b'{"status": "accepted"}', allowed)
    with pytest.raises(WrongReply, match="HTTP 500"):
        check_http("codes", 500, b"{}", allowed)
    with pytest.raises(WrongReply, match="not matching"):
        check_http("codes", 202, b'{"status": "sent"}', allowed)
    with pytest.raises(WrongReply, match="not JSON"):
        check_http("codes", 202, b"accepted", allowed)


def test_percentiles_are_nearest_rank() -> None:
    """p50/p99 of 1..100 are 50 and 99; none of nothing is 0."""
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.99), percentile(values, 1.0)) == (
        50.0,
        99.0,
        100.0,
    )
    assert percentile([], 0.99) == 0.0
    stats = LoadStats()
    stats.error("close", "x")
    assert stats.summary(1.0)["errors"] == 1


async def _bare() -> TestServer:
    server = TestServer(bench.bare.create_app(SECRETS["native"]), host="127.0.0.1")
    await server.start_server()
    return server


async def test_load_against_the_bare_server_is_clean() -> None:
    """The bare reference answers every dialogue as the menus do: hops, no errors."""
    server = await _bare()
    try:
        url = str(server.make_url("")).rstrip("/")
        config = LoadConfig(
            url=url, handsets=8, seconds=1.0, warmup=0.2, subscribers=64, secret=SECRETS["native"]
        )
        summary = (await run_load(config)).summary()
    finally:
        await server.close()
    assert summary["errors"] == 0, summary["error_samples"]
    assert summary["hops"] > 0 and {"close", "open"} <= set(summary["kinds"])


async def test_a_wrong_reply_is_counted_as_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server whose confirmation screen is wrong gets an error for every close."""
    monkeypatch.setattr(bench.bare, "CONFIRM", "Закрыть доступ?\n1. Да\n2. Нет")
    server = await _bare()
    try:
        url = str(server.make_url("")).rstrip("/")
        config = LoadConfig(
            url=url, handsets=4, seconds=0.5, warmup=0, subscribers=16, secret=SECRETS["native"]
        )
        summary = (await run_load(config)).summary()
    finally:
        await server.close()
    closes = summary["kinds"]["close"]
    assert closes["errors"] > 0 and closes["sessions"] == 0
    assert CONFIRM_CLOSE.step in summary["error_samples"][0]


async def test_a_wrong_secret_makes_every_dialogue_an_error() -> None:
    """HTTP errors count too: nothing passes unchecked."""
    server = await _bare()
    try:
        url = str(server.make_url("")).rstrip("/")
        config = LoadConfig(
            url=url, handsets=2, seconds=0.3, warmup=0, subscribers=8, secret="wrong"
        )
        summary = (await run_load(config)).summary()
    finally:
        await server.close()
    assert summary["errors"] > 0 and summary["sessions"] == 0


def test_mixes_parse() -> None:
    """Named mixes and weights; an unknown dialogue is refused."""
    assert Mix.parse("access") == Mix()
    assert Mix.parse("close=2,password=1") == Mix(close=2, open=0, password=1)
    with pytest.raises(ValueError, match="unknown dialogue"):
        Mix.parse("dance=1")


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        "USSD_GATEWAY_DATABASE": str(tmp_path / "bench.sqlite3"),
        "USSD_GATEWAY_PUK_PEPPER": PEPPER_HEX,
        "USSD_GATEWAY_SECRET_AFRICASTALKING": SECRETS["africastalking"],
        "USSD_GATEWAY_SECRET_NATIVE": SECRETS["native"],
        "USSD_GATEWAY_API_SECRET": API_SECRET,
        "USSD_GATEWAY_SMS_MO_SECRET": MO_SECRET,
        "USSD_GATEWAY_OUTBOX_FILE": str(tmp_path / "outbox.jsonl"),
    }


@pytest.mark.slow
async def test_ussd_load_against_a_gateway_process_is_clean(tmp_path: Path) -> None:
    """The console script, full mix over Africa's Talking, 2 s on a real gateway: no errors."""
    await seed(tmp_path / "bench.sqlite3", Pepper.from_hex(PEPPER_HEX), 200)
    out = tmp_path / "load.json"
    async with gateway_process(_env(tmp_path)) as gateway:
        # A blocking run is fine: the gateway is another process.
        done = subprocess.run(  # noqa: ASYNC221
            [str(Path(sys.executable).with_name("ussd-load")), "--url", gateway.url,
             "--dialect", "africastalking", "--mix", "full", "--handsets", "10",
             "--subscribers", "40", "--seconds", "2", "--warmup", "0.3",
             "--secret", SECRETS["africastalking"], "--api-secret", API_SECRET,
             "--mo-secret", MO_SECRET, "--json", str(out)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(out.read_text(encoding="utf-8"))
    assert summary["errors"] == 0 and summary["hops"] > 0
    assert {"close", "open", "codes", "mo"} <= set(summary["kinds"])


def _children(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="ascii").split()


@pytest.mark.slow
async def test_two_workers_share_the_port_and_the_file(tmp_path: Path) -> None:
    """serve --workers 2: two processes answer, every dialogue checks, sessions stay live."""
    await seed(tmp_path / "bench.sqlite3", Pepper.from_hex(PEPPER_HEX), 200)
    async with gateway_process(_env(tmp_path), serve_args=["--workers", "2"]) as gateway:
        assert len(_children(gateway.process.pid)) == 2
        config = LoadConfig(
            url=gateway.url,
            handsets=20,
            seconds=1.5,
            warmup=0.2,
            subscribers=100,
            secret=SECRETS["native"],
        )
        summary = (await run_load(config)).summary()
        held = await hold_sessions(gateway.url, range(100, 150), secret=SECRETS["native"])
    assert summary["errors"] == 0, summary["error_samples"]
    assert summary["hops"] > 0 and held == 0


def test_the_population_formula_is_shared() -> None:
    """Numbers map back to their index; a wrong PUK1 is never the right one."""
    for index in (0, 1, 99_999, 9_999_999):
        assert population.index_of(population.msisdn(index)) == index
        assert population.wrong_puk(index) != population.puk(index)
    assert population.index_of("375330000001") is None
