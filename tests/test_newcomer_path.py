"""The newcomer's path: ``make run`` on another port, a demo reset, what ``run`` installs,
and a licence that is the one ``pyproject.toml`` declares."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")


def _dry_run(*args: str) -> str:
    """What ``make -n -B ARGS`` would run (every recipe, as if nothing were built yet)."""
    done = subprocess.run(
        ["make", "-n", "-B", "-C", str(ROOT), *args],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return done.stdout


@needs_make
def test_make_run_takes_a_port_for_the_gateway_and_its_dlr_url() -> None:
    out = _dry_run("run", "PORT=9090")
    assert "--port 9090" in out and "USSD_GATEWAY_SMS_DLR_URL=http://127.0.0.1:9090/sms/dlr" in out
    assert "8080" not in out
    assert "--port 8080" in _dry_run("run")


@needs_make
def test_make_run_starts_the_web_handset_on_the_gateway_and_says_where() -> None:
    out = _dry_run("run", "PORT=9090")
    assert "ussd-handset web --port 8081 --gateway http://127.0.0.1:9090" in out
    assert "--smsc http://127.0.0.1:13013 --mailbox http://127.0.0.1:8026" in out
    assert "ussd-mailbox --smtp-port 8025 --http-port 8026" in out
    assert 'echo "Web handset for testers: http://127.0.0.1:8081/"' in out


@needs_make
def test_make_run_installs_what_running_needs_and_test_the_test_extra() -> None:
    run = _dry_run("run")
    assert "pip install --quiet -e . " in run and "[test]" not in run
    assert "pip install --quiet -e '.[test]'" in _dry_run("test")


@needs_make
def test_the_demo_data_can_be_reset_without_the_virtualenv() -> None:
    for out in (_dry_run("reset-demo"), _dry_run("run", "RESET=1")):
        assert "rm -rf var/demo" in out and "rm -rf .venv" not in out
    assert "rm -rf var/demo" not in _dry_run("run")


def test_the_licence_is_the_one_pyproject_declares() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text
