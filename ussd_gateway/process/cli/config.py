"""``config check``: the effective configuration and where each value came from, or every
problem with it."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, TextIO
from urllib.parse import urlsplit

from state.backends import DatabaseLocation
from ussd_gateway.config import MASK, ConfigError, Loaded, Secret, Settings, load
from ussd_gateway.config.environment import BY_KEY, ENVIRONMENT_ONLY

EXIT_PROBLEMS = 2


def _cmd_config_check(_: Settings | None, args: argparse.Namespace, out: TextIO) -> int:
    try:
        loaded = load(args.config, os.environ)
    except ConfigError as refused:
        for problem in refused.problems:
            print(problem, file=sys.stderr)
        count = len(refused.problems)
        print(
            f"{count} problem{'s' if count > 1 else ''}: the gateway would not start",
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    for line in describe(loaded):
        print(line, file=out)
    return 0


def describe(loaded: Loaded) -> list[str]:
    """The configuration as TOML, each value's source after it; secrets as ``**********``."""
    where = str(loaded.file) if loaded.file else "no file"
    lines = [f"# ussd-gateway configuration: {where}, then the environment; checked, no problem"]
    for section, table in _tables(loaded):
        rows: list[tuple[str, str]] = []
        for key, value in table:
            dotted = f"{section}.{key}"
            source = str(loaded.source(dotted))
            text = f"{key} = {_toml(value)}" if value is not None else f"# {key} is not set"
            if dotted in ENVIRONMENT_ONLY:  # commented: a file may not set it
                source += f"; environment only: {BY_KEY[dotted]}"
                text = text if value is None else f"# {text}"
            rows.append((text, source))
        width = max(len(text) for text, _ in rows)
        lines += ["", f"[{section}]"]
        lines += [f"{text.ljust(width)}  # {source}" for text, source in rows]
    if loaded.ignored:
        lines.append("")
        lines += [f"# {name} is no setting of the gateway: ignored" for name in loaded.ignored]
    return lines


def _tables(loaded: Loaded) -> list[tuple[str, Any]]:
    """The document's tables in order; ``[backends]`` as one ``[backends.NAME]`` each."""
    tables: list[tuple[str, Any]] = []
    for section, table in loaded.document:
        if isinstance(table, dict):
            tables += [(f"{section}.{name}", sub) for name, sub in table.items()]
        else:
            tables.append((section, table))
    return tables


def _toml(value: Any) -> str:
    """A value as TOML writes it; a secret (or a URL's password) as the mask."""
    if isinstance(value, Secret):
        return json.dumps(MASK)
    if isinstance(value, DatabaseLocation):
        return json.dumps(_shown(value), ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _shown(location: DatabaseLocation) -> str:
    """The location with its password (from the URL or a file) as the mask."""
    if location.url is None or location.password is None:
        return str(location)
    parts = urlsplit(location.url)
    user, _, host = parts.netloc.rpartition("@")
    return parts._replace(netloc=f"{user}:{MASK}@{host}").geturl()


def add_commands(sub: Any) -> None:
    """``config check``."""
    config = sub.add_parser(
        "config",
        help="check the configuration",
        description="Work on the settings (the TOML file and the USSD_GATEWAY_* variables).",
    ).add_subparsers(dest="what", required=True, metavar="check")
    check = config.add_parser(
        "check",
        help="print the effective configuration (file + environment), or every problem",
        description="Reads the settings file (--config or $USSD_GATEWAY_CONFIG) and the "
        "USSD_GATEWAY_* variables as `serve` would, and prints the result as TOML with each "
        "value's source (the file, a variable, or the default), secrets as **********; "
        "exit 0. Otherwise prints every problem, one per line, and exits 2.",
    )
    check.set_defaults(run=_cmd_config_check, loads_settings=False)
