"""The project's shape: dependencies point one way, and the code passes ruff and mypy."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("ussd_gateway", "account", "sms", "state", "simulators")
ALLOWED = {
    # ussd_gateway → account → sms → state; simulators speak HTTP and may only measure screens.
    "state": set(),
    "sms": {"state"},
    "account": {"sms", "state"},
    "ussd_gateway": {"account", "sms", "state", "menus"},
    "simulators": {"sms"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_dependencies_point_one_way(package: str) -> None:
    """No package imports one it must not (state knows nothing of the gateway)."""
    forbidden = set(PACKAGES) - ALLOWED[package] - {package}
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = _imports(path) & forbidden
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def _modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


BACKENDS = ("state.sqlite", "state.postgres")
# Where a backend may be named: itself, the one place that opens the configured one, and
# the package's public names (SqliteStore, for tests and tools that want a file store).
BACKEND_CHOOSERS = {"state/backends.py", "state/__init__.py"}


def test_the_store_backend_is_chosen_in_one_place() -> None:
    """Everything else works on the contract (state/store.py), whichever backend is behind:
    the backends don't know each other, and no caller imports one directly."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            where = path.relative_to(ROOT).as_posix()
            named = {m for m in _modules(path) for b in BACKENDS if m == b or m.startswith(b + ".")}
            own = next((b for b in BACKENDS if where.startswith(b.replace(".", "/") + "/")), None)
            if own is not None:
                foreign = {m for m in named if not m.startswith(own)}
                assert not foreign, f"{where} imports another backend: {sorted(foreign)}"
            elif where not in BACKEND_CHOOSERS:
                assert not named, f"{where} imports {sorted(named)}: take a role of state.store"


def test_the_engine_takes_the_hop_role() -> None:
    """The engine needs two methods of the store; it is typed with exactly that role."""
    import inspect

    from state.store import HopStore
    from ussd_gateway.hop.engine import Engine

    assert inspect.signature(Engine).parameters["store"].annotation in (HopStore, "HopStore")


ROOMS = {
    # The rooms of the service (ARCHITECTURE.md) and the rooms each may import. The arrows
    # point down: process → app → http → hop → menus → dialects → fields → errors.
    "errors": set(),
    "config": {"hop"},  # the USSD session limits' defaults (hop/timeouts.py)
    "fields": {"errors"},
    "dialects": {"errors", "fields"},
    "menus": {"errors", "dialects"},
    "hop": {"errors", "dialects", "menus"},
    "backends": {"config", "menus"},  # a menu's calls, to the configured back-ends
    "metrics": {"hop", "backends"},  # the page renders the hop metrics beside the service's own
    # The EUSE connector: beside the dialects in spirit (translate, don't decide), but a
    # long-lived link of its own rather than HTTP, so it drives the engine directly.
    "gsup": {"errors", "dialects", "hop"},
    "http": {"errors", "fields", "config", "dialects", "menus", "hop", "metrics"},
    "smtp": {"config"},
    "app": {"errors", "config", "menus", "hop", "http", "smtp", "metrics", "backends", "gsup"},
    "process": {"errors", "config", "menus", "hop", "app", "metrics"},  # workers share metrics
    "__init__": {"errors", "config", "dialects", "menus", "hop", "app"},
    "__main__": {"process"},
}


def _room(path: Path) -> str:
    return path.relative_to(ROOT / "ussd_gateway").parts[0].removesuffix(".py")


def _rooms_imported(path: Path) -> set[str]:
    found = set()
    for module in _modules(path):
        parts = module.split(".")
        if parts[0] == "ussd_gateway" and len(parts) > 1:
            found.add(parts[1])
    return found


def test_the_service_rooms_point_one_way() -> None:
    """Inside ussd_gateway: the dialects and menus know no engine, the engine no HTTP, the
    HTTP adapters no process code; only the composition root and the process see all."""
    for path in sorted((ROOT / "ussd_gateway").rglob("*.py")):
        room = _room(path)
        assert room in ROOMS, f"{path.relative_to(ROOT)}: a new room; add it to ROOMS"
        bad = _rooms_imported(path) - ROOMS[room] - {room}
        assert not bad, f"{path.relative_to(ROOT)} ({room}) imports {sorted(bad)}"


def test_the_account_knows_no_http() -> None:
    """The account's use cases run without a web server: no aiohttp below the service."""
    for package in ("account", "sms", "state"):
        for path in sorted((ROOT / package).rglob("*.py")):
            assert "aiohttp" not in _imports(path) or path.match("sms/senders/*.py"), (
                f"{path.relative_to(ROOT)} imports aiohttp"
            )


MAX_LINES = 300
"""A module longer than this says why in its docstring ("Over 300 lines: …")."""


def test_a_long_module_says_why() -> None:
    """One concept per module: past 300 lines, the docstring gives the reason."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            if text.count("\n") <= MAX_LINES:
                continue
            doc = ast.get_docstring(ast.parse(text)) or ""
            assert "over 300 lines" in doc.lower(), (
                f"{path.relative_to(ROOT)} has {text.count(chr(10))} lines and no reason"
            )


def _tool(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    found = str(exe) if exe.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is a test dependency (pip install -e '.[test]')")
    return found


def test_ruff_is_clean() -> None:
    """ruff (lint and format) passes on the source packages."""
    targets = [*PACKAGES, "bench"]
    lint = subprocess.run([_tool("ruff"), "check", *targets], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    assert lint.returncode == 0, lint.stdout
    fmt = subprocess.run([_tool("ruff"), "format", "--check", *targets], cwd=ROOT,
                         capture_output=True, text=True, check=False)
    assert fmt.returncode == 0, fmt.stdout


@pytest.mark.slow
def test_mypy_strict_is_clean() -> None:
    """mypy --strict passes on the source packages."""
    result = subprocess.run([_tool("mypy"), *PACKAGES, "bench"], cwd=ROOT, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout
