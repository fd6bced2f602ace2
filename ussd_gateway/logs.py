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
_MSISDN = re.compile(r"(?<!\d)(375\d{2})\d{3}(\d{4})(?!\d)")
# A caller's ?token= (and any secret-named query parameter) inside a logged URL or line.
_QUERY_SECRET = re.compile(r"((?:token|secret|password|puk1?|code)=)[^&\s\"']+", re.IGNORECASE)


def redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Blank secret-bearing keys; in other values mask full numbers and secret query values."""
    for key in list(event_dict):
        if key.lower() in REDACTED_KEYS:
            event_dict[key] = "[redacted]"
        elif isinstance(value := event_dict[key], str):
            # Substring tests first: each pattern needs its literal ("375", "="), and most
            # values (states, outcomes, ids) have neither; a regex call costs far more.
            if "375" in value:
                value = _MSISDN.sub(r"\1***\2", value)
            if "=" in value:
                value = _QUERY_SECRET.sub(r"\1[redacted]", value)
            event_dict[key] = value
    return event_dict


def configure(level: str = "info", stream: TextIO | None = None) -> None:
    """Route structlog and the standard library's logging to one JSON stream."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # Plain text tracebacks: dict_tracebacks would print local variables (secrets).
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Nothing we render uses the caller's file and line, thread or process names; the logging
    # HOWTO's "Optimization" section: not collecting them saves a stack walk per line.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # aiosqlite logs every statement with its parameters at DEBUG.
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
