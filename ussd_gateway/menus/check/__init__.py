"""Check menu YAML files and report every problem as ``file:line: problem``.

A menu is loaded at gateway start-up, but a typo found there is found too late: this
checker runs in CI and from the command line (``python -m ussd_gateway.menus.check``)
and points at the offending line. It checks what python-statemachine cannot know about a
USSD menu: callback names, screens and their options, dead ends, languages and whether
each text fits a USSD screen in the encoding it will be sent in.

The package's modules, in the order a file is checked:

- ``files``: what a list of paths means (directories, the shared ``common.yaml``, the
  shipped menus) and reading files (syntax errors with their line);
- ``checker``: ``check_source``, ``check_files`` and ``check_menus`` (the start-up check,
  which hands the loader what it parsed and built), running the checks below;
- ``context``: ``Problem`` and the context that collects problems at their lines;
- ``structure``: known keys and the ``service`` section (code, title, screen limits);
- ``graph``: states, transitions and reachability of the ``machine`` section;
- ``callback_names``: guard and action names;
- ``library``: python-statemachine's own judgement of the machine;
- ``screens``: screens, options and input;
- ``texts``: languages, placeholders, and whether texts fit a screen; ``messages``;
- ``sms_file``: ``sms.yaml``, by the SMS command loader's rules;
- ``schema``: the JSON Schema published for editors (``menus/menu.schema.json``);
- ``mermaid``: the state diagram; ``runner``: the command line's ``run_check``.
"""

from __future__ import annotations

from .checker import CheckedMenus, CheckedService, check_files, check_menus, check_source
from .context import LANGUAGES, Problem
from .files import (
    COMMON_FILE,
    SMS_COMMANDS_FILE,
    MenuFiles,
    default_menu_paths,
    menu_files,
    shipped_common_path,
)
from .mermaid import mermaid, mermaid_of
from .runner import run_check

__all__ = [
    "COMMON_FILE",
    "LANGUAGES",
    "SMS_COMMANDS_FILE",
    "CheckedMenus",
    "CheckedService",
    "MenuFiles",
    "Problem",
    "check_files",
    "check_menus",
    "check_source",
    "default_menu_paths",
    "menu_files",
    "mermaid",
    "mermaid_of",
    "run_check",
    "shipped_common_path",
]
