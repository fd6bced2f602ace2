"""The JSON APIs' request bodies: one object, read with the one field reader."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ussd_gateway.errors import BadRequest, UnsupportedMediaType
from ussd_gateway.fields import FieldReader

FIELDS = FieldReader(BadRequest)
"""Fields of the codes and account APIs; a refusal is a 400 ``bad_request``."""


JSON_TYPE = "application/json"


async def json_body(request: web.Request) -> Mapping[str, Any]:
    """The body as a JSON object, or :class:`BadRequest` saying why not.

    A body declared as anything but ``application/json`` (parameters such as ``charset``
    allowed) is :class:`UnsupportedMediaType`, unread; a body with no Content-Type at all is
    read as JSON (some HTTP clients send none).
    """
    if "Content-Type" in request.headers and request.content_type != JSON_TYPE:
        raise UnsupportedMediaType("the body must be application/json")
    return FIELDS.json_object(await request.read())
