"""Failures on both backends: driver errors come out as asyncqlio.exc types with the driver's
error as ``__cause__``; a failed transaction refuses work until rolled back and commits
nothing; connections that were interrupted or lost never come back from the pool."""
from __future__ import annotations

import asyncio
import sqlite3
import time

import asyncpg
import pytest

from asyncqlio import Column, DatabaseInterface, Integer, String, table_base
from asyncqlio.exc import (DatabaseException, IntegrityError, InterfaceError, OperationalError,
                           PendingRollbackError, PoolTimeout, ProgrammingError,
                           SessionClosedError)

Table = table_base()


class Item(Table, table_name="items"):
    id = Column(Integer, primary_key=True)
    name = Column(String(32), unique=True)
    qty = Column(Integer, default=0)


class Ghost(Table, table_name="ghosts"):
    """Never created."""
    id = Column(Integer, primary_key=True)


DRIVER_INTEGRITY = {"sqlite": sqlite3.IntegrityError, "postgresql": asyncpg.UniqueViolationError}


@pytest.fixture
async def db(db):
    db.bind_tables(Table)
    await Item.create()
    return db


async def committed(db: DatabaseInterface) -> list[str]:
    """The item names another session sees."""
    async with db.get_session() as other:
        result = await other.cursor("SELECT name FROM items ORDER BY id")
        return [r["name"] for r in await result.flatten()]


async def test_duplicate_key_is_an_integrity_error_caused_by_the_driver_error(db, backend):
    async with db.get_session() as sess:
        await sess.add(Item(name="a"))
        with pytest.raises(IntegrityError) as info:
            await sess.add(Item(name="a"))
        await sess.rollback()
    error = info.value
    assert isinstance(error, DatabaseException)
    assert isinstance(error.__cause__, DRIVER_INTEGRITY[backend])
    assert error.orig is error.__cause__


async def test_not_null_violation_is_an_integrity_error(db):
    async with db.get_session() as sess:
        with pytest.raises(IntegrityError):
            await sess.add(Item(qty=1))
        await sess.rollback()


async def test_failed_transaction_refuses_everything_until_rollback(db):
    sess = db.get_session()
    await sess.start()
    try:
        first = await sess.add(Item(name="first"))
        with pytest.raises(IntegrityError):
            await sess.add(Item(name="first"))
        attempts = [
            lambda: sess.execute("SELECT 1"),
            lambda: sess.fetch("SELECT 1 AS one"),
            lambda: sess.cursor("SELECT 1 AS one"),
            lambda: sess.select(Item).first(),
            lambda: sess.select(Item).count(),
            lambda: sess.add(Item(name="x")),
            lambda: sess.insert_now(Item(name="y")),
            lambda: sess.update_now(first),
            lambda: sess.merge(Item(id=first.id, qty=3)),
            lambda: sess.remove(first),
            lambda: sess.truncate(Item),
            lambda: sess.insert.rows(Item(name="z")).run(),
            lambda: sess.update(Item).set(Item.qty, 1).run(),
            lambda: sess.delete(Item).run(),
            lambda: sess.checkpoint("cp"),
            sess.flush,
            sess.commit,
        ]
        for attempt in attempts:
            with pytest.raises(PendingRollbackError):
                await attempt()
        await sess.rollback()
        assert await committed(db) == []  # "first" went with the failed transaction
        await sess.add(Item(name="second"))
        await sess.commit()
    finally:
        await sess.close()
    assert await committed(db) == ["second"]


async def test_error_caught_inside_async_with_commits_nothing(db):
    with pytest.raises(PendingRollbackError):
        async with db.get_session() as sess:
            await sess.add(Item(name="good"))
            try:
                await sess.add(Item(name="good"))
            except IntegrityError:
                pass  # swallowed: the commit at the end of the block must still refuse
    assert await committed(db) == []
    assert db.pool.checkedout() == 0


async def test_error_leaving_async_with_commits_nothing(db):
    with pytest.raises(IntegrityError):
        async with db.get_session() as sess:
            await sess.add(Item(name="good"))
            sess.add(Item(name="pending"))
            await sess.add(Item(name="good"))
    assert await committed(db) == []
    async with db.get_session() as sess:  # the connection came back clean
        await sess.add(Item(name="after"))
    assert await committed(db) == ["after"]


async def test_error_at_flush_in_commit_commits_nothing(db):
    with pytest.raises(IntegrityError):
        async with db.get_session() as sess:
            await sess.add(Item(name="a"))
            sess.add(Item(name="b"))
            sess.add(Item(name="a"))
    assert await committed(db) == []


async def test_rollback_to_checkpoint_after_an_error_makes_the_session_usable(db):
    async with db.get_session() as sess:
        await sess.add(Item(name="a"))
        await sess.checkpoint("before")
        await sess.add(Item(name="b"))
        with pytest.raises(IntegrityError):
            await sess.add(Item(name="a"))
        with pytest.raises(PendingRollbackError):
            await sess.execute("SELECT 1")
        await sess.rollback("before")
        await sess.add(Item(name="c"))
    assert await committed(db) == ["a", "c"]


async def test_refused_commit_rolls_back_and_the_connection_stays_usable(db):
    """A deferred foreign key fails at COMMIT: on SQLite that leaves the transaction open."""
    async with db.get_session() as sess:
        await sess.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        await sess.execute("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER "
                           "REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)")
    sess = db.get_session()
    try:
        await sess.add(Item(name="with the bad child"))
        await sess.execute("INSERT INTO child (id, parent_id) VALUES (1, 99)")
        with pytest.raises(IntegrityError):
            await sess.commit()
        with pytest.raises(PendingRollbackError):
            await sess.execute("SELECT 1")
        await sess.rollback()
        await sess.add(Item(name="next"))
        await sess.commit()
    finally:
        await sess.close()
    assert await committed(db) == ["next"]
    with pytest.raises(IntegrityError):
        async with db.get_session() as sess:
            await sess.execute("INSERT INTO child (id, parent_id) VALUES (2, 98)")
    for i in range(db.pool.size() + 1):  # every pooled connection is clean
        async with db.get_session() as sess:
            await sess.add(Item(name=f"n{i}"))
    async with db.get_session() as sess:
        assert await sess.fetch("SELECT count(*) AS n FROM child") == {"n": 0}


async def test_closed_session_raises_session_closed_error(db):
    sess = db.get_session()
    await sess.start()
    row = await sess.add(Item(name="a"))
    await sess.commit()
    await sess.close()
    attempts = [
        sess.start,
        sess.commit,
        sess.rollback,
        sess.flush,
        lambda: sess.execute("SELECT 1"),
        lambda: sess.fetch("SELECT 1 AS one"),
        lambda: sess.cursor("SELECT 1 AS one"),
        lambda: sess.select(Item).first(),
        lambda: sess.add(Item(name="b")),
        lambda: sess.update_now(row),
        lambda: sess.merge(Item(id=row.id, qty=2)),
        lambda: sess.remove(row),
        lambda: sess.checkpoint("cp"),
    ]
    for attempt in attempts:
        with pytest.raises(SessionClosedError):
            await attempt()
    with pytest.raises(SessionClosedError):
        async with sess:
            pass
    await sess.close()
    assert await committed(db) == ["a"]


async def test_closing_inside_async_with(db):
    async with db.get_session() as sess:
        await sess.add(Item(name="never committed"))
        await sess.close()
    assert await committed(db) == []
    assert db.pool.checkedout() == 0


async def test_missing_table_is_a_programming_error(db):
    async with db.get_session() as sess:
        with pytest.raises(ProgrammingError):
            await sess.execute("SELECT * FROM no_such_table")
        await sess.rollback()
        with pytest.raises(ProgrammingError):
            await sess.select(Ghost).first()
        await sess.rollback()
        with pytest.raises(ProgrammingError):
            await sess.cursor("SELECT * FROM no_such_table")
        with pytest.raises(PendingRollbackError):
            await sess.fetch("SELECT 1 AS one")
        await sess.rollback()
        with pytest.raises(ProgrammingError):
            await sess.add(Ghost())
        await sess.rollback()
        assert await sess.fetch("SELECT 1 AS one") == {"one": 1}


async def test_syntax_error_is_a_programming_error(db):
    async with db.get_session() as sess:
        with pytest.raises(ProgrammingError) as info:
            await sess.execute("SELEKT 1")
        assert info.value.__cause__ is info.value.orig is not None
        await sess.rollback()


SLOW = {
    "postgresql": "SELECT pg_sleep(5)",
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
              "WHERE x < 40000000) SELECT count(*) FROM c",
}


async def test_cancelled_query_returns_its_connection(db, backend):
    started = asyncio.Event()

    async def slow() -> None:
        async with db.get_session() as sess:
            await sess.add(Item(name="cancelled"))
            started.set()
            await sess.fetch(SLOW[backend])

    t0 = time.monotonic()
    task = asyncio.create_task(slow())
    await started.wait()
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - t0 < 3  # the statement was stopped, not waited for
    assert db.pool.checkedout() == 0
    async with db.get_session() as sess:
        assert await sess.fetch("SELECT 1 AS one") == {"one": 1}
        await sess.add(Item(name="next"))
    assert await committed(db) == ["next"]


async def test_interrupted_statement_leaves_only_a_full_rollback(db, backend):
    sess = db.get_session()
    await sess.start()
    try:
        await sess.add(Item(name="a"))
        await sess.checkpoint("cp")
        task = asyncio.create_task(sess.fetch(SLOW[backend]))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(PendingRollbackError):
            await sess.rollback("cp")  # where the interrupted statement left it is unknown
        with pytest.raises(PendingRollbackError):
            await sess.execute("SELECT 1")
        await sess.rollback()
        await sess.add(Item(name="b"))
        await sess.commit()
    finally:
        await sess.close()
    assert await committed(db) == ["b"]
    assert db.pool.checkedout() == 0


async def test_connection_closed_under_a_session_is_replaced(db):
    sess = db.get_session()
    await sess.start()
    try:
        await sess.add(Item(name="lost"))
        await sess.conn.raw.close()  # the driver connection goes away mid-transaction
        with pytest.raises((InterfaceError, OperationalError)):
            await sess.execute("SELECT 1")
        await sess.rollback()
        await sess.add(Item(name="kept"))
        await sess.commit()
    finally:
        await sess.close()
    assert await committed(db) == ["kept"]
    for _ in range(db.pool.size() + 1):
        async with db.get_session() as other:
            assert await other.fetch("SELECT 1 AS one") == {"one": 1}


async def test_server_side_disconnect_is_replaced(db, backend):
    if backend != "postgresql":
        pytest.skip("PostgreSQL: a backend killed by the server")
    sess = db.get_session()
    await sess.start()
    try:
        pid = (await sess.fetch("SELECT pg_backend_pid() AS pid"))["pid"]
        await db.execute("SELECT pg_terminate_backend({pid})", {"pid": pid})
        for _ in range(100):  # until the server has really ended it
            if await db.fetch("SELECT pid FROM pg_stat_activity WHERE pid = {pid}",
                              {"pid": pid}) is None:
                break
            await asyncio.sleep(0.02)
        with pytest.raises((InterfaceError, OperationalError)):
            await sess.execute("SELECT 1")
        await sess.rollback()
        assert await sess.fetch("SELECT 2 AS two") == {"two": 2}
    finally:
        await sess.close()
    for _ in range(db.pool.size() + 1):
        assert await db.fetch("SELECT 3 AS three") == {"three": 3}
    assert db.pool.checkedout() == 0


async def test_exhausted_pool_times_out_naming_its_limits(dsn):
    async with DatabaseInterface(dsn, pool_size=1, max_overflow=0, pool_timeout=0.2) as db:
        async with db.get_session() as holder:
            await holder.fetch("SELECT 1 AS one")
            with pytest.raises(PoolTimeout, match=r"pool_size=1, max_overflow=0"):
                async with db.get_session() as sess:
                    await sess.fetch("SELECT 1 AS one")
        assert db.pool.checkedout() == 0
        assert await db.fetch("SELECT 1 AS one") == {"one": 1}
