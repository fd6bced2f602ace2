"""Each package's public surface is deliberate: a sorted ``__all__`` of names that exist."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("package", ["ussd_gateway", "account", "sms", "state"])
def test_all_is_sorted_and_importable(package: str) -> None:
    """``__all__`` is sorted (constants first, as ruff sorts it) and every name resolves."""
    module = importlib.import_module(package)
    names = list(module.__all__)
    assert names == sorted(names, key=lambda n: (not n.isupper(), n)), names
    for name in names:
        assert getattr(module, name) is not None
