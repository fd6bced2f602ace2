"""MT through Kannel's smsbox: ``GET cgi-bin/sendsms``.

The text goes as UTF-8 (``charset=UTF-8``) and Kannel recodes it: ``coding=0`` for GSM-7,
``coding=2`` for UCS-2 (Cyrillic). With a delivery-report URL configured, ``dlr-mask=31``
asks for every report type and ``dlr-url`` carries the outbox id, Kannel's ``%d`` (the
report type) and the callback token: ``<dlr_url>?id=<id>&status=%d&token=<token>``.
Keep that token to URL-safe ASCII: Kannel expands ``%A``…``%F`` escapes inside the URL.

Replies: 202 ``0: Accepted for delivery`` or ``3: Queued for later delivery`` is
accepted; any 4xx (403 bad credentials, 400 bad request) will not get better by retrying;
5xx, timeouts and connection errors are retried. A 2xx with any other body is a failure
that is not retried: the SMSC may have taken it, and a code sent twice costs twice.
Redirects are not followed (they would carry the password elsewhere). Nothing here logs,
and a failure's detail never holds the URL (it carries the password and the text).
"""

from __future__ import annotations

from urllib.parse import quote

import aiohttp

from sms.encoding import Encoding
from sms.segments import count_segments
from sms.senders.base import HttpSender, SendResult, international, safe_detail, with_query

"""Seconds for one sendsms request (well under the outbox lease)."""
DLR_MASK = 31
"""1 delivered, 2 undelivered, 4 queued on SMSC, 8 delivered to SMSC, 16 rejected."""
_ACCEPTED = ("0:", "3:")


class KannelSender(HttpSender):
    """:class:`sms.senders.base.Sender` for Kannel's sendsms interface."""

    name = "kannel"
    """The label of this sender in the metrics."""

    def dlr_url_for(self, message_id: int) -> str | None:
        """The ``dlr-url`` given to Kannel for one message (None without a DLR URL)."""
        if not self._dlr_url:
            return None
        query = f"id={message_id:d}&status=%d"
        if self._dlr_token:
            query += "&token=" + quote(self._dlr_token, safe="")
        return with_query(self._dlr_url, query)

    def params(self, msisdn: str, text: str, *, message_id: int) -> dict[str, str]:
        """The sendsms query of one message."""
        coding = "2" if count_segments(text).encoding is Encoding.UCS2 else "0"
        params = {
            "username": self._username,
            "password": self._password,
            "from": self._sender_id,
            "to": international(msisdn),
            "text": text,
            "charset": "UTF-8",
            "coding": coding,
        }
        dlr_url = self.dlr_url_for(message_id)
        if dlr_url is not None:
            params["dlr-mask"] = str(DLR_MASK)
            params["dlr-url"] = dlr_url
        return params

    async def send(self, msisdn: str, text: str, *, message_id: int) -> SendResult:
        """Submit one SMS to Kannel and classify the reply."""
        params = self.params(msisdn, text, message_id=message_id)
        try:
            async with self._http.get(
                self._url, params=params, timeout=self._timeout, allow_redirects=False
            ) as response:
                status = response.status
                reply = (await response.content.read(1024)).decode("utf-8", "replace")
        except TimeoutError:
            return SendResult(False, retryable=True, detail="timeout")
        except aiohttp.ClientError as exc:
            # The exception's text may hold the URL: only its class is kept.
            return SendResult(False, retryable=True, detail=f"connection: {type(exc).__name__}")
        detail = safe_detail(status, reply, text, self._password)
        if 200 <= status < 300:
            if reply.lstrip().startswith(_ACCEPTED):
                return SendResult(True, detail=detail)
            return SendResult(False, retryable=False, detail=detail)
        return SendResult(False, retryable=status >= 500, detail=detail)
