"""A session's position as a hop writes it: its state, what it keeps, its reply and hop key.

Every session a hop writes is built here, so one rule holds however a session ends (its
last screen, the network's abort or timeout, the clock): an ended session keeps nothing
it was holding — the model's data (a pending password hash) nor the pages (screen text) —
only its last reply, which a repeat of its last hop gets again.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from state.models import UssdSession
from ussd_gateway.dialects.model import UssdReply
from ussd_gateway.hop.hop_key import HopKey

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
) -> UssdSession:
    """A new session after its first hop (which may have ended it already)."""
    ends = answer.ends
    return UssdSession(
        id=key,
        msisdn=msisdn,
        service=service,
        state=state,
        lang=lang,
        started_at=now,
        updated_at=now,
        hop=1,
        last_hop_length=hop_key.length,
        last_hop_tag=hop_key.tag,
        last_reply=answer.to_dict(),
        data={} if ends else data,
        pages=() if ends else pages,
        ended_at=now if ends else None,
        end_reason=COMPLETED if ends else None,
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
        hop=session.hop + 1,
        last_hop_length=hop_key.length,
        last_hop_tag=hop_key.tag,
        last_reply=answer.to_dict(),
        ended_at=now if ends else None,
        end_reason=COMPLETED if ends else None,
    )


def ended(
    session: UssdSession, *, hop_key: HopKey, answer: UssdReply, now: float, reason: str
) -> UssdSession:
    """``session`` ended by the network (``abort``, ``timeout``) or the clock (``expired``)."""
    return replace(
        session,
        data={},
        pages=(),
        page=0,
        updated_at=now,
        hop=session.hop + 1,
        last_hop_length=hop_key.length,
        last_hop_tag=hop_key.tag,
        last_reply=answer.to_dict(),
        ended_at=now,
        end_reason=reason,
    )
