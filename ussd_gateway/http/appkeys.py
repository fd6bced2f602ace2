"""Typed keys for what the application holds: one place, so route modules agree.

``create_app`` (``ussd_gateway/app.py``) fills them; the routes only read them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from ussd_gateway.config import Settings

if TYPE_CHECKING:
    from account.codes import CodeService
    from account.front_door import FrontDoor
    from account.operator import AccountService
    from account.sms_requests import SmsRequests
    from sms.commands import SmsCommands
    from state.credentials import Sealer
    from state.store import Store
    from ussd_gateway.hop.engine import Engine
    from ussd_gateway.metrics.exposition import Exposition
    from ussd_gateway.metrics.readiness import Readiness
    from ussd_gateway.metrics.service import ServiceMetrics

SETTINGS = web.AppKey("settings", Settings)
ENGINE: web.AppKey[Engine] = web.AppKey("engine")
STORE: web.AppKey[Store] = web.AppKey("store")
CODES: web.AppKey[CodeService] = web.AppKey("codes")
SEALER: web.AppKey[Sealer] = web.AppKey("sealer")
SMS_COMMANDS: web.AppKey[SmsCommands] = web.AppKey("sms_commands")
"""The SMS commands and reply texts (``menus/sms.yaml``), loaded at start-up."""
SMS_REQUESTS: web.AppKey[SmsRequests] = web.AppKey("sms_requests")
"""What subscribers' SMS come to (the MO route's decisions)."""
FRONT_DOOR: web.AppKey[FrontDoor] = web.AppKey("front_door")
"""Registration, login, sessions and roles of the self-service account."""
OPERATOR: web.AppKey[AccountService] = web.AppKey("operator")
"""The operator's actions on a subscriber (close, open, unlock, roles)."""
METRICS: web.AppKey[ServiceMetrics] = web.AppKey("metrics")
"""The service's counters (SMS, codes, mail, HTTP); the routes count their events on it."""
READINESS: web.AppKey[Readiness] = web.AppKey("readiness")
"""The readiness checks (``/readyz``)."""
EXPOSITION: web.AppKey[Exposition] = web.AppKey("exposition")
"""The ``/metrics`` page."""
