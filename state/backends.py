"""Which store a database setting names, and opening it.

A path (or ``sqlite:///path``) is an SQLite file, the embedded default; a
``postgresql://`` (or ``postgres://``) URL is a PostgreSQL database that several gateway
instances share. A URL's password can come from a file instead of the URL (a secrets
mount), and is masked wherever the location is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from state.errors import StoreUnavailable
from state.store import Store

POSTGRES_SCHEMES = ("postgresql", "postgres")
DEFAULT_POOL_SIZE = 10
"""Connections per instance: a hop holds one for a read and one for its commit, both short;
10 serve a few thousand hops a second (make bench) while 3 instances stay far below
PostgreSQL's default max_connections of 100."""


class _Refused(ValueError):
    """A setting refused with a message of our own (safe to show)."""


@dataclass(frozen=True, slots=True)
class DatabaseLocation:
    """Where the store lives: an SQLite path or a PostgreSQL URL (password kept apart)."""

    path: Path | None = None
    url: str | None = None
    """A PostgreSQL URL without its password."""
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, text: str | Path, *, password: str | None = None) -> DatabaseLocation:
        """Read a setting; ``password`` (from a file) overrides one in the URL."""
        raw = str(text).strip()
        if not raw:
            raise ValueError("the database setting is empty")
        try:
            return cls._parse(raw, password)
        except ValueError as exc:
            # urllib's own messages quote parts of the URL (a password with "/" in it reads
            # as a port): say what is wrong, never what was given.
            if isinstance(exc, _Refused):
                raise ValueError(str(exc)) from None
            raise ValueError("not a valid path or postgresql:// URL") from None

    @classmethod
    def _parse(cls, raw: str, password: str | None) -> DatabaseLocation:
        parts = urlsplit(raw)
        if parts.scheme == "sqlite":
            return cls(path=Path(unquote(parts.path)))
        if parts.scheme not in POSTGRES_SCHEMES:
            if "://" in raw:
                raise _Refused(
                    f"unknown database scheme {parts.scheme!r}: a path, sqlite:///path or "
                    "postgresql://…"
                )
            return cls(path=Path(raw))
        if not parts.hostname and not parts.path.strip("/") and "host=" not in parts.query:
            raise _Refused("a postgresql:// URL needs a host or a database")
        in_url = unquote(parts.password) if parts.password is not None else None
        # libpq also takes ?password=…: kept apart like the URL's own, never shown.
        query = parse_qsl(parts.query, keep_blank_values=True)
        in_query = [value for key, value in query if key == "password"]
        if in_query:
            in_url = in_url or in_query[-1]
            query = [(key, value) for key, value in query if key != "password"]
        netloc = parts.hostname or ""
        if ":" in netloc:  # an IPv6 literal
            netloc = f"[{netloc}]"
        if parts.port is not None:
            netloc = f"{netloc}:{parts.port}"
        if parts.username:
            netloc = f"{quote(unquote(parts.username), safe='')}@{netloc}"
        bare = urlunsplit(("postgresql", netloc, parts.path, urlencode(query), ""))
        return cls(url=bare, password=password if password is not None else in_url)

    @property
    def is_postgres(self) -> bool:
        """Whether this is a PostgreSQL database."""
        return self.url is not None

    def dsn(self) -> str:
        """The URL with its password, for the driver only: never log or show it."""
        if self.url is None:
            raise ValueError("an SQLite location has no DSN")
        if self.password is None:
            return self.url
        parts = urlsplit(self.url)
        user, _, host = parts.netloc.rpartition("@")
        netloc = f"{user}:{quote(self.password, safe='')}@{host}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))

    def __str__(self) -> str:
        """The location as shown in logs and errors: the password masked."""
        if self.path is not None:
            return str(self.path)
        assert self.url is not None
        if self.password is None:
            return self.url
        parts = urlsplit(self.url)
        user, _, host = parts.netloc.rpartition("@")
        return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, ""))

    def __repr__(self) -> str:
        return f"DatabaseLocation({str(self)!r})"


async def open_store(
    location: DatabaseLocation, *, pool_size: int = DEFAULT_POOL_SIZE, must_exist: bool = False
) -> Store:
    """Open (and migrate) the store at ``location``.

    An SQLite file is created (with its directory) unless ``must_exist``: then only an
    existing file is opened, and a missing one is :class:`~state.errors.StoreUnavailable`
    naming the location, with nothing created (administration must work on the database
    the gateway uses, never on a new empty one). A PostgreSQL database is never created
    here: the server refuses to connect to one that does not exist.
    """
    if location.is_postgres:
        from state.postgres import PostgresStore  # asyncpg only where PostgreSQL is used

        shared: Store = await PostgresStore.open(location.dsn(), pool_size=pool_size)
        return shared
    from state.sqlite import SqliteStore

    assert location.path is not None
    if must_exist:
        if not location.path.is_file():
            raise StoreUnavailable(f"no SQLite database at {location} (nothing created)")
        return await SqliteStore.open(location.path, create=False)
    location.path.parent.mkdir(parents=True, exist_ok=True)
    return await SqliteStore.open(location.path)
