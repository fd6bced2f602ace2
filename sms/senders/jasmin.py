"""MT through Jasmin's HTTP API: ``POST /send`` (form fields; the password stays out of
URLs and access logs).

Jasmin does not recode ``content``: its bytes go to the SMSC as they are. So a text of
plain ASCII goes as ``content`` with ``coding=0``; anything else (Cyrillic, and GSM-7
letters outside ASCII such as ``é`` or ``€``) goes as ``hex-content`` in UTF-16BE with
``coding=8`` (UCS-2). ``to`` is the number's digits without ``+``.

With a delivery-report URL configured: ``dlr=yes``, ``dlr-level=3`` (SMSC and handset),
``dlr-method=POST`` and ``dlr-url=<dlr_url>?token=<token>``. Jasmin posts its own fields
(``id`` is its message uuid, ``message_status``), so reports match on the provider
reference, not on our id.

Replies: 200 ``Success "<uuid>"`` is accepted with that uuid as the reference; 4xx
(``Error "…"``: authentication, routing, bad arguments) is not retried; 5xx, timeouts and
connection errors are. A 2xx without ``Success`` is a failure not retried.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import aiohttp

from sms.senders.base import HttpSender, SendResult, digits, safe_detail, with_query

"""Seconds for one /send request (well under the outbox lease)."""
DLR_LEVEL = 3
"""1: SMSC-level reports, 2: terminal-level, 3: both."""
_SUCCESS = re.compile(r'\s*Success\s+"([^"]+)"')


class JasminSender(HttpSender):
    """:class:`sms.senders.base.Sender` for Jasmin's ``/send``."""

    name = "jasmin"
    """The label of this sender in the metrics."""

    def form(self, msisdn: str, text: str) -> dict[str, str]:
        """The /send form of one message."""
        fields = {
            "username": self._username,
            "password": self._password,
            "to": digits(msisdn),
            "from": self._sender_id,
        }
        if text.isascii():
            fields.update(content=text, coding="0")
        else:
            fields.update({"hex-content": text.encode("utf-16-be").hex(), "coding": "8"})
        if self._dlr_url:
            url = self._dlr_url
            if self._dlr_token:
                url = with_query(url, "token=" + quote(self._dlr_token, safe=""))
            fields.update(
                {"dlr": "yes", "dlr-url": url, "dlr-level": str(DLR_LEVEL), "dlr-method": "POST"}
            )
        else:
            fields["dlr"] = "no"
        return fields

    async def send(self, msisdn: str, text: str, *, message_id: int) -> SendResult:
        """Submit one SMS to Jasmin and classify the reply."""
        try:
            async with self._http.post(
                self._url,
                data=self.form(msisdn, text),
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                status = response.status
                reply = (await response.content.read(1024)).decode("utf-8", "replace")
        except TimeoutError:
            return SendResult(False, retryable=True, detail="timeout")
        except aiohttp.ClientError as exc:
            return SendResult(False, retryable=True, detail=f"connection: {type(exc).__name__}")
        detail = safe_detail(status, reply, text, self._password)
        if 200 <= status < 300:
            match = _SUCCESS.match(reply)
            if match:
                return SendResult(True, provider_ref=match.group(1), detail=detail)
            return SendResult(False, retryable=False, detail=detail)
        return SendResult(False, retryable=status >= 500, detail=detail)
