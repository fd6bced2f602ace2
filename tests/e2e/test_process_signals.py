"""Day-one operations on real ``ussd-gateway`` processes: start, reload, stop.

Start: one ``gateway_started`` line per process; a taken port or a wrong host is one line
on stderr and exit status 2 (one process and two workers); the demo's banner only once the
port is ours. Reload: SIGHUP serves a changed menu to new sessions while a session in
flight finishes on its own, keeps the old menus when the new ones are broken, and reaches
both workers. Stop: SIGTERM with two workers exits 0, cycle after cycle.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import aiohttp
import pytest
from support import OPEN_RU, PEPPER_HEX, SECRETS

from simulators.handset import Handset
from simulators.process import free_port, gateway_process
from state.sqlite import SqliteStore
from ussd_gateway.config import Settings
from ussd_gateway.menus.check import default_menu_paths

pytestmark = pytest.mark.slow

MENU_OPEN = "Доступ в Личный кабинет открыт."
MENU_OPEN_V2 = "Доступ открыт (версия 2)."
CONFIRM = "Закрыть доступ в Личный кабинет?"
CONFIRM_V2 = "Закрыть доступ? (версия 2)"
SERVICE_CODES = ["*141*0#", "*141*3*6#"]
WAIT = 20.0


def _env(settings: Settings, tmp_path: Path, **more: str) -> dict[str, str]:
    return {
        "USSD_GATEWAY_DATABASE": str(settings.database),
        "USSD_GATEWAY_PUK_PEPPER": PEPPER_HEX,
        "USSD_GATEWAY_SECRET_NATIVE": SECRETS["native"],
        "USSD_GATEWAY_OUTBOX_FILE": str(tmp_path / "outbox.jsonl"),
        **more,
    }


def _menus(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A copy of the shipped menus the test may change, and the settings that load it."""
    folder = tmp_path / "menus"
    folder.mkdir()
    paths = [Path(shutil.copy(path, folder)) for path in default_menu_paths()]
    config = tmp_path / "gateway.toml"
    config.write_text(f"[menus]\npaths = {json.dumps([str(p) for p in paths])}\n", encoding="utf-8")
    return {"USSD_GATEWAY_CONFIG": str(config)}, folder / "access.yaml"


def _edit(path: Path, *changes: tuple[str, str]) -> None:
    text = path.read_text(encoding="utf-8")
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


def _lines(log: Path) -> list[dict[str, object]]:
    text = log.read_text(encoding="utf-8") if log.exists() else ""
    complete = text[: text.rfind("\n") + 1]
    return [json.loads(line) for line in complete.split("\n") if line.startswith("{")]


async def _wait_lines(log: Path, event: str, count: int) -> list[dict[str, object]]:
    """The log's ``event`` lines once there are ``count`` of them (fails after WAIT s)."""
    deadline = time.monotonic() + WAIT
    while True:
        found = [line for line in _lines(log) if line.get("event") == event]
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) >= count, f"{len(found)} {event} lines, wanted {count}"
            return found
        await asyncio.sleep(0.05)


def _children(pid: int) -> set[int]:
    return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def _phone(http: aiohttp.ClientSession, url: str, msisdn: str = OPEN_RU.msisdn) -> Handset:
    return Handset(http, url=url, msisdn=msisdn, dialect="native", secret=SECRETS["native"])


def _run(argv: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("USSD_GATEWAY_")}
    return subprocess.run(  # noqa: S603 - our own module and arguments
        [sys.executable, "-m", "ussd_gateway", *argv], env={**inherited, **env},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


# --- start ------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
async def test_every_process_logs_one_start_line(
    settings: Settings, store: SqliteStore, tmp_path: Path, workers: int
) -> None:
    """Version, address, store, menus, workers, pid: once per process, the supervisor too."""
    log = tmp_path / "gateway.log"
    async with gateway_process(
        _env(settings, tmp_path), log=log, serve_args=["--workers", str(workers)]
    ) as gateway:
        started = await _wait_lines(log, "gateway_started", 1 if workers == 1 else 3)
        pid = gateway.process.pid
        children = _children(pid) if workers > 1 else set()
    port = gateway.url.rsplit(":", 1)[1]
    assert len(started) == (1 if workers == 1 else 3)
    for line in started:
        assert line["version"] == metadata.version("ussd-gateway")
        assert line["listen"] == [f"127.0.0.1:{port}"]
        assert line["store"] == str(settings.database)
        assert line["menus"] == SERVICE_CODES
        assert line["workers"] == workers
    roles = {(line["role"], line["pid"]) for line in started}
    if workers == 1:
        assert roles == {("server", pid)}
    else:
        assert len(children) == 2
        assert roles == {("supervisor", pid)} | {("worker", child) for child in children}


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_taken_port_is_one_line_and_status_2(
    settings: Settings, tmp_path: Path, workers: str
) -> None:
    """Another socket holds the port: one line on stderr, exit 2, the store untouched."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = _run(["serve", "--workers", workers],
                    _env(settings, tmp_path, USSD_GATEWAY_PORT=str(port)))  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"ussd-gateway: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]
    assert not settings.database.exists()  # bound before the store is opened


@pytest.mark.parametrize("workers", ["1", "2"])
def test_an_invalid_host_is_one_line_and_status_2(
    settings: Settings, tmp_path: Path, workers: str
) -> None:
    """``999.1.1.1`` is no address: one line on stderr, exit 2, no traceback."""
    env = _env(settings, tmp_path, USSD_GATEWAY_HOST="999.1.1.1", USSD_GATEWAY_PORT="8080")
    done = _run(["serve", "--workers", workers], env)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "ussd-gateway: cannot listen on 999.1.1.1:8080: "
        "'999.1.1.1' does not appear to be an IPv4 or IPv6 address"
    ]


def test_the_demo_banner_is_not_shown_when_the_port_is_taken(tmp_path: Path) -> None:
    """``demo --port`` on a taken port (and ``--host`` a wrong one): no banner, one line."""
    env = {"USSD_GATEWAY_OUTBOX_FILE": str(tmp_path / "outbox.jsonl")}
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = str(holder.getsockname()[1])
        taken = _run(["demo", "--data-dir", str(tmp_path / "demo"), "--port", port], env)
    wrong = _run(["demo", "--data-dir", str(tmp_path / "demo"), "--host", "999.1.1.1"], env)
    for done in (taken, wrong):
        assert done.returncode == 2, done.stderr
        assert "demo mode" not in done.stdout and done.stdout == ""
        assert len(done.stderr.splitlines()) == 1 and "cannot listen on" in done.stderr


def test_the_demo_banner_comes_once_the_port_is_ours(tmp_path: Path) -> None:
    """When the banner says where to dial, the port already takes connections."""
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("USSD_GATEWAY_")}
    env = {**inherited, "USSD_GATEWAY_OUTBOX_FILE": str(tmp_path / "outbox.jsonl")}
    process = subprocess.Popen(  # noqa: S603 - our own module and arguments
        [sys.executable, "-m", "ussd_gateway", "demo", "--data-dir", str(tmp_path / "demo"),
         "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        connected: list[bool] = []

        def read() -> None:
            for line in process.stdout:  # type: ignore[union-attr]
                if "demo mode" in line:
                    try:  # at once: not a moment later, when the server would be up anyway
                        socket.create_connection(("127.0.0.1", port), timeout=1).close()
                        connected.append(True)
                    except OSError:
                        connected.append(False)
                    return

        reader = threading.Thread(target=read)
        reader.start()
        reader.join(WAIT)
        assert connected == [True]
    finally:
        process.terminate()
        assert process.wait(timeout=WAIT) == 0


# --- reload -----------------------------------------------------------------------------


async def test_sighup_serves_a_changed_menu_and_a_session_in_flight_finishes_on_its_own(
    settings: Settings, store: SqliteStore, tmp_path: Path
) -> None:
    """A session begun before the reload: its next screens from the old menu; a session
    begun after it: the new texts."""
    log = tmp_path / "gateway.log"
    config, access = _menus(tmp_path)
    async with aiohttp.ClientSession() as http:
        async with gateway_process(_env(settings, tmp_path, **config), log=log) as gateway:
            before = _phone(http, gateway.url)
            assert (await before.dial("*141*3*6#")).text.startswith(MENU_OPEN)
            _edit(access, (MENU_OPEN, MENU_OPEN_V2), (CONFIRM, CONFIRM_V2))
            gateway.process.send_signal(signal.SIGHUP)
            await _wait_lines(log, "definitions_reloaded", 1)
            after = _phone(http, gateway.url)
            assert (await after.dial("*141*3*6#")).text.startswith(MENU_OPEN_V2)
            assert (await before.send("1")).text.startswith(CONFIRM)
            assert (await after.send("1")).text.startswith(CONFIRM_V2)
            assert (await before.send("2")).text == "Доступ не изменён."
            assert gateway.process.poll() is None


async def test_sighup_with_a_broken_menu_keeps_the_old_and_says_why(
    settings: Settings, store: SqliteStore, tmp_path: Path
) -> None:
    """The new set is checked first: broken, the old menus go on serving; one warning."""
    log = tmp_path / "gateway.log"
    config, access = _menus(tmp_path)
    async with aiohttp.ClientSession() as http:
        async with gateway_process(_env(settings, tmp_path, **config), log=log) as gateway:
            _edit(access, (MENU_OPEN, MENU_OPEN_V2), ("target: kept_open", "target: nowhere"))
            gateway.process.send_signal(signal.SIGHUP)
            [refused] = await _wait_lines(log, "definitions_reload_refused", 1)
            assert (await _phone(http, gateway.url).dial("*141*3*6#")).text.startswith(MENU_OPEN)
            assert gateway.process.poll() is None
    assert refused["level"] == "warning"
    problems = refused["problems"]
    assert isinstance(problems, list)
    assert any(f"{access}:" in p and "nowhere" in p for p in problems), problems
    assert not [line for line in _lines(log) if line.get("event") == "definitions_reloaded"]


async def test_sighup_reaches_both_workers(
    settings: Settings, store: SqliteStore, tmp_path: Path
) -> None:
    """The supervisor passes SIGHUP on: each worker reloads in its own loop."""
    log = tmp_path / "gateway.log"
    config, access = _menus(tmp_path)
    env = _env(settings, tmp_path, **config)
    async with gateway_process(env, log=log, serve_args=["--workers", "2"]) as gateway:
        await _wait_lines(log, "gateway_started", 3)  # both workers serving
        workers = _children(gateway.process.pid)
        _edit(access, (MENU_OPEN, MENU_OPEN_V2))
        gateway.process.send_signal(signal.SIGHUP)
        reloaded = await _wait_lines(log, "definitions_reloaded", 2)
        assert {line["pid"] for line in reloaded} == workers
        # Whichever worker a new connection reaches, it serves the new menu.
        for n in range(6):
            connector = aiohttp.TCPConnector(force_close=True)
            async with aiohttp.ClientSession(connector=connector) as http:
                phone = _phone(http, gateway.url, OPEN_RU.msisdn)
                assert (await phone.dial("*141*3*6#")).text.startswith(MENU_OPEN_V2), n
                await phone.abort()
        assert gateway.process.poll() is None


# --- stop -------------------------------------------------------------------------------


async def test_sigterm_with_two_workers_exits_0_every_time(
    settings: Settings, store: SqliteStore, tmp_path: Path
) -> None:
    """Stop right after start, several times: both workers drain, the supervisor exits 0
    (the supervisor used to find no ended worker: a StopIteration, exit 1)."""
    for cycle in range(6):
        log = tmp_path / f"gateway-{cycle}.log"
        async with gateway_process(
            _env(settings, tmp_path), log=log, serve_args=["--workers", "2"]
        ) as gateway:
            gateway.process.send_signal(signal.SIGTERM)
            status = await asyncio.to_thread(gateway.process.wait, WAIT)
        text = log.read_text(encoding="utf-8")
        assert status == 0, f"cycle {cycle}: exit {status}\n{text[-3000:]}"
        assert "Traceback" not in text, f"cycle {cycle}\n{text[-3000:]}"


async def test_sigterm_stops_each_worker_once(
    settings: Settings, store: SqliteStore, tmp_path: Path
) -> None:
    """After answering, each worker drains once (one ``gateway_stopping`` each: the
    supervisor no longer sends a second SIGTERM that cuts a drain short)."""
    log = tmp_path / "gateway.log"
    async with aiohttp.ClientSession() as http:
        async with gateway_process(
            _env(settings, tmp_path), log=log, serve_args=["--workers", "2"]
        ) as gateway:
            await _wait_lines(log, "gateway_started", 3)
            workers = _children(gateway.process.pid)
            phone = _phone(http, gateway.url)
            assert (await phone.dial("*141*3*6#")).text.startswith(MENU_OPEN)
            gateway.process.send_signal(signal.SIGTERM)
            status = await asyncio.to_thread(gateway.process.wait, WAIT)
    assert status == 0
    stopping = [line for line in _lines(log) if line.get("event") == "gateway_stopping"]
    assert sorted(line["pid"] for line in stopping) == sorted(workers)


async def test_ctrl_c_reaching_every_process_is_still_one_drain(
    settings: Settings, store: SqliteStore, tmp_path: Path
) -> None:
    """Ctrl-C signals the terminal's whole process group: each worker gets SIGINT from the
    terminal and again from the supervisor. The second is ignored; exit 0."""
    log = tmp_path / "gateway.log"
    async with gateway_process(
        _env(settings, tmp_path), log=log, serve_args=["--workers", "2"]
    ) as gateway:
        await _wait_lines(log, "gateway_started", 3)
        workers = _children(gateway.process.pid)
        for pid in (*workers, gateway.process.pid):
            os.kill(pid, signal.SIGINT)
        status = await asyncio.to_thread(gateway.process.wait, WAIT)
    text = log.read_text(encoding="utf-8")
    assert status == 0 and "Traceback" not in text, text[-3000:]
    stopping = [line for line in _lines(log) if line.get("event") == "gateway_stopping"]
    assert sorted(line["pid"] for line in stopping) == sorted(workers)
