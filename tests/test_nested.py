"""begin() and begin_nested() on both backends: rolling back a savepoint (or a checkpoint)
restores the session's objects as they were when it began, detaches rows inserted since and
brings back rows deleted since; each checked against the database."""
from __future__ import annotations

import pytest

from asyncqlio import Column, Integer, String, table_base
from asyncqlio._speedups import _row
from asyncqlio.exc import InvalidRequestError

Table = table_base()


class Account(Table, table_name="accounts"):
    id = Column(Integer, primary_key=True)
    name = Column(String(64), unique=True)
    balance = Column(Integer, default=0)


@pytest.fixture
async def db(db):
    db.bind_tables(Table)
    await Account.create()
    async with db.get_session() as sess:
        await sess.insert.rows(*(Account(id=i, name=f"a{i}", balance=i * 10) for i in (1, 2, 3)))
    return db


async def in_db(sess) -> dict[int, tuple]:
    """What the session's transaction holds, read with raw SQL (not through the map)."""
    rows = await (await sess.cursor("SELECT id, name, balance FROM accounts ORDER BY id")).flatten()
    return {r["id"]: (r["name"], r["balance"]) for r in rows}


async def committed(db) -> dict[int, tuple]:
    async with db.get_session() as other:
        return await in_db(other)


START = {1: ("a1", 10), 2: ("a2", 20), 3: ("a3", 30)}


async def test_rolled_back_savepoint_restores_objects_and_database(db):
    async with db.get_session() as sess:
        a = await sess.get(Account, 1)
        a.balance = 11  # flushed by begin_nested: kept
        c = await sess.get(Account, 3)
        with pytest.raises(RuntimeError):
            async with sess.begin_nested() as tx:
                assert sess.in_nested_transaction() and sess.get_nested_transaction() is tx
                a.balance = 99
                a.name = "changed"
                b = await sess.get(Account, 2)  # loaded inside, then changed
                b.balance = 0
                sess.delete(c)
                new = Account(id=4, name="four")
                sess.add(new)
                await sess.flush()
                assert (await in_db(sess))[1] == ("changed", 99)
                raise RuntimeError("undo")
        assert not sess.in_nested_transaction() and not tx.is_active
        assert (a.name, a.balance) == ("a1", 11) and not sess.is_modified(a)
        assert b.balance == 20 and not sess.is_modified(b)
        assert c._state == _row.PERSISTENT and await sess.get(Account, 3) is c
        assert new._state == _row.TRANSIENT and new not in sess
        assert await sess.get(Account, 4) is None
        assert await in_db(sess) == {1: ("a1", 11), 2: ("a2", 20), 3: ("a3", 30)}
    assert await committed(db) == {1: ("a1", 11), 2: ("a2", 20), 3: ("a3", 30)}


async def test_released_savepoint_keeps_the_work(db):
    async with db.get_session() as sess:
        async with sess.begin_nested():
            (await sess.get(Account, 1)).balance = 5
            sess.add(Account(id=4, name="four"))
        assert await sess.get(Account, 4) is not None
    assert await committed(db) == {**START, 1: ("a1", 5), 4: ("four", 0)}


async def test_explicit_commit_and_rollback_of_a_nested_transaction(db):
    async with db.get_session() as sess:
        a = await sess.get(Account, 1)
        tx = await sess.begin_nested()
        a.balance = 1
        await tx.rollback()
        assert a.balance == 10 and not tx.is_active
        with pytest.raises(InvalidRequestError):
            await tx.commit()
        tx = await sess.begin_nested()
        a.balance = 2
        await tx.commit()
        assert a.balance == 2
    assert (await committed(db))[1] == ("a1", 2)


async def test_savepoints_nest(db):
    async with db.get_session() as sess:
        a = await sess.get(Account, 1)
        async with sess.begin_nested():
            a.balance = 1
            with pytest.raises(ValueError):
                async with sess.begin_nested():
                    a.balance = 2
                    await sess.flush()
                    raise ValueError
            assert a.balance == 1
            a.balance = 3
        assert a.balance == 3
    assert (await committed(db))[1] == ("a1", 3)


async def test_checkpoint_rollback_restores_objects(db):
    async with db.get_session() as sess:
        a = await sess.get(Account, 1)
        await sess.checkpoint("cp")
        a.balance = 50
        sess.delete(await sess.get(Account, 2))
        await sess.flush()
        await sess.rollback("cp")
        assert a.balance == 10 and (await sess.get(Account, 2)).name == "a2"
        a.balance = 60  # the checkpoint stays: roll back to it again
        await sess.flush()
        await sess.rollback("cp")
        assert a.balance == 10
        assert await in_db(sess) == START


async def test_begin_commits_or_rolls_back(db):
    sess = db.get_session()
    async with sess.begin():
        assert sess.in_transaction()
        with pytest.raises(InvalidRequestError, match="already"):
            sess.begin()
        (await sess.get(Account, 1)).balance = 7
    assert not sess.in_transaction()
    assert (await committed(db))[1] == ("a1", 7)
    with pytest.raises(KeyError):
        async with sess.begin():
            a = await sess.get(Account, 1)
            a.balance = 8
            raise KeyError
    assert a.balance == 7
    assert (await committed(db))[1] == ("a1", 7)
    await sess.close()


async def test_full_rollback_forgets_new_rows(db):
    async with db.get_session() as sess:
        row = Account(id=9, name="nine")
        await sess.add(row)
        await sess.rollback()
        assert row._state == _row.TRANSIENT and row not in sess
        assert await sess.get(Account, 9) is None
