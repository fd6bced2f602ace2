"""The edges of a real ``ussd-gateway serve`` process: what peers and strangers send it.

A long Cyrillic Kannel MO (a ~9 KB request line) is answered; a request past our limits is a
400 that quotes nothing and one warning line (rate-limited, no traceback, no secret); a flood
of connections that never finish their headers under a low descriptor limit neither locks
a handset out nor fills the log.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest
from support import MO_SECRET, OPEN_RU, PEPPER_HEX, SECRETS

from simulators.handset import Handset
from simulators.process import free_port, gateway_process
from state.sqlite import SqliteStore
from ussd_gateway.config import Settings
from ussd_gateway.process import logs

pytestmark = pytest.mark.slow


def _env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    return {
        "USSD_GATEWAY_DATABASE": str(settings.database),
        "USSD_GATEWAY_PUK_PEPPER": PEPPER_HEX,
        "USSD_GATEWAY_SECRET_NATIVE": SECRETS["native"],
        "USSD_GATEWAY_SMS_MO_SECRET": MO_SECRET,
        "USSD_GATEWAY_OUTBOX_FILE": str(tmp_path / "outbox.jsonl"),
    }


def _lines(log: Path) -> list[dict[str, object]]:
    text = log.read_text(encoding="utf-8") if log.exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _raw_get(url: str, target: str, header: str = "X-Note: 1") -> tuple[int, bytes]:
    """One GET written by hand (the request line exactly as given); status and body."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        head = f"GET {target} HTTP/1.1\r\nHost: x\r\n{header}\r\nConnection: close\r\n\r\n"
        conn.sendall(head.encode())
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def _mo_target(text: str) -> str:
    query = f"token={MO_SECRET}&from={quote('+' + OPEN_RU.msisdn)}&to=141&text={quote(text)}"
    return f"/sms/mo?{query}&smsc=FAKE&id=1&coding=2&charset=UTF-8"


def _assert_clean(log: Path) -> list[dict[str, object]]:
    text = log.read_text(encoding="utf-8")
    assert MO_SECRET not in text and OPEN_RU.msisdn not in text
    assert "Traceback" not in text
    return _lines(log)


async def test_long_cyrillic_kannel_mo_is_answered(
    settings: Settings, store: SqliteStore, tmp_path: Path
) -> None:
    """1,400 Cyrillic letters in a get-url (1,400 × 6 = 8.4 KB of percent-encoded text):
    past aiohttp's 8,190-byte default, within our limit; answered 200 as Kannel expects."""
    log = tmp_path / "gateway.log"
    target = _mo_target("Привет" * 233 + "ПР")  # 1,400 letters
    assert 8190 < len(target) < 16 * 1024
    async with gateway_process(_env(settings, tmp_path), log=log) as gateway:
        status, body = await asyncio.to_thread(_raw_get, gateway.url, target)
    assert status == 200 and body.strip(), body
    assert not [line for line in _assert_clean(log) if line.get("level") == "error"]


async def test_request_past_the_limits_quotes_nothing_and_logs_one_warning(
    settings: Settings, store: SqliteStore, tmp_path: Path
) -> None:
    """A request line past 16 KiB and an over-long header: 400 with a fixed body, each one
    warning line without traceback; a burst stops at the per-minute allowance."""
    log = tmp_path / "gateway.log"
    target = _mo_target("Я" * 3000)
    async with gateway_process(_env(settings, tmp_path), log=log) as gateway:
        status, body = await asyncio.to_thread(_raw_get, gateway.url, target)
        assert status == 400 and body == b"400 Bad Request\n"
        long_header = f"X-Kannel-Text: token={MO_SECRET}" + "a" * 20000
        status, body = await asyncio.to_thread(_raw_get, gateway.url, "/healthz", long_header)
        assert status == 400 and body == b"400 Bad Request\n"
        for _ in range(logs.OUTSIDE_LINES_PER_MINUTE + 8):
            await asyncio.to_thread(_raw_get, gateway.url, target)
    lines = _assert_clean(log)
    refused = [line for line in lines if str(line.get("event")).startswith("malformed_request")]
    assert len(refused) == logs.OUTSIDE_LINES_PER_MINUTE
    assert {line["level"] for line in refused} == {"warning"}
    assert not [line for line in lines if line.get("level") == "error"]


@asynccontextmanager
async def _gateway_with_nofile(env: dict[str, str], log: Path, nofile: int) -> AsyncIterator[str]:
    """``serve`` with a soft and hard RLIMIT_NOFILE of ``nofile``; its base URL."""
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("USSD_GATEWAY_")}
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - our own module
            [sys.executable, "-m", "ussd_gateway", "serve"],
            env={**inherited, **env, "USSD_GATEWAY_PORT": str(port)},
            stdout=out, stderr=out,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile)),
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 15
            async with aiohttp.ClientSession() as http:
                while True:
                    assert process.poll() is None and time.monotonic() < deadline
                    try:
                        async with http.get(url + "/healthz") as r:
                            if r.status == 200:
                                break
                    except aiohttp.ClientConnectionError:
                        await asyncio.sleep(0.05)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=20)


async def test_idle_connection_flood_under_a_low_descriptor_limit(
    settings: Settings, store: SqliteStore, tmp_path: Path
) -> None:
    """RLIMIT_NOFILE 256 and 400 connections that never finish their headers: a handset
    still gets its menu at once, and the log stays a handful of lines."""
    log = tmp_path / "gateway.log"
    async with _gateway_with_nofile(_env(settings, tmp_path), log, 256) as url:
        idle: list[socket.socket] = []
        try:
            for _ in range(400):
                conn = socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])))
                conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finished
                idle.append(conn)
            await asyncio.sleep(1.0)
            timeout = aiohttp.ClientTimeout(total=5)
            async with aiohttp.ClientSession(timeout=timeout) as http:
                phone = Handset(http, url=url, msisdn=OPEN_RU.msisdn, dialect="native",
                                secret=SECRETS["native"])  # fmt: skip
                screen = await phone.dial("*141*0#")
                assert screen.text
            await asyncio.sleep(1.5)  # a few more failed accepts, if they were to happen
        finally:
            for conn in idle:
                conn.close()
    lines = _lines(log)
    assert len(lines) < 30, [line.get("event") for line in lines][:40]
    text = log.read_text(encoding="utf-8")
    assert "Traceback" not in text
