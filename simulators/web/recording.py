"""A dialogue done by hand, kept as ``ussd-handset --script`` steps.

Each action becomes one step with what was seen after it as its checks (``expect_text``,
``ends``), so replaying the file asks for exactly the screens the tester saw. The inputs
are kept as typed, PUK1s and passwords too (a replay must type them again): the file stays
on the server, and what the page is shown of a recording has them as ``<hidden>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulators.dialects import Screen
from simulators.handset import HIDDEN
from simulators.scenario import dump_script

SCRIPT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
"""A saved script's name: a file name in the scripts folder, nothing that climbs out."""


@dataclass(frozen=True, slots=True)
class RecordedStep:
    action: str
    arg: str
    secret: bool
    """The input answered a screen asking for a secret: shown as ``HIDDEN``."""
    screen: Screen | None
    """What was seen after the action (None after an abort)."""

    def as_step(self, *, masked: bool) -> dict[str, Any]:
        step: dict[str, Any] = {}
        if self.action == "abort":
            step["abort"] = True
        else:
            step[self.action] = HIDDEN if masked and self.secret else self.arg
        if self.screen is not None:
            step["expect_text"] = self.screen.text
            step["ends"] = self.screen.ends
        return step


class Recorder:
    """The steps of one subscriber on one dialect since the recording (re)started."""

    def __init__(self, msisdn: str, dialect: str) -> None:
        self.msisdn = msisdn
        self.dialect = dialect
        self.steps: list[RecordedStep] = []

    def add(self, action: str, arg: str, screen: Screen | None, *, secret: bool = False) -> None:
        self.steps.append(RecordedStep(action, arg, secret, screen))

    def document(self, *, masked: bool) -> str:
        """The recording as script YAML (empty text with no steps yet)."""
        if not self.steps:
            return ""
        steps = [s.as_step(masked=masked) for s in self.steps]
        return dump_script(steps, msisdn=self.msisdn, dialect=self.dialect)

    def save(self, folder: Path, name: str) -> Path:
        """Write the recording, secrets as typed, to ``folder/name.yaml``; ValueError on a
        bad name or an empty recording."""
        name = name.removesuffix(".yaml")
        if not SCRIPT_NAME.match(name):
            raise ValueError("a script name is letters, digits, '_', '-' and '.' (up to 64)")
        if not self.steps:
            raise ValueError("nothing recorded yet: dial first")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.yaml"
        path.write_text(self.document(masked=False), encoding="utf-8")
        return path
