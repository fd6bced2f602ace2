"""Where problems go: the ``Problem`` a check reports and the ``Context`` every check shares.

A check never raises on a bad menu; it adds a problem at a path in the document, and the
context turns that path into the line a reader should look at (``MenuSource.line_of``).
The context also carries what a file's checks learn from each other: the languages, the
message keys a screen may name, the pagination lines, the service's screen limits, the
actions the machine names and the machine class itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from statemachine import StateChart

from sms.encoding import Encoding, ussd_limit

from ..source import MenuSource, PathKey

LANGUAGES: tuple[str, ...] = ("ru", "en")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a menu file, at the line a reader should look at."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class Context:
    """What every check needs: the file, its settings, and where problems go."""

    source: MenuSource
    languages: tuple[str, ...]
    message_keys: frozenset[str]
    nav: dict[str, dict[str, str]]
    messages: dict[str, Any] = field(default_factory=dict)
    """Message texts (own over common), for measuring a notice above its screen."""
    limits: dict[Encoding, int] = field(
        default_factory=lambda: {e: ussd_limit(e) for e in Encoding}
    )
    problems: list[Problem] = field(default_factory=list)
    actions: dict[str, PathKey] = field(default_factory=dict)
    """Each known action the machine names, at its first use (its notices must exist)."""
    machine: type[StateChart[Any]] | None = None
    """The machine class, built once here when the machine section has no problem; the
    loader runs this very class (``loader.py``)."""
    backends: frozenset[str] = frozenset()
    """The configured back-ends a call may name."""
    values: frozenset[str] = frozenset()
    """The value names the file sets, and the built-ins (``values.py``)."""
    own_guards: set[str] = field(default_factory=set)
    own_calls: set[str] = field(default_factory=set)
    """The guards and calls the file adds to the built-in names."""

    def add(self, path: PathKey, message: str) -> None:
        self.problems.append(Problem(self.source.file, self.source.line_of(*path), message))
