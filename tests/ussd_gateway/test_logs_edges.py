"""Redaction after rendering (tracebacks, libraries' records) and outside noise rate-limited."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
import structlog
from aiohttp.http_exceptions import LineTooLong
from aiohttp.test_utils import TestServer
from support import MO_SECRET, read_log
from yarl import URL

from ussd_gateway.process import logs


@contextmanager
def _captured(level: str = "debug") -> Iterator[io.StringIO]:
    run_stream = logging.getLogger().handlers[0].stream  # type: ignore[attr-defined]
    stream = io.StringIO()
    logs.configure(level, stream, cache_loggers=False)
    try:
        yield stream
    finally:
        logs.configure("debug", run_stream, cache_loggers=False)


def _fail(url: str) -> None:
    raise ValueError(f"cannot fetch {url}")


def test_tracebacks_are_redacted_after_rendering() -> None:
    """Our traceback and a library's: the secret and the full number never reach the stream."""
    url = f"/sms/mo?token={MO_SECRET}&from=%2B375291112233&text=x"
    with _captured() as stream:
        try:
            _fail(url)
        except ValueError:
            structlog.get_logger("t").exception("hop_failed")
            logging.getLogger("aiohttp.web").exception("Error handling request")
    text = stream.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == 2 and all("Traceback" in line["exception"] for line in lines)
    assert MO_SECRET not in text and "375291112233" not in text
    assert "token=[redacted]" in text and "37529***2233" in text


def test_malformed_requests_are_rate_limited_warnings_without_traceback() -> None:
    """aiohttp.server's "Error handling request" for a parse error: a warning, one line,
    at most OUTSIDE_LINES_PER_MINUTE, then one line saying how many were left out."""
    with _captured() as stream:
        server = logging.getLogger("aiohttp.server")
        for _ in range(logs.OUTSIDE_LINES_PER_MINUTE + 5):
            try:
                raise LineTooLong(f"GET /sms/mo?token={MO_SECRET}", "8190")
            except LineTooLong:
                server.exception("Error handling request from %s", "192.0.2.1")
        for _ in range(3):
            logging.getLogger("asyncio").error(
                "socket.accept() out of system resource", exc_info=OSError(24, "Too many")
            )
        server.error("something else")  # not from outside: untouched
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    malformed = [line for line in lines if line["event"].startswith("malformed_request")]
    assert len(malformed) == logs.OUTSIDE_LINES_PER_MINUTE
    assert all(line["level"] == "warning" and "exception" not in line for line in malformed)
    assert malformed[0]["event"] == "malformed_request: LineTooLong"
    accept = [line for line in lines if line["event"].startswith("accept_out_of_resources")]
    assert len(accept) == 3 and accept[0]["level"] == "warning"
    assert lines[-1]["event"] == "something else" and lines[-1]["level"] == "error"
    assert MO_SECRET not in stream.getvalue()


async def test_failing_requests_reach_the_run_log_redacted(gateway: TestServer) -> None:
    """Deliberately failing requests with the MO secret in their URL, logged to the run's own
    log (the one the end-of-run scan reads): a request line past aiohttp's limit, and a
    traceback quoting the URL. The lines are there, redacted; the scan checks the rest."""
    base = str(gateway.make_url("/sms/mo"))
    target = f"?token={MO_SECRET}&from=%2B375291112233&text=" + "%D0%AF" * 2000
    async with aiohttp.ClientSession() as http:
        async with http.get(URL(base + target, encoded=True)) as response:
            assert response.status == 400
    try:
        _fail(base + target[:120])
    except ValueError:
        structlog.get_logger("ussd_gateway.test").exception("request_failed")
    logged = [line for line in read_log() if line.get("event") in ("request_failed",)
              or str(line.get("event")).startswith("malformed_request")]  # fmt: skip
    assert {str(line["event"]).split(":")[0] for line in logged[-2:]} == {
        "malformed_request",
        "request_failed",
    }
    rendered = json.dumps(logged, ensure_ascii=False)
    assert MO_SECRET not in rendered and "375291112233" not in rendered
    assert "token=[redacted]" in rendered
