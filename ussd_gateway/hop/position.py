"""A session's position as a hop writes it: its state, what it keeps, its reply and hop key.

Every session a hop writes is built here, so one rule holds however a session ends (its
last screen, the network's abort or timeout, the clock): an ended session keeps nothing
it was holding — the model's data (a pending password hash) nor the pages (screen text) —
only its last reply, which a repeat of its last hop gets again.

The session's hop counter (``UssdSession.hop``) grows by one a hop, and up to the
network's own number of the hop when that is ahead (``UssdRequest.number``: a request
the gateway refused without an answer was still counted by the network), so a number
below the counter is always a hop answered before (``stale``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from state.models import UssdSession
from ussd_gateway.dialects.model import UssdReply
from ussd_gateway.hop.hop_key import HopKey

MAX_NUMBER = 1_000_000
"""The highest hop number taken: a session lasts minutes; a number above is no network's
(and would overflow the counter's column)."""


def counter(session: UssdSession, number: int | None) -> int:
    """The hop counter after ``session`` takes a hop numbered ``number`` (None: unnumbered)."""
    return max(session.hop + 1, number or 0)


def stale(session: UssdSession, number: int | None) -> bool:
    """Whether a hop numbered ``number`` is older than ``session``'s last answered hop (its
    repeat, the last hop's key, is recognised before): it must not be applied again."""
    return number is not None and number < session.hop


COMPLETED = "completed"
"""The end reason of a session that ended with its last screen."""


def begun(
    *,
    key: str,
    msisdn: str,
    service: str,
    state: str,
    lang: str,
    now: float,
    hop_key: HopKey,
    answer: UssdReply,
    data: dict[str, Any],
    pages: tuple[str, ...],
    number: int | None = None,
    reason: str = COMPLETED,
) -> UssdSession:
    """A new session after its first hop (which may have ended it already, for ``reason``)."""
    ends = answer.ends
    return UssdSession(
        id=key,
        msisdn=msisdn,
        service=service,
        state=state,
        lang=lang,
        started_at=now,
        updated_at=now,
        hop=max(1, number or 0),
        last_hop_length=hop_key.length,
        last_hop_tag=hop_key.tag,
        last_reply=answer.to_dict(),
        data={} if ends else data,
        pages=() if ends else pages,
        ended_at=now if ends else None,
        end_reason=reason if ends else None,
    )


def moved(
    session: UssdSession,
    *,
    hop_key: HopKey,
    answer: UssdReply,
    now: float,
    state: str,
    data: dict[str, Any],
    pages: tuple[str, ...],
    page: int,
    number: int | None = None,
) -> UssdSession:
    """``session`` after a hop that answered (and ended it if ``answer`` ends)."""
    ends = answer.ends
    return replace(
        session,
        state=state,
        data={} if ends else data,
        pages=() if ends else pages,
        page=0 if ends else page,
        updated_at=now,
        hop=counter(session, number),
        last_hop_length=hop_key.length,
        last_hop_tag=hop_key.tag,
        last_reply=answer.to_dict(),
        ended_at=now if ends else None,
        end_reason=COMPLETED if ends else None,
    )


def ended(
    session: UssdSession,
    *,
    hop_key: HopKey,
    answer: UssdReply,
    now: float,
    reason: str,
    number: int | None = None,
) -> UssdSession:
    """``session`` ended by the network (``abort``, ``timeout``) or the clock (``expired``)."""
    return replace(
        session,
        data={},
        pages=(),
        page=0,
        updated_at=now,
        hop=counter(session, number),
        last_hop_length=hop_key.length,
        last_hop_tag=hop_key.tag,
        last_reply=answer.to_dict(),
        ended_at=now,
        end_reason=reason,
    )
