"""Rules 8 and 11 for the engine's own parts of a USSD session: the pages of a long screen
and the page shown are written and read back apart from ``data`` (insert, move, end), and
a sweep drops them with the data (they hold screen text)."""

from __future__ import annotations

from dataclasses import replace

from contract_support import RU, T0, ussd

from state.models import ChangeSet
from state.store import Store

PAGES = ("Выберите тему:\n1. Пароль\n98. Далее", "2. Доступ\n00. Назад", "3. «Кавычки» \"и\" \\")


async def test_pages_and_hop_key_round_trip(store: Store, second_store: Store) -> None:
    """A session with pages reads back whole from either instance; a later hop moves the
    page, its pages and its hop key; an ending hop writes no pages."""
    session = ussd("native:pages", pages=PAGES, page=0, last_hop_length=7, last_hop_tag="ab" * 32)
    await store.commit(ChangeSet(), session=session, session_hop_read=None)
    for reader in (store, second_store):
        assert (await reader.load_hop("native:pages", RU))[0] == session
    turned = replace(session, hop=2, page=2, updated_at=T0 + 1, last_hop_length=9)
    await store.commit(ChangeSet(), session=turned, session_hop_read=1)
    assert (await second_store.load_hop("native:pages", RU))[0] == turned
    fits = replace(turned, hop=3, pages=(), page=0, data={"step": 3})
    await store.commit(ChangeSet(), session=fits, session_hop_read=2)
    assert (await second_store.load_hop("native:pages", RU))[0] == fits
    paged = replace(fits, hop=4, pages=PAGES[:2], page=1)
    await store.commit(ChangeSet(), session=paged, session_hop_read=3)
    ended = replace(paged, hop=5, pages=(), page=0, data={}, ended_at=T0 + 2,
                    end_reason="completed")
    await store.commit(ChangeSet(), session=ended, session_hop_read=4)
    assert (await store.load_hop("native:pages", RU))[0] == ended


async def test_a_sweep_drops_the_pages_with_the_data(store: Store) -> None:
    """A session the sweeper ends keeps no pages and no page."""
    await store.commit(ChangeSet(), session=ussd("native:idle", at=100.0, pages=PAGES, page=1))
    await store.sweep_sessions(1000.0, idle=60, total=180, keep=600)
    swept, _ = await store.load_hop("native:idle", RU)
    assert swept is not None and swept.end_reason == "expired"
    assert (swept.data, swept.pages, swept.page) == ({}, (), 0)
