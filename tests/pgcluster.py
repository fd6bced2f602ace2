"""A throwaway PostgreSQL cluster a test starts, stops and starts again (Debian's binaries).

The shared server on 5432 must never be stopped by a test, so an outage is played on a
cluster of the test's own: ``initdb`` into a temporary directory, ``pg_ctl`` on a free
loopback port, trust authentication for the role ``root``. As root (CI) the server runs as
the ``postgres`` user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from simulators.process import free_port


def _binaries() -> Path | None:
    configured = os.environ.get("USSD_PG_BIN")
    if configured and (Path(configured) / "pg_ctl").exists():
        return Path(configured)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


class Cluster:
    """One cluster: ``start``, ``stop`` (fast shutdown, as an operator or a crash would),
    ``start`` again on the same port and data."""

    def __init__(self) -> None:
        binaries = _binaries()
        if binaries is None:
            reason = "PostgreSQL server binaries (initdb, pg_ctl) missing: apt-get install postgresql"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(reason)
            pytest.skip(reason)
        self.bin = binaries
        # Not under pytest's tmp_path: that is private to root, and the server runs as
        # postgres when the tests run as root.
        self.directory = Path(tempfile.mkdtemp(prefix="ussd-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()
        self.url = f"postgresql://root@127.0.0.1:{self.port}"
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    async def _run(self, *args: str) -> None:
        process = await asyncio.create_subprocess_exec(
            *self._as, *args,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(process.communicate(), 60)
        if process.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {err.decode(errors='replace')[-500:]}")

    async def init(self) -> None:
        if self._as:
            shutil.chown(self.directory, "postgres", "postgres")
        await self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U",
                        "root", "--no-sync")

    async def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.directory} -c fsync=off"
        await self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l",
                        str(self.directory / "server.log"), "-w", "-t", "30", "-o", options,
                        "start")

    async def stop(self) -> None:
        await self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                        "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    async def create_database(self, name: str) -> str:
        import asyncpg

        conn = await asyncpg.connect(f"{self.url}/postgres")
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return f"{self.url}/{name}"

    def cleanup(self) -> None:
        if self.running():
            subprocess.run([*self._as, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m",
                            "immediate", "stop"], capture_output=True, check=False, timeout=60)
        shutil.rmtree(self.directory, ignore_errors=True)
