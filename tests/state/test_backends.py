"""Which store a database setting names: paths, sqlite:// and postgresql:// URLs, and the
password of a URL, which only the driver ever sees."""

from __future__ import annotations

from pathlib import Path

import pytest

from state.backends import DatabaseLocation, open_store
from state.sqlite import SqliteStore


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("var/gateway.sqlite3", Path("var/gateway.sqlite3")),
        ("/srv/gw.sqlite3", Path("/srv/gw.sqlite3")),
        ("sqlite:///srv/gw.sqlite3", Path("/srv/gw.sqlite3")),
    ],
)
def test_a_path_is_an_sqlite_file(text: str, path: Path) -> None:
    location = DatabaseLocation.parse(text)
    assert (location.is_postgres, location.path, str(location)) == (False, path, str(path))


@pytest.mark.parametrize(
    ("text", "dsn", "shown"),
    [
        ("postgresql://root@127.0.0.1:5432/test", "postgresql://root@127.0.0.1:5432/test",
         "postgresql://root@127.0.0.1:5432/test"),
        ("postgres://gw:s3cr%40t@db.example/gw", "postgresql://gw:s3cr%40t@db.example/gw",
         "postgresql://gw:***@db.example/gw"),
        ("postgresql://gw:pw@[::1]:6432/gw?sslmode=require",
         "postgresql://gw:pw@[::1]:6432/gw?sslmode=require",
         "postgresql://gw:***@[::1]:6432/gw?sslmode=require"),
    ],
)
def test_a_postgresql_url_keeps_its_password_for_the_driver_only(
    text: str, dsn: str, shown: str
) -> None:
    location = DatabaseLocation.parse(text)
    assert location.is_postgres and location.path is None
    assert location.dsn() == dsn
    assert str(location) == shown
    assert repr(location) == f"DatabaseLocation({shown!r})"


def test_a_password_from_a_file_replaces_the_urls() -> None:
    location = DatabaseLocation.parse("postgresql://gw:old@db/gw", password="fr/om file")
    assert location.dsn() == "postgresql://gw:fr%2Fom%20file@db/gw"
    for shown in (str(location), repr(location)):
        assert "fr/om" not in shown and "fr%2Fom" not in shown and "old" not in shown


def test_a_password_in_the_query_is_kept_apart_too() -> None:
    """libpq takes ?password=…; it is the driver's alone, like the URL's own."""
    location = DatabaseLocation.parse("postgresql://db/gw?user=gw&password=hunter2&sslmode=require")
    assert "hunter2" not in str(location) and "hunter2" not in repr(location)
    assert location.password == "hunter2"
    assert "sslmode=require" in location.dsn() and "hunter2" in location.dsn()


@pytest.mark.parametrize(
    "text",
    [
        "mysql://gw:pw-secret@db/gw",
        "postgresql://gw:pw/secret@db/gw",  # "/" ends the netloc: urllib reads a port "pw"
        "postgresql://gw:pw-secret@db:99999/gw",
        "postgresql://gw:pw-secret@[::1/gw",
    ],
)
def test_an_unusable_setting_is_refused_without_echoing_it(text: str) -> None:
    with pytest.raises(ValueError) as refused:
        DatabaseLocation.parse(text)
    assert "pw" not in str(refused.value) and "secret" not in str(refused.value)


@pytest.mark.parametrize("text", ["", "   ", "postgresql://"])
def test_an_empty_setting_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="empty|needs a host"):
        DatabaseLocation.parse(text)


async def test_a_path_opens_an_sqlite_store_creating_its_directory(tmp_path: Path) -> None:
    store = await open_store(DatabaseLocation.parse(str(tmp_path / "new" / "gw.sqlite3")))
    try:
        assert isinstance(store, SqliteStore)
        await store.ping()
        assert (tmp_path / "new" / "gw.sqlite3").exists()
    finally:
        await store.close()


async def test_an_existing_store_only_creates_nothing(tmp_path: Path) -> None:
    """``must_exist`` (the admin commands): a missing SQLite file is StoreUnavailable naming
    it, and neither the file nor its directory appears; down at the connection too
    (SQLite's ``mode=rw``), so a file removed meanwhile is not made again."""
    from state.errors import StoreUnavailable

    missing = tmp_path / "nowhere" / "gw.sqlite3"
    with pytest.raises(StoreUnavailable, match=f"no SQLite database at {missing}"):
        await open_store(DatabaseLocation(path=missing), must_exist=True)
    with pytest.raises(StoreUnavailable, match="no SQLite database at"):
        await SqliteStore.open(tmp_path / "gone.sqlite3", create=False)
    assert list(tmp_path.iterdir()) == []
    made = await open_store(DatabaseLocation(path=tmp_path / "gw.sqlite3"))
    await made.close()
    again = await open_store(DatabaseLocation(path=tmp_path / "gw.sqlite3"), must_exist=True)
    assert await again.get_subscriber("375291234567") is None
    await again.close()
