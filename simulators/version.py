"""The installed version, for the simulators' ``--version``.

The same distribution as the gateway's (``ussd_gateway/process/version.py``), read here
again because the simulators never import the gateway.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _installed


def version() -> str:
    """The installed ``ussd-gateway`` version (``unknown`` when run from an uninstalled tree)."""
    try:
        return _installed("ussd-gateway")
    except PackageNotFoundError:
        return "unknown"
