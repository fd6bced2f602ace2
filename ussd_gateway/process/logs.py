"""structlog set-up: JSON lines, a request id, and no secrets.

Only entry points call :func:`configure`. The redaction processor drops the values of
keys that may hold secrets or a subscriber's typed input, and masks phone numbers; every
rendered line (structlog's and the standard library's, tracebacks included) is masked once
more as text just before it is written (:func:`redact_line`), so a secret inside a
traceback or a library's message never leaves the process.

Lines anyone outside can cause are warnings at most, one line, rate-limited
(:class:`OutsideNoise`): aiohttp's "Error handling request" for a malformed request, and
asyncio's "socket.accept() out of system resource" when the file descriptors run out.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from state.msisdn import current_plan, full_number_pattern

REDACTED_KEYS = frozenset(
    {
        "password",
        "new_password",
        "puk",
        "puk1",
        "pin",
        "code",
        "otp",
        "text",
        "input",
        "message",
        "token",
        "secret",
        "authorization",
        "body",
        "pepper",
        "password_hash",
    }
)
# A caller's ?token= (and any secret-named query parameter) inside a logged URL or line.
_QUERY_SECRET = re.compile(r"((?:token|secret|password|puk1?|code)=)[^&\s\"']+", re.IGNORECASE)


def redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Blank secret-bearing keys; in other values mask full numbers and secret query values."""
    plan = current_plan()  # the numbers of the configured plan (state/msisdn.py)
    country, number = plan.country_code, full_number_pattern(plan)
    for key in list(event_dict):
        if key.lower() in REDACTED_KEYS:
            event_dict[key] = "[redacted]"
        elif isinstance(value := event_dict[key], str):
            # Substring tests first: each pattern needs its literal ("375", "="), and most
            # values (states, outcomes, ids) have neither; a regex call costs far more.
            if country in value:
                value = number.sub(r"\1***\2", value)
            if "=" in value:
                value = _QUERY_SECRET.sub(r"\1[redacted]", value)
            event_dict[key] = value
    return event_dict


def redact_text(text: str) -> str:
    """``text`` with full numbers masked and secret query values blanked."""
    plan = current_plan()
    if plan.country_code in text:
        text = full_number_pattern(plan).sub(r"\1***\2", text)
    if "=" in text:
        text = _QUERY_SECRET.sub(r"\1[redacted]", text)
    return text


def redact_line(_: Any, __: str, line: str) -> str:
    """The last processor: the rendered line itself, tracebacks included, redacted."""
    return redact_text(line)


OUTSIDE_LINES_PER_MINUTE = 10
"""Lines per minute per process about requests or connections from outside (malformed
requests, descriptors run out); past that one line a minute says how many were left out."""


class OutsideNoise(logging.Filter):
    """Turns what a peer can provoke into rate-limited one-line warnings.

    On ``aiohttp.server``: a record whose exception is an HTTP parsing error (a request
    line, header or body aiohttp refused before any route saw it) becomes a warning with
    the error's class and no traceback (the exception's text quotes the request: its
    URL, a token). On ``asyncio``: "out of system resource" from the accept loop, which
    asyncio repeats every second while the descriptors are gone. Each kind is let through
    at most ``per_minute`` times a minute; the first line after a quiet minute says how
    many were suppressed. Everything else passes untouched.
    """

    def __init__(self, per_minute: int = OUTSIDE_LINES_PER_MINUTE) -> None:
        super().__init__()
        self._per_minute = per_minute
        self._windows: dict[str, tuple[float, int, int]] = {}  # start, let through, dropped

    def filter(self, record: logging.LogRecord) -> bool:
        kind = self._kind(record)
        if kind is None:
            return True
        now = time.monotonic()
        start, passed, dropped = self._windows.get(kind, (now, 0, 0))
        if now - start >= 60:
            start, passed = now, 0
        if passed >= self._per_minute:
            self._windows[kind] = (start, passed, dropped + 1)
            return False
        self._windows[kind] = (start, passed + 1, 0)
        exc = record.exc_info[1] if record.exc_info else None
        reason = type(exc).__name__ if exc is not None else "error"
        record.msg = f"{kind}: {reason}" + (f" ({dropped} suppressed)" if dropped else "")
        record.args = None
        record.exc_info = record.exc_text = record.stack_info = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True

    @staticmethod
    def _kind(record: logging.LogRecord) -> str | None:
        if record.name == "asyncio":
            return (
                "accept_out_of_resources" if "out of system resource" in str(record.msg) else None
            )
        exc = record.exc_info[1] if record.exc_info else None
        if record.name == "aiohttp.server" and _from_outside(exc):
            return "malformed_request"
        return None


def _from_outside(exc: BaseException | None) -> bool:
    from aiohttp.http_exceptions import HttpProcessingError

    return isinstance(exc, HttpProcessingError)


class _NamedWriteLogger(structlog.WriteLogger):
    """structlog's plain writer, with the name ``get_logger`` was given (for ``logger``)."""

    def __init__(self, file: TextIO, name: str) -> None:
        super().__init__(file)
        self.name = name


class _NamedWriteLoggerFactory:
    def __init__(self, file: TextIO) -> None:
        self._file = file

    def __call__(self, *args: Any) -> _NamedWriteLogger:
        return _NamedWriteLogger(self._file, str(args[0]) if args else "")


def configure(
    level: str = "info", stream: TextIO | None = None, *, cache_loggers: bool = True
) -> None:
    """Route structlog and the standard library's logging to one JSON stream.

    structlog's own lines are rendered and written by structlog itself: structlog's
    performance guide names the standard library's machinery (records, handlers, their
    locks) as the main cost of a log line, and a loaded gateway writes one per hop.
    Libraries' standard-library records go through a handler with the same processors.

    ``cache_loggers`` lets each logger keep its assembled chain (and stream) after its
    first line, as a process that configures once wants; a test run that configures again
    (another stream, another level) passes False so no logger keeps a stream it replaced.
    """
    out = stream or sys.stderr
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    # Plain text tracebacks: dict_tracebacks would print local variables (secrets).
    render: list[Any] = [
        structlog.processors.format_exc_info,
        structlog.processors.JSONRenderer(ensure_ascii=False),
        redact_line,
    ]
    threshold = logging.getLevelName(level.upper())
    structlog.configure(
        processors=[*shared, *render],
        logger_factory=_NamedWriteLoggerFactory(out),
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        cache_logger_on_first_use=cache_loggers,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *render],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(threshold)
    # Nothing we render uses the caller's file and line, thread or process names; the logging
    # HOWTO's "Optimization" section: not collecting them saves a stack walk per line.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    noise = OutsideNoise()
    for name in ("aiohttp.server", "asyncio"):
        library = logging.getLogger(name)
        library.filters[:] = [f for f in library.filters if not isinstance(f, OutsideNoise)]
        library.addFilter(noise)
    # aiosqlite logs every statement with its parameters at DEBUG.
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
