"""A configured secret: compared, never shown, in any representation or error message."""

from __future__ import annotations

from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

MASK = "**********"
"""How a secret is shown: in ``repr``, in ``config check`` and wherever a value is printed."""


class Secret:
    """A configured secret: compared, never shown (``repr`` and ``str`` hide it).

    Not pydantic's ``SecretStr``: the gateway's callers ``reveal()`` it at the one place that
    compares or sends it (``http/auth.py``, the SMS senders, the SMTP login), and tests build
    settings with ``Secret("…")``. As a field of the file's schema it takes a string; an empty
    one means "not set", and a refusal never quotes the value (see :meth:`_validate`).
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    __str__ = __repr__

    def reveal(self) -> str:
        """The value, for the one place that compares it."""
        return self._value

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        """Validated from a string (or kept as a Secret); shown as the mask."""
        return core_schema.no_info_plain_validator_function(
            cls._validate,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda _: MASK),
        )

    @classmethod
    def _validate(cls, value: object) -> Secret:
        if isinstance(value, Secret):
            return value
        if not isinstance(value, str):
            # The message names the expected type only: the value may be the secret itself.
            raise PydanticCustomError("secret_type", "a secret is a string")
        return cls(value)
