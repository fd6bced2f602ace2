"""Errors of the gateway, mapped once to HTTP answers by ``ussd_gateway/web.py``.

GatewayError                (status)
├── BadRequest              400  the caller sent something malformed
│   └── DialectParseError   400  a dialect could not read the request
├── Unauthorized            401  missing or wrong shared secret
├── GatewayBusy             503  a hop kept conflicting with another writer
└── MenuDefinitionError     —    a menu file is broken (raised at start-up, never per hop)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType


class GatewayError(Exception):
    """Root of the gateway's own errors; ``status`` and ``code`` shape the HTTP answer."""

    status = 500
    code = "internal"
    headers: Mapping[str, str] = MappingProxyType({})
    """Extra response headers (``Retry-After``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(GatewayError):
    """The request is malformed; the message says what is wrong, never echoing secrets."""

    status = 400
    code = "bad_request"


class DialectParseError(BadRequest):
    """A dialect's parser rejected the request."""

    code = "malformed_request"


class Unauthorized(GatewayError):
    """The caller did not present the configured shared secret."""

    status = 401
    code = "unauthorized"


class GatewayBusy(GatewayError):
    """A hop lost its optimistic write too many times in a row."""

    status = 503
    code = "busy"


class MenuDefinitionError(Exception):
    """One or more menu files are invalid; ``problems`` are ``file:line: problem`` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid menus:\n" + "\n".join(problems))
        self.problems = problems
