"""The value types of the file's keys: what each accepts, and how a refusal is said.

Each refusal says what is expected and never quotes the value (it may be a secret).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, PlainValidator

from state.backends import DatabaseLocation
from ussd_gateway.config.secrets import Secret


def one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    """A check that a text is one of ``choices`` (the refusal lists them)."""

    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value

    return check


def _empty_is_unset(value: object) -> object:
    return None if value == "" else value


def lower(value: object) -> object:
    """Any case accepted (``INFO``), compared in lower case."""
    return value.lower() if isinstance(value, str) else value


def _digits(value: str) -> str:
    if not value.isascii() or not value.isdigit():
        raise ValueError("must be digits only")
    return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


def _location(value: object) -> DatabaseLocation:
    if isinstance(value, DatabaseLocation):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a path or a postgresql:// URL, as a string")
    # DatabaseLocation's refusals name the problem, never the URL (it may hold a password).
    return DatabaseLocation.parse(value)


def _hex_pepper(value: Secret | None) -> Secret | None:
    if value is None:
        return None
    text = value.reveal().strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 16:
        raise ValueError("must be hex, at least 32 hex digits (16 bytes)")
    return value


Port = Annotated[int, Field(ge=1, le=65535)]
Text = Annotated[str, Field(min_length=1)]
PathText = Annotated[str, Field(min_length=1, max_length=4096)]
Url = Annotated[str, AfterValidator(_http_url)]
Digits = Annotated[str, Field(min_length=1, max_length=15), AfterValidator(_digits)]
OptionalSecret = Annotated[Secret | None, BeforeValidator(_empty_is_unset)]
"""A secret; empty or absent: not set."""
Pepper = Annotated[OptionalSecret, AfterValidator(_hex_pepper)]
OptionalUrl = Annotated[Url | None, BeforeValidator(_empty_is_unset)]
Location = Annotated[DatabaseLocation, PlainValidator(_location), PlainSerializer(str)]


def seconds(most: float) -> Any:
    """A duration: more than 0, at most ``most`` seconds, finite."""
    return Field(gt=0, le=most, allow_inf_nan=False)
