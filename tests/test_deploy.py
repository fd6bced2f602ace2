"""``deploy/``: the systemd unit passes ``systemd-analyze verify`` and says what the README
promises (reload, stop, restart, hardening); the environment file names real settings."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ussd_gateway.config import Settings

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "deploy" / "ussd-gateway.service"
ENV_EXAMPLE = ROOT / "deploy" / "ussd-gateway.env.example"
INSTALLED = "/opt/ussd-gateway/venv/bin/ussd-gateway"
"""Where the unit expects the gateway (README: Running it as a service)."""


def systemd_analyze() -> str:
    """The systemd-analyze executable; skips without one (fails under ``CI=true``, where
    ``.ci/run`` installs systemd)."""
    found = shutil.which("systemd-analyze") or next(
        (p for p in ("/usr/bin/systemd-analyze", "/bin/systemd-analyze") if os.access(p, os.X_OK)),
        None,
    )
    if found is None:
        reason = "systemd-analyze is not installed (apt-get install systemd): the unit is not verified"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} — CI=true, so this is a failure, not a skip", pytrace=False)
        pytest.skip(reason)
    return found


def _directives(text: str) -> dict[str, list[str]]:
    """Key → values, in order (a unit may repeat a key)."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    """``systemd-analyze verify`` checks every directive and that ExecStart's program is
    there. The unit names the installed path (/opt/ussd-gateway/venv), which a test machine
    lacks, so a copy is verified whose ExecStart is this venv's own ``ussd-gateway``, the
    only line changed: creating /opt/… would need root and leave files behind."""
    analyze = systemd_analyze()
    here = Path(sys.executable).with_name("ussd-gateway")
    assert here.exists(), f"{here}: the venv's entry point (pip install -e '.[test]')"
    text = UNIT.read_text(encoding="utf-8")
    assert text.count(f"ExecStart={INSTALLED} ") == 1
    copy = tmp_path / "ussd-gateway.service"
    copy.write_text(text.replace(f"ExecStart={INSTALLED} ", f"ExecStart={here} "), encoding="utf-8")
    done = subprocess.run(  # noqa: S603 - the system's tool on our own file
        [analyze, "verify", "--man=no", str(copy)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    said = [line for line in (done.stdout + done.stderr).splitlines() if "ussd-gateway" in line]
    assert done.returncode == 0 and not said, done.stdout + done.stderr


def test_the_unit_reloads_stops_and_restarts_as_documented() -> None:
    """serve with a config file and workers; SIGHUP reloads; SIGTERM to the supervisor only
    (it passes it on once to each worker); restarted on failure, not for exit status 2."""
    unit = _directives(UNIT.read_text(encoding="utf-8"))
    [start] = unit["ExecStart"]
    assert re.fullmatch(
        rf"{re.escape(INSTALLED)} serve --config /etc/ussd-gateway/gateway\.toml --workers \d+",
        start,
    )
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert unit["KillMode"] == ["mixed"]
    assert unit["Restart"] == ["on-failure"] and unit["RestartPreventExitStatus"] == ["2"]
    assert unit["EnvironmentFile"] == ["/etc/ussd-gateway/ussd-gateway.env"]
    assert unit["User"] == ["ussd-gateway"] and unit["Group"] == ["ussd-gateway"]
    assert unit["ProtectSystem"] == ["strict"]
    assert unit["ReadWritePaths"] == ["/var/lib/ussd-gateway"]
    for hardening in ("NoNewPrivileges", "PrivateTmp", "PrivateDevices", "ProtectHome"):
        assert unit[hardening] == ["yes"], hardening


def _example_variables() -> list[str]:
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    return re.findall(r"^#?(USSD_GATEWAY_[A-Z0-9_]+)=", text, flags=re.MULTILINE)


def test_the_env_example_lists_the_secrets_and_each_is_a_setting(tmp_path: Path) -> None:
    """Every variable of the example changes a setting; every secret setting is there."""
    names = _example_variables()
    assert len(names) == len(set(names))
    password = tmp_path / "db-password"
    password.write_text("s3cret\n", encoding="utf-8")
    samples = {"USSD_GATEWAY_PUK_PEPPER": "ab" * 32,  # the setting refuses what is not hex
               "USSD_GATEWAY_PUK_PEPPER_FILE": str(tmp_path / "pepper"),
               "USSD_GATEWAY_DATABASE_PASSWORD_FILE": str(password)}  # fmt: skip
    base = {"USSD_GATEWAY_DATABASE": "postgresql://gateway@db.example/gateway"}
    plain = Settings.load(None, base)
    for name in names:
        changed = Settings.load(None, {**base, name: samples.get(name, "a-secret-value")})
        assert changed != plain, f"{name} sets nothing"
    secrets = {"PUK_PEPPER", "SECRET_NATIVE", "SECRET_AFRICASTALKING", "SECRET_HUBTEL",
               "SMS_MO_SECRET", "KANNEL_PASSWORD", "JASMIN_PASSWORD", "API_SECRET",
               "OPERATOR_SECRET", "SMTP_PASSWORD"}  # fmt: skip
    assert {f"USSD_GATEWAY_{s}" for s in secrets} <= set(names)
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        assert not line.startswith("USSD_GATEWAY_"), f"active in the example: {line}"


def test_without_systemd_analyze_a_skip_here_a_failure_under_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A developer's machine without systemd skips the verification; CI must not."""
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    monkeypatch.setattr(os, "access", lambda _path, _mode: False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install systemd"):
        systemd_analyze()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        systemd_analyze()


def test_the_example_settings_file_passes_config_check() -> None:
    """The README's production install copies deploy/gateway.toml.example and runs
    ``config check`` on it: the example must stay a valid, complete file."""
    example = ROOT / "deploy" / "gateway.toml.example"
    result = subprocess.run(
        [str(Path(sys.executable).with_name("ussd-gateway")), "config", "check", "--config",
         str(example)],
        capture_output=True, text=True, check=False, env={"PATH": os.environ.get("PATH", "")},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'database = "/var/lib/ussd-gateway/gateway.sqlite3"' in result.stdout
