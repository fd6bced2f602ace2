"""Errors of the service itself, each mapped to its HTTP answer once, by
``ussd_gateway/http/errors.py`` (with the account's and the core's).

GatewayError
├── BadRequest              the caller sent something malformed
│   ├── DialectParseError   a dialect could not read the request
│   ├── PeerDecodeError     a GSUP or GSM 04.80 message from the core could not be read
│   └── UnsupportedMediaType a JSON API's body is declared as something other than JSON
├── Unauthorized            missing or wrong shared secret
└── GatewayBusy             a hop kept conflicting with another writer
MenuDefinitionError         a menu file is broken (raised at start-up, never per hop)
"""

from __future__ import annotations


class GatewayError(Exception):
    """Root of the service's own errors; ``message`` is safe to show the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(GatewayError):
    """The request is malformed; the message says what is wrong, never echoing secrets."""


class DialectParseError(BadRequest):
    """A dialect's parser rejected the request."""


class PeerDecodeError(BadRequest):
    """A GSUP message, its IPA frame or its GSM 04.80 Facility from the core could not be
    read (``ussd_gateway/gsup/``): answered with a clean GSUP error, never a crash."""


class UnsupportedMediaType(BadRequest):
    """A JSON API's body came with a Content-Type other than ``application/json``."""


class Unauthorized(GatewayError):
    """The caller did not present the configured shared secret."""


class GatewayBusy(GatewayError):
    """A hop lost its optimistic write too many times in a row."""


class MenuDefinitionError(Exception):
    """One or more menu files are invalid; ``problems`` are ``file:line: problem`` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid menus:\n" + "\n".join(problems))
        self.problems = problems
