"""Failures on both backends: driver errors come out as asyncqlio.exc types with the driver's
error as ``__cause__``; a failed transaction refuses work until rolled back and commits
nothing; connections that were interrupted or lost never come back from the pool."""
from __future__ import annotations

import asyncio
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import asyncpg
import pytest

from asyncqlio import Column, DatabaseInterface, Integer, String, table_base
from asyncqlio.exc import (DatabaseException, DataError, IntegrityError, InterfaceError,
                           OperationalError, PendingRollbackError, PoolTimeout,
                           ProgrammingError, SessionClosedError)

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
    # the driver's message, detail included, without a class name (regression: the message
    # began "IntegrityError: ", so tracebacks showed "IntegrityError: IntegrityError: ...")
    assert str(error) == {
        "sqlite": "UNIQUE constraint failed: items.name",
        "postgresql": 'duplicate key value violates unique constraint "items_name_key"\n'
                      "DETAIL:  Key (name)=(a) already exists.",
    }[backend]


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
    """A failure the block caught: leaving it normally rolls back (with a warning naming the
    error) rather than committing half of it, or raising (the original asyncqlio's exit,
    and Django's ``atomic()``)."""
    with pytest.warns(RuntimeWarning, match="rolled back.*IntegrityError|IntegrityError.*rolled back"):
        async with db.get_session() as sess:
            await sess.add(Item(name="good"))
            try:
                await sess.add(Item(name="good"))
            except IntegrityError:
                pass  # swallowed: nothing of the block may be committed
            with pytest.raises(PendingRollbackError) as refused:
                await sess.add(Item(name="later"))
            assert isinstance(refused.value.__cause__, IntegrityError)
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


# --- messages: the driver's own, once (regression: "IntegrityError: IntegrityError: ...")

FAILURES = [
    (IntegrityError, "INSERT INTO items (id, name, qty) VALUES (2, 'a', 0)"),
    (IntegrityError, "INSERT INTO items (id, name, qty) VALUES (3, 'b', NULL)"),
    (ProgrammingError, "SELEKT 1"),
    (ProgrammingError, "SELECT * FROM no_such_table"),
    (DataError, "INSERT INTO items (id, name, qty) VALUES (4, 'c', {big})"),
]


@pytest.mark.parametrize("expected, sql", FAILURES)
async def test_error_message_is_the_drivers_message_without_a_class_name(db, expected, sql):
    async with db.get_session() as sess:
        await sess.execute("INSERT INTO items (id, name, qty) VALUES (1, 'a', 0)")
        with pytest.raises(expected) as info:
            await sess.execute(sql, {"big": 2 ** 70} if "{big}" in sql else None)
        await sess.rollback()
    error = info.value
    assert error.orig is error.__cause__ is not None
    assert str(error) == str(error.__cause__) != ""
    shown = f"{type(error).__name__}: {error}"  # as a traceback or logging shows it
    assert type(error.__cause__).__name__ not in shown.partition(": ")[2]
    assert shown.count("Error: ") == 1


async def test_closed_connection_message_is_the_drivers(db):
    sess = db.get_session()
    await sess.start()
    try:
        await sess.conn.raw.close()
        with pytest.raises((InterfaceError, OperationalError)) as info:
            await sess.execute("SELECT 1")
        await sess.rollback()
    finally:
        await sess.close()
    assert str(info.value) == str(info.value.__cause__) != ""
    assert not str(info.value).startswith(type(info.value.__cause__).__name__)


async def test_refused_postgresql_connection_names_host_and_port_not_the_password():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    db = DatabaseInterface(f"postgresql://postgres:topsecret@127.0.0.1:{port}/test")
    with pytest.raises(OperationalError) as info:
        await db.connect()
    message = str(info.value)
    assert message.startswith(f"cannot connect to PostgreSQL at 127.0.0.1:{port} as 'postgres': ")
    assert "Connect call failed" in message and "ConnectionRefusedError" not in message
    assert "topsecret" not in message and "topsecret" not in repr(info.value)
    assert isinstance(info.value.__cause__, OSError)


async def test_postgresql_connect_timeout_says_so():
    """A timeout has no message of its own: it is not left blank."""
    with socket.socket() as silent:  # accepts the TCP connection and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        db = DatabaseInterface(f"postgresql://postgres:topsecret@127.0.0.1:{port}/test"
                               "?connect_timeout=0.2")
        with pytest.raises(OperationalError) as info:
            await db.connect()
    assert str(info.value) == (f"cannot connect to PostgreSQL at 127.0.0.1:{port} as "
                               "'postgres': timed out after 0.2 s")
    assert isinstance(info.value.__cause__, TimeoutError)


# --- a SQLite file that cannot be opened (regression: aiosqlite's thread outlived the loop)

def _sqlite_workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if "_connection_worker_thread" in t.name]


async def test_sqlite_file_in_a_missing_directory_fails_once_and_leaves_no_thread(tmp_path):
    path = tmp_path / "no" / "such" / "dir" / "x.db"
    before = len(_sqlite_workers())
    db = DatabaseInterface(f"sqlite:///{path}")
    with pytest.raises(OperationalError) as info:
        await db.connect()
    assert str(info.value) == f"cannot open SQLite database {path}: unable to open database file"
    assert isinstance(info.value.__cause__, sqlite3.OperationalError)
    with pytest.raises(OperationalError):
        async with db.get_session() as sess:
            await sess.execute("SELECT 1")
    await db.close()
    assert len(_sqlite_workers()) == before


MISSING_DIRECTORY_SCRIPT = """
import asyncio, logging, sys, threading, time
from asyncqlio import DatabaseInterface
from asyncqlio.exc import OperationalError

class Slow(logging.Handler):
    # holds aiosqlite's worker thread back before it stops, so it loses the race with the
    # end of the event loop every time rather than now and then
    def emit(self, record):
        if (threading.current_thread() is not threading.main_thread()
                and "close_and_stop" in record.getMessage()):
            time.sleep(0.05)

logging.getLogger("aiosqlite").addHandler(Slow())
logging.getLogger("aiosqlite").setLevel(logging.DEBUG)

async def main(attempt):
    db = DatabaseInterface(sys.argv[1])
    try:
        if attempt:
            async with db.get_session() as sess:
                await sess.execute("SELECT 1")
        else:
            await db.connect()
    except OperationalError as e:
        print(f"{type(e).__name__}: {e}")

for attempt in range(2):  # the loop ends right after the failure
    asyncio.run(main(attempt))
"""


def test_failed_sqlite_open_prints_nothing_when_the_loop_ends(tmp_path):
    """Regression: "Exception in thread ... RuntimeError: Event loop is closed" after
    ``asyncio.run`` returned: aiosqlite queues its worker thread's stop without waiting, and
    the thread reported it to the closed loop."""
    path = tmp_path / "no" / "such" / "dir" / "x.db"
    done = subprocess.run([sys.executable, "-c", MISSING_DIRECTORY_SCRIPT, f"sqlite:///{path}"],
                          capture_output=True, text=True, timeout=60)
    assert "Exception in thread" not in done.stderr
    assert "Event loop is closed" not in done.stderr
    assert done.stderr == "" and done.returncode == 0
    expected = f"OperationalError: cannot open SQLite database {path}: unable to open database file"
    assert done.stdout.splitlines() == [expected] * 2
