"""The SMS inbox and the mailbox: what the SMSC simulator and the loopback SMTP server got.

Both are read over HTTP (``ussd-smsc``'s ``GET /messages``, ``ussd-mailbox``'s
``GET /letters``). A peer not configured or not answering is said so, not raised: the
phone works without them.
"""

from __future__ import annotations

from typing import Any

import aiohttp

PEER_TIMEOUT = aiohttp.ClientTimeout(total=3)


async def inbox(http: aiohttp.ClientSession, smsc_url: str | None, msisdn: str) -> dict[str, Any]:
    """The SMS the SMSC simulator took for ``msisdn``, newest first."""
    if not smsc_url:
        return {"available": False, "message": "no SMSC simulator given (--smsc URL)"}
    return await _read(http, smsc_url.rstrip("/") + "/messages", {"to": msisdn}, "messages")


async def mailbox(http: aiohttp.ClientSession, mailbox_url: str | None) -> dict[str, Any]:
    """The letters the loopback SMTP server got, newest first."""
    if not mailbox_url:
        return {"available": False, "message": "no mailbox given (--mailbox URL)"}
    return await _read(http, mailbox_url.rstrip("/") + "/letters", {}, "letters")


async def _read(
    http: aiohttp.ClientSession, url: str, params: dict[str, str], key: str
) -> dict[str, Any]:
    try:
        async with http.get(url, params=params, timeout=PEER_TIMEOUT) as response:
            if response.status != 200:
                return {"available": False, "message": f"{url} answered HTTP {response.status}"}
            data = await response.json()
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return {"available": False, "message": f"cannot read {url}: {type(exc).__name__}"}
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list):
        return {"available": False, "message": f"{url} did not list {key}"}
    return {"available": True, key: list(reversed(items))}
