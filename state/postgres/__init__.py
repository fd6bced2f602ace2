"""The store on PostgreSQL: several gateway instances sharing one database (asyncpg)."""

from state.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
