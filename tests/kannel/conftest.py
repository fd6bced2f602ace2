"""Tests against a real Kannel: the ``kannel`` marker and the installed binaries."""

from __future__ import annotations

import pytest
from harness import KannelBinaries, require_kannel


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker here, next to the tests that use it (--strict-markers is on)."""
    config.addinivalue_line(
        "markers", "kannel: runs a real Kannel (bearerbox, smsbox, fakesmsc) on loopback"
    )


@pytest.fixture
def kannel_binaries() -> KannelBinaries:
    """The installed Kannel; the test skips without it, or fails under ``CI=true``."""
    return require_kannel()
