"""The web handset's HTTP face: the page, its static files and a small JSON API.

Every input arrives in a POST body (never in a URL: URLs end up in histories and access
logs); a bad one gets a 4xx with ``{"error", "message"}``, an unexpected fault a 500 of
the same shape, never a traceback. The page may load nothing but this server's own files
(Content-Security-Policy), so nothing is fetched from the internet at run time.
"""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import resources
from pathlib import PurePosixPath

import aiohttp
from aiohttp import web

from simulators.dialects import Dialect
from simulators.handset import HandsetError
from simulators.web import peers
from simulators.web.config import CONFIG, PHONES, WebConfig
from simulators.web.fields import BadInput, body, dialect, msisdn, phone, text
from simulators.web.phones import PhoneBook
from simulators.web.script_routes import add_script_routes
from simulators.web.subscribers import SHORTCUTS

STATIC = resources.files("simulators.web") / "static"
_CODE = re.compile(r"^[*#0-9]{1,64}$")
_TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript", ".png": "image/png"}
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _answers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every refusal as ``{"error", "message"}``, and the page's security headers."""
    try:
        response = await handler(request)
    except BadInput as exc:
        response = _error(exc.status, "bad_request" if exc.status == 400 else "not_found", exc)
    except HandsetError as exc:
        response = _error(409, "conflict", exc)
    except web.HTTPException as exc:
        code = "not_found" if exc.status == 404 else "refused"
        response = _error(exc.status, code, Exception(exc.text or exc.reason))
    except Exception as exc:
        # The page gets a clear answer, never a traceback; the console only the error's
        # class (its message could quote what was typed).
        print(f"ussd-handset web: internal error {type(exc).__name__}", file=sys.stderr)
        response = _error(500, "internal", Exception(type(exc).__name__))
    response.headers.update(_SECURITY_HEADERS)
    return response


def _error(status: int, code: str, exc: Exception) -> web.Response:
    return web.json_response({"error": code, "message": str(exc)}, status=status)


def create_app(config: WebConfig) -> web.Application:
    """The application: the page, its files and the API, on one aiohttp client session."""
    app = web.Application(middlewares=[_answers], client_max_size=512 * 1024)
    app[CONFIG] = config

    async def client(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as http:
            app[PHONES] = PhoneBook(http, config.gateway)
            yield

    app.cleanup_ctx.append(client)
    app.router.add_get("/", _page)
    app.router.add_get("/static/{name}", _static)
    app.router.add_get("/favicon.ico", _no_icon)
    app.router.add_get("/api/config", _config)
    app.router.add_post("/api/phones", _new_phone)
    app.router.add_get("/api/phones/{id}", _phone_view)
    app.router.add_post("/api/phones/{id}/configure", _configure)
    app.router.add_post("/api/phones/{id}/dial", _dial)
    app.router.add_post("/api/phones/{id}/send", _send)
    app.router.add_post("/api/phones/{id}/abort", _abort)
    app.router.add_post("/api/phones/{id}/end", _end)
    app.router.add_get("/api/phones/{id}/timeline", _timeline)
    app.router.add_get("/api/phones/{id}/inbox", _inbox)
    app.router.add_get("/api/mailbox", _mailbox)
    add_script_routes(app)
    return app


# --- the page ------------------------------------------------------------------------------


async def _page(request: web.Request) -> web.Response:
    return _file("index.html")


async def _no_icon(request: web.Request) -> web.Response:
    return web.Response(status=204)  # the browser asks; a 404 would be noise in its console


async def _static(request: web.Request) -> web.Response:
    return _file(request.match_info["name"])


def _file(name: str) -> web.Response:
    suffix = PurePosixPath(name).suffix
    item = STATIC / name
    if "/" in name or suffix not in _TYPES or not item.is_file():
        raise web.HTTPNotFound(text=f"no such file: {name}")
    charset = None if suffix == ".png" else "utf-8"
    return web.Response(body=item.read_bytes(), content_type=_TYPES[suffix], charset=charset)


async def _config(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    return web.json_response(
        {
            "gateway": config.gateway.url,
            "dialects": [d.value for d in Dialect],
            "secrets": sorted(config.gateway.secrets),  # which dialects have one, not its value
            "subscribers": [{"msisdn": m, "label": label} for m, label in config.demo],
            "shortcuts": [{"code": c, "label": label} for c, label in SHORTCUTS],
            "smsc": bool(config.smsc_url),
            "mailbox": bool(config.mailbox_url),
        }
    )


# --- the phone -----------------------------------------------------------------------------


async def _new_phone(request: web.Request) -> web.Response:
    data = await body(request)
    created = request.app[PHONES].new(msisdn(data), dialect(data))
    return web.json_response(created.view(), status=201)


async def _phone_view(request: web.Request) -> web.Response:
    return web.json_response(phone(request).view())


async def _configure(request: web.Request) -> web.Response:
    target, data = phone(request), await body(request)
    number, name = msisdn(data), dialect(data)
    async with target.lock:
        await target.configure(number, name)
    return web.json_response(target.view())


async def _dial(request: web.Request) -> web.Response:
    target, data = phone(request), await body(request)
    code = text(data, "code", limit=64).strip()
    if not _CODE.match(code) or not code.endswith("#"):
        raise BadInput(400, "a USSD code is digits, '*' and '#', ending in '#' (*141*3*6#)")
    async with target.lock:
        await target.dial(code)
    return web.json_response(target.view())


async def _send(request: web.Request) -> web.Response:
    target, data = phone(request), await body(request)
    typed = text(data, "text")
    async with target.lock:
        await target.send(typed)
    return web.json_response(target.view())


async def _abort(request: web.Request) -> web.Response:
    target = phone(request)
    async with target.lock:
        await target.abort()
    return web.json_response(target.view())


async def _end(request: web.Request) -> web.Response:
    target = phone(request)
    async with target.lock:
        await target.end()
    return web.json_response(target.view())


async def _timeline(request: web.Request) -> web.Response:
    return web.json_response({"hops": phone(request).timeline.entries})


# --- the SMS inbox and the mailbox ---------------------------------------------------------


async def _inbox(request: web.Request) -> web.Response:
    target, config = phone(request), request.app[CONFIG]
    return web.json_response(
        await peers.inbox(request.app[PHONES].http, config.smsc_url, target.msisdn)
    )


async def _mailbox(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    return web.json_response(await peers.mailbox(request.app[PHONES].http, config.mailbox_url))
