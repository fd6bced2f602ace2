"""Configuration that refuses mistakes: by key, with its source, never quoting a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from ussd_gateway.config import ConfigError, Settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gw.toml"
    path.write_text(text, encoding="utf-8")
    return path


def refusal(path: Path | None, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as refused:
        Settings.load(path, env or {})
    assert "\n" not in str(refused.value), "one line"
    return refused.value


def test_an_unknown_key_is_named_with_its_section_and_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[sessions]\nidle_secs = 30\n")
    error = refusal(path)
    assert "sessions.idle_secs" in str(error) and str(path) in str(error)
    assert "idle_seconds" in str(error)  # the near miss is suggested


def test_an_unknown_section_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "[sever]\nport = 9000\n")
    error = refusal(path)
    assert "[sever]" in str(error) and str(path) in str(error)


@pytest.mark.parametrize("value", ["80920", '"eighty"', "0", "true", "9000.0"])
def test_a_bad_port_in_the_file_names_server_port_and_the_file(
    tmp_path: Path, value: str
) -> None:
    path = write(tmp_path, f"[server]\nport = {value}\n")
    error = refusal(path)
    assert f"{path}: invalid setting server.port" in str(error)


@pytest.mark.parametrize("value", ["80920", "eighty", "", "9000.5"])
def test_a_bad_port_in_the_environment_names_the_variable(value: str) -> None:
    error = refusal(None, {"USSD_GATEWAY_PORT": value})
    assert "USSD_GATEWAY_PORT" in str(error) and "server.port" in str(error)


def test_a_log_level_that_does_not_exist_names_the_allowed_ones() -> None:
    error = refusal(None, {"USSD_GATEWAY_LOG_LEVEL": "verbose"})
    assert "USSD_GATEWAY_LOG_LEVEL" in str(error) and "log.level" in str(error)
    assert all(level in str(error) for level in ("debug", "info", "warning", "error"))
    assert Settings.load(None, {"USSD_GATEWAY_LOG_LEVEL": "WARNING"}).log_level == "warning"


@pytest.mark.parametrize("text", ["maybe", "on", "t", "y", "2", ""])
def test_environment_booleans_are_strict(text: str) -> None:
    error = refusal(None, {"USSD_GATEWAY_SMTP_STARTTLS": text})
    assert "USSD_GATEWAY_SMTP_STARTTLS" in str(error) and "account.smtp_starttls" in str(error)


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("TRUE", True), ("1", True), ("yes", True), ("false", False),
     ("0", False), ("No", False)],
)
def test_environment_booleans_that_are_accepted(text: str, value: bool) -> None:
    assert Settings.load(None, {"USSD_GATEWAY_SMTP_STARTTLS": text}).account.smtp_starttls is value
    assert Settings.load(None, {"USSD_GATEWAY_DEMO": text}).demo is value


def test_a_file_boolean_is_a_toml_boolean(tmp_path: Path) -> None:
    error = refusal(write(tmp_path, '[account]\nsmtp_starttls = "yes"\n'))
    assert "account.smtp_starttls" in str(error)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nport = 80920\n[sever]\n[sessions]\nidle_secs = 1\n")
    error = refusal(path, {"USSD_GATEWAY_LOG_LEVEL": "verbose", "USSD_GATEWAY_SMTP_TLS": "maybe"})
    assert len(error.problems) == 5
    for key in ("server.port", "[sever]", "sessions.idle_secs", "log.level", "smtp_tls"):
        assert sum(key in p for p in error.problems) == 1, key


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[sms]\nsender = 'smpp'\n", "sms.sender"),
        ("[sms]\nmax_segments = 0\n", "sms.max_segments"),
        ("[sms]\nsender_id = 'A-very-long-name'\n", "sms.sender_id"),
        ("[sms]\nkannel_sendsms_url = 'kannel:13013'\n", "sms.kannel_sendsms_url"),
        ("[store]\npool_size = 5000\n", "store.pool_size"),
        ("[sessions]\nidle_seconds = -1\n", "sessions.idle_seconds"),
        ("[sessions]\nidle_seconds = 200\n", "sessions.total_seconds"),  # the default 180
        ("[account]\nsmtp_tls = true\nsmtp_starttls = true\n", "account.smtp_tls"),
        ("[account]\nsmtp_port = 0\n", "account.smtp_port"),
        ("[account]\ntemporary_password_hours = 0\n", "account.temporary_password_hours"),
        ("[codes]\nallowed_prefixes = ['375x5']\n", "codes.allowed_prefixes"),
        ("[codes]\nallowed_prefixes = ['23324']\n", "codes.allowed_prefixes"),
        ("[menus]\npaths = 'menus/a.yaml'\n", "menus.paths"),
        ("[log]\nlevel = 'verbose'\n", "log.level"),
        ("server = 1\n", "[server]"),
        ("[numbering]\ncountry_code = '0375'\n", "[numbering]"),
        ("[numbering]\noperator_ranges = []\n", "[numbering]"),
        ("[numbering]\ntrunk_prefixes = ['2']\n", "[numbering]"),  # 2 would read as range 25
    ],
)
def test_values_are_type_and_range_checked_by_key(tmp_path: Path, text: str, key: str) -> None:
    path = write(tmp_path, text)
    assert key in str(refusal(path)) and str(path) in str(refusal(path))


def test_the_environment_only_keys_are_refused_in_a_file(tmp_path: Path) -> None:
    """Demo mode and the pepper's value are never written in a file."""
    error = refusal(write(tmp_path, "[server]\ndemo = true\n"))
    assert "server.demo" in str(error) and "USSD_GATEWAY_DEMO" in str(error)
    error = refusal(write(tmp_path, f'[store]\npuk_pepper = "{"ab" * 32}"\n'))
    assert "store.puk_pepper" in str(error) and "abab" not in str(error)


SECRET = "hunter2-very-secret"


@pytest.mark.parametrize(
    ("text", "env"),
    [
        (f'[dialects]\nnative = ["{SECRET}"]\n', {}),
        (f'[dialects]\nnativ = "{SECRET}"\n', {}),
        (f'[sms]\nmo_secret = {{ value = "{SECRET}" }}\n', {}),
        (f'[store]\npuk_pepper = "{SECRET}"\n', {}),
        ("", {"USSD_GATEWAY_PUK_PEPPER": SECRET}),
        ("", {"USSD_GATEWAY_DATABASE": f"postgresql://gw:{SECRET}@db:port/gw"}),
        ("", {"USSD_GATEWAY_DATABASE": f"mysql://gw:{SECRET}@db/gw"}),
        (f'[store]\ndatabase = "postgresql://gw:{SECRET}@db/gw"\npassword_file = "/none"\n', {}),
        ("", {"USSD_GATEWAY_SMTP_PORT": SECRET, "USSD_GATEWAY_SMTP_PASSWORD": SECRET + "x",
              "USSD_GATEWAY_SESSION_IDLE": "0"}),
    ],
)
def test_a_refusal_never_shows_a_secret(tmp_path: Path, text: str, env: dict[str, str]) -> None:
    error = refusal(write(tmp_path, text), env)
    assert SECRET not in str(error) and SECRET not in repr(error)
    assert all(SECRET not in p for p in error.problems)
    assert error.__cause__ is None and SECRET not in str(error.__context__)


def test_secrets_are_masked_in_every_representation(tmp_path: Path) -> None:
    from ussd_gateway.config import load

    path = write(tmp_path, f'[dialects]\nnative = "{SECRET}"\n[store]\n'
                           f'database = "postgresql://gw:{SECRET}@db/gw"\n')
    loaded = load(path, {"USSD_GATEWAY_SMTP_PASSWORD": SECRET, "USSD_GATEWAY_PUK_PEPPER": "ab" * 32})
    for shown in (repr(loaded), str(loaded), repr(loaded.settings), repr(loaded.document),
                  str(loaded.document.model_dump()), loaded.document.model_dump_json()):
        assert SECRET not in shown and "abab" not in shown
    assert loaded.settings.dialect_secrets["native"].reveal() == SECRET
    assert loaded.settings.account.smtp_password is not None
    assert loaded.settings.account.smtp_password.reveal() == SECRET


def test_a_numbering_plan_from_the_file_and_the_code_ranges_follow_it(tmp_path: Path) -> None:
    from state.msisdn import BELARUS, NumberingPlan

    path = write(tmp_path, '[numbering]\ncountry_code = "233"\ntrunk_prefixes = ["0"]\n'
                           'national_digits = 9\noperator_ranges = ["24", "54"]\nname = "Ghanaian"\n')
    settings = Settings.load(path, {})
    assert settings.numbering == NumberingPlan("233", ("0",), 9, ("24", "54"), "Ghanaian")
    assert settings.codes.allowed_prefixes == ("23324", "23354")
    env = {"USSD_GATEWAY_NUMBERING_OPERATOR_RANGES": "24, 55", "USSD_GATEWAY_CODE_PREFIXES": "23355"}
    settings = Settings.load(path, env)
    assert settings.numbering.operator_ranges == ("24", "55")
    assert settings.codes.allowed_prefixes == ("23355",)
    assert Settings.load(None, {}).numbering == BELARUS


def test_every_documented_key_is_in_the_schema() -> None:
    """The example in the package docstring is a valid file, key for key."""
    import tomllib

    import ussd_gateway.config as config

    doc = config.__doc__ or ""
    example = doc.split("Example file (every key optional; the defaults shown)::")[1]
    example = example.split("\nEnvironment:")[0]
    text = "\n".join(line[4:] for line in example.splitlines())
    parsed = tomllib.loads(text)
    assert set(parsed) == set(config.sections.Document.model_fields)
    for name, table in parsed.items():
        if name == "backends":  # a table of tables, one per back-end
            for backend in table.values():
                assert set(backend) <= set(config.sections.BackendSection.model_fields)
            continue
        section = config.sections.Document.model_fields[name].annotation
        assert set(table) <= set(section.model_fields), name  # type: ignore[union-attr]
