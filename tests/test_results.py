"""Result and AsyncResult on both backends, with SQLAlchemy's meanings."""
from __future__ import annotations

import pytest

from asyncqlio import Column, Integer, String, func, table_base
from asyncqlio.exc import (InvalidRequestError, MultipleResultsFound, NoResultFound,
                           ResourceClosedError)

Table = table_base()


class Item(Table, table_name="items"):
    id = Column(Integer, primary_key=True)
    name = Column(String(32))
    kind = Column(String(8))


@pytest.fixture
async def db(db):
    db.bind_tables(Table)
    await Item.create()
    async with db.get_session() as sess:
        await sess.bulk_insert_mappings(
            Item, [{"id": i, "name": f"n{i}", "kind": "even" if i % 2 == 0 else "odd"}
                   for i in range(1, 2501)])
    return db


async def test_execute_a_select_of_a_table(db):
    async with db.get_session() as sess:
        q = sess.select(Item).where(Item.id <= 3).order_by(Item.id)
        result = await sess.execute(q)
        assert result.keys() == ["Item"]
        rows = result.all()
        assert [r[0].id for r in rows] == [1, 2, 3] and rows[0].Item is rows[0][0]
        assert rows[0][0] is await sess.get(Item, 1)  # through the identity map
        assert [i.id for i in (await sess.execute(q)).scalars()] == [1, 2, 3]
        assert (await sess.scalar(q)).id == 1
        assert [i.id for i in (await sess.scalars(q)).all()] == [1, 2, 3]
        assert (await sess.execute(q)).first()[0].id == 1


async def test_one_and_friends(db):
    async with db.get_session() as sess:
        one = sess.select(Item).where(Item.id == 1)
        none = sess.select(Item).where(Item.id == 0)
        many = sess.select(Item).where(Item.id < 3)
        assert (await sess.execute(one)).scalar_one().id == 1
        assert (await sess.execute(none)).scalar_one_or_none() is None
        assert (await sess.execute(none)).one_or_none() is None
        with pytest.raises(NoResultFound):
            (await sess.execute(none)).one()
        with pytest.raises(MultipleResultsFound):
            (await sess.execute(many)).one()
        with pytest.raises(MultipleResultsFound):
            (await sess.execute(many)).scalar_one_or_none()


async def test_column_rows_mappings_columns_unique(db):
    async with db.get_session() as sess:
        q = sess.select(Item.id, Item.kind).where(Item.id <= 4).order_by(Item.id)
        result = await sess.execute(q)
        assert result.keys() == ["id", "kind"]
        assert [tuple(r) for r in result.tuples().all()] == [(1, "odd"), (2, "even"), (3, "odd"), (4, "even")]
        assert (await sess.execute(q)).mappings().first() == {"id": 1, "kind": "odd"}
        assert (await sess.execute(q)).columns("kind").scalars().unique().all() == ["odd", "even"]
        assert (await sess.execute(q)).columns(1, 0).first() == ("odd", 1)
        counted = await sess.execute(sess.select(Item.kind, func.count()).group_by(Item.kind)
                                     .order_by(Item.kind))
        assert [tuple(r) for r in counted] == [("even", 1250), ("odd", 1250)]


async def test_fetching_partitions_freeze_close(db):
    async with db.get_session() as sess:
        q = sess.select(Item.id).where(Item.id <= 10).order_by(Item.id)
        result = await sess.execute(q)
        assert result.fetchone() == (1,)
        assert [r[0] for r in result.fetchmany(2)] == [2, 3]
        assert [len(p) for p in result.partitions(3)] == [3, 3, 1]
        assert result.fetchall() == [] and result.fetchone() is None
        frozen = (await sess.execute(q)).freeze()
        assert len(frozen().all()) == 10 and len(frozen().all()) == 10
        result = await sess.execute(q)
        result.close()
        assert result.closed
        with pytest.raises(InvalidRequestError, match="closed"):
            result.all()
        assert await sess.execute("UPDATE items SET kind = {k} WHERE id = 1", {"k": "x"}) == 1


async def test_stream(db):
    async with db.get_session() as sess:
        first = await sess.get(Item, 1)
        result = await sess.stream(sess.select(Item).order_by(Item.id))
        seen = []
        async for row in result:
            seen.append(row[0])
        assert len(seen) == 2500 and seen[0] is first and seen[-1].id == 2500
        result = await sess.stream_scalars(sess.select(Item).where(Item.id <= 5).order_by(Item.id))
        assert [i.id for i in await result.fetchmany(2)] == [1, 2]
        assert [i.id for i in await result.all()] == [3, 4, 5]
        result = await sess.stream(sess.select(Item.id, Item.name).order_by(Item.id))
        parts = [len(p) async for p in result.partitions(1000)]
        assert parts == [1000, 1000, 500]
        result = await sess.stream(sess.select(Item.name).where(Item.id == 7))
        assert await result.scalar_one() == "n7"
        result = await sess.stream(sess.select(Item.id).order_by(Item.id))
        assert (await result.fetchone()) == (1,)
        await result.close()
        assert result.closed
        with pytest.raises(InvalidRequestError):
            await result.fetchone()
        result = await sess.stream(sess.select(Item.kind).where(Item.id == 2))
        assert result.keys() == ["kind"] and await result.mappings().all() == [{"kind": "even"}]


async def test_rowcount_and_results_without_rows(db):
    async with db.get_session() as sess:
        result = await sess.execute(sess.select(Item).where(Item.id <= 3))
        assert result.rowcount == 3 and result.returns_rows  # a select: the rows buffered
        result.close()
        with pytest.raises(ResourceClosedError, match="closed"):
            result.fetchone()
        result = await sess.execute(sess.update(Item).set(Item.kind, "x").where(Item.id > 2490))
        # SQLAlchemy's CursorResult of a statement without RETURNING: no rows, not "closed"
        assert result.rowcount == 10 and result.keys() == [] and not result.returns_rows
        with pytest.raises(ResourceClosedError, match="does not return rows"):
            result.scalars().all()
        with pytest.raises(ResourceClosedError):
            list(result)
        with pytest.raises(ResourceClosedError):
            result.freeze()
        assert issubclass(ResourceClosedError, InvalidRequestError)
        result = await sess.execute(sess.update(Item).set(Item.kind, "y").where(Item.id > 2495)
                                    .returning(Item.id, Item.kind))
        assert result.rowcount == 5
        assert sorted(result.mappings().all(), key=lambda m: m["id"])[0] == {"id": 2496, "kind": "y"}
        result = await sess.execute(sess.delete(Item).where(Item.kind == "x").returning(Item.id))
        assert sorted(result.scalars().all()) == list(range(2491, 2496))
        # raw SQL keeps the original API: the number of rows
        assert await sess.execute("DELETE FROM items WHERE kind = {k}", {"k": "y"}) == 5
        assert await sess.select(Item).count() == 2490
