"""bench/report.py: the table of a run, with and without the PostgreSQL part."""

from __future__ import annotations

from typing import Any

from bench.report import render, render_postgres


def _figures(hops_per_s: float, p99_ms: float = 30.0) -> dict[str, Any]:
    return {
        "hops": int(hops_per_s * 10),
        "sessions": int(hops_per_s * 10 / 3),
        "hops_per_s": hops_per_s,
        "sessions_per_s": hops_per_s / 3,
        "p50_ms": 10.0,
        "p95_ms": 20.0,
        "p99_ms": p99_ms,
        "errors": 0,
    }


def _summary(hops_per_s: float, cpu: float, **extra: Any) -> dict[str, Any]:
    return {
        "handsets": 50,
        "think": 0.0,
        **_figures(hops_per_s),
        "kinds": {"close": _figures(hops_per_s / 2), "open": _figures(hops_per_s / 2, 31.0)},
        "error_samples": [],
        "server_cpu_us": cpu,
        "tool_cpu_us": 200.0,
        "loop_cpu_us": cpu * 0.9,
        **extra,
    }


def _postgres() -> dict[str, Any]:
    think = _summary(380, 1300, think=0.5, handsets=200)
    return {
        "at": "postgresql://root@127.0.0.1:5432",
        "server": "15.20",
        "seed_seconds": 12.3,
        "instance_workers": 1,
        "split": "two load runs at once",
        "sqlite": {"50": _summary(2400, 600), "200+think": think},
        "rows": [
            _summary(
                800,
                1000,
                row="50",
                instances=1,
                db_cpu_us=500.0,
                db_other_cpu_us=0.0,
                total_cpu_us=1500.0,
                round_trips_per_hop=3.333,
            ),
            _summary(
                900,
                700,
                row="50",
                instances=2,
                db_cpu_us=200.0,
                db_other_cpu_us=12.0,
                total_cpu_us=900.0,
                round_trips_per_hop=2.0,
            ),
            _summary(
                380,
                1400,
                row="200+think",
                instances=2,
                think=0.5,
                handsets=200,
                db_cpu_us=500.0,
                db_other_cpu_us=0.0,
                total_cpu_us=1900.0,
                round_trips_per_hop=3.4,
            ),
        ],
    }


def _doc(**parts: Any) -> dict[str, Any]:
    machine = {
        "nproc": 2,
        "cpu": "test",
        "ram_gib": 1.0,
        "python": "3.11",
        "loadavg_before": [0.1, 0.2, 0.3],
        "loadavg_after": [1.0, 1.0, 1.0],
    }
    return {"machine": machine, "seconds": 10, "workers": 2, **parts}


def _line(lines: list[str], start: str, name: str) -> list[str]:
    found = [line for line in lines if line.startswith(start) and name in line]
    assert len(found) == 1, (start, name, lines)
    return found[0].split()


def test_postgres_rows_sit_beside_the_sqlite_rows_they_are_compared_with() -> None:
    lines = render_postgres(_postgres(), workers=2)
    sqlite = _line(lines, "50 ", "SQLite")
    # hops/s, p99, errors, gateway, server (none), total = the gateway's, other, tool, ×, trips
    assert sqlite[-10:] == ["2400", "30.0", "0", "600", "-", "600", "-", "200", "-", "-"]
    one = _line(lines, "50 ", "1 instance ")
    assert one[-10:] == ["800", "30.0", "0", "1000", "500", "1500", "0", "200", "2.50", "3.33"]
    assert _line(lines, "50 ", "2 instances")[-5:] == ["900", "12", "200", "1.50", "2.00"]
    assert _line(lines, "200+0.5s ", "2 instances")[-2:] == ["1.46", "3.40"]
    assert len([line for line in lines if "SQLite, 2 workers" in line]) == 2  # one per load
    verdict = [line for line in lines if line.startswith("target:")]
    assert verdict == [
        "target: PostgreSQL CPU/hop (gateway + server) ≤ 1.5× SQLite's (gateway): NOT met"
        " (50 hs, 1 inst. 2.50×, 50 hs, 2 inst. 1.50×, 200+0.5s hs, 2 inst. 1.46×)"
    ]


def test_the_target_is_met_when_every_row_is_within() -> None:
    part = _postgres()
    part["rows"] = part["rows"][1:]
    assert any(line.endswith("met (50 hs, 2 inst. 1.50×, 200+0.5s hs, 2 inst. 1.46×)")
               and "NOT" not in line for line in render_postgres(part, workers=2))  # fmt: skip


def test_a_skipped_part_says_why() -> None:
    part = {"at": "postgresql://x", "sqlite": {}, "skipped": "no PostgreSQL server answered"}
    assert render_postgres(part, workers=2) == [
        "PostgreSQL part (postgresql://x):",
        "  skipped: no PostgreSQL server answered",
    ]


def test_a_postgres_only_document_renders_without_the_sqlite_part() -> None:
    lines = render(_doc(postgres=_postgres()))
    assert lines[0].endswith("load average before 0.10 0.20 0.30, after 1.00 1.00 1.00")
    assert lines[1] == "10 s per run, gateway workers 2"
    assert "PostgreSQL part (postgresql://root@127.0.0.1:5432):" in lines
    assert not any(line.startswith("gateway, full mix") for line in lines)


def test_a_full_document_renders_both_parts() -> None:
    think = _summary(376, 1296, think=0.5)
    ratio = {
        "50": {"gateway": _summary(2400, 600), "bare": _summary(6800, 94)},
        "200+think": {"gateway": think, "bare": _summary(377, 266, think=0.5)},
    }
    full = _summary(559, 900)
    doc = _doc(
        seed_seconds=4.2,
        ratio=ratio,
        full_mix=full,
        hash={
            "without": _summary(500, 600, handsets=20),
            "with": _summary(500, 600, handsets=20, password_rate=20.0),
        },
        memory={
            "sessions": 10_000,
            "failed_dials": 0,
            "processes": 3,
            "rss_before_kib": 100_000,
            "rss_kib": 160_000,
            "rss_per_process_kib": [40_000, 60_000, 60_000],
            "pss_kib": 100_000,
        },
        postgres=_postgres(),
    )
    lines = render(doc)
    assert lines[1] == "10 s per run, gateway workers 2, 4.2 s to seed 100,000 subscribers"
    assert any(line.startswith("targets: hops/s ≥ 0.5× bare") for line in lines)
    assert any(line.startswith("target: PostgreSQL CPU/hop") for line in lines)
    assert lines.index("PostgreSQL part (postgresql://root@127.0.0.1:5432):") > lines.index(
        "gateway, full mix (50 handsets; codes may be 429 by the code policy's limits):"
    )
