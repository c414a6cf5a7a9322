"""asyncqlio, used the way its documentation shows: a session per unit of work, ``await
sess.select(T)``, ``sess.add(obj)`` written at commit, attribute writes tracked."""
from __future__ import annotations

from typing import Any

from asyncqlio import (Boolean, Column, DatabaseInterface, Integer, Real, String, Text,
                       Timestamp, table_base)

from bench.contenders import Contender
from bench.dataset import TABLE, Row
from bench.store import Target

Table = table_base("BenchTable")


class User(Table, table_name=TABLE):
    id = Column(Integer, primary_key=True)
    name = Column(String(64))
    email = Column(Text, nullable=True)
    score = Column(Real)
    active = Column(Boolean)
    created = Column(Timestamp)


def dsn(target: Target) -> str:
    if target.backend == "sqlite":
        return f"sqlite:///{target.sqlite_path}"
    sep = "&" if "?" in target.pg_dsn else "?"
    return f"{target.pg_dsn}{sep}search_path={target.schema}"


class Asyncqlio(Contender):
    """asyncqlio through its public API, compiled or pure as imported."""

    async def open(self, target: Target) -> None:
        self.db = DatabaseInterface(dsn(target))
        await self.db.connect()
        self.db.bind_tables(Table)

    async def close(self) -> None:
        await self.db.close()

    async def load_all(self) -> list[Any]:
        async with self.db.get_session() as sess:
            return await sess.select(User)

    async def get_by_pk(self, ids: list[int]) -> list[Any]:
        async with self.db.get_session() as sess:
            return [await sess.select(User).where(User.id == i).first() for i in ids]

    async def filtered_pages(self, thresholds: list[float], size: int) -> list[list[Any]]:
        async with self.db.get_session() as sess:
            return [await sess.select(User).where(User.active == True, User.score >= t)  # noqa: E712
                    .order_by(User.id).limit(size) for t in thresholds]

    async def insert(self, rows: list[Row]) -> None:
        async with self.db.get_session() as sess:
            for i, n, e, s, a, c in rows:
                sess.add(User(id=i, name=n, email=e, score=s, active=a, created=c))

    async def update(self, upto: int, bump: float) -> list[Any]:
        async with self.db.get_session() as sess:
            rows = await sess.select(User).where(User.id <= upto)
            for row in rows:
                row.score = row.score + bump
                sess.add(row)
        return rows

    def compile(self, thresholds: list[float], size: int) -> list[str]:
        sess = self.db.get_session()
        return [sess.select(User).where(User.active == True, User.score >= t)  # noqa: E712
                .order_by(User.id).limit(size).compile()[0] for t in thresholds]

    def values(self, obj: Any) -> tuple:
        return (obj.id, obj.name, obj.email, obj.score, obj.active, obj.created)
