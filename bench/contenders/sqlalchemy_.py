"""SQLAlchemy 2.x async ORM: declarative model, ``async_sessionmaker``, ``select()``,
``session.get()``, unit-of-work flush at commit."""
from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Double, Integer, String, Text, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bench.contenders import Contender
from bench.dataset import TABLE, Row
from bench.store import Target


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = TABLE

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(Text)
    score: Mapped[float] = mapped_column(Double)
    active: Mapped[bool] = mapped_column(Boolean)
    created: Mapped[datetime.datetime] = mapped_column(DateTime)


def engine_for(target: Target) -> AsyncEngine:
    if target.backend == "sqlite":
        return create_async_engine(f"sqlite+aiosqlite:///{target.sqlite_path}")
    scheme, _, rest = target.pg_dsn.partition("://")
    return create_async_engine(f"postgresql+asyncpg://{rest}", connect_args={
        "server_settings": {"search_path": target.schema}})


class SQLAlchemy(Contender):
    """An AsyncEngine and a session per unit of work (``expire_on_commit=False``)."""

    async def open(self, target: Target) -> None:
        self.engine = engine_for(target)
        self.session = async_sessionmaker(self.engine, expire_on_commit=False)
        async with self.engine.connect():
            pass

    async def close(self) -> None:
        await self.engine.dispose()

    async def load_all(self) -> list[Any]:
        async with self.session() as s:
            return (await s.scalars(select(User))).all()

    async def get_by_pk(self, ids: list[int]) -> list[Any]:
        async with self.session() as s:
            return [await s.get(User, i) for i in ids]

    async def filtered_pages(self, thresholds: list[float], size: int) -> list[list[Any]]:
        async with self.session() as s:
            return [(await s.scalars(
                select(User).where(User.active == True, User.score >= t)  # noqa: E712
                .order_by(User.id).limit(size))).all() for t in thresholds]

    async def insert(self, rows: list[Row]) -> None:
        async with self.session() as s:
            s.add_all([User(id=i, name=n, email=e, score=sc, active=a, created=c)
                       for i, n, e, sc, a, c in rows])
            await s.commit()

    async def update(self, upto: int, bump: float) -> list[Any]:
        async with self.session() as s:
            rows = (await s.scalars(select(User).where(User.id <= upto))).all()
            for row in rows:
                row.score = row.score + bump
            await s.commit()
        return rows

    def compile(self, thresholds: list[float], size: int) -> list[str]:
        dialect = self.engine.dialect
        return [str(select(User).where(User.active == True, User.score >= t)  # noqa: E712
                    .order_by(User.id).limit(size).compile(dialect=dialect))
                for t in thresholds]

    def values(self, obj: Any) -> tuple:
        return (obj.id, obj.name, obj.email, obj.score, obj.active, obj.created)
