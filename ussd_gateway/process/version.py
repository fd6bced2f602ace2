"""The installed version, for ``ussd-gateway --version``.

Read from the distribution's metadata, so ``pyproject.toml``'s ``version`` is the one place
the number is written. The simulators have their own three lines (``simulators/version.py``):
they may import only ``sms``, which is SMS transport and no place for this.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _installed

DISTRIBUTION = "ussd-gateway"
"""``[project] name`` in pyproject.toml."""


def version() -> str:
    """The installed ``ussd-gateway`` version (``unknown`` when run from an uninstalled tree)."""
    try:
        return _installed(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"
