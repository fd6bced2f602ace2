"""The USSD gateway: HTTP face, dialects, menu engine."""

from ussd_gateway.app import create_app
from ussd_gateway.config import ConfigError, Settings
from ussd_gateway.dialects import DIALECTS, Op, UssdReply, UssdRequest
from ussd_gateway.errors import (
    BadRequest,
    DialectParseError,
    GatewayBusy,
    GatewayError,
    MenuDefinitionError,
    Unauthorized,
)
from ussd_gateway.hop.engine import Engine
from ussd_gateway.hop.timeouts import SessionTimeouts
from ussd_gateway.menus.loader import Menu, MenuCatalog, load_catalog

__all__ = [
    "DIALECTS",
    "BadRequest",
    "ConfigError",
    "DialectParseError",
    "Engine",
    "GatewayBusy",
    "GatewayError",
    "Menu",
    "MenuCatalog",
    "MenuDefinitionError",
    "Op",
    "SessionTimeouts",
    "Settings",
    "Unauthorized",
    "UssdReply",
    "UssdRequest",
    "create_app",
    "load_catalog",
]
