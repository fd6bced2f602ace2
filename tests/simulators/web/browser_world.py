"""What the browser tests run against: Chromium, and the demo's processes on loopback.

:func:`require_chromium` skips a test where no Chromium (or no Playwright) is installed, and
fails it under ``CI=true``, as ``tests/kannel`` does for Kannel. :class:`DemoWorld` starts
the real processes ``make run`` starts — the gateway (demo subscribers, every dialect's
caller secret, the SMS sender pointed at ``ussd-smsc``, mail at ``ussd-mailbox``, plus the
long help menu of the pagination tests), the SMSC simulator, the mailbox and
``ussd-handset web`` — each on a free port, with its output in a log file the tests scan
for secrets.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support import API_SECRET, SECRETS

from simulators.process import free_port
from state.credentials import Pepper
from state.sqlite import SqliteStore
from ussd_gateway.menus.check.files import default_menu_paths
from ussd_gateway.process.demo import seed_demo

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
HELP_MENU = ROOT / "tests" / "fixtures" / "menus" / "paginated" / "help.yaml"
SCREENSHOTS = ROOT / "var" / "screenshots"
STARTUP_SECONDS = 20.0


def find_chromium() -> str | None:
    """The system's Chromium: ``$CHROMIUM``, then Debian's paths, then ``PATH``."""
    for candidate in (os.environ.get("CHROMIUM", ""), *CHROMIUM_PATHS):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> str:
    """Chromium's path; skip without it or without Playwright, fail instead when ``CI=true``."""
    chromium = find_chromium()
    try:
        import playwright.sync_api  # noqa: F401 - only whether it is installed
    except ImportError:
        reason = "Playwright for Python is not installed (pip install -e '.[test]')"
    else:
        if chromium is not None:
            return chromium
        reason = "Chromium is not installed (apt-get install chromium; or set CHROMIUM=path)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} — CI=true, so this is a failure, not a skip", pytrace=False)
    pytest.skip(reason)


def _wait_for(url: str, process: subprocess.Popen[bytes], name: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{name} did not answer {url} within {STARTUP_SECONDS:.0f} s")


@dataclass
class DemoWorld:
    """The running processes: their URLs and log files."""

    folder: Path
    gateway_url: str = ""
    web_url: str = ""
    smsc_url: str = ""
    mailbox_url: str = ""
    scripts_dir: Path = field(default_factory=Path)
    logs: dict[str, Path] = field(default_factory=dict)
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self) -> None:
        data = self.folder / "demo"
        data.mkdir(parents=True)
        _seed_demo(data)
        smsc_port, smtp_port, mail_port, gateway_port, web_port = (free_port() for _ in range(5))
        self.smsc_url = f"http://127.0.0.1:{smsc_port}"
        self.mailbox_url = f"http://127.0.0.1:{mail_port}"
        self.gateway_url = f"http://127.0.0.1:{gateway_port}"
        self.web_url = f"http://127.0.0.1:{web_port}"
        self.scripts_dir = self.folder / "scripts"
        python = sys.executable
        smsc = self._spawn("smsc", [python, "-m", "simulators.smsc", "serve", "--port",
                                    str(smsc_port), "--record", str(data / "smsc.jsonl"),
                                    "--dlr-delay", "0.1"])
        mailbox = self._spawn("mailbox", [python, "-m", "simulators.mailbox", "--smtp-port",
                                          str(smtp_port), "--http-port", str(mail_port)])
        config = self.folder / "gateway.toml"
        menus = [str(p) for p in default_menu_paths()] + [str(HELP_MENU)]
        config.write_text(f"[menus]\npaths = {json.dumps(menus)}\n", encoding="utf-8")
        gateway_env = {
            "USSD_GATEWAY_CONFIG": str(config),
            "USSD_GATEWAY_PORT": str(gateway_port),
            "USSD_GATEWAY_DATABASE": str(data / "gateway.sqlite3"),
            "USSD_GATEWAY_PUK_PEPPER_FILE": str(data / "puk-pepper"),
            "USSD_GATEWAY_SMS_SENDER": "kannel",
            "USSD_GATEWAY_KANNEL_SENDSMS_URL": f"{self.smsc_url}/cgi-bin/sendsms",
            "USSD_GATEWAY_KANNEL_USERNAME": "tester",
            "USSD_GATEWAY_KANNEL_PASSWORD": "testpw",
            "USSD_GATEWAY_SMTP_PORT": str(smtp_port),
            "USSD_GATEWAY_API_SECRET": API_SECRET,
            **self.dialect_secrets(),
        }
        gateway = self._spawn("gateway", [python, "-m", "ussd_gateway", "serve"], gateway_env)
        web = self._spawn(
            "web",
            [python, "-m", "simulators.handset", "web", "--port", str(web_port), "--gateway",
             self.gateway_url, "--smsc", self.smsc_url, "--mailbox", self.mailbox_url,
             "--scripts-dir", str(self.scripts_dir)],
            self.dialect_secrets(),
        )
        _wait_for(f"{self.smsc_url}/messages", smsc, "ussd-smsc")
        _wait_for(f"{self.mailbox_url}/letters", mailbox, "ussd-mailbox")
        _wait_for(f"{self.gateway_url}/healthz", gateway, "the gateway")
        _wait_for(f"{self.web_url}/api/config", web, "ussd-handset web")

    @staticmethod
    def dialect_secrets() -> dict[str, str]:
        """Each dialect's caller secret, as the gateway and the web handset read them."""
        return {f"USSD_GATEWAY_SECRET_{name.upper()}": value for name, value in SECRETS.items()}

    def _spawn(
        self, name: str, command: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("USSD_GATEWAY_")}
        log = self.folder / f"{name}.log"
        self.logs[name] = log
        with log.open("ab") as out:
            process = subprocess.Popen(
                command, cwd=ROOT, env={**inherited, **(env or {})}, stdout=out, stderr=out
            )
        self._processes.append(process)
        return process

    def stop(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                process.terminate()
        for process in self._processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def log_text(self) -> str:
        """Every process's output so far."""
        return "".join(p.read_text(encoding="utf-8", errors="replace") for p in self.logs.values())

    def forgot_password(self, msisdn: str) -> int:
        """Ask the gateway's front-end API for a temporary password letter; the status."""
        request = urllib.request.Request(
            f"{self.gateway_url}/api/v1/password/forgot",
            data=json.dumps({"msisdn": msisdn}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {API_SECRET}"},
        )
        with urllib.request.urlopen(request) as answer:
            return int(answer.status)

    def sms_to(self, msisdn: str) -> list[dict[str, object]]:
        with urllib.request.urlopen(f"{self.smsc_url}/messages?to={msisdn}") as answer:
            return list(json.load(answer)["messages"])


def _seed_demo(folder: Path) -> None:
    """The demo subscribers in a fresh database, seeded in a thread of its own: Playwright's
    sync API keeps an event loop running in the test's thread while a browser is open."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _seed(folder)).result()


async def _seed(folder: Path) -> None:
    store = await SqliteStore.open(folder / "gateway.sqlite3")
    try:
        await seed_demo(store, Pepper.load_or_create(folder / "puk-pepper"))
    finally:
        await store.close()
