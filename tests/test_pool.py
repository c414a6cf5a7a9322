"""The pool against the real servers: limits and counters, waiting, cancellation at every step
(waiting, mid-query, during release), resets that fail, backends killed by the server,
recycling, dispose, and 200 tasks with random cancellations over a pool of 10."""
from __future__ import annotations

import asyncio
import os
import random

import asyncpg
import pytest

from asyncqlio import Column, DatabaseInterface, Integer, events, table_base
from asyncqlio.exc import (ArgumentError, InterfaceError, InvalidRequestError, OperationalError,
                           PendingRollbackError, PoolTimeout)

PG_DSN = os.environ.get("ASYNCQLIO_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
Table = table_base()


class Mark(Table, table_name="marks"):
    id = Column(Integer, primary_key=True, autoincrement=False)


APP = f"asyncqlio_pool_test_{os.getpid()}"


def with_app(dsn: str) -> str:
    """Our connections carry an application_name, so pg_stat_activity can pick them out."""
    return dsn + f"&application_name={APP}" if dsn.startswith("postgres") else dsn


async def server_view() -> list[str]:
    """The states of this test's connections as the server sees them."""
    conn = await asyncpg.connect(PG_DSN)
    try:
        rows = await conn.fetch("SELECT state FROM pg_stat_activity WHERE application_name = $1",
                                APP)
    finally:
        await conn.close()
    return [r["state"] for r in rows]


async def terminate(pid: int) -> None:
    """Kill a backend and wait until the server has really ended it."""
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute("SELECT pg_terminate_backend($1)", pid)
        for _ in range(200):
            if not await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                                       pid):
                return
            await asyncio.sleep(0.01)
    finally:
        await conn.close()


async def assert_whole(db: DatabaseInterface) -> None:
    """Nothing checked out, and every slot can be checked out at once and used."""
    pool = db.pool
    await asyncio.sleep(0)
    assert pool.checkedout() == 0
    assert not pool._checkins
    conns = [await pool.acquire() for _ in range(pool.pool_size + pool.max_overflow)]
    try:
        for c in conns:
            assert not c.in_transaction and not c.broken
            assert (await c.fetch("SELECT 1"))[0][0] == 1
    finally:
        for c in conns:
            await pool.release(c)
    assert pool.checkedout() == 0
    assert pool.overflow() <= 0


async def test_exhaustion_times_out_and_recovers(dsn):
    async with DatabaseInterface(dsn, pool_size=2, max_overflow=1, pool_timeout=0.2) as db:
        pool = db.pool
        held = [await pool.acquire() for _ in range(3)]
        assert (pool.checkedout(), pool.overflow(), pool.checkedin()) == (3, 1, 0)
        assert "Current Checked out connections: 3" in pool.status()
        with pytest.raises(PoolTimeout, match=r"pool_size=2, max_overflow=1"):
            await pool.acquire()
        with pytest.raises(asyncio.TimeoutError):  # PoolTimeout is one
            await pool.acquire()
        waiter = asyncio.create_task(pool.acquire())
        await asyncio.sleep(0.05)
        await pool.release(held.pop())
        got = await waiter  # served as soon as one came back
        held.append(got)
        for c in held:
            await pool.release(c)
        assert (pool.checkedout(), pool.checkedin(), pool.overflow()) == (0, 2, 0)
        await pool.release(got)  # a second release of one checkout is ignored
        assert pool._free == 3
        await assert_whole(db)


async def test_cancelled_waiters_never_take_a_slot(dsn):
    async with DatabaseInterface(dsn, pool_size=1, max_overflow=0, pool_timeout=5) as db:
        pool = db.pool
        held = await pool.acquire()
        first = asyncio.create_task(pool.acquire())
        second = asyncio.create_task(pool.acquire())
        await asyncio.sleep(0.01)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        await pool.release(held)
        got = await asyncio.wait_for(second, 1)
        # handed the connection and cancelled in the same turn of the loop: it passes it on
        third = asyncio.create_task(pool.acquire())
        fourth = asyncio.create_task(pool.acquire())
        await asyncio.sleep(0.01)
        await pool.release(got)
        third.cancel()
        with pytest.raises(asyncio.CancelledError):
            await third
        await pool.release(await asyncio.wait_for(fourth, 1))
        await assert_whole(db)


async def test_pool_options_are_checked(dsn):
    with pytest.raises(ArgumentError):
        DatabaseInterface(dsn, pool_size=0)
    with pytest.raises(ArgumentError):
        DatabaseInterface(dsn, reset_on_return="sometimes")


async def test_task_cancelled_during_pg_sleep(dsn, backend):
    if backend != "postgresql":
        pytest.skip("pg_sleep and pg_stat_activity are PostgreSQL's")
    async with DatabaseInterface(with_app(dsn), pool_size=3, max_overflow=0) as db:
        db.bind_tables(Table)
        await Mark.create()
        started = asyncio.Event()

        async def sleeper() -> None:
            async with db.get_session() as sess:
                await sess.add(Mark(id=1))
                started.set()
                await sess.execute("SELECT pg_sleep(10)")

        task = asyncio.create_task(sleeper())
        await started.wait()
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await assert_whole(db)
        states = await server_view()
        assert not [s for s in states if s and s.startswith("idle in transaction")], states
        assert states.count("active") == 0
        assert await db.scalar("SELECT count(*) FROM marks") == 0


async def test_cancelled_during_release_still_resets(dsn, backend):
    async with DatabaseInterface(with_app(dsn), pool_size=1, max_overflow=0) as db:
        db.bind_tables(Table)
        await Mark.create()
        sess = db.get_session()
        await sess.start()
        await sess.add(Mark(id=1))  # a transaction is open
        closing = asyncio.create_task(sess.close())
        await asyncio.sleep(0)  # the shielded check-in has started
        closing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await closing
        while db.pool._checkins:
            await asyncio.sleep(0.01)
        assert db.pool.checkedin() == 1  # rolled back and kept, not leaked
        assert await db.scalar("SELECT count(*) FROM marks") == 0
        if backend == "postgresql":
            assert "idle in transaction" not in await server_view()
        await assert_whole(db)


async def test_connection_whose_reset_fails_is_closed(dsn, monkeypatch):
    async with DatabaseInterface(dsn, pool_size=2) as db:
        conn = await db.pool.acquire()
        await conn.begin()

        async def failing_reset() -> None:
            raise OperationalError("reset refused")

        monkeypatch.setattr(conn, "reset", failing_reset)
        opened = db.pool._opened
        await db.pool.release(conn)
        assert conn not in db.pool._idle
        assert db.pool._opened == opened - 1
        await assert_whole(db)


async def test_reset_on_return_commit_and_none(dsn):
    async with DatabaseInterface(dsn, reset_on_return="commit") as db:
        await db.execute("CREATE TABLE t (x INTEGER)")
        conn = await db.pool.acquire()
        await conn.begin()
        await conn.execute("INSERT INTO t VALUES (1)")
        await db.pool.release(conn)
        assert await db.scalar("SELECT count(*) FROM t") == 1
    async with DatabaseInterface(dsn, reset_on_return=None) as db:
        conn = await db.pool.acquire()
        await conn.begin()
        await conn.execute("INSERT INTO t VALUES (2)")
        await db.pool.release(conn)  # nothing resets it, so it is closed, never reused dirty
        assert conn not in db.pool._idle
        assert await db.scalar("SELECT count(*) FROM t") == 1


async def test_overflow_connection_is_reset_and_announced_before_closing(dsn):
    """A connection closed on return (overflow) is still reset first, as a kept one is:
    reset_on_return="commit" commits both, and the checkin listeners hear both."""
    async with DatabaseInterface(dsn, pool_size=1, max_overflow=1,
                                 reset_on_return="commit") as db:
        await db.execute("CREATE TABLE t (x INTEGER)")
        checkins: list[object] = []
        events.listen(db.pool, "checkin", checkins.append)
        kept, extra = await db.pool.acquire(), await db.pool.acquire()
        assert db.pool.overflow() == 1
        for i, conn in enumerate((kept, extra)):  # in turn: SQLite has one writer
            await conn.begin()
            await conn.execute(f"INSERT INTO t VALUES ({i})")
            await db.pool.release(conn)
        assert checkins == [kept, extra]
        assert (db.pool.checkedin(), db.pool.overflow()) == (1, 0)
        assert await db.scalar("SELECT count(*) FROM t") == 2


async def test_killed_backend_is_replaced_by_pre_ping(dsn, backend):
    if backend != "postgresql":
        pytest.skip("pg_terminate_backend")
    async with DatabaseInterface(dsn, pool_size=1, max_overflow=0, pool_pre_ping=True) as db:
        pid = await db.scalar("SELECT pg_backend_pid()")
        await terminate(pid)
        assert db.pool.checkedin() == 1
        new_pid = await db.scalar("SELECT pg_backend_pid()")  # no error: replaced at checkout
        assert new_pid != pid
        assert db.pool._opened == 1
        await assert_whole(db)


async def test_killed_backend_without_pre_ping_fails_once_then_is_replaced(dsn, backend):
    if backend != "postgresql":
        pytest.skip("pg_terminate_backend")
    async with DatabaseInterface(dsn, pool_size=1, max_overflow=0) as db:
        pid = await db.scalar("SELECT pg_backend_pid()")
        await terminate(pid)
        with pytest.raises((InterfaceError, OperationalError)):
            await db.scalar("SELECT 1")
        assert db.pool._opened == 0  # detected and discarded
        assert await db.scalar("SELECT pg_backend_pid()") != pid
        await assert_whole(db)


async def test_killed_backend_inside_a_transaction_surfaces(dsn, backend):
    if backend != "postgresql":
        pytest.skip("pg_terminate_backend")
    async with DatabaseInterface(dsn, pool_size=1, max_overflow=0, pool_pre_ping=True) as db:
        db.bind_tables(Table)
        await Mark.create()
        sess = db.get_session()
        await sess.start()
        try:
            await sess.add(Mark(id=1))
            await terminate((await sess.fetch("SELECT pg_backend_pid() AS pid"))["pid"])
            with pytest.raises((InterfaceError, OperationalError)):
                await sess.add(Mark(id=2))
            with pytest.raises(PendingRollbackError):
                await sess.execute("SELECT 1")
            with pytest.raises(PendingRollbackError):
                await sess.commit()
            await sess.rollback()
            await sess.add(Mark(id=3))
            await sess.commit()
        finally:
            await sess.close()
        assert await db.scalar("SELECT min(id) FROM marks") == 3
        await assert_whole(db)


async def test_recycle_replaces_old_connections(dsn):
    async with DatabaseInterface(dsn, pool_size=1, pool_recycle=0.05) as db:
        first = await db.pool.acquire()
        await db.pool.release(first)
        again = await db.pool.acquire()
        await db.pool.release(again)
        assert again is first
        await asyncio.sleep(0.1)
        later = await db.pool.acquire()
        await db.pool.release(later)
        assert later is not first
        assert db.pool._opened == 1


async def test_dispose_closes_idle_now_and_checked_out_on_return(dsn):
    async with DatabaseInterface(dsn, pool_size=2) as db:
        a, b = await db.pool.acquire(), await db.pool.acquire()
        await db.pool.release(a)
        await db.dispose()
        assert db.pool.checkedin() == 0 and db.pool._opened == 1
        await db.pool.release(b)
        assert db.pool.checkedin() == 0 and db.pool._opened == 0
        assert await db.scalar("SELECT 1") == 1  # usable after
        fresh = db.pool.recreate()
        assert type(fresh) is type(db.pool)
        assert (fresh.pool_size, fresh.dispatch) == (2, db.pool.dispatch)
        assert fresh.checkedin() == 0


async def test_200_tasks_with_random_cancellations(dsn, backend):
    rng = random.Random(4)
    async with DatabaseInterface(with_app(dsn), pool_size=10, max_overflow=0,
                                 pool_timeout=30) as db:
        db.bind_tables(Table)
        await Mark.create()
        committed: set[int] = set()
        sleep = "SELECT pg_sleep(0.005)" if backend == "postgresql" else "SELECT 1"

        async def work(i: int) -> None:
            async with db.get_session(immediate=True) as sess:
                await sess.execute(sleep)
                await sess.add(Mark(id=i))
                await sess.execute(sleep)
            committed.add(i)

        tasks = [asyncio.create_task(work(i)) for i in range(200)]
        doomed = rng.sample(range(200), 20)
        for i in doomed:
            await asyncio.sleep(rng.uniform(0, 0.01))
            tasks[i].cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)
                  and not isinstance(r, asyncio.CancelledError)]
        assert errors == []
        assert 180 <= len(committed) < 200  # some were cut off mid-transaction
        stored = {r["id"] for r in await _all_ids(db)}
        assert committed <= stored  # no lost rows among those that committed
        assert stored <= committed | set(doomed)  # cancelled during COMMIT may have landed
        await assert_whole(db)
        assert db.pool._opened <= 10
        if backend == "postgresql":
            states = await server_view()
            assert len(states) <= 10
            assert not [s for s in states if s != "idle"], states


async def _all_ids(db: DatabaseInterface) -> list[dict]:
    async with db.begin() as conn:
        return await conn.fetch("SELECT id FROM marks")


async def test_closed_pool_refuses_and_closes_what_comes_back(dsn):
    db = await DatabaseInterface(dsn, pool_size=2).connect()
    held = await db.pool.acquire()
    await db.close()
    with pytest.raises(InvalidRequestError, match="closed"):
        await db.pool.acquire()
    await db.pool.release(held)
    assert db.pool._opened == 0 and db.pool.checkedin() == 0


async def test_a_transaction_the_session_did_not_see_is_ended_on_checkin(db):
    """Whatever got the session's record and the driver out of step, a connection never goes
    back to the pool inside a transaction."""
    conn = await db.pool.acquire()
    await conn.execute("BEGIN")  # behind the flag's back
    assert conn.in_transaction is False and conn.driver_in_transaction()
    await db.pool.release(conn)
    async with db.get_session() as sess:  # reuses it: BEGIN would fail inside a transaction
        assert await sess.fetch("SELECT 1 AS one") == {"one": 1}
    again = await db.pool.acquire()
    try:
        assert not again.driver_in_transaction()
    finally:
        await db.pool.release(again)
