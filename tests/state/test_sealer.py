"""Sealed outbox bodies: a one-time code never sits in the outbox in plain text.

The store's code and outbox rules (exact guards, counted sends, leased sending) are pinned
for every backend by the contract suite, ``tests/state/contract/``.
"""

from __future__ import annotations

import pytest

from state.credentials import Pepper, Sealer


def test_sealed_bodies_open_only_with_their_key() -> None:
    """A sealed body hides its text, opens with the same pepper, and fails with another."""
    sealer = Sealer(Pepper(b"a" * 32))
    sealed = sealer.seal("Код: 123456")
    assert sealed.startswith(Sealer.PREFIX) and "123456" not in sealed
    assert sealer.open(sealed) == "Код: 123456"
    assert sealer.open("plain alert") == "plain alert"
    assert sealer.seal("x") != sealer.seal("x")  # a fresh nonce every time
    with pytest.raises(ValueError, match="cannot be opened"):
        Sealer(Pepper(b"b" * 32)).open(sealed)
