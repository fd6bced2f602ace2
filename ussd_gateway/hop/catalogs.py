"""The menu catalogues the engine serves: the current one, and after a reload the ones that
sessions still in flight started on.

A reload (``SIGHUP``: ``ussd_gateway/app.py``'s ``reload_definitions``) installs a new,
already checked catalogue. New sessions run on it at once; a session that started before the
reload finishes on the catalogue that was current when it started (its ``started_at``
against the reload time, no store change), so a subscriber half-way through a menu never
lands on a screen of another version or on a state that no longer exists. A replaced
catalogue is kept for one session lifetime (``timeouts.total``) after the reload that
replaced it: by then every session begun on it has ended or expired.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ussd_gateway.menus.loader import MenuCatalog


@dataclass(frozen=True, slots=True)
class _Generation:
    catalog: MenuCatalog
    since: float
    """Sessions started at or after this time run on ``catalog`` (until a newer one)."""


class Catalogs:
    """The current catalogue and the replaced ones still needed, oldest first."""

    def __init__(self, catalog: MenuCatalog, *, keep: float) -> None:
        self._generations: tuple[_Generation, ...] = (_Generation(catalog, -math.inf),)
        self._keep = keep

    @property
    def current(self) -> MenuCatalog:
        """The catalogue new sessions run on."""
        return self._generations[-1].catalog

    @property
    def kept(self) -> tuple[MenuCatalog, ...]:
        """Every catalogue some session may still run on, oldest first, the current last."""
        return tuple(g.catalog for g in self._generations)

    def for_session(self, started_at: float, now: float) -> MenuCatalog:
        """The catalogue of a session that started at ``started_at``."""
        generations = self._generations
        if len(generations) == 1:
            return generations[0].catalog
        if generations[1].since + self._keep < now:
            generations = self._prune(now)
        for generation in reversed(generations):
            if started_at >= generation.since:
                return generation.catalog
        return generations[0].catalog

    def install(self, catalog: MenuCatalog, now: float) -> None:
        """Make ``catalog`` the current one from ``now``; the one it replaces is kept for
        the sessions begun on it."""
        self._generations = (*self._prune(now), _Generation(catalog, now))

    def _prune(self, now: float) -> tuple[_Generation, ...]:
        """Drop the catalogues no session can still run on: replaced longer ago than a
        session lives."""
        generations = self._generations
        while len(generations) > 1 and generations[1].since + self._keep < now:
            generations = generations[1:]
        self._generations = generations
        return generations
