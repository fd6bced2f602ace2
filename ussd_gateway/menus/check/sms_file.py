"""``sms.yaml``: the SMS command file, checked by the SMS command loader's own rules.

``sms/commands.py`` is the one reader of that file (keywords, replies, the placeholders
each reply is filled with, one SMS per reply); the menu checker reports what it refuses
as problems at their lines, beside the menus' own.
"""

from __future__ import annotations

from pathlib import Path

from sms.commands import check_commands

from .context import Problem


def check_sms_file(path: Path) -> list[Problem]:
    """Problems of one SMS command file, each at its line; none when the gateway loads it."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return [Problem(str(path), 1, f"not UTF-8: {exc.reason}")]
    except OSError as exc:
        return [Problem(str(path), 1, f"cannot read the file: {exc.strerror}")]
    return [Problem(str(path), line, message) for line, message in check_commands(text)]
