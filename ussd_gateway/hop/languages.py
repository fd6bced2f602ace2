"""The languages of subscribers seen lately, for the one answer that has no store to ask.

While the database is away a hop gets "temporarily unavailable" (``Engine.unavailable``);
said in the subscriber's language when this process saw the subscriber recently.
"""

from __future__ import annotations

from ussd_gateway.menus.loader import DEFAULT_LANGUAGE

KEPT = 100_000
"""Subscribers remembered: ~10 MiB at most, and the busy subscribers of an instance are the
ones that dial again while the database is away."""


class RecentLanguages:
    """Msisdn → language, the oldest forgotten first beyond :data:`KEPT`."""

    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._languages: dict[str, str] = {}

    def remember(self, msisdn: str, lang: str) -> None:
        """Note ``msisdn``'s language (a dictionary lookup when it is known already)."""
        languages = self._languages
        if languages.get(msisdn) == lang:
            return
        languages[msisdn] = lang
        if len(languages) > self._kept:
            del languages[next(iter(languages))]  # the oldest: a dict keeps insertion order

    def of(self, msisdn: str) -> str:
        """``msisdn``'s language, or the default one for a number not seen lately."""
        return self._languages.get(msisdn, DEFAULT_LANGUAGE)
