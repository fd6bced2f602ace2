"""Logging: JSON lines with request ids, and nothing secret in them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from support import read_log

from ussd_gateway.process import logs


@contextmanager
def _captured(level: str = "debug") -> Iterator[io.StringIO]:
    """The gateway's configuration writing to a string, then the run's own again."""
    run_stream = logging.getLogger().handlers[0].stream  # type: ignore[attr-defined]
    stream = io.StringIO()
    logs.configure(level, stream, cache_loggers=False)
    try:
        yield stream
    finally:
        logs.configure("debug", run_stream, cache_loggers=False)


def test_redaction_of_secret_keys_and_numbers() -> None:
    """Secret-bearing keys are blanked and full numbers masked, also in stdlib records."""
    with _captured() as stream:
        structlog.get_logger("t").info("hop", text="40718263", password="x", msisdn="375291234567",
                                       note="from 375291234567")
        logging.getLogger("other").info("plain %s", "375331112233")
        logging.getLogger("aiohttp.access").info('"POST /ussd?token=s3cr3t&x=1 HTTP/1.1" 200')
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["logger"] == "t" and lines[1]["logger"] == "other"
    assert lines[0]["level"] == "info" and "timestamp" in lines[0]
    assert lines[0]["text"] == "[redacted]" and lines[0]["password"] == "[redacted]"
    assert lines[0]["msisdn"] == "37529***4567" and "1234567" not in lines[0]["note"]
    assert lines[1]["event"] == "plain 37533***2233"
    assert lines[2]["event"] == '"POST /ussd?token=[redacted]&x=1 HTTP/1.1" 200'


def test_lines_below_the_level_are_not_written() -> None:
    """At ``warning``, info lines are dropped, from structlog and from libraries alike."""
    with _captured("warning") as stream:
        structlog.get_logger("t").info("quiet")
        logging.getLogger("other").info("quiet too")
        structlog.get_logger("t").warning("loud")
        logging.getLogger("other").error("loud too")
    events = [json.loads(line)["event"] for line in stream.getvalue().splitlines()]
    assert events == ["loud", "loud too"]


def test_exceptions_are_logged_without_local_variables() -> None:
    """A traceback is plain text: no local variables (a local PUK1 must not leak)."""
    with _captured() as stream:
        puk = "31415926"  # noqa: F841 - the local a dict traceback would print
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            structlog.get_logger("t").exception("failed")
    line = json.loads(stream.getvalue().splitlines()[0])
    assert "RuntimeError: boom" in line["exception"] and "31415926" not in stream.getvalue()


def test_hop_lines_carry_request_id_and_no_input() -> None:
    """Hop lines so far in the run have a request id and no input field."""
    hops = [line for line in read_log() if line.get("event") == "ussd_hop"]
    for line in hops:
        assert "request_id" in line and "text" not in line
