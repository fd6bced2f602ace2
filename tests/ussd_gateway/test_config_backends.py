"""``[backends.NAME]`` and ``[menus] hop_budget_seconds``: read, refused by key, shown masked."""

from __future__ import annotations

from pathlib import Path

import pytest

from ussd_gateway.config import ConfigError, Settings, load
from ussd_gateway.process.cli.config import describe

TOKEN = "s3cr3t-billing-token"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gw.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_back_end_is_read_with_its_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, f'[backends.billing]\nurl = "https://billing.example/api/"\n'
                           f'token = "{TOKEN}"\n\n[menus]\nhop_budget_seconds = 3.5\n')  # fmt: skip
    settings = Settings.load(path, {})
    billing = settings.backends["billing"]
    assert billing.url == "https://billing.example/api"  # one slash between base and path
    assert billing.token is not None and billing.token.reveal() == TOKEN
    assert (billing.timeout, billing.tls_verify, billing.failures_to_open) == (2.0, True, 5)
    assert settings.hop_budget == 3.5
    assert TOKEN not in repr(settings)


def test_a_token_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "token").write_text(TOKEN + "\n", encoding="utf-8")
    path = write(tmp_path, f'[backends.crm]\nurl = "http://crm:8000"\n'
                           f'token_file = "{tmp_path / "token"}"\n')  # fmt: skip
    token = Settings.load(path, {}).backends["crm"].token
    assert token is not None and token.reveal() == TOKEN


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('[backends.billing]\nurl = "ftp://x"\n', "invalid setting backends.billing: [url]"),
        ("[backends.billing]\ntimeout_seconds = 1\n", "[url]: field required"),
        ('[backends.billing]\nurl = "http://b"\ntimeout = 2\n', "unknown key backends.billing.timeout"),
        ('[backends.billing]\nurl = "http://b"\ntimeout_seconds = 30\n', "timeout_seconds"),
        ('[backends.Billing]\nurl = "http://b"\n', "backends"),
        (f'[backends.billing]\nurl = "http://b"\ntoken = "{TOKEN}"\ntoken_file = "/x"\n',
         "token and token_file exclude each other"),
        ("[menus]\nhop_budget_seconds = 20\n", "invalid setting menus.hop_budget_seconds"),
        ('[backends.billing]\nurl = "http://b"\ntoken_file = "/nonexistent/token"\n',
         "cannot read /nonexistent/token"),
    ],
    ids=["bad_url", "no_url", "unknown_key", "timeout_too_long", "bad_name", "two_tokens",
         "budget_too_long", "unreadable_token_file"],
)  # fmt: skip
def test_mistakes_are_refused_by_key(tmp_path: Path, text: str, said: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as refused:
        Settings.load(path, {})
    assert said in str(refused.value) and TOKEN not in str(refused.value)


def test_config_check_shows_each_back_end_with_its_token_masked(tmp_path: Path) -> None:
    path = write(tmp_path, f'[backends.billing]\nurl = "http://billing:8090"\n'
                           f'token = "{TOKEN}"\n')  # fmt: skip
    text = "\n".join(describe(load(path, {})))
    assert "[backends.billing]" in text and 'url = "http://billing:8090"' in text
    assert 'token = "**********"' in text and TOKEN not in text
