"""``ussd-gateway``: run the service, run the demo, and administer subscribers and menus.

ussd-gateway serve [--config FILE] [--workers N]
ussd-gateway demo [--data-dir DIR] [--host H] [--port P]
ussd-gateway subscribers import FILE
ussd-gateway subscribers show MSISDN
ussd-gateway access close|open MSISDN --by operator|organisation [--reason TEXT]
ussd-gateway puk unlock MSISDN
ussd-gateway menus check [FILES...]
ussd-gateway menus diagram NAME

One module per family of sub-commands: ``serving.py`` (serve, demo), ``subscribers.py``
(subscribers, access, puk), ``store.py`` (store copy), ``menus.py`` (menus check, diagram).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from state.errors import CoreError
from ussd_gateway.config import ConfigError, Settings
from ussd_gateway.errors import MenuDefinitionError
from ussd_gateway.menus.source import MenuSyntaxError
from ussd_gateway.process.cli import menus, serving, store, subscribers


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar."""
    parser = argparse.ArgumentParser(
        prog="ussd-gateway",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config", type=Path, help="TOML settings file (else $USSD_GATEWAY_CONFIG)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for commands in (serving, subscribers, store, menus):
        commands.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = build_parser().parse_args(argv)
    out = out or sys.stdout
    try:
        try:
            settings = Settings.load(args.config, os.environ)
            status = int(args.run(settings, args, out))
        except (ConfigError, MenuDefinitionError, MenuSyntaxError, CoreError, ValueError) as exc:
            # Clear one-line errors for operators; StoreError messages never carry secrets.
            print(f"ussd-gateway: {exc}", file=sys.stderr)
            status = 2
        out.flush()  # here, where a reader gone away can still be answered quietly
        return status
    except BrokenPipeError:
        # `… | head -1` left early. Python's recipe (the signal module's documentation):
        # what is still buffered goes to /dev/null, and the exit status is 141, as a shell
        # reports a program that SIGPIPE ended (`set -o pipefail` sees it as for any tool).
        if out is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
