"""The hop engine's own state on the session: the pages of a long screen in their own
fields (never in the model's ``data``), the hop key as a length and a tag, and the one
place that says a screen ends the session."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import structlog
from support import OPEN_EN, OPEN_RU, FakeClock

from state.credentials import PasswordHasher, Pepper
from state.models import UssdSession
from state.sqlite import SqliteStore
from ussd_gateway.dialects.model import Op, UssdRequest
from ussd_gateway.errors import BadRequest
from ussd_gateway.hop import paging
from ussd_gateway.hop.engine import Engine
from ussd_gateway.hop.hop_key import HopKey, this_input
from ussd_gateway.menus.loader import LOCK_ALERT, MenuCatalog, Screen, load_catalog
from ussd_gateway.menus.paginate import NAV_BACK, NAV_MORE

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "menus"
PAGES = ("first", "second", "third")

NEWS = """
service:
  code: "*141*8#"
  title: {ru: "Новости", en: "News"}
machine:
  name: news
  states:
    start:
      initial: true
      transitions:
        - {event: read, target: article}
    article: {final: true}
screens:
  start:
    text: {ru: "Новости:", en: "News:"}
    options:
      - {key: "1", event: read, label: {ru: "Читать", en: "Read"}}
  article:
    text: {ru: "Новость.", en: "News."}
"""


def _catalog(tmp_path: Path) -> MenuCatalog:
    """The paginated fixture (nine options over pages) and a service whose final screen
    needs four pages (a screen the checker would refuse, so put in after loading)."""
    (tmp_path / "news.yaml").write_text(NEWS, encoding="utf-8")
    paths = [*sorted((FIXTURES / "paginated").glob("*.yaml")), tmp_path / "news.yaml"]
    catalog = load_catalog(paths)
    news = catalog.menus["news"]
    article = Screen({"ru": "\n".join(f"Строка новости номер {i}." for i in range(1, 9))})
    news = replace(news, screens={**news.screens, "article": article})
    return MenuCatalog({**catalog.menus, "news": news}, catalog.common)


@pytest.fixture(autouse=True)
def request_id() -> Iterator[None]:
    """What the HTTP middleware binds: every hop line carries one (test_logs.py checks)."""
    with structlog.contextvars.bound_contextvars(request_id="hop-engine-test"):
        yield


@pytest.fixture
def engine(tmp_path: Path, store: SqliteStore, pepper: Pepper, clock: FakeClock) -> Engine:
    return Engine(
        store=store, catalog=_catalog(tmp_path), pepper=pepper, hasher=PasswordHasher(),
        clock=clock,
    )


class Phone:
    """One native session, hop by hop, straight into the engine."""

    def __init__(self, engine: Engine, session_id: str, msisdn: str = OPEN_RU.msisdn) -> None:
        self.engine, self.session_id, self.msisdn, self.hop = engine, session_id, msisdn, 0

    async def send(self, text: str) -> tuple[str, bool]:
        op = Op.BEGIN if self.hop == 0 else Op.CONTINUE
        self.hop += 1
        answer = await self.engine.handle(
            UssdRequest("native", self.session_id, self.msisdn, op, text, str(self.hop))
        )
        return answer.text, answer.ends


async def _session(store: SqliteStore, session_id: str) -> UssdSession:
    session, _ = await store.load_hop(f"native:{session_id}", OPEN_RU.msisdn)
    assert session is not None
    return session


def _row(store: SqliteStore, session_id: str) -> tuple[str, str | None, int]:
    with sqlite3.connect(store.path) as db:
        row = db.execute(
            "SELECT data, pages, page FROM ussd_sessions WHERE id = ?", (f"native:{session_id}",)
        ).fetchone()
    return row[0], row[1], row[2]


async def test_the_pages_of_a_long_screen_are_kept_apart_from_the_models_data(
    engine: Engine, store: SqliteStore
) -> None:
    """A paged screen's pages and the page shown live in their own columns; ``data`` is
    the model's alone; choosing an option leaves no pages behind."""
    phone = Phone(engine, "p-1")
    first, ends = await phone.send("*141*9#")
    assert not ends
    session = await _session(store, "p-1")
    assert len(session.pages) > 1 and session.pages[0] == first and session.page == 0
    data, pages, page = _row(store, "p-1")
    assert json.loads(data) == {} and pages is not None and json.loads(pages) == list(session.pages)
    second, _ = await phone.send(NAV_MORE)
    assert second == session.pages[1]
    assert (await _session(store, "p-1")).page == 1
    assert (await phone.send(NAV_BACK))[0] == first
    assert (await _session(store, "p-1")).page == 0
    done, ends = await phone.send("1")
    assert ends and done == "Подробности отправлены в SMS."
    assert _row(store, "p-1") == ("{}", None, 0)


async def test_a_final_screen_ends_the_session_with_its_last_page(
    engine: Engine, store: SqliteStore
) -> None:
    """A final screen over four pages: each page turns without ending the session, any
    other input shows the same page again, and the last page ends it, keeping nothing."""
    phone = Phone(engine, "f-1")
    await phone.send("*141*8#")
    text, ends = await phone.send("1")
    session = await _session(store, "f-1")
    assert not ends and session.state == "article" and len(session.pages) == 4
    assert session.data == {} and text == session.pages[0]
    assert await phone.send("7") == (session.pages[0], False)
    for shown in (1, 2):
        assert await phone.send(NAV_MORE) == (session.pages[shown], False)
    assert await phone.send(NAV_MORE) == (session.pages[3], True)
    ended = await _session(store, "f-1")
    assert ended.ended and ended.end_reason == "completed"
    assert (ended.pages, ended.page, ended.data) == ((), 0, {})


async def test_an_abort_drops_the_pages(engine: Engine, store: SqliteStore) -> None:
    """The network ending a paged session annuls its pages with its data."""
    phone = Phone(engine, "a-1")
    await phone.send("*141*9#")
    await engine.handle(UssdRequest("native", "a-1", OPEN_RU.msisdn, Op.ABORT, "", "abort"))
    session = await _session(store, "a-1")
    assert session.end_reason == "abort" and session.pages == () and session.page == 0


async def test_the_sweeper_drops_the_pages(
    engine: Engine, store: SqliteStore, clock: FakeClock
) -> None:
    """A paged session that idles out is ended by the sweeper with its pages dropped."""
    await Phone(engine, "s-1").send("*141*9#")
    assert (await _session(store, "s-1")).pages
    await store.sweep_sessions(clock() + 61, idle=60, total=180, keep=600)
    swept = await _session(store, "s-1")
    assert swept.end_reason == "expired" and (swept.pages, swept.data) == ((), {})


async def test_the_hop_key_is_kept_as_its_length_and_tag(
    engine: Engine, store: SqliteStore, pepper: Pepper
) -> None:
    """A cumulative session keeps the length and the keyed tag of its last text, which
    the next hop's text must continue."""

    async def hop(op: Op, text: str) -> str:
        req = UssdRequest("africastalking", "c-1", OPEN_RU.msisdn, op, text, text,
                          service_code="*141*9#", cumulative=True)
        return (await engine.handle(req)).text

    await hop(Op.BEGIN, "")
    await hop(Op.CONTINUE, NAV_MORE)
    session, _ = await store.load_hop("africastalking:c-1", OPEN_RU.msisdn)
    assert session is not None
    assert (session.last_hop_length, session.last_hop_tag) == (2, pepper.tag("ussd-hop", "98"))
    assert HopKey.of(pepper, "98").is_last_of(session)
    with pytest.raises(BadRequest):
        await hop(Op.CONTINUE, "97*00")
    assert (await hop(Op.CONTINUE, "98*00")) == session.pages[0]


def test_this_input_is_what_follows_the_last_key() -> None:
    pepper = Pepper(b"k" * 32)
    key = HopKey.of(pepper, "1*2")
    session = UssdSession("at:x", OPEN_RU.msisdn, "access", "menu", "ru", 0.0, 0.0, 2,
                          key.length, key.tag, {})
    assert this_input("1*2*3", session, pepper) == "3"
    assert this_input("1*2*", session, pepper) == ""
    for broken in ("1*3*3", "1*2", "1*23", ""):
        with pytest.raises(BadRequest):
            this_input(broken, session, pepper)
    first = replace(session, last_hop_length=0, last_hop_tag=HopKey.of(pepper, "").tag)
    assert this_input("5", first, pepper) == "5"


@pytest.mark.parametrize(
    ("page", "text", "final", "shown"),
    [
        (0, NAV_MORE, False, 1),
        (2, NAV_MORE, False, None),  # no page after the last: the machine's input
        (0, NAV_BACK, False, None),
        (1, NAV_BACK, True, 0),
        (2, NAV_MORE, True, 2),  # a final screen shows the same page again
        (1, "4", True, 1),
        (1, "4", False, None),
    ],
)
def test_turning_pages(page: int, text: str, final: bool, shown: int | None) -> None:
    assert paging.turn(PAGES, page, text, final) == shown


def test_no_pages_no_turn() -> None:
    assert paging.turn((), 0, NAV_MORE, True) is None


def test_a_page_ends_the_session_only_as_the_last_of_a_final_screen() -> None:
    assert [paging.show(PAGES, i, True).ends for i in range(3)] == [False, False, True]
    assert not any(paging.show(PAGES, i, False).ends for i in range(3))
    assert paging.show(["one"], 0, True).ends


def test_a_menu_ends_at_its_final_states(tmp_path: Path) -> None:
    menu = _catalog(tmp_path).menus["news"]
    assert menu.ends_at("article") and not menu.ends_at("start")


def test_the_lock_alert_falls_back_to_the_default_language_then_any() -> None:
    catalog = load_catalog()
    texts = catalog.menus["access"].messages[LOCK_ALERT]
    assert catalog.lock_alert("en") == texts["en"] and catalog.lock_alert("ru") == texts["ru"]
    assert catalog.lock_alert("be") == texts["ru"]
    access = replace(catalog.menus["access"], messages={LOCK_ALERT: {"en": "locked"}})
    only_en = MenuCatalog({"access": access}, catalog.common)
    assert only_en.lock_alert("ru") == only_en.lock_alert("be") == "locked"
    assert MenuCatalog({}, catalog.common).lock_alert(OPEN_EN.lang) == ""
