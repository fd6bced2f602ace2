"""What ``ussd-handset web`` was started with, and the keys the application keeps parts under."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from simulators.web.phones import GatewayLink, PhoneBook
from simulators.web.subscribers import DEMO_SUBSCRIBERS


@dataclass(frozen=True)
class WebConfig:
    """The gateway and its secrets, where scripts are saved, the SMSC and mailbox to read."""

    gateway: GatewayLink
    scripts_dir: Path
    smsc_url: str | None = None
    mailbox_url: str | None = None
    demo: tuple[tuple[str, str], ...] = field(default=DEMO_SUBSCRIBERS)


CONFIG = web.AppKey("config", WebConfig)
PHONES = web.AppKey("phones", PhoneBook)
