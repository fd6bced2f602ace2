"""``config check``, ``--config`` after any command's name, and ``--version`` on every script."""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import aiohttp
import pytest
from support import PEPPER_HEX, SECRETS

from simulators.dialects import HttpError
from simulators.handset import Handset
from simulators.process import gateway_process
from ussd_gateway.process.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]
SECRET = "hunter2-very-secret"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def write(tmp_path: Path, text: str, name: str = "gw.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- config check --------------------------------------------------------------------------


def test_config_check_prints_the_effective_configuration_with_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, f'[server]\nport = 9000\nhost = "0.0.0.0"\n[dialects]\nnative = "{SECRET}"\n'
                           f'[store]\ndatabase = "postgresql://gw:{SECRET}@db/gw"\n')
    monkeypatch.setenv("USSD_GATEWAY_PORT", "9100")
    monkeypatch.setenv("USSD_GATEWAY_SMTP_PASSWORD", SECRET)
    monkeypatch.setenv("USSD_GATEWAY_PUK_PEPPER", "ab" * 32)
    monkeypatch.setenv("USSD_GATEWAY_SECRET", "the handset's, not ours")
    code, out = run("config", "check", "--config", str(path))
    assert code == 0
    assert SECRET not in out and "abab" not in out
    lines = out.splitlines()
    assert any(line.startswith('host = "0.0.0.0" ') and line.endswith(f"# file {path}")
               for line in lines)
    assert any(line.startswith("port = 9100 ") and line.endswith("# environment USSD_GATEWAY_PORT")
               for line in lines)
    assert any(line.startswith("pool_size = 10 ") and line.endswith("# default") for line in lines)
    assert any(line.startswith('native = "**********"') for line in lines)
    assert any(line.startswith('smtp_password = "**********"') for line in lines)
    assert any(line.startswith('# puk_pepper = "**********"') for line in lines)  # env only
    assert any('"postgresql://gw:**********@db/gw"' in line for line in lines)
    assert "# USSD_GATEWAY_SECRET is no setting of the gateway: ignored" in lines
    # It is TOML: read back, it is the configuration (secrets as the mask).
    doc = tomllib.loads(out)
    assert doc["server"] == {"host": "0.0.0.0", "port": 9100, "max_body_bytes": 16384}
    assert doc["numbering"]["country_code"] == "375"
    assert doc["codes"]["allowed_prefixes"] == ["37525", "37529", "37533", "37544"]


def test_config_check_without_a_file_says_so() -> None:
    code, out = run("config", "check")
    assert code == 0 and out.startswith("# ussd-gateway configuration: no file")
    values = [line for line in out.splitlines() if line and line[0] not in "#["]
    assert values and all("  # default" in line for line in values)


def test_config_check_prints_every_problem_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, f'[server]\nport = 80920\n[sever]\n[dialects]\nnative = ["{SECRET}"]\n')
    monkeypatch.setenv("USSD_GATEWAY_LOG_LEVEL", "verbose")
    monkeypatch.setenv("USSD_GATEWAY_PUK_PEPPER", SECRET)
    code, out = run("--config", str(path), "config", "check")
    err = capsys.readouterr().err
    assert code == 2 and out == ""
    problems = err.splitlines()
    assert problems[-1] == "5 problems: the gateway would not start"
    for key in ("server.port", "[sever]", "dialects.native", "USSD_GATEWAY_LOG_LEVEL",
                "USSD_GATEWAY_PUK_PEPPER"):
        assert sum(key in line for line in problems[:-1]) == 1, key
    assert SECRET not in err


# --- --config after the command ------------------------------------------------------------


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path of the grammar (``("serve",)``, ``("menus", "check")``, …)."""
    found: list[tuple[str, ...]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _commands(sub, (*prefix, name)) or [(*prefix, name)]
    return found


REQUIRED = {
    ("subscribers", "import"): ["f.csv"], ("subscribers", "show"): ["375291112233"],
    ("access",): ["close", "375291112233", "--by", "operator"], ("puk", "unlock"): ["375291112233"],
    ("menus", "diagram"): ["access"],
    ("store", "copy"): ["--from", "a.sqlite3", "--to", "b.sqlite3"],
}


def test_every_command_takes_config_after_its_name_too() -> None:
    parser = build_parser()
    commands = _commands(parser)
    assert ("serve",) in commands and ("config", "check") in commands
    for command in commands:
        rest = REQUIRED.get(command, [])
        after = parser.parse_args([*command, *rest, "--config", "after.toml"])
        before = parser.parse_args(["--config", "before.toml", *command, *rest])
        both = parser.parse_args(["--config", "before.toml", *command, "--config", "after.toml",
                                  *rest])
        neither = parser.parse_args([*command, *rest])
        assert (after.config, before.config, both.config, neither.config) == (
            Path("after.toml"), Path("before.toml"), Path("after.toml"), None
        ), command


@pytest.mark.parametrize("form", ["after", "before"])
def test_serve_reads_the_config_given_after_or_before(
    tmp_path: Path, form: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, '[log]\nlevel = "verbose"\n')
    argv = ["serve", "--config", str(path)] if form == "after" else ["--config", str(path), "serve"]
    assert run(*argv)[0] == 2
    err = capsys.readouterr().err
    assert str(path) in err and "log.level" in err and "unrecognized" not in err


def test_a_command_reads_the_config_given_after_its_name(tmp_path: Path) -> None:
    """``menus diagram NAME --config FILE`` finds a menu only that file's [menus] names."""
    mine = tmp_path / "mine.yaml"
    shutil.copy(ROOT / "menus" / "access.yaml", mine)
    path = write(tmp_path, f'[menus]\npaths = ["{mine}"]\n')
    assert run("menus", "diagram", "mine")[0] == 1
    code, out = run("menus", "diagram", "mine", "--config", str(path))
    assert code == 0 and out.startswith("stateDiagram-v2")


@pytest.mark.slow
async def test_serve_with_config_after_the_command_in_a_real_process(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """The gateway started as ``serve --config FILE`` takes its caller secret from the file."""
    pepper = tmp_path / "pepper"
    pepper.write_text(PEPPER_HEX, encoding="ascii")
    path = write(tmp_path, f'[store]\ndatabase = "{tmp_path / "gw.sqlite3"}"\n'
                           f'pepper_file = "{pepper}"\n[dialects]\nnative = "{SECRETS["native"]}"\n'
                           f'[sms]\noutbox_file = "{tmp_path / "outbox.jsonl"}"\n')
    async with gateway_process({}, serve_args=["--config", str(path)]) as gateway:
        phone = Handset(http, url=gateway.url, msisdn="375291112233", secret=SECRETS["native"])
        screen = await phone.dial("*141*3*6#")  # no such subscriber, but an authorised caller
        assert screen.ends
        wrong = Handset(http, url=gateway.url, msisdn="375291112233", secret="not-the-file's")
        with pytest.raises(HttpError) as refused:
            await wrong.dial("*141*3*6#")
        assert refused.value.status == 401


# --- --version -----------------------------------------------------------------------------


@pytest.mark.parametrize("script", ["ussd-gateway", "ussd-handset", "ussd-smsc", "ussd-load"])
def test_every_console_script_tells_its_version(script: str) -> None:
    exe = Path(sys.executable).with_name(script)
    assert exe.exists(), f"{script} is a [project.scripts] entry (pip install -e .)"
    done = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60,
                          check=False)
    assert (done.returncode, done.stdout) == (0, f"{script} {version('ussd-gateway')}\n")
