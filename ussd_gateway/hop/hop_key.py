"""What is kept of a hop key, and what a cumulative text adds to the previous one.

A hop key names one hop of a session (native: the hop number; Hubtel: its sequence;
Africa's Talking: the cumulative text ``1*2*<PUK1>``): the same key again is a repeat and
gets the stored reply. Africa's Talking's key holds every PUK1 and password typed, so a
session keeps only the key's length and a keyed tag of it (``UssdSession.last_hop_length``
and ``last_hop_tag``); the length also says where the previous inputs end in the next
cumulative text.
"""

from __future__ import annotations

from dataclasses import dataclass

from state.credentials import Pepper
from state.models import UssdSession
from ussd_gateway.errors import BadRequest

_PURPOSE = "ussd-hop"
"""The tag's purpose for the pepper (keys of other uses never collide with a hop's)."""


@dataclass(frozen=True, slots=True)
class HopKey:
    """A hop key as stored: its length and its keyed tag."""

    length: int
    tag: str

    @classmethod
    def of(cls, pepper: Pepper, key: str) -> HopKey:
        """The stored form of ``key`` (one HMAC: computed once a hop)."""
        return cls(len(key), pepper.tag(_PURPOSE, key))

    def is_last_of(self, session: UssdSession) -> bool:
        """Whether this is the key of ``session``'s last hop."""
        return self.length == session.last_hop_length and self.tag == session.last_hop_tag


def this_input(text: str, session: UssdSession, pepper: Pepper) -> str:
    """This hop's input in a cumulative ``text``: what follows the last hop's key and a
    ``*`` (``1*2*3`` after ``1*2`` is ``3``); all of it after an empty key (a first hop
    dialled without parameters).

    Raises:
        BadRequest: ``text`` does not continue the last hop's key (forged or broken).
    """
    length = session.last_hop_length
    if length == 0:
        return text
    previous, separator, new = text[:length], text[length : length + 1], text[length + 1 :]
    if separator != "*" or not HopKey.of(pepper, previous).is_last_of(session):
        raise BadRequest("text does not continue the session's previous inputs")
    return new
