"""Each policy figure is defined once: the configuration's defaults are the owners' own."""

from __future__ import annotations

from account.codes import CodePolicy
from state.websessions import SessionTimes
from ussd_gateway.config import Settings
from ussd_gateway.hop.timeouts import SessionTimeouts


def test_defaults_are_read_from_the_modules_that_own_them() -> None:
    for settings in (Settings(), Settings.load(None, {})):
        ussd, web, codes = SessionTimeouts(), SessionTimes(), CodePolicy()
        assert (settings.session_idle, settings.session_total) == (ussd.idle, ussd.total)
        assert (settings.account.session_idle, settings.account.session_total) == (
            web.idle,
            web.total,
        )
        assert settings.codes.allowed_prefixes == codes.allowed_prefixes
        assert settings.codes.global_per_hour == codes.global_per_hour
