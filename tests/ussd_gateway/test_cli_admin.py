"""Admin commands on day one: the configured database or a clear error (never a new empty
one), imports that say what they did, a reader that leaves early, and help for every option."""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import OPEN_RU, PEPPER_HEX

from state.sqlite import SqliteStore
from ussd_gateway.config import Settings
from ussd_gateway.process.cli import build_parser, main
from ussd_gateway.process.cli import serving as serving_cli

SCRIPT = Path(sys.executable).with_name("ussd-gateway")


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


async def arun(*argv: str) -> tuple[int, str]:
    """The CLI from an async test: it runs its own event loop, so in a thread."""
    return await asyncio.to_thread(run, *argv)


@pytest.fixture
def cli_env(settings: Settings, store: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the CLI at the seeded test database."""
    monkeypatch.setenv("USSD_GATEWAY_DATABASE", str(settings.database))
    monkeypatch.setenv("USSD_GATEWAY_PUK_PEPPER", PEPPER_HEX)


@pytest.mark.parametrize(
    "argv",
    [
        ("subscribers", "show", "375291112233"),
        ("access", "close", "375291112233"),
        ("puk", "unlock", "375291112233"),
    ],
)
def test_an_admin_command_on_a_missing_database_creates_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
) -> None:
    """Nothing configured, in a fresh directory: a clear error naming where the database was
    looked for and how to point at it; no file, no directory."""
    monkeypatch.chdir(tmp_path)
    code, out = run(*argv)
    err = capsys.readouterr().err
    assert code == 2 and out == ""
    assert "no SQLite database at var/gateway.sqlite3" in err
    assert "--config" in err and "USSD_GATEWAY_DATABASE" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_configured_missing_file_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """USSD_GATEWAY_DATABASE pointing at a file that is not there: named, not created."""
    missing = tmp_path / "elsewhere" / "gw.sqlite3"
    monkeypatch.setenv("USSD_GATEWAY_DATABASE", str(missing))
    assert run("subscribers", "show", "375291112233")[0] == 2
    assert f"no SQLite database at {missing}" in capsys.readouterr().err
    assert not missing.parent.exists()


def test_import_into_a_fresh_database_says_it_created_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Import is how a database gets its subscribers: it may create one, and says so."""
    database = tmp_path / "new" / "gw.sqlite3"
    monkeypatch.setenv("USSD_GATEWAY_DATABASE", str(database))
    monkeypatch.setenv("USSD_GATEWAY_PUK_PEPPER", PEPPER_HEX)
    path = tmp_path / "subs.csv"
    path.write_text("msisdn,puk1\n375445556677,55667788\n", encoding="utf-8")
    code, out = run("subscribers", "import", str(path))
    assert code == 0 and database.is_file()
    assert f"created a new database at {database}" in out and "1 created" in out
    code, out = run("subscribers", "import", str(path))
    assert code == 0 and "created a new database" not in out and "1 updated" in out
    assert run("subscribers", "show", "375445556677")[0] == 0


def test_a_missing_store_copy_source_is_an_error_not_an_empty_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, target = tmp_path / "typo.sqlite3", tmp_path / "target.sqlite3"
    code, _ = run("store", "copy", "--from", str(source), "--to", str(target))
    assert code == 2 and f"no SQLite database at {source}" in capsys.readouterr().err
    assert not source.exists()


async def test_a_client_change_is_refused_then_made_with_update_clients(
    cli_env: None, tmp_path: Path, store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    """A row renaming a client (or changing its kind) is refused with its line and how to
    allow it; ``--update-clients`` makes the change and audits it."""
    path = tmp_path / "subs.csv"
    path.write_text(
        "msisdn;puk1;client_ref;client_kind;client_name\n"
        f"{OPEN_RU.msisdn};{OPEN_RU.puk};client:{OPEN_RU.msisdn};sole_proprietor;Ivanov, IP\n",
        encoding="utf-8",
    )
    code, out = await arun("subscribers", "import", str(path))
    err = capsys.readouterr().err
    assert code == 2 and out == ""
    assert f"{path}:2: would change client 'client:{OPEN_RU.msisdn}'" in err
    assert "kind individual → sole_proprietor" in err and "--update-clients" in err
    assert (await store.get_subscriber(OPEN_RU.msisdn)).client_kind == "individual"

    code, out = await arun("subscribers", "import", str(path), "--update-clients")
    assert code == 0 and "1 updated, 1 clients changed" in out
    sub = await store.get_subscriber(OPEN_RU.msisdn)
    client = await store.get_client(sub.client_id)
    assert (sub.client_kind, client.name) == ("sole_proprietor", "Ivanov, IP")
    entry = (await store.audit_log(msisdn=OPEN_RU.msisdn))[0]
    assert (entry.action, entry.detail["name"]) == (
        "client_updated",
        [f"Client {OPEN_RU.msisdn}", "Ivanov, IP"],
    )
    code, out = await arun("subscribers", "show", OPEN_RU.msisdn)
    assert "client_updated" in out


async def test_import_reads_a_given_delimiter(
    cli_env: None, tmp_path: Path, store: SqliteStore
) -> None:
    path = tmp_path / "subs.csv"
    path.write_text("msisdn|puk1|lang\n375445556677|55667788|en\n", encoding="utf-8")
    code, out = await arun("subscribers", "import", str(path), "--delimiter", "|")
    assert code == 0 and "1 created" in out
    assert (await store.get_subscriber("375445556677")).lang == "en"
    tabbed = tmp_path / "tabbed.csv"
    tabbed.write_text("msisdn\tpuk1\n375445556678\t55667788\n", encoding="utf-8")
    assert (await arun("subscribers", "import", str(tabbed), "--delimiter", "tab"))[0] == 0


# --- a reader that leaves early ------------------------------------------------------------


class _GoneReader(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_reader_gone_is_exit_141_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["menus", "diagram", "access"], out=_GoneReader()) == 141
    assert capsys.readouterr().err == ""


def _closed_pipe_run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the console script with stdout a pipe nobody reads any more (``| head -1`` gone)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [str(SCRIPT), *argv],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize("kind", ["diagram", "show"])
def test_a_closed_pipe_is_quiet(
    kind: str, settings: Settings, store: SqliteStore, tmp_path: Path
) -> None:
    """``ussd-gateway menus diagram access | head -1`` and ``subscribers show … | head -1``:
    exit 141 (SIGPIPE's status in a shell), nothing on stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("USSD_GATEWAY_")}
    env["USSD_GATEWAY_DATABASE"] = str(settings.database)
    argv = ["menus", "diagram", "access"] if kind == "diagram" else ["subscribers", "show",
                                                                      OPEN_RU.msisdn]
    done = _closed_pipe_run(argv, env)
    assert (done.returncode, done.stderr) == (141, "")


# --- help ----------------------------------------------------------------------------------


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every sub-command's parser, depth first (groups such as ``subscribers`` included)."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            listed = {a.dest: a.help for a in action._choices_actions}
            for name, child in action.choices.items():
                assert listed.get(name), f"{' '.join((*path, name))}: no help in the listing"
                found.append(((*path, name), child))
                found += _commands(child, (*path, name))
    return found


LEAVES = {
    ("serve",),
    ("demo",),
    ("subscribers", "import"),
    ("subscribers", "show"),
    ("access",),
    ("puk", "unlock"),
    ("store", "copy"),
    ("menus", "check"),
    ("menus", "diagram"),
}


def test_every_sub_command_explains_itself_and_its_options() -> None:
    """A description on every sub-command, a help text on every argument and option."""
    commands = dict(_commands(build_parser()))
    assert set(commands) >= LEAVES
    for path, parser in commands.items():
        name = " ".join(path)
        assert parser.description, f"{name}: no description"
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
                continue
            assert action.help and action.help != argparse.SUPPRESS, (
                f"{name} {'/'.join(action.option_strings) or action.dest}: no help"
            )


@pytest.mark.parametrize("path", sorted(LEAVES))
def test_help_prints_for_every_leaf(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([*path, "--help"])
    assert done.value.code == 0
    assert "usage: ussd-gateway " + " ".join(path) in capsys.readouterr().out


def test_the_demo_banner_says_how_to_reach_its_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``make run`` prints how to point admin commands at the demo database."""
    def bound(settings: object, args: object, out: object, banner: Any = None) -> int:
        if banner is not None:  # serve prints the banner once the port is bound
            banner()
        return 0

    monkeypatch.setattr(serving_cli, "_cmd_serve", bound)
    code, out = run("demo", "--data-dir", str(tmp_path / "demo"))
    database, pepper = tmp_path / "demo" / "gateway.sqlite3", tmp_path / "demo" / "puk-pepper"
    assert code == 0
    assert (
        f"USSD_GATEWAY_DATABASE={database} USSD_GATEWAY_PUK_PEPPER_FILE={pepper} "
        ".venv/bin/ussd-gateway subscribers show 375291000001"
    ) in out
