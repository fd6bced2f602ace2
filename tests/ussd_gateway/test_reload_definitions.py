"""Reloading the menus and the SMS commands (what SIGHUP does), in one process: new sessions
on the new menus, sessions in flight on theirs, a broken set refused whole; the SMS
commands of the moment in every MO reply and code SMS."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from support import API_SECRET, MO_SECRET, OPEN_EN, OPEN_RU, FakeClock, read_log

from sms.commands import shipped_commands_path
from state.credentials import PasswordHasher, Pepper, Sealer
from state.sqlite import SqliteStore
from ussd_gateway.app import create_app, reload_definitions
from ussd_gateway.config import Settings
from ussd_gateway.dialects.model import Op, UssdRequest
from ussd_gateway.hop.catalogs import Catalogs
from ussd_gateway.hop.engine import Engine
from ussd_gateway.hop.timeouts import SessionTimeouts
from ussd_gateway.http.appkeys import ENGINE, SMS_COMMANDS, SMS_REQUESTS
from ussd_gateway.menus.check import default_menu_paths
from ussd_gateway.menus.loader import MenuCatalog, load_catalog

MENU_OPEN = "Доступ в Личный кабинет открыт."
CONFIRM = "Закрыть доступ в Личный кабинет?"
HELP = "Пароль: *141*0#. Доступ: *141*3*6#. Код для входа: отправьте КОД."
CODE_EN = "Your self-service code: {code}. Do not share it with anyone."


def menus_in(folder: Path) -> list[Path]:
    """A copy of the shipped menus that a test may change."""
    folder.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy(path, folder)) for path in default_menu_paths()]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


class Phone:
    """One native session straight into the engine."""

    def __init__(self, engine: Engine, session_id: str, msisdn: str = OPEN_RU.msisdn) -> None:
        self.engine, self.session_id, self.msisdn, self.hop = engine, session_id, msisdn, 0

    async def send(self, text: str) -> str:
        op = Op.BEGIN if self.hop == 0 else Op.CONTINUE
        self.hop += 1
        request = UssdRequest("native", self.session_id, self.msisdn, op, text, str(self.hop))
        return (await self.engine.handle(request)).text


@pytest.fixture
def engine(store: SqliteStore, pepper: Pepper, clock: FakeClock) -> Engine:
    return Engine(store=store, catalog=load_catalog(), pepper=pepper, hasher=PasswordHasher(),
                  clock=clock, timeouts=SessionTimeouts(60, 180))


async def test_new_sessions_get_the_new_menu_and_sessions_in_flight_keep_theirs(
    engine: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    """A session begun before the reload answers its next screens from the old menu."""
    paths = menus_in(tmp_path / "menus")
    access = next(p for p in paths if p.name == "access.yaml")
    before = Phone(engine, "before")
    assert (await before.send("*141*3*6#")).startswith(MENU_OPEN)
    edit(access, MENU_OPEN, "Доступ открыт (v2).")
    edit(access, CONFIRM, "Закрыть доступ? (v2)")
    clock.advance(5)
    engine.install_catalog(load_catalog(paths))
    after = Phone(engine, "after")
    assert (await after.send("*141*3*6#")).startswith("Доступ открыт (v2).")
    clock.advance(5)
    assert (await before.send("1")).startswith(CONFIRM)
    assert (await after.send("1")).startswith("Закрыть доступ? (v2)")
    assert (await before.send("2")) == "Доступ не изменён."


async def test_a_state_the_new_menu_lacks_does_not_end_a_session_in_flight(
    engine: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    """The new version renamed the state the session waits in: it still goes on."""
    paths = menus_in(tmp_path / "menus")
    access = next(p for p in paths if p.name == "access.yaml")
    before = Phone(engine, "renamed")
    await before.send("*141*3*6#")
    assert (await before.send("1")).startswith(CONFIRM)  # waits in confirm_close
    edit(access, "confirm_close", "confirm_closing")
    clock.advance(1)
    engine.install_catalog(load_catalog(paths))
    clock.advance(1)
    assert (await Phone(engine, "new").send("*141*3*6#")).startswith(MENU_OPEN)
    assert (await before.send("2")) == "Доступ не изменён."


def test_a_replaced_catalogue_is_kept_for_one_session_lifetime(tmp_path: Path) -> None:
    """Each session gets the catalogue current when it started; one replaced longer ago
    than a session lives is dropped."""
    first, second, third = (MenuCatalog({}, {"n": {"ru": str(n)}}) for n in range(3))
    catalogs = Catalogs(first, keep=180)
    catalogs.install(second, 1000)
    catalogs.install(third, 1100)
    assert catalogs.kept == (first, second, third)
    assert catalogs.for_session(999, 1150) is first
    assert catalogs.for_session(1000, 1150) is second
    assert catalogs.for_session(1099, 1150) is second
    assert catalogs.for_session(1100, 1150) is third
    assert catalogs.for_session(999, 1181) is second  # first dropped: no session is that old
    assert catalogs.kept == (second, third)
    assert catalogs.for_session(1050, 1281) is third
    assert catalogs.kept == (third,) and catalogs.current is third


async def test_a_broken_set_is_refused_whole_and_logged_once(
    settings: Settings, store: SqliteStore, clock: FakeClock, tmp_path: Path
) -> None:
    """A broken menu keeps the old menus and the old SMS commands; so does a broken SMS
    command file with good menus. Each refusal is one warning with its problems."""
    paths = menus_in(tmp_path / "menus")
    access = next(p for p in paths if p.name == "access.yaml")
    app = create_app(replace(settings, menu_paths=tuple(paths)), clock=clock)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        catalog, commands = app[ENGINE].catalog, app[SMS_REQUESTS].commands
        sms = Path(shutil.copy(shipped_commands_path(), tmp_path / "sms.yaml"))
        edit(sms, HELP, "Справка v2: *141*0#, *141*3*6#, КОД.")
        edit(access, "target: kept_open", "target: nowhere")
        before = len(read_log())
        assert not await reload_definitions(app, commands_path=sms)
        assert app[ENGINE].catalog is catalog and app[SMS_REQUESTS].commands is commands
        edit(access, "target: nowhere", "target: kept_open")
        edit(sms, "replies:", "replies:\n  nonsense: {ru: x, en: y}")
        assert not await reload_definitions(app, commands_path=sms)
        assert app[ENGINE].catalog is catalog and app[SMS_REQUESTS].commands is commands
    finally:
        await server.close()
    refused = [line for line in read_log()[before:] if line["event"] == "definitions_reload_refused"]
    assert [line["level"] for line in refused] == ["warning", "warning"]
    menu_problems, sms_problems = (line["problems"] for line in refused)
    assert any("access.yaml" in p and "nowhere" in p for p in menu_problems)  # type: ignore[attr-defined]
    assert any("sms.yaml" in p and "nonsense" in p for p in sms_problems)  # type: ignore[attr-defined]


async def test_the_sms_commands_of_the_moment_answer_mos_and_compose_codes(
    gateway: TestServer, http: aiohttp.ClientSession, store: SqliteStore, pepper: Pepper,
    tmp_path: Path,
) -> None:
    """After a reload the MO replies and the code SMS use the new texts; a broken command
    file keeps them."""
    app = gateway.app

    async def mo(text: str) -> str:
        async with http.post(gateway.make_url("/sms/mo"), json={"from": OPEN_RU.msisdn, "text": text},
                             headers={"Authorization": f"Bearer {MO_SECRET}"}) as response:
            return str((await response.json())["reply"])

    assert await mo("HELP") == HELP
    sms = Path(shutil.copy(shipped_commands_path(), tmp_path / "sms.yaml"))
    edit(sms, HELP, "Справка v2: *141*0#, *141*3*6#, КОД.")
    edit(sms, CODE_EN, "Code v2: {code}. Keep it to yourself.")
    assert await reload_definitions(app, commands_path=sms)
    assert await mo("HELP") == "Справка v2: *141*0#, *141*3*6#, КОД."
    async with http.post(gateway.make_url("/api/v1/codes"),
                         json={"msisdn": OPEN_EN.msisdn, "purpose": "login"},
                         headers={"Authorization": f"Bearer {API_SECRET}"}) as response:
        assert response.status == 202
    row = (await store.outbox(OPEN_EN.msisdn))[-1]
    assert Sealer(pepper).open(row.body).startswith("Code v2: ")
    edit(sms, "replies:", "replies:\n  nonsense: {ru: x, en: y}")
    assert not await reload_definitions(app, commands_path=sms)
    assert await mo("HELP") == "Справка v2: *141*0#, *141*3*6#, КОД."
    assert app[SMS_COMMANDS] is not app[SMS_REQUESTS].commands  # the start-up set, unused
