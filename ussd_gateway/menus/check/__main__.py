"""``python -m ussd_gateway.menus.check [FILES...]``, for CI without the gateway's CLI."""

from __future__ import annotations

import sys

from .runner import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
