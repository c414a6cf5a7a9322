"""The floor: the driver alone with hand-written SQL. Rows stay the driver's own objects
(asyncpg Records, sqlite3 tuples); nothing is converted on the way out."""
from __future__ import annotations

from typing import Any, Callable

from bench.contenders import Contender
from bench.dataset import COLUMNS, TABLE, Row
from bench.store import Target

_COLS = ", ".join(COLUMNS)


def _sql(mark: Callable[[int], str]) -> dict[str, str]:
    """The statements, with ``mark(n)`` giving the n-th placeholder."""
    return {
        "all": f"SELECT {_COLS} FROM {TABLE}",
        "by_id": f"SELECT {_COLS} FROM {TABLE} WHERE id = {mark(1)}",
        "page": f"SELECT {_COLS} FROM {TABLE} WHERE active = {mark(1)} AND score >= {mark(2)} "
                f"ORDER BY id LIMIT {mark(3)}",
        "insert": f"INSERT INTO {TABLE} ({_COLS}) VALUES "
                  f"({', '.join(mark(i) for i in range(1, 7))})",
        "upto": f"SELECT {_COLS} FROM {TABLE} WHERE id <= {mark(1)}",
        "update": f"UPDATE {TABLE} SET score = {mark(1)} WHERE id = {mark(2)}",
    }


class RawPostgres(Contender):
    """asyncpg: ``fetch``/``fetchrow``, and ``executemany`` inside a transaction to write."""

    SQL = _sql(lambda n: f"${n}")

    async def open(self, target: Target) -> None:
        import asyncpg
        self.conn = await asyncpg.connect(target.pg_dsn,
                                          server_settings={"search_path": target.schema})

    async def close(self) -> None:
        await self.conn.close()

    async def load_all(self) -> list[Any]:
        return await self.conn.fetch(self.SQL["all"])

    async def get_by_pk(self, ids: list[int]) -> list[Any]:
        fetchrow, sql = self.conn.fetchrow, self.SQL["by_id"]
        return [await fetchrow(sql, i) for i in ids]

    async def filtered_pages(self, thresholds: list[float], size: int) -> list[list[Any]]:
        fetch, sql = self.conn.fetch, self.SQL["page"]
        return [await fetch(sql, True, t, size) for t in thresholds]

    async def insert(self, rows: list[Row]) -> None:
        async with self.conn.transaction():
            await self.conn.executemany(self.SQL["insert"], rows)

    async def update(self, upto: int, bump: float) -> list[Any]:
        async with self.conn.transaction():
            rows = await self.conn.fetch(self.SQL["upto"], upto)
            await self.conn.executemany(self.SQL["update"], [(r[3] + bump, r[0]) for r in rows])
        return rows

    def values(self, obj: Any) -> tuple:
        return tuple(obj)


class RawSQLite(Contender):
    """aiosqlite in autocommit mode, with explicit ``BEGIN``/``COMMIT`` around writes.
    Booleans are bound as ints and timestamps as ISO text, as SQLite stores them."""

    SQL = _sql(lambda n: "?")

    async def open(self, target: Target) -> None:
        import aiosqlite
        self.conn = await aiosqlite.connect(target.sqlite_path, isolation_level=None)

    async def close(self) -> None:
        await self.conn.close()

    async def load_all(self) -> list[Any]:
        return await self.conn.execute_fetchall(self.SQL["all"])

    async def get_by_pk(self, ids: list[int]) -> list[Any]:
        fetch, sql = self.conn.execute_fetchall, self.SQL["by_id"]
        return [(await fetch(sql, (i,)))[0] for i in ids]

    async def filtered_pages(self, thresholds: list[float], size: int) -> list[list[Any]]:
        fetch, sql = self.conn.execute_fetchall, self.SQL["page"]
        return [await fetch(sql, (1, t, size)) for t in thresholds]

    async def insert(self, rows: list[Row]) -> None:
        await self.conn.execute("BEGIN")
        await self.conn.executemany(self.SQL["insert"], [
            (i, n, e, s, int(a), c.isoformat()) for i, n, e, s, a, c in rows])
        await self.conn.execute("COMMIT")

    async def update(self, upto: int, bump: float) -> list[Any]:
        await self.conn.execute("BEGIN")
        rows = await self.conn.execute_fetchall(self.SQL["upto"], (upto,))
        await self.conn.executemany(self.SQL["update"], [(r[3] + bump, r[0]) for r in rows])
        await self.conn.execute("COMMIT")
        return rows

    def values(self, obj: Any) -> tuple:
        return tuple(obj)
