"""A script run in the page, one step per request, with the terminal runner's checks.

Each step goes through :func:`simulators.scenario.run_step`, the function
``ussd-handset --script`` runs, on the phone's own handset (so the phone shows the screens
and the timeline the hops). As in the terminal, the first failure ends the run and the
session is abandoned, and a session still running after the last step is aborted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulators.dialects import Screen, SimulatorError
from simulators.handset import HIDDEN, Handset, HandsetError, abandon, asks_for_secret
from simulators.scenario import Mismatch, Script, ScriptError, Step, run_step


def shown_step(step: Step, *, secret: bool) -> str:
    """The step as the page lists it: a secret input as ``HIDDEN``."""
    text = step.describe()
    if secret and step.action == "send":
        text = text.replace(f"send {step.arg}", f"send {HIDDEN}", 1)
    return text


def likely_secret_sends(script: Script) -> set[int]:
    """Step numbers whose input probably answers a secret prompt, judged before running from
    the expectation before it as :func:`asks_for_secret` judges a screen (the page lists the
    steps before their screens exist; while running, the real screen decides)."""
    chosen: set[int] = set()
    expected: str | None = None
    for step in script.steps:
        if step.action == "send" and expected and asks_for_secret(Screen(expected, False)):
            chosen.add(step.number)
        if step.action in ("dial", "send", "abort"):
            expected = None
        if step.expect_text is not None:
            expected = step.expect_text
        elif step.expect is not None:
            expected = step.expect.pattern
    return chosen


@dataclass
class Replay:
    """A loaded script and how far it has run."""

    name: str
    script: Script
    next_index: int = 0
    verdict: str = ""
    """Empty while running; then ``PASS (…)``, ``FAIL step n`` or ``ERROR step n``."""
    results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return bool(self.verdict)

    def listing(self) -> list[dict[str, Any]]:
        hidden = likely_secret_sends(self.script)
        return [
            {"number": s.number, "step": shown_step(s, secret=s.number in hidden)}
            for s in self.script.steps
        ]

    async def step(self, handset: Handset) -> dict[str, Any]:
        """Run the next step on ``handset``; its result (also kept in ``results``)."""
        if self.done:
            raise HandsetError(f"the script has finished: {self.verdict}")
        step = self.script.steps[self.next_index]
        self.next_index += 1
        # Hidden if the listing hid it too: a result must not show what the list did not.
        secret = step.action == "send" and (
            handset.asks_for_secret or step.number in likely_secret_sends(self.script)
        )
        result: dict[str, Any] = {"number": step.number, "step": shown_step(step, secret=secret)}
        try:
            # The phone's view shows the screens: nothing to do as each arrives.
            await run_step(handset, step, lambda screen: None)
        except Mismatch as exc:
            result |= {"status": "fail", "expected": exc.expected, "actual": exc.screen.text}
            self.verdict = f"FAIL step {step.number}"
            await abandon(handset)
        except (HandsetError, ScriptError, SimulatorError) as exc:
            result |= {"status": "error", "message": str(exc)}
            self.verdict = f"ERROR step {step.number}"
            await abandon(handset)
        else:
            result["status"] = "pass"
            if self.next_index == len(self.script.steps):
                if handset.running:
                    # As the terminal runner: leave no session open on the gateway.
                    await handset.abort(keep_screen=True)
                self.verdict = f"PASS ({len(self.script.steps)} steps, {handset.codec.dialect})"
        self.results.append(result)
        return result
