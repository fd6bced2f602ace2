"""``serve --workers 2``: every scrape, whichever worker answers it, counts every worker's
hops exactly; the shared directory is fresh for each run and gone (or emptied) after it."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from metrics_support import readyz, scrape
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from support import OPEN_EN, OPEN_RU, PEPPER_HEX, SECRETS

from simulators.handset import Handset
from simulators.process import GatewayProcess, gateway_process
from state.sqlite import SqliteStore
from ussd_gateway.config import Settings

pytestmark = pytest.mark.slow

DEAD_PID = 4_194_305
"""Above Linux's largest pid: no process has it."""
HOPS_PER_ROUND = 12


def _env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    return {
        "USSD_GATEWAY_DATABASE": str(settings.database),
        "USSD_GATEWAY_PUK_PEPPER": PEPPER_HEX,
        "USSD_GATEWAY_SECRET_NATIVE": SECRETS["native"],
        "USSD_GATEWAY_OUTBOX_FILE": str(tmp_path / "outbox.jsonl"),
        "TMPDIR": str(tmp_path),  # where the run's metrics directory goes
    }


def _metrics_directories(top: Path) -> list[Path]:
    return list(top.glob("ussd-gateway-metrics-*"))


async def _hop(gateway: GatewayProcess, n: int) -> None:
    # A new connection each time: the kernel spreads connections over the workers.
    async with aiohttp.ClientSession() as http:
        msisdn = (OPEN_RU, OPEN_EN)[n % 2].msisdn
        phone = Handset(http, url=gateway.url, msisdn=msisdn, dialect="native",
                        secret=SECRETS["native"])
        assert not (await phone.dial("*141*3*6#")).ends


async def _exact_every_time(gateway: GatewayProcess, rounds: int = 3) -> set[str]:
    """Hops in rounds, several scrapes after each: the totals are exact on every scrape.
    Returns the worker pids the pages named."""
    pids: set[str] = set()
    for r in range(1, rounds + 1):
        for n in range(HOPS_PER_ROUND):
            await _hop(gateway, n)
        for _ in range(6):
            page = await scrape(gateway.url)
            assert page.total("ussd_hops_total") == r * HOPS_PER_ROUND
            assert page.total("ussd_hop_seconds_count") == r * HOPS_PER_ROUND
            assert page.value("ussd_http_requests_total", route="/ussd", method="POST",
                              status="2xx") == r * HOPS_PER_ROUND
            assert page.value("ussd_ready") == 1
            pids |= page.label_values("process_resident_memory_bytes", "pid")
    return pids


async def test_every_scrape_sums_every_workers_counters(
    settings: Settings, store: SqliteStore, tmp_path: Path
) -> None:
    """36 hops over two workers, 18 scrapes: each scrape sees all 36 (or the round's
    total so far), both workers' process metrics by pid; an abandoned directory of a
    killed run is removed at start, this run's at exit."""
    abandoned = tmp_path / f"ussd-gateway-metrics-{DEAD_PID}-abandoned"
    abandoned.mkdir()
    (abandoned / f"counter_{DEAD_PID}.db").write_bytes(b"")
    async with gateway_process(
        _env(settings, tmp_path), log=tmp_path / "gateway.log", serve_args=["--workers", "2"]
    ) as gateway:
        assert not abandoned.exists()
        (shared,) = _metrics_directories(tmp_path)
        assert shared.name.startswith(f"ussd-gateway-metrics-{gateway.process.pid}-")
        pids = await _exact_every_time(gateway)
        assert len(pids) == 2, pids
        assert {p.name.rsplit("_", 1)[1] for p in shared.glob("counter_*.db")} == {
            f"{pid}.db" for pid in pids
        }
        for _ in range(4):
            status, report, _ = await readyz(gateway.url)
            assert status == 200 and report["status"] == "ready"
    assert not _metrics_directories(tmp_path)


async def test_the_operators_directory_is_emptied_at_start_and_at_exit(
    settings: Settings, store: SqliteStore, tmp_path: Path
) -> None:
    """``PROMETHEUS_MULTIPROC_DIR`` set by the operator: a count left in it by an earlier
    run is not added to this run's, and the directory is left empty, not removed."""
    shared = tmp_path / "prometheus"
    shared.mkdir()
    left = MmapedDict(str(shared / f"counter_{DEAD_PID}.db"))
    labels = ("native", "access", "begun")
    key = mmap_key("ussd_hops", "ussd_hops_total", ("dialect", "service", "outcome"), labels,
                   "USSD hops answered, by dialect, service and outcome")
    left.write_value(key, 1000.0, 0.0)
    left.close()
    env = {**_env(settings, tmp_path), "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    async with gateway_process(
        env, log=tmp_path / "gateway.log", serve_args=["--workers", "2"]
    ) as gateway:
        assert len(await _exact_every_time(gateway, rounds=1)) == 2
        assert not (shared / f"counter_{DEAD_PID}.db").exists()
    assert shared.is_dir() and not list(shared.iterdir())
