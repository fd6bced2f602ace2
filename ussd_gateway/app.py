"""The application factory: settings in, a ready ``web.Application`` out.

No globals but one: the numbering plan, installed for the process (``state/msisdn.py``
says why it is process-wide). ``reload_definitions`` is the other half of the menus' life:
a ``SIGHUP`` loads and checks them again, with the SMS commands
(``ussd_gateway/process/reload.py`` wires the signal).

Over 300 lines (a few): the composition root, where every part is built and wired, reads
as one piece on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import structlog
from aiohttp import web

from account.codes import CodePolicy, CodeService
from account.front_door import FrontDoor
from account.mail import LetterQueue, Mailer
from account.operator import AccountService
from account.sms_requests import SmsRequests
from sms.commands import Reply, load_commands, shipped_commands_path
from sms.errors import CommandDefinitionError
from sms.outbox import OutboxWorker
from sms.senders import build_sender
from state import backends
from state.credentials import PasswordHasher, Pepper, Sealer
from state.errors import StoreError
from state.msisdn import install_plan
from state.store import Maintenance, Store
from state.websessions import SessionTimes
from ussd_gateway.backends.caller import HttpCaller
from ussd_gateway.config import ConfigError, Settings
from ussd_gateway.errors import MenuDefinitionError
from ussd_gateway.gsup.connector import euse_connector
from ussd_gateway.hop.engine import Engine
from ussd_gateway.hop.timeouts import SessionTimeouts
from ussd_gateway.http.account_api import add_account_routes
from ussd_gateway.http.appkeys import (
    CODES,
    ENGINE,
    EXPOSITION,
    FRONT_DOOR,
    METRICS,
    OPERATOR,
    READINESS,
    SEALER,
    SETTINGS,
    SMS_COMMANDS,
    SMS_REQUESTS,
    STORE,
)
from ussd_gateway.http.codes_api import add_codes_routes
from ussd_gateway.http.health import add_health_routes
from ussd_gateway.http.middleware import request_context
from ussd_gateway.http.operator_api import add_operator_routes
from ussd_gateway.http.sms_dlr import add_dlr_routes
from ussd_gateway.http.sms_mo import add_mo_routes, replace_commands
from ussd_gateway.http.ussd import add_ussd_routes
from ussd_gateway.menus.loader import MenuCatalog, load_catalog
from ussd_gateway.menus.source import MenuSyntaxError
from ussd_gateway.metrics.exposition import Exposition
from ussd_gateway.metrics.links import Links
from ussd_gateway.metrics.readiness import Readiness, Thresholds
from ussd_gateway.metrics.service import ServiceMetrics
from ussd_gateway.metrics.shared import shared_directory
from ussd_gateway.smtp import SmtpMailer

SWEEP_EVERY = 5.0
"""Seconds between sweeps that end timed-out sessions and purge old ones."""

log = structlog.get_logger("ussd_gateway.app")


def resolve_pepper(settings: Settings) -> Pepper:
    """The PUK1 pepper: from the environment, from its file, or (demo only) a new file.

    Raises:
        ConfigError: outside demo mode when none is configured or the file is missing;
            a new pepper would silently make every stored PUK1 digest useless.
    """
    if settings.puk_pepper is not None:
        return Pepper.from_hex(settings.puk_pepper.reveal())
    if settings.pepper_file is not None and settings.pepper_file.exists():
        return Pepper.from_hex(settings.pepper_file.read_text(encoding="ascii"))
    if settings.demo:
        return Pepper.load_or_create(
            settings.pepper_file or settings.database.parent / "puk-pepper"
        )
    raise ConfigError(
        "no PUK1 pepper: set USSD_GATEWAY_PUK_PEPPER (hex) or store.pepper_file to an existing file"
    )


def code_policy(settings: Settings) -> CodePolicy:
    """The code policy with the configured number ranges and global budget."""
    return CodePolicy(
        allowed_prefixes=settings.codes.allowed_prefixes,
        global_per_hour=settings.codes.global_per_hour,
    )


async def open_store(settings: Settings) -> Store:
    """Open (and migrate) the configured store: the SQLite file or the PostgreSQL database."""
    return await backends.open_store(settings.store_location, pool_size=settings.pool_size)


def load_menus(settings: Settings) -> MenuCatalog:
    """The configured menus (or the shipped ones), calling only configured back-ends."""
    return load_catalog(settings.menu_paths or None, backends=frozenset(settings.backends))


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    catalog: MenuCatalog | None = None,
    clock: Callable[[], float] = time.time,
    mailer: Mailer | None = None,
) -> web.Application:
    """Build the gateway. Menus and the pepper are checked now, before any request."""
    install_plan(settings.numbering)  # whose numbers the dialects, MO and the codes accept
    catalog = catalog or load_menus(settings)
    pepper = resolve_pepper(settings)
    hasher = PasswordHasher(settings.argon2_time_cost, settings.argon2_memory_kib)
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[request_context])
    app[SETTINGS] = settings
    app[SEALER] = Sealer(pepper)
    add_ussd_routes(app)
    add_health_routes(app)
    add_codes_routes(app)
    add_account_routes(app)
    add_operator_routes(app)
    add_dlr_routes(app, clock=clock)
    add_mo_routes(app)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        owned = store is None
        active = store if store is not None else await open_store(settings)
        if owned:  # where the core lives, the password of a PostgreSQL URL masked
            log.info("store_opened", store=str(settings.store_location))
        # Metrics are made here, at start-up: after the fork of ``serve --workers N``, so
        # each worker counts in files of its own (ussd_gateway/metrics/shared.py).
        shared = shared_directory()
        metrics = app[METRICS] = ServiceMetrics(Links(shared, clock=clock))
        await (caller := HttpCaller(settings.backends, counters=metrics)).start()
        engine = Engine(
            store=active,
            catalog=catalog,
            pepper=pepper,
            hasher=hasher,
            timeouts=SessionTimeouts(settings.session_idle, settings.session_total),
            clock=clock,
            caller=caller,
            hop_budget=settings.hop_budget,
        )
        engine.metrics.watch_store(active)
        app[ENGINE] = engine
        app[STORE] = active
        app[CODES] = CodeService(
            active,
            pepper,
            policy=code_policy(settings),
            clock=clock,
            # The commands of the moment: a reload replaces SmsRequests.commands.
            compose=lambda _purpose, lang, code: app[SMS_REQUESTS].commands.reply(
                Reply.CODE, lang, code=code
            ),
            counters=metrics,
        )
        app[SMS_REQUESTS] = SmsRequests(
            active, app[CODES], app[SMS_COMMANDS], app[SEALER], clock=clock
        )
        app[OPERATOR] = AccountService(active, clock)
        letters = LetterQueue(mailer or SmtpMailer(settings.account), counters=metrics)
        account = settings.account
        app[FRONT_DOOR] = FrontDoor(
            active,
            app[CODES],
            hasher,
            pepper,
            letters,
            times=SessionTimes(account.session_idle, account.session_total),
            temporary_password_ttl=account.temporary_password_ttl,
            mail_sender=account.smtp_sender,
            portal_url=account.portal_url,
            lock_alert=lambda lang: engine.catalog.lock_alert(lang),
            clock=clock,
        )
        sweeper = asyncio.create_task(_sweep(active, settings, clock))
        http = aiohttp.ClientSession()
        worker = OutboxWorker(
            active,
            build_sender(settings.sms, http),
            app[SEALER],
            clock=clock,
            max_segments=settings.sms.max_segments,
            counters=metrics,
        )
        connector = euse_connector(engine, settings.osmocom, metrics)  # OsmoHLR's EUSE
        app[READINESS] = readiness = Readiness(
            active,
            metrics.links,
            store_name=type(active).__name__,
            menus=len(catalog.menus),
            sender=worker.sender_name,
            thresholds=Thresholds.of(settings),
            clock=clock,
            gsup=connector.status if connector is not None else None,
        )
        app[EXPOSITION] = exposition = Exposition(
            hops=engine.metrics, service=metrics, readiness=readiness, shared=shared
        )
        background = [sweeper] + ([asyncio.create_task(exposition.sync())] if shared else [])
        if connector is not None:
            background.append(asyncio.create_task(connector.run()))
        stop_outbox = asyncio.Event()
        outbox = asyncio.create_task(worker.run(stop_outbox))
        try:
            yield
        finally:
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if connector is not None:
                await connector.close()
            # Let the batch in hand finish (its results get written), then stop.
            stop_outbox.set()
            try:
                await asyncio.wait_for(outbox, worker.send_timeout + 1)
            except TimeoutError:
                log.warning("outbox_worker_stop_timeout")
            await http.close()
            await caller.close()
            await letters.drain()
            if owned:
                await active.close()

    app.cleanup_ctx.append(resources)
    return app


async def reload_definitions(app: web.Application, *, commands_path: Path | None = None) -> bool:
    """Load and check the menus and the SMS commands again, as start-up does; install both,
    or, when either is broken, neither (one warning with every problem). Sessions in flight
    finish on the menus they started on (``hop/catalogs.py``). The SMS commands come from
    ``commands_path``, by default the file start-up read. Returns whether the new set is in.
    """
    settings = app[SETTINGS]
    path = commands_path or shipped_commands_path()
    try:
        # Off the loop: a catalogue takes tens of milliseconds to check and build.
        catalog, commands = await asyncio.to_thread(
            lambda: (load_menus(settings), load_commands(path))
        )
    except (MenuDefinitionError, CommandDefinitionError) as exc:
        problems = exc.problems
    except (MenuSyntaxError, OSError) as exc:
        problems = [str(exc)]
    else:
        engine = app[ENGINE]
        engine.install_catalog(catalog)
        replace_commands(app, commands)
        log.info(
            "definitions_reloaded",
            menus=sorted(menu.code for menu in catalog.menus.values()),
            previous_kept_seconds=engine.timeouts.total,
            pid=os.getpid(),
        )
        return True
    log.warning("definitions_reload_refused", problems=problems, kept="previous", pid=os.getpid())
    return False


async def _sweep(store: Maintenance, settings: Settings, clock: Callable[[], float]) -> None:
    # Ended sessions are kept a while so a late repeat of their last hop still gets the
    # same answer (reference/security.md: keep the first reply at least a session TTL).
    keep = max(600.0, 2 * settings.session_total)
    while True:
        await asyncio.sleep(SWEEP_EVERY)
        try:
            result = await store.sweep_sessions(
                clock(), idle=settings.session_idle, total=settings.session_total, keep=keep
            )
        except StoreError as exc:  # an outage: one line per sweep, no traceback
            log.warning("session_sweep_failed", error=exc.__class__.__name__)
            continue
        if result.expired or result.purged:
            log.info("sessions_swept", expired=result.expired, purged=result.purged)
        try:
            web_result = await store.sweep_web(
                clock(),
                idle=settings.account.session_idle,
                total=settings.account.session_total,
                keep=24 * 3600.0,
            )
        except StoreError as exc:
            log.warning("web_session_sweep_failed", error=exc.__class__.__name__)
            continue
        if web_result.expired or web_result.purged:
            log.info("web_sessions_swept", expired=web_result.expired, purged=web_result.purged)
