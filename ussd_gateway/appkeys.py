"""Typed keys for what the application holds: one place, so route modules agree."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from ussd_gateway.config import Settings

if TYPE_CHECKING:
    from sms.codes import CodeService
    from sms.commands import SmsCommands
    from state.credentials import Sealer
    from state.store import Store
    from ussd_gateway.account.service import FrontDoor
    from ussd_gateway.engine import Engine

SETTINGS = web.AppKey("settings", Settings)
ENGINE: web.AppKey[Engine] = web.AppKey("engine")
STORE: web.AppKey[Store] = web.AppKey("store")
CODES: web.AppKey[CodeService] = web.AppKey("codes")
SEALER: web.AppKey[Sealer] = web.AppKey("sealer")
SMS_COMMANDS: web.AppKey[SmsCommands] = web.AppKey("sms_commands")
"""The SMS commands and reply texts (``menus/sms.yaml``), loaded at start-up."""
FRONT_DOOR: web.AppKey[FrontDoor] = web.AppKey("front_door")
"""Registration, login, sessions and roles of the self-service account."""
