"""structlog set-up: JSON lines, a request id, and no secrets.

Only entry points call :func:`configure`. The redaction processor drops the values of
keys that may hold secrets or a subscriber's typed input, and masks phone numbers.
"""

from __future__ import annotations

import logging
import re
import sys
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
    # aiosqlite logs every statement with its parameters at DEBUG.
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
