"""The benchmark's table: gateway, bare and their ratio per figure, then the other parts."""

from __future__ import annotations

import textwrap
from typing import Any

from simulators.load_stats import FIGURES

TARGET_RATIO = 0.5
TARGET_P99_MS = 20.0
TARGET_RSS_MIB = 150.0
TARGET_PG_CPU = 1.5
"""PostgreSQL's CPU per hop, gateway and server together, at most this many times SQLite's."""
_LOWER_IS_BETTER = {"p50_ms", "p95_ms", "p99_ms", "errors", "server_cpu_us", "tool_cpu_us"}
CPU_FIGURES = (
    ("server_cpu_us", "CPU µs/hop", "{:.0f}"),
    ("tool_cpu_us", "tool µs/hop", "{:.0f}"),
)
"""CPU per measured hop (bench/cpu.py): the server's processes, and the load tool's."""


def _ratio(key: str, gateway: float, bare: float) -> str:
    if key == "errors":
        return ""
    if key in _LOWER_IS_BETTER:
        # Latency: how many times the bare server's it is (1.0 = as fast).
        return f"{gateway / bare:.2f}×" if bare else "-"
    return f"{gateway / bare:.2f}" if bare else "-"


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def render(doc: dict[str, Any]) -> list[str]:
    """Human-readable lines for one run's JSON document."""
    m = doc["machine"]
    load = " ".join(f"{x:.2f}" for x in m["loadavg_before"])
    if "loadavg_after" in m:
        load += ", after " + " ".join(f"{x:.2f}" for x in m["loadavg_after"])
    seeded = ""
    if "seed_seconds" in doc:
        seeded = f", {doc['seed_seconds']:.1f} s to seed 100,000 subscribers"
    lines = [
        f"machine: {m['nproc']} cpus, {m['cpu']}, {m['ram_gib']} GiB RAM, Python {m['python']};"
        f" load average before {load}",
        f"{doc['seconds']:g} s per run, gateway workers {doc['workers']}{seeded}",
    ]
    if "ratio" in doc:
        lines += _sqlite_part(doc)
    if "postgres" in doc:
        lines += ["", *render_postgres(doc["postgres"], doc["workers"])]
    return lines


def _sqlite_part(doc: dict[str, Any]) -> list[str]:
    """The gateway against the bare server, the full mix, the hash test, memory, targets."""
    lines = [
        "",
        "*141*3*6# (close: dial,1,1 / open: dial,2,PUK1), native dialect, same load tool:",
        f"{'handsets':<10}{'figure':<12}{'gateway':>12}{'bare':>12}{'ratio':>10}",
    ]
    for label, pair in doc["ratio"].items():
        g, b = pair["gateway"], pair["bare"]
        n = label.replace("+think", f"+{g['think']:g}s")
        for key, name, fmt in FIGURES + CPU_FIGURES:
            if key not in g or key not in b:
                continue  # a document from before CPU was measured
            lines.append(
                f"{n:<10}{name:<12}{fmt.format(g[key]):>12}{fmt.format(b[key]):>12}"
                f"{_ratio(key, g[key], b[key]):>10}"
            )
        lines.append("")
    full = doc["full_mix"]
    lines.append("gateway, full mix (50 handsets; codes may be 429 by the code policy's limits):")
    lines.append(f"{'kind':<12}" + "".join(f"{label:>12}" for _, label, _ in FIGURES))
    rows = [("all", full), *full["kinds"].items()]
    for name, k in rows:
        lines.append(
            f"{name:<12}" + "".join(f"{fmt.format(k[key]):>12}" for key, _, fmt in FIGURES)
        )
    lines.extend(f"  ! {sample}" for sample in full["error_samples"])
    h = doc["hash"]
    p99_without = _access_p99(h["without"])
    p99_with = _access_p99(h["with"])
    pw = h["with"]["kinds"].get("password", {})
    lines += [
        "",
        f"argon2 stall test ({h['without']['handsets']} handsets on *141*3*6#):"
        f" p99 {p99_without:.2f} ms without, {p99_with:.2f} ms with"
        f" {h['with']['password_rate']:g} password sets/s"
        f" ({pw.get('sessions_per_s', 0):.1f}/s done, their hops p99 {pw.get('p99_ms', 0):.1f} ms;"
        f" errors {h['without']['errors']}+{h['with']['errors']})",
    ]
    mem = doc["memory"]
    # One process: its RSS. Several (a supervisor and forked workers share pages): Pss.
    rss_mib = (mem["pss_kib"] if mem["processes"] > 1 else mem["rss_kib"]) / 1024
    per_process = " + ".join(f"{kib / 1024:.0f}" for kib in mem["rss_per_process_kib"])
    lines.append(
        f"memory with {mem['sessions']:,} live sessions: RSS {mem['rss_kib'] / 1024:.1f} MiB"
        f" ({per_process}), PSS {mem['pss_kib'] / 1024:.1f} MiB over {mem['processes']}"
        f" process(es); RSS before the sessions {mem['rss_before_kib'] / 1024:.1f} MiB;"
        f" {mem['failed_dials']} dials failed"
    )
    saturating = {k: v for k, v in doc["ratio"].items() if not v["gateway"]["think"]}
    ratios = [
        pair["gateway"]["hops_per_s"] / pair["bare"]["hops_per_s"]
        for pair in saturating.values()
        if pair["bare"]["hops_per_s"]
    ]
    worst = min(ratios) if ratios else 0.0
    lines += [
        "",
        f"targets: hops/s ≥ {TARGET_RATIO}× bare: {_verdict(worst >= TARGET_RATIO)} ({worst:.2f})",
    ]
    for label, pair in doc["ratio"].items():
        if label.startswith("200"):
            p99 = pair["gateway"]["p99_ms"]
            lines.append(
                f"         p99 < {TARGET_P99_MS:g} ms at {label}: {_verdict(p99 < TARGET_P99_MS)}"
                f" ({p99:.1f}; bare {pair['bare']['p99_ms']:.1f})"
            )
    lines.append(
        f"         memory < {TARGET_RSS_MIB:g} MiB at {mem['sessions']:,} sessions:"
        f" {_verdict(rss_mib < TARGET_RSS_MIB)} ({rss_mib:.1f})"
    )
    return lines


_PG_COLUMNS = (
    ("hops_per_s", "hops/s", "{:.0f}"),
    ("p99_ms", "p99 ms", "{:.1f}"),
    ("errors", "errors", "{:d}"),
    ("server_cpu_us", "gateway", "{:.0f}"),
    ("db_cpu_us", "server", "{:.0f}"),
    ("total_cpu_us", "total", "{:.0f}"),
    ("db_other_cpu_us", "other", "{:.0f}"),
    ("tool_cpu_us", "tool", "{:.0f}"),
)


_EMBEDDED = {"embedded": True}


def render_postgres(part: dict[str, Any], workers: int) -> list[str]:
    """The PostgreSQL part: its rows beside the SQLite gateway's, and the CPU target."""
    lines = [f"PostgreSQL part ({part['at']}):"]
    if "skipped" in part:
        return [*lines, f"  skipped: {part['skipped']}"]
    about = (
        f"PostgreSQL {part['server']}, a scratch database, 100,000 subscribers seeded in"
        f" {part['seed_seconds']:.1f}\u00a0s; *141*3*6#, native dialect. An instance is one"
        f" `ussd-gateway serve` ({part['instance_workers']} worker); 2 instances:"
        f" {part['split']}. CPU µs/hop: gateway = every gateway process; server = the"
        " postmaster, its shared background processes and every process of the bench's"
        " database (other = other databases' processes meanwhile, not counted); total ="
        " gateway + server; tool = the load tool, the same work per hop whatever the store;"
        " trips/hop = the store's round trips per hop answered (/metrics). The think rows"
        " offer both stores the same load, so CPU per hop is compared at one rate."
    )
    lines += [
        *textwrap.wrap(about, 100, initial_indent="  ", subsequent_indent="  "),
        "",
        f"{'handsets':<10}{'store':<24}"
        + "".join(f"{label:>9}" for _, label, _ in _PG_COLUMNS)
        + f"{'×SQLite':>9}{'trips/hop':>11}",
    ]
    ratios: list[tuple[str, float]] = []
    shown: set[str] = set()
    for row in part["rows"]:
        key = row.get("row", str(row["handsets"]))
        base = part["sqlite"].get(key)
        load = key.replace("+think", f"+{row['think']:g}s")
        if base is not None and key not in shown:
            shown.add(key)
            lines.append(_pg_line(load, f"SQLite, {workers} workers", base | _EMBEDDED, None, None))
        name = f"PostgreSQL, {row['instances']} instance" + ("s" if row["instances"] > 1 else "")
        ratio = None
        if base is not None and "total_cpu_us" in row and base["server_cpu_us"]:
            ratio = row["total_cpu_us"] / base["server_cpu_us"]
            ratios.append((f"{load} hs, {row['instances']} inst.", ratio))
        lines.append(_pg_line(load, name, row, ratio, row.get("round_trips_per_hop")))
        lines.extend(f"  ! {sample}" for sample in row.get("error_samples", []))
    if ratios:
        worst = max(r for _, r in ratios)
        each = ", ".join(f"{label} {r:.2f}×" for label, r in ratios)
        lines += [
            "",
            f"target: PostgreSQL CPU/hop (gateway + server) ≤ {TARGET_PG_CPU:g}× SQLite's"
            f" (gateway): {_verdict(worst <= TARGET_PG_CPU)} ({each})",
        ]
    return lines


def _pg_line(
    handsets: str, name: str, row: dict[str, Any], ratio: float | None, trips: float | None
) -> str:
    if row.get("embedded"):
        # SQLite: no server, the gateway's CPU is the total.
        row = row | {"total_cpu_us": row["server_cpu_us"]}
    cells = "".join(
        f"{fmt.format(row[key]) if key in row else '-':>9}" for key, _, fmt in _PG_COLUMNS
    )
    ratio_text = f"{ratio:.2f}" if ratio is not None else "-"
    trips_text = f"{trips:.2f}" if trips is not None else "-"
    return f"{handsets:<10}{name:<24}{cells}{ratio_text:>9}{trips_text:>11}"


def _access_p99(summary: dict[str, Any]) -> float:
    """p99 of the *141*3*6# hops only (close and open), leaving out the password sets."""
    kinds = summary["kinds"]
    values = [kinds[k]["p99_ms"] for k in ("close", "open") if k in kinds]
    return max(values) if values else 0.0
