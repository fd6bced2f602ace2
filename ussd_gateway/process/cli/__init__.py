"""``ussd-gateway``: run the service, run the demo, and administer subscribers and menus.

ussd-gateway config check
ussd-gateway serve [--workers N]
ussd-gateway demo [--data-dir DIR] [--host H] [--port P]
ussd-gateway subscribers import FILE
ussd-gateway subscribers show MSISDN
ussd-gateway access close|open MSISDN --by operator|organisation [--reason TEXT]
ussd-gateway puk unlock MSISDN
ussd-gateway menus check [FILES...]
ussd-gateway menus diagram NAME

Every command takes --config FILE (else $USSD_GATEWAY_CONFIG), before or after its name:
``ussd-gateway --config FILE serve`` and ``ussd-gateway serve --config FILE`` are the same.

One module per family of sub-commands: ``serving.py`` (serve, demo), ``subscribers.py``
(subscribers, access, puk), ``store.py`` (store copy), ``menus.py`` (menus check, diagram),
``config.py`` (config check).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from state.errors import CoreError
from state.msisdn import install_plan
from ussd_gateway.config import ConfigError, Settings
from ussd_gateway.errors import MenuDefinitionError
from ussd_gateway.menus.source import MenuSyntaxError
from ussd_gateway.process.cli import config, menus, serving, store, subscribers
from ussd_gateway.process.version import version

_CONFIG_HELP = "TOML settings file (else $USSD_GATEWAY_CONFIG)"


class _CommandParser(argparse.ArgumentParser):
    """A sub-command's parser: it takes ``--config`` too, after the command's name.

    ``add_subparsers`` makes every nested parser of its parent's class, so each command
    (``serve``, ``menus check``, one in a module that knows nothing of this) has the option
    without naming it. Its default is "not given", so the global ``--config`` stands unless
    the command's own is given (the later one wins).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_argument("--config", type=Path, default=argparse.SUPPRESS, help=_CONFIG_HELP)


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar."""
    parser = argparse.ArgumentParser(
        prog="ussd-gateway",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument("--config", type=Path, help=_CONFIG_HELP)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_CommandParser)
    for commands in (serving, subscribers, store, menus, config):
        commands.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = build_parser().parse_args(argv)
    out = out or sys.stdout
    try:
        try:
            if getattr(args, "loads_settings", True):
                settings = Settings.load(args.config, os.environ)
                install_plan(settings.numbering)  # the numbers every command reads (state/msisdn)
                status = int(args.run(settings, args, out))
            else:  # config check reads them itself, to show every problem
                status = int(args.run(None, args, out))
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
