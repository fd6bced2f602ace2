"""A real OsmoHLR (Debian ``osmo-hlr`` 1.5) for tests, on a loopback address of its own.

:class:`OsmoHlr` writes a configuration (``euse NAME``, ``ussd route prefix *141* external
NAME``, ``ncss-guard-timeout``), starts ``osmo-hlr -c FILE -l DB``, waits for its GSUP,
VTY and CTRL ports, provisions subscribers over CTRL (``subscriber.create``,
``subscriber.by-imsi-…​.msisdn``) and can be restarted on the same database.

OsmoHLR 1.5 has fixed ports (GSUP 4222, VTY 4258, CTRL 4259) and a configurable bind
address, and on this project's machines 127.0.0.1:4222 is NATS's: each instance takes an
address of 127.0.0.0/8 nobody listens on (:func:`free_loopback`). Call
:func:`require_osmo_hlr` first: it skips without ``osmo-hlr``, or fails under ``CI=true``.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from support import PEPPER_HEX, SECRETS, SUBSCRIBERS

from simulators.gsup import GsupHandset, GsupScreen

PORTS = (4222, 4258, 4259)
"""GSUP, VTY, CTRL: fixed in OsmoHLR 1.5 (only the address is configurable)."""
STARTUP_SECONDS = 10.0
EUSE = "ussd-gw"


def find_osmo_hlr() -> Path | None:
    """The installed ``osmo-hlr``, or None."""
    found = shutil.which("osmo-hlr") or shutil.which("osmo-hlr", path="/usr/bin:/usr/sbin")
    return Path(found) if found else None


def require_osmo_hlr() -> Path:
    """The installed OsmoHLR; skip the test without it, or fail it when ``CI=true``."""
    binary = find_osmo_hlr()
    if binary is not None:
        return binary
    reason = "OsmoHLR is not installed (needs osmo-hlr on PATH): apt-get install osmo-hlr"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} — CI=true, so this is a failure, not a skip", pytrace=False)
    pytest.skip(reason)


def _listening(address: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((address, port)) == 0


def free_loopback() -> str:
    """A 127.x.y.z address whose OsmoHLR ports are free (tried by binding each)."""
    for _ in range(50):
        address = f"127.{random.randint(20, 250)}.{random.randint(1, 250)}.{random.randint(2, 250)}"
        try:
            for port in PORTS:
                with socket.socket() as s:
                    s.bind((address, port))
        except OSError:
            continue
        return address
    raise RuntimeError("no free loopback address for OsmoHLR")


def imsi_of(msisdn: str) -> str:
    """The test IMSI of a seeded number: test network 001-01, then its last ten digits."""
    return "00101" + msisdn[-10:]


@dataclass
class OsmoHlr:
    """One OsmoHLR process and its files."""

    binary: Path
    directory: Path
    address: str
    guard_timeout: int = 30
    euse: str = EUSE
    process: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> Path:
        return self.directory / "osmo-hlr.cfg"

    @property
    def log(self) -> Path:
        return self.directory / "osmo-hlr.log"

    def write_config(self) -> None:
        """The configuration the README's "Connecting an Osmocom core" shows, on our address."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            "log stderr\n"
            " logging filter all 1\n"
            " logging color 0\n"
            " logging print category 1\n"
            " logging level main notice\n"
            " logging level ss info\n"
            " logging level lgsup notice\n"
            " logging level linp error\n"
            "line vty\n"
            f" bind {self.address}\n"
            "ctrl\n"
            f" bind {self.address}\n"
            "hlr\n"
            " gsup\n"
            f"  bind ip {self.address}\n"
            f" euse {self.euse}\n"
            f" ussd route prefix *141* external {self.euse}\n"
            f" ncss-guard-timeout {self.guard_timeout}\n",
            encoding="ascii",
        )

    def start(self) -> None:
        """Start it (the database is created on the first start) and wait for its ports."""
        self.write_config()
        out = self.log.open("ab")
        self.process = subprocess.Popen(
            [str(self.binary), "-c", str(self.config), "-l", str(self.directory / "hlr.db")],
            stdout=out,
            stderr=out,
        )
        out.close()
        deadline = time.monotonic() + STARTUP_SECONDS
        while not all(_listening(self.address, port) for port in PORTS):
            if self.process.poll() is not None:
                raise RuntimeError(f"osmo-hlr exited: {self.log.read_text(errors='replace')}")
            if time.monotonic() > deadline:
                raise RuntimeError("osmo-hlr did not open its ports")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def ctrl(self, command: str) -> str:
        """One CTRL command (``GET 1 …`` / ``SET 1 … value``); its answer's text."""
        with socket.create_connection((self.address, 4259), timeout=5) as s:
            payload = b"\x00" + command.encode("ascii")
            s.sendall(len(payload).to_bytes(2, "big") + b"\xee" + payload)
            header = _read(s, 3)
            return _read(s, int.from_bytes(header[:2], "big"))[1:].decode("utf-8")

    def provision(self, imsi: str, msisdn: str | None) -> None:
        """A subscriber, with its MSISDN (None: none)."""
        created = self.ctrl(f"SET 1 subscriber.create {imsi}")
        assert created.startswith("SET_REPLY") or "already exists" in created, created
        if msisdn is not None:
            answer = self.ctrl(f"SET 2 subscriber.by-imsi-{imsi}.msisdn {msisdn}")
            assert answer.endswith(" OK"), answer


@contextmanager
def provisioned_hlr(directory: Path, guard_timeout: int = 30) -> Iterator[OsmoHlr]:
    """An OsmoHLR on a free loopback address, every seeded subscriber provisioned with its
    test IMSI; stopped after the block (skips without ``osmo-hlr``: :func:`require_osmo_hlr`)."""
    server = OsmoHlr(require_osmo_hlr(), directory, free_loopback(), guard_timeout)
    server.start()
    try:
        for subscriber in SUBSCRIBERS:
            server.provision(imsi_of(subscriber.msisdn), subscriber.msisdn)
        yield server
    finally:
        server.stop()


def _read(s: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = s.recv(count - len(data))
        if not chunk:
            raise ConnectionError("CTRL closed")
        data += chunk
    return data


def gateway_env(hlr: OsmoHlr, database: Path, tmp_path: Path) -> dict[str, str]:
    """The gateway's settings: the seeded file, the connector on ``hlr``, quick reconnects."""
    return {
        "USSD_GATEWAY_DATABASE": str(database),
        "USSD_GATEWAY_PUK_PEPPER": PEPPER_HEX,
        "USSD_GATEWAY_SECRET_NATIVE": SECRETS["native"],
        "USSD_GATEWAY_OUTBOX_FILE": str(tmp_path / "outbox.jsonl"),
        "USSD_GATEWAY_OSMOCOM_ENABLED": "true",
        "USSD_GATEWAY_OSMOCOM_HLR_HOST": hlr.address,
        "USSD_GATEWAY_OSMOCOM_EUSE_NAME": hlr.euse,
        "USSD_GATEWAY_OSMOCOM_RECONNECT_MIN": "0.1",
        "USSD_GATEWAY_OSMOCOM_RECONNECT_MAX": "0.5",
        "USSD_GATEWAY_OSMOCOM_PING_SECONDS": "1",
    }


async def wait_euse_up(url: str, *, up: bool = True, seconds: float = 10.0) -> dict[str, object]:
    """Poll ``/readyz`` until its ``gsup`` check is ``up``; the check's details."""
    deadline = asyncio.get_running_loop().time() + seconds
    async with aiohttp.ClientSession() as http:
        while True:
            async with http.get(url + "/readyz") as r:
                body = await r.json()
            check = body["checks"]["gsup"]
            if check["ok"] is up:
                return dict(check)
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"gsup check never became {up}: {check}")
            await asyncio.sleep(0.05)


async def whole(phone: GsupHandset, screen: GsupScreen) -> tuple[GsupScreen, list[int]]:
    """A screen read to its last page ("98"), the pages' texts joined without their
    navigation lines, and each page's data coding scheme."""
    parts, schemes = [], []
    while True:
        schemes.append(dcs(screen))
        lines = screen.text.split("\n")
        more = any(line.startswith("98. ") for line in lines)
        parts.append("\n".join(line for line in lines if not line.startswith(("98. ", "00. "))))
        if screen.ends or not more:
            return GsupScreen("\n".join(parts), screen.ends, raw=screen.raw), schemes
        screen = await phone.send("98")


def dcs(screen: GsupScreen) -> int:
    """The USSD-DataCodingScheme of the Facility that carried ``screen``."""
    info = bytes(screen.raw["supplementary_service_info"])
    return info[info.index(b"\x04\x01") + 2]
