"""The listening sockets, bound before the app starts.

aiohttp's ``run_app(host=, port=)`` binds only after the app's start-up (the store opened,
the workers started), and a failure is a traceback. Binding here first makes a taken port
or an address that is not this machine's one :class:`ListenError` (the command line prints
it as one line, exit status 2), and means that once the gateway says it started, the port
is its own. The sockets are made as ``loop.create_server`` makes them (``SO_REUSEADDR``,
IPv6 sockets IPv6-only, every address the host resolves to) and handed to ``run_app``.
"""

from __future__ import annotations

import ipaddress
import re
import socket

BACKLOG = 128
"""aiohttp's own default."""
_NUMERIC = re.compile(r"[0-9.]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*")
"""A host written as an IPv4 or IPv6 address (else a name to resolve)."""


class ListenError(ValueError):
    """The gateway cannot listen on the configured address (the message says why)."""


def listen(host: str, port: int, *, reuse_port: bool = False) -> list[socket.socket]:
    """Sockets bound to ``host:port`` (``""``: every interface) and listening.

    ``reuse_port``: ``SO_REUSEPORT``, for ``--workers``, each worker binding its own socket
    to the same port. Without it the port must be free, even of another gateway's workers.

    Raises:
        ListenError: the host does not resolve, the address is taken or not this machine's.
    """
    where = f"{host}:{port}"
    if _NUMERIC.fullmatch(host):  # meant as an address: no DNS lookup for "999.1.1.1"
        try:
            ipaddress.ip_address(host)
        except ValueError as exc:
            raise ListenError(f"cannot listen on {where}: {exc}") from None
    try:
        found = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (OSError, UnicodeError, OverflowError) as exc:
        raise ListenError(f"cannot listen on {where}: {_reason(exc)}") from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(found):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(BACKLOG)
            sock.setblocking(False)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise ListenError(f"cannot listen on {where}: {_reason(exc)}") from None
    return sockets


def address_of(sock: socket.socket) -> str:
    """``host:port`` of a bound socket (``[::1]:8080`` for IPv6)."""
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if sock.family == socket.AF_INET6 else f"{host}:{port}"


def _reason(exc: BaseException) -> str:
    return (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
