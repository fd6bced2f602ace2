"""The MSISDN of an IMSI from a real OsmoHLR's CTRL interface (ussd_gateway/gsup/subscribers.py)."""

from __future__ import annotations

import pytest
from hlr_harness import OsmoHlr, imsi_of
from support import OPEN_RU

from ussd_gateway.gsup.subscribers import CtrlSubscribers, LookupFailed

pytestmark = pytest.mark.osmocom


async def test_known_unknown_and_numberless_imsis(hlr: OsmoHlr) -> None:
    """A provisioned IMSI gives its number; one OsmoHLR does not know, or knows without a
    number ("none"), gives None; so does a malformed one, without asking."""
    hlr.provision("001010000000077", None)
    lookups = CtrlSubscribers(hlr.address, 4259)
    try:
        assert await lookups.msisdn(imsi_of(OPEN_RU.msisdn)) == OPEN_RU.msisdn
        assert await lookups.msisdn("001010000000066") is None
        assert await lookups.msisdn("001010000000077") is None
        assert await lookups.msisdn("12; GET 9 x") is None
    finally:
        await lookups.close()


async def test_a_restarted_hlr_is_asked_again_and_a_stopped_one_fails(hlr: OsmoHlr) -> None:
    """The kept connection dies with the HLR: the next lookup opens a new one; with the
    HLR down, LookupFailed."""
    lookups = CtrlSubscribers(hlr.address, 4259, timeout=1.0)
    try:
        assert await lookups.msisdn(imsi_of(OPEN_RU.msisdn)) == OPEN_RU.msisdn
        hlr.restart()
        assert await lookups.msisdn(imsi_of(OPEN_RU.msisdn)) == OPEN_RU.msisdn
        hlr.stop()
        with pytest.raises(LookupFailed):
            await lookups.msisdn(imsi_of(OPEN_RU.msisdn))
    finally:
        hlr.start()
        await lookups.close()
