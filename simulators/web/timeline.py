"""The session timeline: each hop's request and reply as they went over the wire.

Entries come from the handset's :class:`~simulators.handset.Exchange`, which is already
masked (the caller's secret and every secret input as ``<hidden>``), so nothing here can
show a secret: this module only turns exchanges into what the page lists.
"""

from __future__ import annotations

import time
from typing import Any

from simulators.dialects import Op
from simulators.handset import TRACED_HEADERS, Exchange, body_text

KEPT_HOPS = 200
"""Hops a phone's timeline keeps (newest last)."""


class Timeline:
    """A phone's hops, oldest first; :meth:`add` is the handset's ``observe`` callback."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self._count = 0

    def add(self, exchange: Exchange) -> None:
        self._count += 1
        request = exchange.request
        self.entries.append(
            {
                "n": self._count,
                "at": time.time(),
                "op": str(exchange.op),
                "request": {
                    "method": request.method,
                    "url": exchange.url,
                    "headers": [list(h) for h in request.headers],
                    "body": body_text(request.headers, request.body),
                },
                "reply": {
                    "status": exchange.status,
                    "reason": exchange.reason,
                    "headers": [[k, v] for k, v in exchange.headers if k.lower() in TRACED_HEADERS],
                    "body": exchange.body.decode("utf-8", errors="replace"),
                },
                "ms": round(exchange.seconds * 1000, 1),
                "outcome": exchange.error or _aborted(exchange),
            }
        )
        del self.entries[:-KEPT_HOPS]

    def settle(self, outcome: str) -> None:
        """Say how the latest hop ended (``continue``, ``end``, ``aborted`` or the error)."""
        if self.entries and not self.entries[-1]["outcome"]:
            self.entries[-1]["outcome"] = outcome


def _aborted(exchange: Exchange) -> str:
    """An abort's reply has no screen to judge by: it is ``aborted`` once it succeeded."""
    return "aborted" if exchange.op is Op.ABORT and 200 <= exchange.status < 300 else ""
