"""The pool classes under SQLAlchemy's names, on both backends: the queue pool's names,
NullPool (a connection per checkout, nothing left open, resets and cancellation), StaticPool
(one connection for every checkout, SQLite :memory:), the pool events for each, recreate(),
and poolclass / connect_args as DatabaseInterface options."""
from __future__ import annotations

import asyncio
import os
import time

import asyncpg
import pytest

from asyncqlio import DatabaseInterface, events
from asyncqlio.exc import ArgumentError, OperationalError
from asyncqlio.pool import AsyncAdaptedQueuePool, NullPool, Pool, QueuePool, StaticPool

PG_DSN = os.environ.get("ASYNCQLIO_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
APP = f"asyncqlio_pool_classes_{os.getpid()}"
SLOW = {"postgresql": "SELECT pg_sleep(5)",
        "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                  "WHERE x < 40000000) SELECT count(*) FROM c"}


def with_app(dsn: str) -> str:
    """Our connections carry an application_name, so pg_stat_activity can count them."""
    return dsn + f"&application_name={APP}" if dsn.startswith("postgres") else dsn


async def server_connections(expected: int) -> int:
    """How many of this test's connections the server has, waiting a little for it to reach
    ``expected`` (a closed connection's backend takes a moment to end)."""
    conn = await asyncpg.connect(PG_DSN)
    try:
        for _ in range(200):
            n = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", APP)
            if n == expected:
                break
            await asyncio.sleep(0.01)
    finally:
        await conn.close()
    return n


def open_files(path: str) -> int:
    """How many file descriptors of this process are open on ``path``."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == path:
                count += 1
        except OSError:
            pass
    return count


def count_pool_events(db: DatabaseInterface) -> dict[str, int]:
    counts = {"connect": 0, "checkout": 0, "checkin": 0}
    for name in counts:
        events.listen(db, name, lambda conn, name=name: counts.__setitem__(name, counts[name] + 1))
    return counts


async def row_count(db: DatabaseInterface) -> int:
    return await db.scalar("SELECT count(*) FROM t")


# --- names and options
async def test_the_queue_pool_goes_by_sqlalchemys_names(dsn):
    assert Pool is AsyncAdaptedQueuePool and QueuePool is AsyncAdaptedQueuePool
    async with DatabaseInterface(dsn) as db:
        assert type(db.pool) is AsyncAdaptedQueuePool
    async with DatabaseInterface(dsn, poolclass=QueuePool, pool_size=2, max_overflow=0,
                                 pool_timeout=0.1) as db:
        assert (db.pool.size(), db.pool.checkedin()) == (2, 1)
        assert await db.scalar("SELECT 1") == 1


@pytest.mark.parametrize("poolclass", [AsyncAdaptedQueuePool, NullPool, StaticPool])
async def test_recreate_keeps_the_class_settings_and_listeners(dsn, poolclass):
    async with DatabaseInterface(dsn, poolclass=poolclass, pool_recycle=60,
                                 reset_on_return="commit") as db:
        counts = count_pool_events(db)
        fresh = db.pool.recreate()
        assert type(fresh) is poolclass
        assert (fresh.pool_recycle, fresh.reset_on_return) == (60, "commit")
        assert (fresh.checkedin(), fresh.checkedout()) == (0, 0)
        async with fresh.connect() as conn:
            assert (await conn.fetch("SELECT 1"))[0][0] == 1
            assert fresh.checkedout() == 1
        assert counts == {"connect": 1, "checkout": 1, "checkin": 1}
        await fresh.dispose()


async def test_pool_options_a_class_does_not_take_are_refused(dsn, backend):
    for poolclass in (NullPool, StaticPool):
        for option in ("pool_size", "max_overflow", "pool_timeout"):
            with pytest.raises(ArgumentError, match=f"{poolclass.__name__} does not take "
                                                    f"{option}"):
                DatabaseInterface(dsn, poolclass=poolclass, **{option: 3})
        # what SQLAlchemy's every pool takes, these take too
        async with DatabaseInterface(dsn, poolclass=poolclass, pool_pre_ping=True,
                                     pool_recycle=10, reset_on_return=False,
                                     echo_pool=True) as db:
            assert await db.scalar("SELECT 1") == 1
    with pytest.raises(ArgumentError, match="poolclass"):
        DatabaseInterface(dsn, poolclass="NullPool")
    with pytest.raises(ArgumentError, match="reset_on_return"):
        DatabaseInterface(dsn, poolclass=NullPool, reset_on_return="sometimes")
    with pytest.raises(ArgumentError, match="connect_args is a dict"):
        DatabaseInterface(dsn, connect_args=[("timeout", 1)])
    fixed, twice = (({"host": "elsewhere"}, {"connect_timeout": 1})
                    if backend == "postgresql" else
                    ({"isolation_level": "DEFERRED"}, {"busy_timeout": 1}))
    with pytest.raises(ArgumentError, match=f"cannot set {next(iter(fixed))}"):
        DatabaseInterface(dsn, connect_args=fixed)
    with pytest.raises(ArgumentError, match="the same setting"):
        DatabaseInterface(dsn, connect_args={"timeout": 2}, **twice)


# --- NullPool
async def test_null_pool_opens_and_closes_a_connection_per_checkout(dsn, backend, tmp_path):
    db = DatabaseInterface(with_app(dsn), poolclass=NullPool)
    counts = count_pool_events(db)
    async with db:
        await db.execute("CREATE TABLE t (x INTEGER)")
        for i in range(3):
            await db.execute("INSERT INTO t VALUES ({x})", {"x": i})
        async with db.get_session() as sess:
            await sess.execute("INSERT INTO t VALUES (3)")
            pool = db.pool
            assert (pool.size(), pool.checkedin(), pool.checkedout(), pool.overflow()) == (
                0, 0, 1, 1)
            assert "Current Checked out connections: 1" in pool.status()
            if backend == "postgresql":
                assert await server_connections(1) == 1
        assert await row_count(db) == 4
        # connect() opened one to check the DSN, then one per statement and the session
        assert counts == {"connect": 7, "checkout": 7, "checkin": 7}
        assert (pool.checkedout(), pool.overflow()) == (0, 0)
        if backend == "postgresql":
            pids = {await db.scalar("SELECT pg_backend_pid()") for _ in range(3)}
            assert len(pids) == 3
            assert await server_connections(0) == 0
        else:
            assert open_files(str(tmp_path / "test.db")) == 0


async def test_null_pool_ends_what_was_left_open_before_closing(dsn):
    async with DatabaseInterface(dsn, poolclass=NullPool) as db:
        await db.execute("CREATE TABLE t (x INTEGER)")
        sent: list[str] = []
        events.listen(db.pool, "before_execute", lambda conn, sql, params: sent.append(sql))
        conn = await db.pool.acquire()
        await conn.begin()
        await conn.execute("INSERT INTO t VALUES (1)")
        await db.pool.release(conn)
        assert sent[-1] == "ROLLBACK"
        assert await row_count(db) == 0
    async with DatabaseInterface(dsn, poolclass=NullPool, reset_on_return="commit") as db:
        conn = await db.pool.acquire()
        await conn.begin()
        await conn.execute("INSERT INTO t VALUES (2)")
        await db.pool.release(conn)
        assert await row_count(db) == 1
        assert db.pool.overflow() == 0


async def test_null_pool_is_cancellation_safe(dsn, backend):
    async with DatabaseInterface(with_app(dsn), poolclass=NullPool) as db:
        await db.execute("CREATE TABLE t (x INTEGER)")

        async def cut_off() -> None:
            async with db.begin() as conn:
                await conn.execute("INSERT INTO t VALUES (1)")
                await conn.fetch(SLOW[backend])

        task = asyncio.create_task(cut_off())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (db.pool.checkedout(), db.pool.overflow()) == (0, 0)

        conn = await db.pool.acquire()
        await conn.begin()
        await conn.execute("INSERT INTO t VALUES (2)")
        returning = asyncio.create_task(db.pool.release(conn))
        await asyncio.sleep(0)  # the shielded check-in has started
        returning.cancel()
        with pytest.raises(asyncio.CancelledError):
            await returning
        for _ in range(200):
            if db.pool.overflow() == 0:
                break
            await asyncio.sleep(0.01)
        assert (db.pool.checkedout(), db.pool.overflow()) == (0, 0)

        opening = asyncio.create_task(db.pool.acquire())
        await asyncio.sleep(0)
        opening.cancel()
        with pytest.raises(asyncio.CancelledError):
            await opening
        assert (db.pool.checkedout(), db.pool.overflow()) == (0, 0)
        assert await row_count(db) == 0
        if backend == "postgresql":
            assert await server_connections(0) == 0


# --- StaticPool
async def test_static_pool_lends_one_connection_to_every_checkout(dsn, backend):
    db = DatabaseInterface(dsn, poolclass=StaticPool)
    counts = count_pool_events(db)
    async with db:
        raws = []
        for _ in range(3):
            async with db.raw_connection() as raw:
                raws.append(raw)
        assert raws[0] is raws[1] is raws[2]
        if backend == "postgresql":
            assert len({await db.scalar("SELECT pg_backend_pid()") for _ in range(3)}) == 1
        pool = db.pool
        a, b = await pool.acquire(), await pool.acquire()  # at once: the same one
        assert a is b and a.raw is raws[0]
        assert (pool.size(), pool.checkedin(), pool.checkedout(), pool.overflow()) == (
            1, 0, 2, 0)
        await pool.release(a)
        assert (pool.checkedin(), pool.checkedout()) == (0, 1)
        await pool.release(b)
        await pool.release(b)  # a second release of one checkout is ignored
        assert (pool.checkedin(), pool.checkedout()) == (1, 0)
        assert counts["connect"] == 1 and counts["checkout"] == counts["checkin"] > 5
        await db.dispose()
        assert (pool.checkedin(), pool.overflow()) == (0, -1)
        async with db.raw_connection() as raw:
            assert raw is not raws[0]
        assert counts["connect"] == 2


async def test_static_pool_keeps_sqlite_memory_across_sessions_in_turn():
    db = DatabaseInterface("sqlite:///:memory:", poolclass=StaticPool)
    counts = count_pool_events(db)
    async with db:
        async with db.get_session() as first:
            await first.execute("CREATE TABLE t (x INTEGER)")
            await first.execute("INSERT INTO t VALUES (1)")
        async with db.get_session() as second:
            assert await second.fetch("SELECT count(*) AS n FROM t") == {"n": 1}
            await second.execute("INSERT INTO t VALUES (2)")
        left_open = db.get_session()
        await left_open.start()
        await left_open.execute("INSERT INTO t VALUES (3)")
        await left_open.close()  # not committed: rolled back when it came back
        assert await row_count(db) == 2
        assert counts["connect"] == 1 and db.pool.checkedin() == 1


async def test_static_pool_ends_the_transaction_only_when_the_last_user_returns(dsn):
    async with DatabaseInterface(dsn, poolclass=StaticPool) as db:
        await db.execute("CREATE TABLE t (x INTEGER)")
        pool = db.pool
        a, b = await pool.acquire(), await pool.acquire()
        await b.begin()
        await b.execute("INSERT INTO t VALUES (1)")
        await pool.release(a)  # b still uses it: its transaction goes on
        assert b.in_transaction
        await b.commit()
        await pool.release(b)
        conn = await pool.acquire()
        await conn.begin()
        await conn.execute("INSERT INTO t VALUES (2)")
        await pool.release(conn)  # the last user left it open: rolled back
        assert await row_count(db) == 1
        assert pool.checkedin() == 1


async def test_static_pool_replaces_a_connection_cut_off_mid_statement(dsn, backend):
    db = DatabaseInterface(dsn, poolclass=StaticPool)
    counts = count_pool_events(db)
    async with db:
        await db.execute("CREATE TABLE t (x INTEGER)")
        async with db.raw_connection() as before:
            pass

        async def cut_off() -> None:
            async with db.begin() as conn:
                await conn.execute("INSERT INTO t VALUES (1)")
                await conn.fetch(SLOW[backend])

        task = asyncio.create_task(cut_off())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (db.pool.checkedout(), db.pool.checkedin(), db.pool.overflow()) == (0, 0, -1)
        assert await row_count(db) == 0
        async with db.raw_connection() as after:
            assert after is not before
        assert counts["connect"] == 2 and db.pool.overflow() == 0


# --- connect_args
async def test_connect_args_reach_asyncpg(dsn, backend):
    if backend != "postgresql":
        pytest.skip("asyncpg")
    async with DatabaseInterface(dsn, poolclass=NullPool, connect_args={
            "server_settings": {"application_name": "x"}, "timeout": 3,
            "command_timeout": 0.3}) as db:
        assert await db.scalar("SHOW application_name") == "x"
        assert db.connector.connect_timeout == 3
        with pytest.raises(asyncio.TimeoutError):
            await db.scalar("SELECT pg_sleep(2)")
        assert await db.scalar("SELECT 1") == 1
        assert db.pool.overflow() == 0


async def test_connect_args_reach_aiosqlite(tmp_path):
    dsn = f"sqlite:///{tmp_path / 'args.db'}"
    for poolclass in (AsyncAdaptedQueuePool, NullPool):
        async with DatabaseInterface(dsn, poolclass=poolclass, connect_args={
                "timeout": 0.3, "check_same_thread": False}) as db:
            assert db.connector.busy_timeout == 0.3
            await db.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
            async with db.begin() as holder:
                await holder.execute("INSERT INTO t VALUES (1)")  # holds the write lock
                started = time.monotonic()
                with pytest.raises(OperationalError, match="locked"):
                    await db.execute("INSERT INTO t VALUES (2)")
                assert 0.25 < time.monotonic() - started < 3
    async with DatabaseInterface(dsn) as db:
        assert await row_count(db) == 2
