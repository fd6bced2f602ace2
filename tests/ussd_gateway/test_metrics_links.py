"""The links' last-known states (``ussd_gateway/metrics/links.py``), merged over workers, and
the shared directory's tidying of exited workers (``shared.py``)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

from ussd_gateway.metrics.links import SMSC, SMTP, Links, LinkState, merge
from ussd_gateway.metrics.readiness import READY_MAX_AGE, Thresholds
from ussd_gateway.metrics.shared import live_workers

DEAD = 4_194_305  # above Linux's largest pid


def _failing(since: float, last: float, failures: int, detail: str = "http 503") -> LinkState:
    return LinkState(failed_at=last, failing_since=since, failures=failures, detail=detail)


def test_a_link_fails_from_its_first_failure_until_a_success() -> None:
    state = LinkState()
    assert (state.status, state.up) == ("unknown", True)
    state = state.after(ok=False, at=10, detail="connection: ClientConnectorError")
    state = state.after(ok=False, at=15, detail="timeout")
    assert (state.status, state.up, state.failing_since, state.failures) == ("failing", False, 10, 2)
    assert state.detail == "timeout"
    state = state.after(ok=True, at=20)
    assert (state.status, state.up, state.ok_at, state.failures) == ("ok", True, 20, 0)
    assert state.after(ok=False, at=30).failing_since == 30


def test_workers_views_merge_into_the_instances() -> None:
    """The latest success anywhere ends a failure; a worker that has not sent since keeps
    its stale failure, which must not make the instance look down."""
    stale = _failing(since=10, last=14, failures=3)
    assert merge([stale, LinkState(ok_at=20)]).status == "ok"
    assert merge([]).status == "unknown" and merge([LinkState()]).status == "unknown"
    # Failing after the other worker's success at 11: dated from that success at the earliest.
    both = merge([stale, LinkState(ok_at=11), _failing(since=12, last=13, failures=1)])
    assert (both.status, both.failing_since, both.failures, both.detail) == (
        "failing",
        11,
        4,
        "http 503",
    )
    assert merge([_failing(5, 9, 2), _failing(7, 8, 1, "timeout")]).failing_since == 5


def test_links_merge_the_live_workers_files_and_drop_the_exited(tmp_path: Path) -> None:
    """Each worker writes its view; the state is every live worker's, merged; an exited
    worker's view and live gauges go, its counters stay (totals never drop)."""
    other = os.getppid()  # a live process standing for another worker
    for pid, view in ((other, LinkState(ok_at=50.0)), (DEAD, _failing(60.0, 60.0, 1))):
        (tmp_path / f"links_{pid}.json").write_text(json.dumps({SMSC: asdict(view)}))
    for name in (f"counter_{DEAD}.db", f"gauge_livemostrecent_{DEAD}.db", f"gauge_all_{DEAD}.db"):
        (tmp_path / name).write_bytes(b"")
    links = Links(tmp_path, clock=lambda: 40.0)
    links.record(SMSC, ok=False, detail="http 503: busy")
    assert (tmp_path / f"links_{os.getpid()}.json").exists()
    assert links.state(SMSC).status == "ok"  # the other worker's success at 50 is later
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"counter_{DEAD}.db", f"gauge_all_{DEAD}.db", f"links_{os.getpid()}.json",
         f"links_{other}.json"]
    )
    assert live_workers(tmp_path) == sorted([os.getpid(), other])
    assert links.state(SMTP).status == "unknown"
    alone = Links(None, clock=lambda: 70.0)
    alone.record(SMTP, ok=False, detail="SMTPDataError")
    assert (alone.state(SMTP).status, alone.state(SMTP).failing_since) == ("failing", 70.0)


def test_thresholds_come_from_the_settings_where_they_are() -> None:
    assert Thresholds.of(object()) == Thresholds(1000, READY_MAX_AGE)
    given = SimpleNamespace(readiness_max_pending=5, readiness_max_age=30)
    assert Thresholds.of(given) == Thresholds(5, 30.0)
