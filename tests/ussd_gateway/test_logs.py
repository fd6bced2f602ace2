"""Logging: JSON lines with request ids, and nothing secret in them."""

from __future__ import annotations

import io
import json
import logging

import structlog
from support import read_log


def _capture() -> tuple[logging.Handler, io.StringIO]:
    """A second handler with the run's own formatter (configured in conftest)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.getLogger().handlers[0].formatter)
    logging.getLogger().addHandler(handler)
    return handler, stream


def test_redaction_of_secret_keys_and_numbers() -> None:
    """Secret-bearing keys are blanked and full numbers masked, also in stdlib records."""
    handler, stream = _capture()
    try:
        structlog.get_logger("t").info("hop", text="40718263", password="x", msisdn="375291234567",
                                       note="from 375291234567")
        logging.getLogger("other").info("plain %s", "375331112233")
        logging.getLogger("aiohttp.access").info('"POST /ussd?token=s3cr3t&x=1 HTTP/1.1" 200')
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["text"] == "[redacted]" and lines[0]["password"] == "[redacted]"
    assert lines[0]["msisdn"] == "37529***4567" and "1234567" not in lines[0]["note"]
    assert lines[1]["event"] == "plain 37533***2233"
    assert lines[2]["event"] == '"POST /ussd?token=[redacted]&x=1 HTTP/1.1" 200'


def test_exceptions_are_logged_without_local_variables() -> None:
    """A traceback is plain text: no local variables (a local PUK1 must not leak)."""
    handler, stream = _capture()
    try:
        puk = "31415926"  # noqa: F841 - the local a dict traceback would print
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            structlog.get_logger("t").exception("failed")
    finally:
        logging.getLogger().removeHandler(handler)
    line = json.loads(stream.getvalue().splitlines()[0])
    assert "RuntimeError: boom" in line["exception"] and "31415926" not in stream.getvalue()


def test_hop_lines_carry_request_id_and_no_input() -> None:
    """Hop lines so far in the run have a request id and no input field."""
    hops = [line for line in read_log() if line.get("event") == "ussd_hop"]
    for line in hops:
        assert "request_id" in line and "text" not in line
