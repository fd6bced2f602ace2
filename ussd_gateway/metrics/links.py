"""The last-known state of the links the gateway depends on: the SMSC (the SMS sender) and
the SMTP relay.

Nothing polls them: each send attempt the outbox worker makes, and each letter the mail
queue hands over, says whether the link worked at that moment. A link is ``ok`` after a
success, ``failing`` from the first failure after it (``failing_since``) until the next
success, ``unknown`` before anything was tried.

With ``serve --workers N`` every worker sends on its own, so a link's state is what the
whole instance saw last: each worker writes its own view to ``links_<pid>.json`` in the
shared metrics directory (``shared.py``) after each attempt, and :meth:`Links.state`
merges the live workers' views. Without the directory the process's own view is the state.
A state holds times, counts and a sender's ``detail`` (a status and a short reply line,
never a message text, a password or a URL).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ussd_gateway.metrics.shared import live_workers

SMSC = "smsc"
SMTP = "smtp"
LINKS = (SMSC, SMTP)


@dataclass(frozen=True, slots=True)
class LinkState:
    """One link as seen so far."""

    ok_at: float | None = None
    """The last success."""
    failed_at: float | None = None
    """The last failure."""
    failing_since: float | None = None
    """The first failure after the last success (None while ok)."""
    failures: int = 0
    """Failures since the last success."""
    detail: str = ""
    """What the last failure said."""

    @property
    def status(self) -> str:
        """``unknown``, ``ok`` or ``failing``."""
        if self.failing_since is not None:
            return "failing"
        return "ok" if self.ok_at is not None else "unknown"

    @property
    def up(self) -> bool:
        """Not failing (a link not tried yet is not known to be down)."""
        return self.failing_since is None

    def after(self, *, ok: bool, at: float, detail: str = "") -> LinkState:
        """This state after one more attempt at ``at``."""
        if ok:
            return LinkState(ok_at=at, failed_at=self.failed_at)
        since = self.failing_since if self.failing_since is not None else at
        return replace(
            self, failed_at=at, failing_since=since, failures=self.failures + 1, detail=detail
        )


def merge(views: Iterable[LinkState]) -> LinkState:
    """One link as several workers saw it: the latest success anywhere ends a failure; a
    failure after it is dated from the failing workers' first failure, or from that
    success if they were failing already before it."""
    views = list(views)
    ok_at = max((v.ok_at for v in views if v.ok_at is not None), default=None)
    failed_at = max((v.failed_at for v in views if v.failed_at is not None), default=None)
    if failed_at is None or (ok_at is not None and ok_at >= failed_at):
        return LinkState(ok_at=ok_at, failed_at=failed_at)
    failing = [
        v
        for v in views
        if v.failing_since is not None
        and v.failed_at is not None
        and (ok_at is None or v.failed_at > ok_at)
    ]
    since = min(max(v.failing_since or 0.0, ok_at or 0.0) for v in failing)
    last = max(failing, key=lambda v: v.failed_at or 0.0)
    return LinkState(
        ok_at=ok_at,
        failed_at=failed_at,
        failing_since=since,
        failures=sum(v.failures for v in failing),
        detail=last.detail,
    )


class Links:
    """This process's view of each link, and the instance's (merged with the other
    workers' when ``directory`` is the shared metrics directory)."""

    def __init__(self, directory: Path | None = None, *, clock: Callable[[], float] = time.time):
        self._directory = directory
        self._clock = clock
        self._own: dict[str, LinkState] = {}

    def record(self, link: str, *, ok: bool, detail: str = "") -> None:
        """One attempt on ``link`` worked or not."""
        self._own[link] = self._own.get(link, LinkState()).after(
            ok=ok, at=self._clock(), detail=detail
        )
        if self._directory is not None:
            self._publish(self._directory)

    def state(self, link: str) -> LinkState:
        """The link's last-known state for the whole instance."""
        own = self._own.get(link, LinkState())
        if self._directory is None:
            return own
        views = [own]
        for pid in live_workers(self._directory):
            if pid != os.getpid():
                views += [v for name, v in _read(self._directory, pid) if name == link]
        return merge(views)

    def _publish(self, directory: Path) -> None:
        pid = os.getpid()
        text = json.dumps({name: asdict(state) for name, state in self._own.items()})
        staged = directory / f".links_{pid}.tmp"
        with contextlib.suppress(OSError):  # a full disk must not stop a send
            staged.write_text(text, encoding="utf-8")
            staged.replace(directory / f"links_{pid}.json")


def _read(directory: Path, pid: int) -> list[tuple[str, LinkState]]:
    try:
        found = json.loads((directory / f"links_{pid}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):  # gone meanwhile, or never written
        return []
    views = []
    for name, fields in found.items():
        with contextlib.suppress(TypeError):
            views.append((name, LinkState(**fields)))
    return views
