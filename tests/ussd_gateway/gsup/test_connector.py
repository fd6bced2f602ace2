"""The connector's own pieces that need no engine: what its log lines show of an IMSI and
the hop that ends a session it carried."""

from __future__ import annotations

import pytest

from ussd_gateway.dialects.model import Op
from ussd_gateway.gsup import connector, translate


@pytest.mark.parametrize(
    ("imsi", "shown"),
    [
        ("001012911122330", "00101********30"),
        ("0010129111", "00101***11"),
        ("001012911", "*********"),
        ("1234567", "*******"),
        ("1", "*"),
    ],
)
def test_an_imsi_in_a_log_line_keeps_its_network_and_last_two_digits(imsi: str, shown: str) -> None:
    """At least three digits are hidden; an IMSI too short for that shows none."""
    masked = connector._mask_imsi(imsi)
    assert masked == shown and masked != imsi and len(masked) == len(imsi)


def test_a_carried_session_is_aborted_under_its_own_id_and_number() -> None:
    live = connector._Live("375291112233", 1, "gw-00000001-1a2b-1", 0.0)
    request = live.abort("link-lost")
    assert (request.dialect, request.session_id, request.msisdn) == (
        translate.DIALECT,
        "gw-00000001-1a2b-1",
        "375291112233",
    )
    assert (request.op, request.text, request.hop_key) == (Op.ABORT, "", "link-lost")
