"""Errors of the SMS side.

SmsError                    root; nothing of the gateway (HTTP) in it
├── MoParseError            an MO callback (Kannel, Jasmin, JSON) could not be read
├── CommandDefinitionError  the SMS command file is broken (raised at start-up)
└── TooLong                 a text needs more segments than allowed (``sms/segments.py``)
"""

from __future__ import annotations


class SmsError(Exception):
    """Root of the SMS side's own errors."""


class MoParseError(SmsError):
    """An MO request is malformed; the message says what is wrong, never the SMS text.

    ``source`` is the format the request was recognised as (``kannel-get``,
    ``kannel-post``, ``jasmin``, ``json``), or None if it matched none: the caller answers
    in that format (Kannel must still get a reply body, never an error page).
    """

    def __init__(self, message: str, source: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = source


class CommandDefinitionError(SmsError):
    """The SMS command file is invalid; ``problems`` are ``file:line: problem`` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid SMS commands:\n" + "\n".join(problems))
        self.problems = problems


class TooLong(SmsError):
    """A text needs more segments than allowed; it is refused, never truncated."""

    def __init__(self, segments: int, max_segments: int) -> None:
        super().__init__(f"the text needs {segments} SMS segments; at most {max_segments} allowed")
        self.segments = segments
        self.max_segments = max_segments
