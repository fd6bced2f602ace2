"""Record and replay in Chromium: a dialogue done by hand saved as a ``--script`` file,
replayed in the page step by step and by the terminal runner; both pass, a changed
expectation fails in the page as it would in the terminal."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

from browser_world import ROOT, DemoWorld
from handset_page import HandsetPage, menu_screen
from playwright.sync_api import expect
from support import SECRETS

from simulators.scenario import load_script

NAME = "closed-twice"


def test_recorded_dialogue_replays_in_the_page_and_in_the_terminal(
    page: Any, screenshot: Any, world: DemoWorld
) -> None:
    """Record → save → replay in the page (PASS) → ``ussd-handset --script`` (exit 0)."""
    phone = HandsetPage(page)
    phone.use("375441000003")
    phone.part(".restart-recording").click()
    assert phone.keyed("*141*3*6#") == menu_screen("access", "menu_closed")
    assert phone.keyed("1") == menu_screen("access", "already_closed")
    assert phone.keyed("*141*3*6#") == menu_screen("access", "menu_closed")
    phone.cancel()
    assert phone.state() == "cancelled"
    expect(phone.part(".record-status")).to_contain_text("4 step(s) on 375441000003")
    phone.part(".script-name").fill(NAME)
    phone.part(".save-script").click()
    saved = world.scripts_dir / f"{NAME}.yaml"
    expect(phone.part(".save-status")).to_have_text(f"Saved to {saved}")
    script = load_script(saved)
    assert [s.action for s in script.steps] == ["dial", "send", "dial", "abort"]
    assert script.steps[1].expect_text == menu_screen("access", "already_closed")
    assert (script.msisdn, script.dialect) == ("375441000003", "native")

    expect(phone.part(".script-choice")).to_have_value(f"saved:{NAME}")
    phone.part(".load-script").click()
    items = phone.part(".replay-step-item")
    expect(items).to_have_count(4)
    expect(items.nth(1)).to_contain_text("send 1;")  # a menu choice is shown, not hidden
    phone.part(".replay-step").click()
    phone.settle()
    expect(items.nth(0)).to_have_class(re.compile(r"\bpass\b"))
    expect(items.nth(1)).to_have_class(re.compile(r"\bpending\b"))
    phone.part(".replay-all").click()
    expect(phone.part(".verdict")).to_have_text("PASS (4 steps, native)")
    phone.settle()
    for n in range(4):
        expect(items.nth(n)).to_have_class(re.compile(r"\bpass\b"))
    screenshot("replayed")

    env = {**os.environ, "USSD_GATEWAY_SECRET": SECRETS["native"]}
    terminal = subprocess.run(
        [sys.executable, "-m", "simulators.handset", "--script", str(saved), "--url",
         world.gateway_url],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert terminal.returncode == 0, terminal.stdout + terminal.stderr
    assert "PASS (4 steps, native dialect)" in terminal.stdout


def test_a_changed_expectation_fails_in_the_page(page: Any, world: DemoWorld) -> None:
    """A script whose screen differs from the gateway's fails at that step, with both texts."""
    phone = HandsetPage(page)
    wrong = (
        'msisdn: "375441000003"\nsteps:\n  - dial: "*141*3*6#"\n'
        '    expect_text: "Доступ в Личный кабинет открыт."\n  - send: "1"\n'
    )
    phone.part(".script-file").set_input_files(
        files=[{"name": "wrong.yaml", "mimeType": "text/yaml", "buffer": wrong.encode()}]
    )
    items = phone.part(".replay-step-item")
    expect(items).to_have_count(2)
    phone.part(".replay-all").click()
    expect(phone.part(".verdict")).to_have_text("FAIL step 1")
    phone.settle()
    expect(items.nth(0)).to_have_class(re.compile(r"\bfail\b"))
    expect(items.nth(0).locator(".actual")).to_have_text(menu_screen("access", "menu_closed"))
    expect(items.nth(1)).to_have_class(re.compile(r"\bpending\b"))
    assert phone.state() == "cancelled"  # abandoned after the failure, as the terminal does
