"""The store on SQLite, the embedded default: one file, several processes may share it."""

from state.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
