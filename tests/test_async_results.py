"""SQLAlchemy 2.x's asyncio results on both backends: every member of AsyncResult,
AsyncScalarResult, AsyncMappingResult and AsyncTupleResult, as ``AsyncSession.stream()`` and
``stream_scalars()`` give them (a server-side cursor on PostgreSQL, chunked fetches on
SQLite), and the buffered Result of ``AsyncSession.execute()`` read the same ways. Ten rows,
fetched three at a time where it matters (``yield_per(3)``), so reads cross fetches."""
from __future__ import annotations

import pytest

from asyncqlio import String
from asyncqlio.exc import (InvalidRequestError, MultipleResultsFound, NoResultFound,
                           NoSuchColumnError, ResourceClosedError)
from asyncqlio.ext.asyncio.engine import create_async_engine
from asyncqlio.ext.asyncio.session import AsyncSession
from asyncqlio.orm import DeclarativeBase, Mapped, mapped_column
from asyncqlio.orm.results import (AsyncMappingResult, AsyncResult, AsyncScalarResult,
                                   AsyncTupleResult, FrozenResult, Result, Row, RowMapping)
from asyncqlio.orm.statements import select


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "ar_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(4))


@pytest.fixture
async def session(dsn: str):
    url = ("sqlite+aiosqlite:" + dsn[len("sqlite:"):] if dsn.startswith("sqlite:")
           else "postgresql+asyncpg:" + dsn.partition(":")[2])
    engine = create_async_engine(url)
    engine.sync_engine.bind_tables(Base)
    await Item.create()
    async with AsyncSession(engine) as s:
        s.add_all([Item(name=f"n{i}", kind="odd" if i % 2 else "even") for i in range(1, 11)])
        await s.commit()
        try:
            yield s
        finally:
            await s.rollback()
    await engine.dispose()


ROWS = select(Item.id, Item.name).order_by(Item.id)


def ids(rows: list) -> list[int]:
    return [r[0] for r in rows]


# --- AsyncResult


async def test_all_and_fetchall(session):
    result = await session.stream(ROWS)
    assert isinstance(result, AsyncResult)
    rows = await result.all()
    assert rows == [(i, f"n{i}") for i in range(1, 11)]
    assert isinstance(rows[0], Row) and rows[0].name == "n1" and rows[0]._mapping["id"] == 1
    # all rows read: the result is exhausted (soft-closed), not closed
    assert await result.all() == [] and await result.fetchone() is None and not result.closed
    assert ids(await (await session.stream(ROWS)).yield_per(3).fetchall()) == list(range(1, 11))


async def test_fetchone_fetchmany(session):
    result = (await session.stream(ROWS)).yield_per(3)
    assert await result.fetchone() == (1, "n1")
    assert ids(await result.fetchmany(4)) == [2, 3, 4, 5]  # across fetches of 3
    assert ids(await result.fetchmany()) == [6, 7, 8]  # the yield_per size
    assert ids(await result.fetchmany(5)) == [9, 10]
    assert await result.fetchmany(2) == [] and await result.fetchone() is None
    result = await session.stream(ROWS)
    await result.fetchone()
    # no size and no yield_per: the rows fetched and not read yet (SQLAlchemy's buffer)
    assert ids(await result.fetchmany()) == list(range(2, 11))
    assert await result.fetchmany() == []


async def test_first(session):
    result = await session.stream(ROWS)
    assert await result.first() == (1, "n1")
    assert result.closed  # the rest discarded
    with pytest.raises(ResourceClosedError):
        await result.fetchone()
    assert await (await session.stream(select(Item.id).where(Item.id > 10))).first() is None


async def test_one_and_one_or_none(session):
    assert await (await session.stream(select(Item.id).where(Item.id == 5))).one() == (5,)
    with pytest.raises(NoResultFound):
        await (await session.stream(select(Item.id).where(Item.id > 10))).one()
    with pytest.raises(MultipleResultsFound):
        await (await session.stream(ROWS)).one()
    assert await (await session.stream(select(Item.id).where(Item.id > 10))).one_or_none() is None
    assert await (await session.stream(select(Item.id).where(Item.id == 2))).one_or_none() == (2,)
    result = await session.stream(ROWS)
    with pytest.raises(MultipleResultsFound):
        await result.one_or_none()
    assert result.closed


async def test_scalar_scalar_one_scalar_one_or_none(session):
    result = await session.stream(ROWS)
    assert await result.scalar() == 1 and result.closed
    assert await (await session.stream(select(Item.id).where(Item.id > 10))).scalar() is None
    assert await (await session.stream(select(Item.name).where(Item.id == 3))).scalar_one() == "n3"
    with pytest.raises(NoResultFound):
        await (await session.stream(select(Item.name).where(Item.id > 10))).scalar_one()
    with pytest.raises(MultipleResultsFound):
        await (await session.stream(ROWS)).scalar_one()
    none = await session.stream(select(Item.name).where(Item.id > 10))
    assert await none.scalar_one_or_none() is None
    with pytest.raises(MultipleResultsFound):
        await (await session.stream(ROWS)).scalar_one_or_none()


async def test_keys_and_columns(session):
    result = await session.stream(ROWS)
    keys = result.keys()
    assert list(keys) == ["id", "name"] and "name" in keys and Item.name in keys
    assert "kind" not in keys
    result.columns("name", Item.id)  # reorders, by key or by column
    assert list(result.keys()) == ["name", "id"]
    assert await result.fetchone() == ("n1", 1)
    assert (await result.fetchone()).id == 2
    result = await session.stream(ROWS)
    assert await result.columns(1).scalars().first() == "n1"
    with pytest.raises(NoSuchColumnError):
        (await session.stream(ROWS)).columns("kind")
    entities = await session.stream(select(Item).order_by(Item.id))
    assert list(entities.keys()) == ["Item"]  # a select of a class: keyed by its name


async def test_partitions(session):
    result = await session.stream(ROWS)
    assert [ids(p) async for p in result.partitions(4)] == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]
    result = (await session.stream(ROWS)).yield_per(3)
    assert [len(p) async for p in result.partitions()] == [3, 3, 3, 1]
    result = await session.stream(ROWS)
    assert [len(p) async for p in result.partitions()] == [10]  # one fetch's worth
    assert await result.all() == [] and not result.closed


async def test_scalars(session):
    result = await session.stream(ROWS)
    scalars = result.scalars()
    assert isinstance(scalars, AsyncScalarResult)
    assert await scalars.all() == list(range(1, 11))
    assert await (await session.stream(ROWS)).scalars(1).first() == "n1"
    assert await (await session.stream(ROWS)).scalars("name").fetchmany(2) == ["n1", "n2"]
    with pytest.raises(NoSuchColumnError):
        (await session.stream(ROWS)).scalars("kind")
    with pytest.raises(IndexError):
        (await session.stream(ROWS)).scalars(5)


async def test_tuples_and_t(session):
    result = await session.stream(ROWS)
    assert result.tuples() is result and result.t is result and AsyncTupleResult is AsyncResult
    first_id, first_name = await result.t.fetchone()  # plain tuple unpacking
    assert (first_id, first_name) == (1, "n1")
    assert isinstance(await result.tuples().fetchone(), tuple)


async def test_unique(session):
    result = await session.stream(select(Item.kind).order_by(Item.id))
    assert await result.unique().scalars().all() == ["odd", "even"]
    result = await session.stream(select(Item.kind, Item.name).order_by(Item.id))
    rows = await result.unique(lambda row: row.kind).all()  # unique by a strategy
    assert rows == [("odd", "n1"), ("even", "n2")]
    objects = await session.stream(select(Item).order_by(Item.id))
    first = await session.get(Item, 1)
    items = await objects.scalars().unique().all()
    assert items[0] is first and len(items) == 10


async def test_yield_per(session):
    result = await session.stream(ROWS)
    assert result.yield_per(2) is result
    assert [len(p) async for p in result.partitions()] == [2, 2, 2, 2, 2]
    scalars = (await session.stream(ROWS)).scalars()
    assert scalars.yield_per(4) is scalars
    assert [p async for p in scalars.partitions()] == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]
    # the statement's own option does the same
    result = await session.stream(ROWS.execution_options(yield_per=5))
    assert [len(p) async for p in result.partitions()] == [5, 5]


async def test_freeze(session):
    result = await session.stream(ROWS)
    await result.fetchone()
    frozen = await result.freeze()  # the rest of the rows, kept
    assert isinstance(frozen, FrozenResult)
    again = frozen()
    assert isinstance(again, Result) and ids(again.all()) == list(range(2, 11))
    assert ids(frozen().all()) == list(range(2, 11)) and list(frozen().keys()) == ["id", "name"]


async def test_close_and_closed(session):
    result = (await session.stream(ROWS)).yield_per(3)
    assert not result.closed
    assert await result.fetchone() == (1, "n1")
    await result.close()
    assert result.closed
    for read in (result.fetchone(), result.all(), result.fetchmany(2)):
        with pytest.raises(ResourceClosedError):
            await read
    with pytest.raises(InvalidRequestError):
        [row async for row in result]
    await result.close()  # again: nothing to do
    # the cursor is gone: the session's transaction goes on
    assert await session.scalar(select(Item.name).where(Item.id == 10)) == "n10"


async def test_iteration(session):
    result = (await session.stream(ROWS)).yield_per(3)
    seen = []
    async for row in result:
        seen.append(row.id)
        if row.id == 4:
            break
    # the rows a loop left unread stay in the result
    assert seen == [1, 2, 3, 4] and ids(await result.fetchmany(2)) == [5, 6]
    assert [row.id async for row in result] == [7, 8, 9, 10]
    assert [row async for row in result] == []
    objects = await session.stream(select(Item).order_by(Item.id))
    assert [row.Item.id async for row in objects] == list(range(1, 11))


async def test_stream_scalars_objects(session):
    first = await session.get(Item, 1)
    result = await session.stream_scalars(select(Item).where(Item.kind == "odd").order_by(Item.id))
    assert isinstance(result, AsyncScalarResult)
    items = [item async for item in result]
    assert items[0] is first and [i.name for i in items] == ["n1", "n3", "n5", "n7", "n9"]


# --- AsyncScalarResult


async def test_scalar_result_members(session):
    def stream():
        return session.stream_scalars(select(Item.id).order_by(Item.id))

    result = (await stream()).yield_per(3)
    assert await result.fetchmany(2) == [1, 2] and await result.fetchmany() == [3, 4, 5]
    assert await result.first() == 6 and result.closed
    assert await (await stream()).fetchall() == list(range(1, 11))
    assert [p async for p in (await stream()).partitions(6)] == [list(range(1, 7)), [7, 8, 9, 10]]
    one = await session.stream_scalars(select(Item.name).where(Item.id == 9))
    assert await one.one() == "n9"
    with pytest.raises(MultipleResultsFound):
        await (await stream()).one()
    with pytest.raises(NoResultFound):
        await (await session.stream_scalars(select(Item.id).where(Item.id > 10))).one()
    none = await session.stream_scalars(select(Item.id).where(Item.id > 10))
    assert await none.one_or_none() is None
    with pytest.raises(MultipleResultsFound):
        await (await stream()).one_or_none()
    kinds = await session.stream_scalars(select(Item.kind).order_by(Item.id))
    assert await kinds.unique().all() == ["odd", "even"]
    result = await stream()
    assert [i async for i in result.yield_per(4)] == list(range(1, 11))
    result = await stream()
    await result.close()
    assert result.closed
    with pytest.raises(ResourceClosedError):
        await result.all()


# --- AsyncMappingResult


async def test_mapping_result_members(session):
    def stream():
        return session.stream(ROWS)

    mappings = (await stream()).mappings()
    assert isinstance(mappings, AsyncMappingResult) and list(mappings.keys()) == ["id", "name"]
    first = await mappings.fetchone()
    assert isinstance(first, RowMapping) and first == {"id": 1, "name": "n1"}
    assert first[Item.name] == "n1"  # by the column too
    assert [m["id"] for m in await mappings.fetchmany(2)] == [2, 3]
    assert [m["id"] for m in await mappings.fetchall()] == list(range(4, 11))
    assert await mappings.all() == []
    mappings = (await stream()).mappings()
    assert await mappings.first() == {"id": 1, "name": "n1"} and mappings.closed
    assert len(await (await stream()).mappings().all()) == 10
    one = (await session.stream(select(Item.name).where(Item.id == 4))).mappings()
    assert await one.one() == {"name": "n4"}
    with pytest.raises(MultipleResultsFound):
        await (await stream()).mappings().one()
    none = (await session.stream(select(Item.name).where(Item.id > 10))).mappings()
    assert await none.one_or_none() is None
    with pytest.raises(NoResultFound):
        await (await session.stream(select(Item.name).where(Item.id > 10))).mappings().one()
    with pytest.raises(MultipleResultsFound):
        await (await stream()).mappings().one_or_none()
    columns = (await stream()).mappings().columns("name")
    assert list(columns.keys()) == ["name"] and await columns.fetchone() == {"name": "n1"}
    parts = (await stream()).mappings().yield_per(4)
    assert [len(p) async for p in parts.partitions()] == [4, 4, 2]
    parts = (await stream()).mappings()
    assert [len(p) async for p in parts.partitions(5)] == [5, 5]
    kinds = (await session.stream(select(Item.kind).order_by(Item.id))).mappings()
    assert await kinds.unique().all() == [{"kind": "odd"}, {"kind": "even"}]
    mappings = (await stream()).mappings()
    assert [m["name"] async for m in mappings][:2] == ["n1", "n2"]
    mappings = (await stream()).mappings()
    await mappings.close()
    assert mappings.closed
    with pytest.raises(ResourceClosedError):
        await mappings.fetchone()


# --- the buffered Result of AsyncSession.execute(), read the same ways


async def test_buffered_result(session):
    result = await session.execute(ROWS)
    assert result.fetchone() == (1, "n1")
    assert ids(result.fetchmany()) == list(range(2, 11))  # all it holds, as SQLAlchemy's
    result = await session.execute(ROWS)
    for row in result:
        if row.id == 3:
            break
    assert ids(result.fetchmany(2)) == [4, 5] and ids(list(result)) == [6, 7, 8, 9, 10]
    result = await session.execute(ROWS)
    assert [len(p) for p in result.partitions()] == [10]
    result = (await session.execute(ROWS)).yield_per(4)
    assert [len(p) for p in result.partitions()] == [4, 4, 2]
    scalars = (await session.execute(ROWS)).scalars()
    assert next(scalars) == 1 and scalars.all() == list(range(2, 11))
