"""The bare reference: ``*141*3*6#`` on a bare aiohttp server, sessions in a dict, no disk.

    python -m bench.bare [--host 127.0.0.1] [--port 8081] [--secret S]

It speaks the gateway's native dialect (``POST /ussd``) with the same screens, so the same
load tool drives both and the gateway's hop can be priced against what the stack itself
costs (HTTP, JSON, asyncio). It knows the benchmark subscribers by formula
(``simulators.population``), holds access state and sessions in memory and writes nothing:
everything the gateway does beyond this is the price of menus, checks and durability.
"""

from __future__ import annotations

import argparse
import hmac
import json
from dataclasses import dataclass

from aiohttp import web

from simulators import population
from sms.encoding import measure

OPEN_MENU = "Доступ в Личный кабинет открыт.\n1. Закрыть\n2. Открыть"
CLOSED_MENU = "Доступ в Личный кабинет закрыт.\n1. Закрыть\n2. Открыть по PUK1"
CONFIRM = "Закрыть доступ в Личный кабинет?\n1. Да, закрыть\n2. Нет"
CLOSED_NOW = "Доступ в Личный кабинет закрыт. Открыть: *141*3*6# и PUK1."
ASK_PUK = "Введите PUK1 вашей SIM-карты (8 цифр):"
OPENED = "Доступ в Личный кабинет открыт."
NOT_AVAILABLE = "Услуга недоступна."


@dataclass(slots=True)
class _Session:
    index: int
    state: str


class BareUssd:
    """The dialogue's logic: three hops to close, three to open with PUK1."""

    def __init__(self) -> None:
        self.closed: set[int] = set()
        self.sessions: dict[str, _Session] = {}

    def hop(self, session_id: str, msisdn: str, op: str, text: str) -> tuple[str, bool]:
        """The screen and whether it ends the session."""
        if op != "begin":
            session = self.sessions.get(session_id)
            if session is None or op != "continue":
                self.sessions.pop(session_id, None)
                return ("", True) if op != "continue" else (NOT_AVAILABLE, True)
            return self._continue(session_id, session, text.strip())
        index = population.index_of(msisdn)
        if index is None or text != "*141*3*6#":
            return NOT_AVAILABLE, True
        is_open = index not in self.closed
        self.sessions[session_id] = _Session(index, "menu_open" if is_open else "menu_closed")
        return (OPEN_MENU if is_open else CLOSED_MENU), False

    def _continue(self, session_id: str, session: _Session, text: str) -> tuple[str, bool]:
        if session.state == "menu_open" and text == "1":
            session.state = "confirm"
            return CONFIRM, False
        if session.state == "menu_closed" and text == "2":
            session.state = "ask_puk"
            return ASK_PUK, False
        if session.state == "confirm" and text == "1":
            self.closed.add(session.index)
            del self.sessions[session_id]
            return CLOSED_NOW, True
        if session.state == "ask_puk" and text == population.puk(session.index):
            self.closed.discard(session.index)
            del self.sessions[session_id]
            return OPENED, True
        del self.sessions[session_id]
        return NOT_AVAILABLE, True


def create_app(secret: str | None) -> web.Application:
    """The bare server: ``POST /ussd`` (native JSON) and ``GET /healthz``."""
    logic = BareUssd()
    expected = f"Bearer {secret}".encode() if secret else None

    async def ussd(request: web.Request) -> web.Response:
        if expected is not None and not hmac.compare_digest(
            request.headers.get("Authorization", "").encode(), expected
        ):
            return web.json_response({"error": "unauthorized", "message": "?"}, status=401)
        doc = json.loads(await request.read())
        text, ends = logic.hop(doc["session_id"], doc["msisdn"], doc["op"], doc["text"])
        m = measure(text)
        body = {
            "session_id": doc["session_id"],
            "op": "end" if ends else "continue",
            "text": text,
            "encoding": str(m.encoding),
            "length": m.units,
        }
        return web.json_response(body, dumps=lambda o: json.dumps(o, ensure_ascii=False))

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/ussd", ussd)
    app.router.add_get("/healthz", healthz)
    return app


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--secret", default=None)
    args = parser.parse_args(argv)
    web.run_app(
        create_app(args.secret),
        host=args.host,
        port=args.port,
        access_log=None,
        print=lambda *_: None,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
