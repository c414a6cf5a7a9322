"""Where the benchmark runs and the runner's own hands on it: the database target, the table,
seeding and emptying it between runs, and reading it back to check what a contender wrote.

All of it goes through the raw driver on a connection of its own, never timed. PostgreSQL
work happens in a schema of its own (created and dropped here), so tests running in other
schemas of the same database are not disturbed.
"""
from __future__ import annotations

import os
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.dataset import COLUMNS, TABLE, Row, normalize

DEFAULT_PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"

_DDL = {
    "postgresql": f"""CREATE TABLE {TABLE} (
        id INTEGER PRIMARY KEY, name VARCHAR(64) NOT NULL, email TEXT,
        score DOUBLE PRECISION NOT NULL, active BOOLEAN NOT NULL, created TIMESTAMP NOT NULL)""",
    "sqlite": f"""CREATE TABLE {TABLE} (
        id INTEGER PRIMARY KEY, name VARCHAR(64) NOT NULL, email TEXT,
        score REAL NOT NULL, active BOOLEAN NOT NULL, created TIMESTAMP NOT NULL)""",
}

_SELECT = f"SELECT {', '.join(COLUMNS)} FROM {TABLE} ORDER BY id"


@dataclass(frozen=True)
class Target:
    """One database to benchmark: a SQLite file, or a schema in a PostgreSQL database."""

    backend: str
    sqlite_path: str = ""
    pg_dsn: str = DEFAULT_PG_DSN
    schema: str = ""

    @classmethod
    def sqlite(cls, folder: str | None = None) -> "Target":
        folder = folder or tempfile.mkdtemp(prefix="asyncqlio-bench-")
        return cls("sqlite", sqlite_path=str(Path(folder) / "bench.db"))

    @classmethod
    def postgresql(cls, dsn: str = DEFAULT_PG_DSN) -> "Target":
        return cls("postgresql", pg_dsn=dsn, schema=f"bench_{os.getpid()}")

    @property
    def label(self) -> str:
        return "SQLite (aiosqlite)" if self.backend == "sqlite" else "PostgreSQL (asyncpg)"

    def pg_parts(self) -> dict[str, Any]:
        """host, port, user, password and database of the PostgreSQL DSN."""
        u = urllib.parse.urlsplit(self.pg_dsn)
        return {"host": u.hostname or "localhost", "port": u.port or 5432,
                "user": urllib.parse.unquote(u.username or "postgres"),
                "password": urllib.parse.unquote(u.password) if u.password else None,
                "database": u.path.lstrip("/") or "postgres"}


class Store:
    """The runner's connection: creates the table, resets it, reads it back."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.conn: Any = None
        #: "seeded" (the dataset as loaded by seed()), "empty" or "dirty"
        self.state = "dirty"

    async def open(self) -> "Store":
        t = self.target
        if t.backend == "sqlite":
            import aiosqlite
            if os.path.exists(t.sqlite_path):
                os.remove(t.sqlite_path)
            self.conn = await aiosqlite.connect(t.sqlite_path, isolation_level=None)
            await self.conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
            await self.conn.execute(_DDL["sqlite"])
        else:
            import asyncpg
            admin = await asyncpg.connect(t.pg_dsn)
            try:
                await admin.execute(f'DROP SCHEMA IF EXISTS "{t.schema}" CASCADE; '
                                    f'CREATE SCHEMA "{t.schema}"')
            finally:
                await admin.close()
            self.conn = await asyncpg.connect(
                t.pg_dsn, server_settings={"search_path": t.schema, "lock_timeout": "20s"})
            await self.conn.execute(_DDL["postgresql"])
        return self

    async def close(self) -> None:
        """Drop everything the benchmark created."""
        t = self.target
        if self.conn is not None:
            await self.conn.close()
            self.conn = None
        if t.backend == "sqlite":
            for suffix in ("", "-journal", "-wal", "-shm"):
                if os.path.exists(t.sqlite_path + suffix):
                    os.remove(t.sqlite_path + suffix)
        else:
            import asyncpg
            admin = await asyncpg.connect(t.pg_dsn)
            try:
                await admin.execute(f'DROP SCHEMA IF EXISTS "{t.schema}" CASCADE')
            finally:
                await admin.close()

    async def truncate(self) -> None:
        if self.target.backend == "sqlite":
            await self.conn.execute(f"DELETE FROM {TABLE}")
        else:
            await self.conn.execute(f"TRUNCATE TABLE {TABLE}")
        self.state = "empty"

    async def seed(self, rows: list[Row]) -> None:
        """Empty the table and load ``rows`` (timestamps as ISO text on SQLite)."""
        await self.truncate()
        if self.target.backend == "sqlite":
            marks = ", ".join("?" * len(COLUMNS))
            await self.conn.execute("BEGIN")
            await self.conn.executemany(
                f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({marks})",
                [(i, n, e, s, int(a), c.isoformat()) for i, n, e, s, a, c in rows])
            await self.conn.execute("COMMIT")
        else:
            await self.conn.copy_records_to_table(TABLE, records=rows, columns=COLUMNS,
                                                  schema_name=self.target.schema)
            await self.conn.execute(f"ANALYZE {TABLE}")
        self.state = "seeded"

    async def ensure(self, state: str | None, rows: list[Row]) -> None:
        """Bring the table to ``state`` ("seeded" or "empty") unless it is there already."""
        if state is None or state == self.state:
            return
        if state == "seeded":
            await self.seed(rows)
        else:
            await self.truncate()

    async def snapshot(self) -> list[Row]:
        """Every row, normalised, in id order."""
        if self.target.backend == "sqlite":
            rows = await self.conn.execute_fetchall(_SELECT)
        else:
            rows = await self.conn.fetch(_SELECT)
        return [normalize(r) for r in rows]
