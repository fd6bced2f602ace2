"""Logging: JSON lines with request ids, and nothing secret in them."""

from __future__ import annotations

import io
import json
import logging

import structlog

from ussd_gateway import logs


def test_redaction_of_secret_keys_and_numbers() -> None:
    """Secret-bearing keys are blanked and full numbers masked, also in stdlib records."""
    stream = io.StringIO()
    logs.configure("info", stream)
    try:
        structlog.get_logger("t").info("hop", text="40718263", password="x", msisdn="375291234567",
                                       note="from 375291234567")
        logging.getLogger("other").info("plain %s", "375331112233")
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logs.configure("debug", _run_log_stream())
    assert lines[0]["text"] == "[redacted]" and lines[0]["password"] == "[redacted]"
    assert lines[0]["msisdn"] == "37529***4567" and "1234567" not in lines[0]["note"]
    assert lines[1]["event"] == "plain 37533***2233"


def _run_log_stream() -> io.TextIOBase:
    # Restore the run-wide log file that tests/conftest.py opened.
    from conftest import LOG_PATH

    return LOG_PATH.open("a", encoding="utf-8")


def test_hop_line_has_request_id_and_no_input(tmp_path: object) -> None:
    """Every hop line carries the request id; the scan at the end of the run checks secrets."""
    from conftest import read_log

    hops = [line for line in read_log() if line.get("event") == "ussd_hop"]
    for line in hops:
        assert "request_id" in line and "text" not in line
