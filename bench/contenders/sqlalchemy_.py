"""SQLAlchemy 2.x async ORM: declarative model, ``async_sessionmaker``, ``select()``,
``session.get()``, unit-of-work flush at commit.

The same program runs through asyncqlio's SQLAlchemy-shaped API
(:mod:`bench.contenders.asyncqlio_sa`): :func:`contender` builds the class from the three
modules a SQLAlchemy program imports, ``sqlalchemy``, ``sqlalchemy.ext.asyncio`` and
``sqlalchemy.orm``, or asyncqlio's modules of those names.
"""
import datetime
import importlib
from types import ModuleType
from typing import Any

from bench.contenders import Contender
from bench.dataset import TABLE, Row
from bench.store import Target


def engine_url(target: Target) -> tuple[str, dict[str, Any]]:
    """The SQLAlchemy URL of the target and the engine's keyword arguments."""
    if target.backend == "sqlite":
        return f"sqlite+aiosqlite:///{target.sqlite_path}", {}
    scheme, _, rest = target.pg_dsn.partition("://")
    return f"postgresql+asyncpg://{rest}", {
        "connect_args": {"server_settings": {"search_path": target.schema}}}


def contender(sa: ModuleType, ext_asyncio: ModuleType, orm: ModuleType) -> type[Contender]:
    """The contender class, written against these modules."""
    select = sa.select
    Mapped = orm.Mapped
    mapped_column = orm.mapped_column

    class Base(orm.DeclarativeBase):
        pass

    class User(Base):
        __tablename__ = TABLE

        id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
        name: Mapped[str] = mapped_column(sa.String(64))
        email: Mapped[str | None] = mapped_column(sa.Text)
        score: Mapped[float] = mapped_column(sa.Double)
        active: Mapped[bool] = mapped_column(sa.Boolean)
        created: Mapped[datetime.datetime] = mapped_column(sa.DateTime)

    class SQLAlchemyAPI(Contender):
        """An AsyncEngine and a session per unit of work (``expire_on_commit=False``)."""

        async def open(self, target: Target) -> None:
            url, options = engine_url(target)
            self.engine = ext_asyncio.create_async_engine(url, **options)
            self.session = ext_asyncio.async_sessionmaker(self.engine, expire_on_commit=False)
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

    return SQLAlchemyAPI


def modules(root: str) -> tuple[ModuleType, ModuleType, ModuleType]:
    """``root``, ``root.ext.asyncio`` and ``root.orm``."""
    return tuple(importlib.import_module(root + suffix)  # type: ignore[return-value]
                 for suffix in ("", ".ext.asyncio", ".orm"))


def engine_for(target: Target) -> Any:
    """A SQLAlchemy AsyncEngine on the target (for the relations benchmark)."""
    from sqlalchemy.ext.asyncio import create_async_engine
    url, options = engine_url(target)
    return create_async_engine(url, **options)


SQLAlchemy = contender(*modules("sqlalchemy"))
