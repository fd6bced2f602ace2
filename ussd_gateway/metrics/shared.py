"""``serve --workers N``: one ``/metrics`` page for N processes (prometheus-client's
multiprocess mode).

Each worker counts in its own process, and a scrape reaches one of them (the kernel spreads
connections over the ``SO_REUSEPORT`` sockets). So each metric value lives in a file of a
directory the workers share, ``PROMETHEUS_MULTIPROC_DIR``, and the worker that answers a
scrape adds up every worker's files (``MultiProcessCollector``):

- :func:`share_between_workers`, called by the supervisor before it forks, makes the
  directory (a fresh one per run under the temporary directory, or the operator's
  ``PROMETHEUS_MULTIPROC_DIR`` emptied), switches prometheus-client to file-backed values,
  and removes the directory (or empties the operator's) when the supervisor exits. A run
  killed with SIGKILL leaves its directory behind; the next run removes it.
- Metrics are created after the fork (in ``create_app``'s start-up), so each worker writes
  files of its own pid.
- A worker that has exited keeps its counters and histograms in the sum (a total never
  drops), but its live gauges go (``mark_process_dead``): the worker that answers a scrape
  finds the pids whose files are there and whose processes are not, whichever way they
  ended, so the supervisor need not tell it.
- The process metrics (``process_*``) are each worker's own, labelled ``pid``: the worker
  answering reads every live worker's ``/proc/<pid>``.

Without the directory (one process, tests) nothing here is used: each application renders
its own registries.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from prometheus_client import ProcessCollector, values
from prometheus_client.core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

ENV = "PROMETHEUS_MULTIPROC_DIR"
_PREFIX = "ussd-gateway-metrics-"
_OWN_DIRECTORY = re.compile(re.escape(_PREFIX) + r"(\d+)-")
_PID_FILE = re.compile(r"_(\d+)\.(?:db|json)$")


def share_between_workers() -> Path:
    """Make the directory the workers about to be forked count in; returns it.

    Call it in the supervisor before the first fork, and create no metric in between.
    """
    given = os.environ.get(ENV)
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        _empty(directory)
    else:
        _remove_abandoned()
        directory = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-"))
        os.environ[ENV] = str(directory)
    # prometheus-client picks file-backed values when it is imported, if the variable is
    # set; this process imported it long before, so pick them now (every metric created
    # from here on, in this process and its forks, is file-backed).
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    atexit.register(_clean_up, directory, os.getpid(), owned=not given)
    return directory


def shared_directory() -> Path | None:
    """The directory this process's metrics live in (a worker of ``serve --workers N``),
    or None when it counts in memory alone."""
    path = os.environ.get(ENV)
    if not path or not getattr(values.ValueClass, "_multiprocess", False):
        return None
    directory = Path(path)
    return directory if directory.is_dir() else None


def live_workers(directory: Path) -> list[int]:
    """The pids that have files in ``directory`` and still run; the files of those that
    don't are tidied (live gauges and link states dropped, counters kept)."""
    pids = {int(m.group(1)) for p in directory.iterdir() if (m := _PID_FILE.search(p.name))}
    alive = []
    for pid in sorted(pids):
        if _running(pid):
            alive.append(pid)
            continue
        mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
        with contextlib.suppress(FileNotFoundError):
            (directory / f"links_{pid}.json").unlink()
    return alive


class SharedCollector(Collector):
    """Every worker's counters, histograms and gauges, from the shared directory."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._files = MultiProcessCollector(None, str(directory))  # type: ignore[no-untyped-call]

    def collect(self) -> Iterable[Metric]:
        live_workers(self._directory)
        found: Iterable[Metric] = self._files.collect()  # type: ignore[no-untyped-call]
        return found


class WorkerProcesses(Collector):
    """``process_*`` of every live worker, labelled with its ``pid``."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def collect(self) -> Iterable[Metric]:
        families: dict[str, Metric] = {}
        for pid in live_workers(self._directory):
            for found in ProcessCollector(pid=_fixed(pid), registry=None).collect():
                family = families.setdefault(
                    found.name, Metric(found.name, found.documentation, found.type, found.unit)
                )
                family.samples += [
                    Sample(s.name, {**s.labels, "pid": str(pid)}, s.value, s.timestamp)
                    for s in found.samples
                ]
        return list(families.values())


def _fixed(pid: int) -> Callable[[], int]:
    return lambda: pid


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    # "pid (name) S …": an exited worker not yet reaped is a zombie ("Z").
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _empty(directory: Path) -> None:
    for path in directory.iterdir():
        if path.suffix in (".db", ".json") and path.is_file():
            path.unlink(missing_ok=True)


def _remove_abandoned() -> None:
    """Remove the directories of earlier runs whose supervisor is gone (killed -9)."""
    top = Path(tempfile.gettempdir())
    with contextlib.suppress(OSError):
        for path in top.iterdir():
            match = _OWN_DIRECTORY.match(path.name)
            if match is None or _running(int(match.group(1))):
                continue
            with contextlib.suppress(OSError):
                if path.is_dir() and path.stat().st_uid == os.getuid():
                    shutil.rmtree(path, ignore_errors=True)


def _clean_up(directory: Path, owner: int, *, owned: bool) -> None:
    if os.getpid() != owner:  # a forked worker that exits through Python's own exit
        return
    if owned:
        shutil.rmtree(directory, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            _empty(directory)
