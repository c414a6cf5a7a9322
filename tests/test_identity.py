"""The unit of work on both backends: one object per primary key, loaded rows written at
flush without add(), autoflush, delete(row), expire/refresh, expunge, merge; each checked
against what another session sees."""
from __future__ import annotations

import asyncio
import gc

import pytest

from asyncqlio import Column, Integer, String, Text, table_base
from asyncqlio._speedups import _row
from asyncqlio.orm.unit_of_work import IdentityMap
from asyncqlio.exc import (ArgumentError, ExpiredAttributeError, IntegrityError, InvalidRequestError,
                           NoResultFound)

Table = table_base()


class Account(Table, table_name="accounts"):
    id = Column(Integer, primary_key=True)
    name = Column(String(64), unique=True)
    balance = Column(Integer, default=0)
    note = Column(Text, nullable=True, default=None)


class Pair(Table, table_name="pairs"):
    a = Column(Integer, primary_key=True)
    b = Column(Integer, primary_key=True)
    label = Column(Text)


@pytest.fixture
async def db(db):
    db.bind_tables(Table)
    await Account.create()
    await Pair.create()
    async with db.get_session() as sess:
        await sess.insert.rows(*(Account(id=i, name=f"a{i}", balance=i * 10) for i in (1, 2, 3)))
    return db


async def stored(db) -> dict[int, tuple]:
    async with db.get_session() as other:
        rows = await (await other.cursor(
            "SELECT id, name, balance FROM accounts ORDER BY id")).flatten()
    return {r["id"]: (r["name"], r["balance"]) for r in rows}


async def test_same_row_is_the_same_object(db):
    async with db.get_session() as sess:
        a = await sess.select(Account).where(Account.id == 1).first()
        everyone = await sess.select(Account).order_by(Account.id)
        assert everyone[0] is a
        assert sess.identity_map[(Account, (1,))] is a
        assert (Account, (2,)) in sess.identity_map and len(sess.identity_map) == 3
        assert await sess.get(Account, 1) is a


async def test_a_mapped_row_keeps_its_unflushed_changes(db):
    async with db.get_session(autoflush=False) as sess:
        a = await sess.get(Account, 1)
        a.balance = 999
        again = await sess.select(Account).where(Account.id == 1).first()
        assert again is a and again.balance == 999
        await sess.rollback()
    assert (await stored(db))[1] == ("a1", 10)


async def test_loaded_rows_are_written_without_add(db):
    async with db.get_session() as sess:
        rows = await sess.select(Account).order_by(Account.id)
        rows[0].balance = 11
        rows[2].name = "c"
        assert set(map(id, sess.dirty)) == {id(rows[0]), id(rows[2])}
        assert sess.is_modified(rows[0]) and not sess.is_modified(rows[1])
    assert await stored(db) == {1: ("a1", 11), 2: ("a2", 20), 3: ("c", 30)}


async def test_setting_the_same_value_is_not_dirty(db):
    async with db.get_session() as sess:
        a = await sess.get(Account, 1)
        a.balance = 10
        assert sess.dirty == [] and not sess.is_modified(a)


async def test_get_without_io_and_get_one(db):
    async with db.get_session() as sess:
        a = await sess.get(Account, 2)
        await sess.execute("UPDATE accounts SET balance = 0 WHERE id = 2")
        assert (await sess.get(Account, 2)).balance == 20  # from the map, no SELECT
        assert await sess.get(Account, 99) is None
        with pytest.raises(NoResultFound):
            await sess.get_one(Account, 99)
        assert await sess.get_one(Account, 2) is a
        with pytest.raises(Exception):
            await sess.get(Account, (1, 2))


async def test_compound_keys(db):
    async with db.get_session() as sess:
        sess.add_all([Pair(a=1, b=1, label="x"), Pair(a=1, b=2, label="y")])
        await sess.flush()
        p = await sess.get(Pair, (1, 2))
        assert p.label == "y"
        assert (await sess.select(Pair).where(Pair.b == 2).first()) is p
        p.label = "z"
    async with db.get_session() as sess:
        assert (await sess.get(Pair, (1, 2))).label == "z"


async def test_new_rows_join_the_map_at_flush(db):
    async with db.get_session() as sess:
        d = Account(id=4, name="d")
        sess.add(d)
        assert sess.new == [d] and d in sess
        await sess.flush()
        assert sess.new == [] and sess.identity_map[(Account, (4,))] is d
        assert await sess.get(Account, 4) is d
        e = await sess.add(Account(id=5, name="e"))
        assert await sess.get(Account, e.id) is e


async def test_autoflush_before_queries_and_no_autoflush(db):
    async with db.get_session() as sess:
        sess.add(Account(id=4, name="d"))
        a = await sess.get(Account, 1)
        a.balance = 5
        assert await sess.select(Account).where(Account.balance == 5).count() == 1
        assert sess.new == [] and sess.dirty == []
        with sess.no_autoflush:
            sess.add(Account(id=5, name="e"))
            assert await sess.select(Account).count() == 4
        assert await sess.select(Account).count() == 5
    async with db.get_session(autoflush=False) as sess:
        sess.add(Account(id=6, name="f"))
        assert await sess.select(Account).count() == 5
    assert len(await stored(db)) == 6


async def test_delete_marks_the_row_and_bulk_delete_still_builds(db):
    async with db.get_session() as sess:
        a = await sess.get(Account, 1)
        sess.delete(a)
        assert sess.deleted == [a]
        assert await sess.select(Account).count() == 2  # autoflushed
        assert a._state == _row.DELETED and (Account, (1,)) not in sess.identity_map
        assert await sess.delete(Account).where(Account.id == 2) == 1
        b = Account(name="never")
        sess.add(b)
        sess.delete(b)  # never written: just forgotten
        assert sess.new == []
        c = await sess.get(Account, 3)
        await sess.delete(c)  # awaited: DELETE now
        assert await sess.select(Account).count() == 0
    assert await stored(db) == {}


async def test_delete_of_a_transient_row_is_an_error(db):
    async with db.get_session() as sess:
        with pytest.raises(InvalidRequestError):
            sess.delete(Account(name="x"))


async def test_expire_and_refresh(db):
    async with db.get_session() as sess:
        a = await sess.get(Account, 1)
        a.name = "unsaved"
        sess.expire(a, ["balance"])
        assert a.name == "unsaved"
        with pytest.raises(ExpiredAttributeError, match="refresh"):
            a.balance
        await sess.execute("UPDATE accounts SET balance = 77 WHERE id = 1")
        await sess.refresh(a)
        assert (a.name, a.balance) == ("a1", 77) and not sess.is_modified(a)
        sess.expire_all()
        with pytest.raises(ExpiredAttributeError):
            a.name
        assert a.id == 1  # the key is the row's identity: never expired
        again = await sess.select(Account).where(Account.id == 1).first()  # loads it again
        assert again is a and a.name == "a1"
        sess.expire_all()
        await sess.execute("UPDATE accounts SET name = 'renamed' WHERE id = 1")
        assert (await sess.refresh(a)).name == "renamed"
        with pytest.raises(ArgumentError, match="primary key"):
            sess.expire(a, ["id"])


async def test_expunge(db):
    async with db.get_session() as sess:
        a = await sess.get(Account, 1)
        sess.expunge(a)
        assert a not in sess and a._state == _row.DETACHED
        a.balance = 123  # not tracked any more
        b = await sess.get(Account, 1)
        assert b is not a
        sess.expunge_all()
        assert len(sess.identity_map) == 0 and b._session is None
    assert (await stored(db))[1] == ("a1", 10)


async def test_merge_into_the_map(db):
    async with db.get_session() as sess:
        a = await sess.get(Account, 1)
        merged = await sess.merge(Account(id=1, balance=50))
        assert merged is a and a.balance == 50 and a.name == "a1"
        new = await sess.merge(Account(id=9, name="nine"))
        assert await sess.get(Account, 9) is new
    assert (await stored(db))[1] == ("a1", 50)


async def test_add_of_a_row_from_another_session(db):
    async with db.get_session() as sess:
        a = await sess.get(Account, 1)
    assert a._session is None  # closing detaches
    a.balance = 42
    async with db.get_session() as sess:
        sess.add(a)
        assert await sess.get(Account, 1) is a
    assert (await stored(db))[1] == ("a1", 42)


async def test_changed_primary_key_moves_in_the_map(db):
    async with db.get_session() as sess:
        a = await sess.get(Account, 1)
        a.id = 10
        await sess.flush()
        assert await sess.get(Account, 10) is a
        assert (Account, (1,)) not in sess.identity_map
    assert 10 in await stored(db)


async def test_failed_flush_keeps_the_objects_pending_and_dirty(db):
    async with db.get_session() as sess:
        a = await sess.get(Account, 1)
        a.balance = 1000
        fresh = Account(id=7, name="seven")
        dup = Account(id=8, name="a2")  # unique name taken
        sess.add_all([fresh, dup])
        with pytest.raises(IntegrityError) as info:
            await sess.flush()
        assert "accounts" in "".join(getattr(info.value, "__notes__", []))
        assert set(map(id, sess.new)) == {id(fresh), id(dup)}
        assert sess.dirty == [a] and a.balance == 1000
        assert fresh._state == _row.PENDING
        await sess.rollback()
        assert a.balance == 10 and sess.dirty == [] and sess.new == []
        assert fresh._state == _row.TRANSIENT
    assert await stored(db) == {1: ("a1", 10), 2: ("a2", 20), 3: ("a3", 30)}


async def test_rollback_restores_loaded_objects(db):
    async with db.get_session() as sess:
        a = await sess.get(Account, 1)
        b = await sess.get(Account, 2)
        a.balance = 1
        await sess.flush()
        b.name = "bee"
        sess.delete(await sess.get(Account, 3))
        await sess.flush()
        await sess.rollback()
        assert (a.balance, b.name) == (10, "a2") and not sess.dirty
        assert (await sess.get(Account, 3)).name == "a3"
    assert await stored(db) == {1: ("a1", 10), 2: ("a2", 20), 3: ("a3", 30)}


async def test_session_state_helpers(db):
    async with db.get_session() as sess:
        assert not sess.in_transaction() and sess.get_transaction() is None
        await sess.get(Account, 1)
        assert sess.in_transaction() and sess.get_transaction() is not None
        assert not sess.in_nested_transaction() and sess.get_nested_transaction() is None
        await sess.reset()
        assert len(sess.identity_map) == 0 and not sess.in_transaction()
        assert await sess.get(Account, 1) is not None  # usable again
        await sess.invalidate()
        assert (await sess.get(Account, 2)).name == "a2"


async def test_two_tasks_on_one_session_is_an_error(db):
    async with db.get_session() as sess:
        await sess.get(Account, 1)
        results = await asyncio.gather(
            *(sess.execute("UPDATE accounts SET balance = balance + 1") for _ in range(2)),
            return_exceptions=True)
        errors = [r for r in results if isinstance(r, Exception)]
        assert len(errors) == 1 and "two tasks" in str(errors[0])


async def test_bulk_insert_mappings_and_update_mappings(db):
    async with db.get_session() as sess:
        await sess.bulk_insert_mappings(Account, [{"id": 10 + i, "name": f"b{i}"} for i in range(150)])
        await sess.bulk_update_mappings(Account, [{"id": 10, "balance": 7},
                                                  {"id": 11, "balance": 8, "name": "bb"},
                                                  {"id": 1, "balance": 0}])
        assert len(sess.identity_map) == 0  # bulk rows are not tracked
    rows = await stored(db)
    assert len(rows) == 153
    assert (rows[10], rows[11], rows[12], rows[1]) == (("b0", 7), ("bb", 8), ("b2", 0), ("a1", 0))


async def test_bulk_save_objects(db):
    async with db.get_session() as sess:
        a = await sess.get(Account, 1)
        sess.expunge(a)
        a.balance = 5
        await sess.bulk_save_objects([a, Account(id=20, name="x"), Account(id=21, name="y")])
    rows = await stored(db)
    assert rows[1] == ("a1", 5) and rows[20] == ("x", 0) and rows[21] == ("y", 0)


# --- the identity map holds its objects weakly

async def test_objects_nobody_uses_leave_the_identity_map(db):
    async with db.get_session() as sess:
        rows = await sess.select(Account)
        assert len(sess.identity_map) == 3
        del rows
        gc.collect()
        assert len(sess.identity_map) == 0 and sess.identity_map.rows() == []
        again = await sess.get(Account, 1)  # loaded anew, with the stored values
        assert (again.name, again.balance) == ("a1", 10)
        assert sess.identity_map[(Account, (1,))] is again


async def test_changed_deleted_and_new_rows_are_kept_until_written(db):
    async with db.get_session(autoflush=False) as sess:
        (await sess.get(Account, 1)).balance = 11   # nobody keeps these three objects
        sess.delete(await sess.get(Account, 2))
        sess.add(Account(id=4, name="a4", balance=40))
        gc.collect()
        assert [r.id for r in sess.dirty] == [1] and [r.id for r in sess.deleted] == [2]
        assert [r.id for r in sess.new] == [4]
    assert await stored(db) == {1: ("a1", 11), 3: ("a3", 30), 4: ("a4", 40)}


async def test_a_rollback_restores_objects_the_user_still_holds(db):
    sess = db.get_session()
    async with sess.begin():
        kept = await sess.get(Account, 1)
        await sess.get(Account, 2)  # dropped at once
    gc.collect()
    with pytest.raises(KeyError):
        async with sess.begin():
            kept.balance = 99
            (await sess.get(Account, 2)).balance = 98
            await sess.flush()
            raise KeyError
    assert kept.balance == 10 and kept in sess
    assert (await sess.get(Account, 2)).balance == 20
    await sess.close()
    assert await stored(db) == {1: ("a1", 10), 2: ("a2", 20), 3: ("a3", 30)}


async def test_streaming_many_objects_keeps_the_identity_map_small(db):
    async with db.get_session() as sess:
        await sess.insert.rows(*(Account(id=i, name=f"s{i}") for i in range(10, 6010)))
    async with db.get_session() as sess:
        seen = largest = 0
        result = await sess.stream(sess.select(Account))
        async for (row,) in result:
            seen += 1
            largest = max(largest, len(sess.identity_map.by_class[Account]))
        assert seen == 6003
        # entries of dropped objects are swept out as the map grows, not kept for all 6,003
        assert largest <= 2 * IdentityMap.SWEEP_FLOOR + 1000
