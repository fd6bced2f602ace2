"""The JSON APIs' request bodies: one object, read with the one field reader."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ussd_gateway.errors import BadRequest
from ussd_gateway.fields import FieldReader

FIELDS = FieldReader(BadRequest)
"""Fields of the codes and account APIs; a refusal is a 400 ``bad_request``."""


async def json_body(request: web.Request) -> Mapping[str, Any]:
    """The body as a JSON object, or :class:`BadRequest` saying why not."""
    return FIELDS.json_object(await request.read())
