"""Start the gateway as a real process for tests and benchmarks, and wait until it answers.

The simulators speak to the gateway over HTTP only; this starts ``python -m ussd_gateway
serve`` with a given environment, polls ``/healthz`` and stops the process afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import aiohttp

STARTUP_SECONDS = 15.0


def stop_on_signals() -> asyncio.Event:
    """An event SIGINT or SIGTERM sets: a simulator serves until it is set. Made before the
    simulator prints the line a supervisor (``make run``, a test) waits for, so a signal
    that follows the line at once is a clean stop, not the default handler's death."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class GatewayProcess:
    """A running gateway: its base URL, and a way to kill it without warning."""

    url: str
    process: subprocess.Popen[bytes]

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing — a crash."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


@asynccontextmanager
async def gateway_process(
    env: Mapping[str, str], *, log: Path | None = None, serve_args: Sequence[str] = ()
) -> AsyncIterator[GatewayProcess]:
    """Run ``ussd-gateway serve`` on a free port with ``env`` (``USSD_GATEWAY_*`` settings).

    The caller's own ``USSD_GATEWAY_*`` variables are not inherited; ``serve_args`` go after
    ``serve`` (``["--workers", "2"]``).
    """
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("USSD_GATEWAY_")}
    full_env = {**inherited, **env, "USSD_GATEWAY_PORT": str(port)}
    out: IO[bytes] | int = log.open("ab") if log else subprocess.DEVNULL
    # Starting the server is not on any measured path; a blocking Popen is fine here.
    process = subprocess.Popen(  # noqa: ASYNC220, S603 - our own module and arguments
        [sys.executable, "-m", "ussd_gateway", "serve", *serve_args],
        env=full_env,
        stdout=out,
        stderr=out,
    )
    gateway = GatewayProcess(f"http://127.0.0.1:{port}", process)
    try:
        await _wait_healthy(gateway)
        yield gateway
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if log:
            out.close()  # type: ignore[union-attr]


async def _wait_healthy(gateway: GatewayProcess) -> None:
    deadline = asyncio.get_running_loop().time() + STARTUP_SECONDS
    async with aiohttp.ClientSession() as http:
        while asyncio.get_running_loop().time() < deadline:
            if gateway.process.poll() is not None:
                raise RuntimeError(f"the gateway exited with status {gateway.process.returncode}")
            try:
                async with http.get(gateway.url + "/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"the gateway did not answer /healthz within {STARTUP_SECONDS:.0f} s")
