"""The development sender: one JSON line per message, appended to a local file.

For a developer's machine and ``make run`` only. The text IS written to the file, in
plain text, one-time codes included: that file is the developer's own "handset" (read it
with ``tail -f var/outbox.jsonl``). Never configure it in production; the file is created
readable by its owner only. Each line::

    {"id": 7, "at": 1800000000.0, "from": "A1", "to": "375291112233",
     "encoding": "ucs2", "segments": 1, "text": "Код: 123456"}
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sms.segments import count_segments
from sms.senders.base import SendResult


class FileSender:
    """:class:`sms.senders.base.Sender` that appends to ``path`` (always accepted)."""

    name = "file"
    """The label of this sender in the metrics."""

    def __init__(
        self, path: Path, *, sender_id: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = path
        self._sender_id = sender_id
        self._clock = clock
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FileSender(path={str(self.path)!r})"

    async def send(self, msisdn: str, text: str, *, message_id: int) -> SendResult:
        """Append the message as one JSON line."""
        counted = count_segments(text)
        line = json.dumps(
            {
                "id": message_id,
                "at": self._clock(),
                "from": self._sender_id,
                "to": msisdn,
                "encoding": str(counted.encoding),
                "segments": counted.segments,
                "text": text,
            },
            ensure_ascii=False,
        )
        try:
            await asyncio.to_thread(self._append, line)
        except OSError as exc:
            return SendResult(False, retryable=True, detail=f"file: {type(exc).__name__}")
        return SendResult(True, provider_ref=f"file-{message_id}", detail="written")

    def _append(self, line: str) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as out:
                out.write(line + "\n")
