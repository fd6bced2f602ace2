"""The admin CLI against a real database file."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from support import CLOSED_ORG, CLOSED_SELF, OPEN_RU, PEPPER_HEX

from state.models import ClosedBy
from state.sqlite import SqliteStore
from ussd_gateway.config import Settings
from ussd_gateway.process.cli import main


@pytest.fixture
def cli_env(settings: Settings, store: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the CLI at the seeded test database."""
    monkeypatch.setenv("USSD_GATEWAY_DATABASE", str(settings.database))
    monkeypatch.setenv("USSD_GATEWAY_PUK_PEPPER", PEPPER_HEX)


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


async def arun(*argv: str) -> tuple[int, str]:
    """The CLI from an async test: it runs its own event loop, so in a thread."""
    return await asyncio.to_thread(run, *argv)


async def test_import_then_show(cli_env: None, tmp_path: Path, store: SqliteStore,
                                capsys: pytest.CaptureFixture[str]) -> None:
    """Import a CSV; `show` prints state and audit without any secret."""
    path = tmp_path / "new.csv"
    path.write_text("msisdn,puk1,lang\n+375 44 555-66-77,55667788,en\n", encoding="utf-8")
    code, out = await arun("subscribers", "import", str(path))
    assert code == 0 and "1 created" in out
    code, out = await arun("subscribers", "show", "80445556677")
    assert code == 0 and "375445556677" in out and "access        open" in out
    assert "55667788" not in out and "argon2" not in out


async def test_operator_close_and_open(cli_env: None, store: SqliteStore) -> None:
    """The operator closes access (taking over precedence) and opens it again."""
    code, out = await arun("access", "close", OPEN_RU.msisdn, "--by", "operator", "--reason", "lost SIM")
    assert code == 0 and out.strip().endswith("closed")
    sub = await store.get_subscriber(OPEN_RU.msisdn)
    assert sub.closed_by is ClosedBy.OPERATOR and sub.closed_reason == "lost SIM"
    audit = (await store.audit_log(msisdn=OPEN_RU.msisdn))[0]
    assert (audit.action, audit.actor, str(audit.channel)) == ("access_closed", "cli:operator", "cli")
    assert (await arun("access", "open", OPEN_RU.msisdn, "--by", "operator"))[0] == 0
    assert (await store.get_subscriber(OPEN_RU.msisdn)).access_open


async def test_subscriber_source_cannot_lift_organisation_closure(cli_env: None) -> None:
    """Precedence holds in the CLI too."""
    code, out = await arun("access", "open", CLOSED_ORG.msisdn, "--by", "subscriber")
    assert code == 1 and "not_permitted" in out


async def test_puk_unlock(cli_env: None, store: SqliteStore) -> None:
    """`puk unlock` clears a lock and records who did it."""
    from dataclasses import replace

    from state.models import ChangeSet

    sub = await store.get_subscriber(CLOSED_SELF.msisdn)
    await store.commit(ChangeSet.write(sub, replace(sub, puk_failures=5, puk_locked_at=1.0,
                                                    version=sub.version + 1)))
    code, out = await arun("puk", "unlock", CLOSED_SELF.msisdn)
    assert code == 0 and "unlocked" in out
    sub = await store.get_subscriber(CLOSED_SELF.msisdn)
    assert not sub.puk_locked and sub.puk_failures == 0
    assert (await store.audit_log(msisdn=CLOSED_SELF.msisdn))[0].action == "puk_unlocked"


async def test_unknown_and_malformed_numbers(cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    """Clear one-line errors, exit 2, no traceback."""
    assert (await arun("subscribers", "show", "375290000000"))[0] == 2
    assert (await arun("subscribers", "show", "12"))[0] == 2
    err = capsys.readouterr().err
    assert "no subscriber 375290000000" in err and "Traceback" not in err


def test_menus_check_and_diagram() -> None:
    """The shipped menus are clean; the diagram is Mermaid from the library."""
    code, out = run("menus", "check")
    assert code == 0 and out.startswith("ok:")
    code, out = run("menus", "diagram", "access")
    assert code == 0 and out.startswith("stateDiagram-v2") and "ask_puk" in out


def test_menus_check_reports_broken_file(tmp_path: Path) -> None:
    """A broken menu gives file:line problems and exit 1."""
    path = tmp_path / "broken.yaml"
    path.write_text("service: {code: '*1#', title: {ru: a, en: b}}\nmachine:\n  states:\n"
                    "    a: {initial: true, transitions: [{event: x, target: nowhere}]}\n",
                    encoding="utf-8")
    code, out = run("menus", "check", str(path))
    assert code == 1 and f"{path}:4:" in out and "nowhere" in out


def test_serve_without_pepper_refuses_to_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Outside demo mode a missing pepper is a configuration error, not a new random one."""
    monkeypatch.setenv("USSD_GATEWAY_DATABASE", str(tmp_path / "db.sqlite3"))
    assert run("serve")[0] == 2
    assert "PUK1 pepper" in capsys.readouterr().err
