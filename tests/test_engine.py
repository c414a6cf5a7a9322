"""DatabaseInterface as SQLAlchemy's Engine, on both backends: begin(), execute/scalar/fetch,
has_table/table_names, transaction(), run_callable(), execution_options(), dispose(),
raw_connection(); execution options (checked, the program's own, stacked, updated in place);
logging; asyncpg without a statement cache; SQLite busy timeout, BEGIN IMMEDIATE and the
shared :memory: database."""
from __future__ import annotations

import asyncio
import logging
import time

import asyncpg
import pytest

from asyncqlio import (Column, DatabaseInterface, EngineConnection, Integer, String, events,
                       table_base)
from asyncqlio.exc import (ArgumentError, IntegrityError, InvalidRequestError,
                           OperationalError, ResourceClosedError)

Table = table_base()


class Note(Table, table_name="notes"):
    id = Column(Integer, primary_key=True)
    body = Column(String(32), unique=True)


@pytest.fixture
async def db(db):
    db.bind_tables(Table)
    await Note.create()
    return db


async def bodies(db: DatabaseInterface) -> list[str]:
    async with db.begin() as conn:
        return [r["body"] for r in await conn.fetch("SELECT body FROM notes ORDER BY id")]


async def test_begin_commits_on_success(db):
    async with db.begin() as conn:
        assert isinstance(conn, EngineConnection) and conn.in_transaction
        assert await conn.execute("INSERT INTO notes (body) VALUES ({b})", {"b": "a"}) == 1
        assert await conn.scalar("SELECT count(*) FROM notes") == 1
        assert await conn.fetchrow("SELECT body FROM notes") == {"body": "a"}
    assert await bodies(db) == ["a"]
    assert db.pool.checkedout() == 0


async def test_begin_rolls_back_on_error(db):
    with pytest.raises(KeyError):
        async with db.begin() as conn:
            await conn.execute("INSERT INTO notes (body) VALUES ({b})", {"b": "a"})
            raise KeyError("boom")
    with pytest.raises(IntegrityError):
        async with db.begin() as conn:
            await conn.execute("INSERT INTO notes (body) VALUES ({b})", {"b": "b"})
            await conn.execute("INSERT INTO notes (body) VALUES ({b})", {"b": "b"})
    assert await bodies(db) == []
    assert db.pool.checkedout() == 0
    assert all(not c.in_transaction for c in db.pool._idle)


async def test_begin_cancelled_mid_statement_discards_the_connection(db, backend):
    slow = ("SELECT pg_sleep(5)" if backend == "postgresql" else
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
            "WHERE x < 40000000) SELECT count(*) FROM c")

    async def run() -> None:
        async with db.begin() as conn:
            await conn.execute("INSERT INTO notes (body) VALUES ('lost')")
            await conn.fetch(slow)

    task = asyncio.create_task(run())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert db.pool.checkedout() == 0
    assert await bodies(db) == []


async def test_engine_shortcuts(db):
    assert await db.execute("INSERT INTO notes (body) VALUES ({b})", {"b": "x"}) == 1
    assert await db.scalar("SELECT body FROM notes") == "x"
    assert await db.scalar("SELECT body FROM notes WHERE body = {b}", {"b": "none"}) is None
    assert await db.fetch("SELECT body FROM notes") == {"body": "x"}
    sess = db.get_session()  # a query built on a session runs on the engine as compiled,
    # giving a Result as SQLAlchemy's conn.execute(stmt) does
    result = await db.execute(sess.delete(Note).where(Note.body == "x"))
    assert result.rowcount == 1 and not result.returns_rows
    with pytest.raises(ResourceClosedError):
        result.all()
    assert await bodies(db) == []
    await db.execute("INSERT INTO notes (body) VALUES ('y'), ('z')")
    result = await db.execute(sess.select(Note.id, Note.body).order_by(Note.body))
    assert result.keys() == ["id", "body"] and [r.body for r in result] == ["y", "z"]
    rows = (await db.execute(sess.select(Note).where(Note.body == "y"))).mappings().all()
    assert [r["body"] for r in rows] == ["y"] and set(rows[0]) == {"id", "body"}
    result = await db.execute(sess.update(Note).set(Note.body, "w").where(Note.body == "z")
                              .returning(Note.body))
    assert result.rowcount == 1 and result.scalars().all() == ["w"]
    assert len(sess.identity_map) == 0  # the engine has no identity map to fill
    result = await db.execute(sess.insert.rows(Note(body="v"), Note(body="u")))
    assert result.rowcount == 2 and not result.returns_rows
    assert await bodies(db) == ["y", "w", "v", "u"]


async def test_has_table_and_table_names(db):
    assert await db.has_table("notes")
    assert not await db.has_table("nope")
    await db.execute("CREATE TABLE zeta (id INTEGER)")
    await db.execute("CREATE VIEW v AS SELECT id FROM zeta")
    assert await db.has_table("v")
    assert await db.table_names() == ["notes", "zeta"]


async def test_transaction_and_run_callable(db):
    async def add(conn: EngineConnection, body: str) -> int:
        assert conn.in_transaction
        return await conn.execute("INSERT INTO notes (body) VALUES ({b})", {"b": body})

    def sync_count(conn: EngineConnection, *, table: str) -> object:
        return conn.scalar(f"SELECT count(*) FROM {table}")  # an awaitable is awaited

    assert await db.transaction(add, "t") == 1
    assert await db.transaction(sync_count, table="notes") == 1
    with pytest.raises(IntegrityError):
        await db.transaction(add, "t")

    async def outside(conn: EngineConnection) -> bool:
        await conn.execute("INSERT INTO notes (body) VALUES ('auto')")  # commits by itself
        return conn.in_transaction

    assert await db.run_callable(outside) is False
    assert await bodies(db) == ["t", "auto"]
    assert db.pool.checkedout() == 0


async def test_execution_options_share_the_pool(db, backend):
    serial = db.execution_options(isolation_level="SERIALIZABLE")
    assert serial.pool is db.pool
    assert serial.get_execution_options() == {"isolation_level": "SERIALIZABLE"}
    assert db.get_execution_options() == {}
    if backend == "postgresql":
        assert await serial.scalar("SHOW transaction_isolation") == "serializable"
        assert await db.scalar("SHOW transaction_isolation") == "read committed"
        async with serial.get_session() as sess:
            assert await sess.fetch("SHOW transaction_isolation") == {
                "transaction_isolation": "serializable"}
        with pytest.raises(ArgumentError, match="isolation_level on postgresql"):
            db.execution_options(isolation_level="SOMETIMES")
    else:
        with pytest.raises(ArgumentError, match="isolation_level on sqlite"):
            db.execution_options(isolation_level="READ COMMITTED")
    with pytest.raises(ArgumentError, match="immediate is True or False"):
        db.execution_options(immediate="yes")
    await serial.execute("INSERT INTO notes (body) VALUES ('serial')")
    assert await bodies(db) == ["serial"]
    assert db.pool.checkedout() == 0


async def test_user_execution_options_are_kept_and_stack(db, backend):
    """Any key is the program's (SQLAlchemy's docs shard by shard_id); a child of a child
    has its parent's and its own, and none of them leaks upwards."""
    shard = db.execution_options(shard_id="east", stream_results=True)
    assert shard.get_execution_options() == {"shard_id": "east", "stream_results": True}
    level = "REPEATABLE READ" if backend == "postgresql" else "SERIALIZABLE"
    inner = shard.execution_options(isolation_level=level, shard_id="west")
    assert inner.get_execution_options() == {"shard_id": "west", "stream_results": True,
                                             "isolation_level": level}
    assert shard.get_execution_options() == {"shard_id": "east", "stream_results": True}
    assert db.get_execution_options() == {}
    with pytest.raises(ArgumentError):  # still checked at any depth
        inner.execution_options(isolation_level="NEVER")
    opts = inner.get_execution_options()
    opts["shard_id"] = "changed"  # a copy
    assert inner.get_execution_options()["shard_id"] == "west"
    await inner.execute("INSERT INTO notes (body) VALUES ('inner')")
    await shard.execute("INSERT INTO notes (body) VALUES ('shard')")
    assert await bodies(db) == ["inner", "shard"]
    if backend == "postgresql":
        assert await inner.scalar("SHOW transaction_isolation") == "repeatable read"
        assert await shard.scalar("SHOW transaction_isolation") == "read committed"


async def test_update_execution_options_changes_this_interface_in_place(db, backend):
    before = db.execution_options(shard_id="a")
    level = "SERIALIZABLE"
    db.update_execution_options(isolation_level=level, tenant=7)
    assert db.get_execution_options() == {"isolation_level": level, "tenant": 7}
    after = db.execution_options(shard_id="b")
    assert after.get_execution_options() == {"isolation_level": level, "tenant": 7,
                                              "shard_id": "b"}
    assert before.get_execution_options() == {"shard_id": "a"}  # made before: kept its own
    with pytest.raises(ArgumentError):
        db.update_execution_options(isolation_level="NEVER", tenant=8)
    assert db.get_execution_options() == {"isolation_level": level, "tenant": 7}
    before.update_execution_options(shard_id="c")
    assert before.get_execution_options() == {"shard_id": "c"}
    assert db.get_execution_options()["tenant"] == 7
    if backend == "postgresql":
        assert await db.scalar("SHOW transaction_isolation") == "serializable"
        assert await after.scalar("SHOW transaction_isolation") == "serializable"
        assert await before.scalar("SHOW transaction_isolation") == "read committed"
    else:
        db.update_execution_options(immediate=True)
        sent: list[str] = []
        events.listen(db, "before_execute", lambda conn, sql, params: sent.append(sql))
        await db.execute("INSERT INTO notes (body) VALUES ('updated')")
        await before.execute("INSERT INTO notes (body) VALUES ('before')")
        assert [sql for sql in sent if sql.startswith("BEGIN")] == ["BEGIN IMMEDIATE", "BEGIN"]
        assert await bodies(db) == ["updated", "before"]


async def test_dispose_keeps_the_interface_usable(db):
    await db.scalar("SELECT 1")
    assert db.pool.checkedin() == 1
    await db.dispose()
    assert db.pool.checkedin() == 0
    assert await db.scalar("SELECT 2") == 2


async def test_raw_connection_is_the_drivers_and_comes_back_clean(db, backend):
    async with db.raw_connection() as raw:
        if backend == "postgresql":
            assert isinstance(raw, asyncpg.Connection)
            await raw.execute("BEGIN")
            await raw.execute("INSERT INTO notes (body) VALUES ('raw')")
        else:
            await raw.execute("BEGIN")
            await raw.execute("INSERT INTO notes (body) VALUES ('raw')")
    # left open: the pool rolled it back rather than lend a dirty connection
    assert await bodies(db) == []
    assert db.pool.checkedout() == 0
    assert db.pool.checkedin() >= 1


async def test_unconfigured_interface_refuses(tmp_path):
    db = DatabaseInterface()
    with pytest.raises(InvalidRequestError):
        await db.scalar("SELECT 1")


async def test_echo_logs_sql_and_hides_parameters(dsn, caplog):
    caplog.set_level(logging.INFO, logger="asyncqlio")
    async with DatabaseInterface(dsn, echo=True, echo_pool=True, hide_parameters=True) as db:
        await db.scalar("SELECT CAST({v} AS TEXT)", {"v": "secret-value"})
    sql = [r.getMessage() for r in caplog.records if r.name == "asyncqlio.sql"]
    pool = [r.getMessage() for r in caplog.records if r.name == "asyncqlio.pool"]
    assert any("SELECT CAST" in m and "[hidden]" in m and " ms)" in m for m in sql)
    assert not any("secret-value" in r.getMessage() for r in caplog.records)
    assert any("opened connection" in m for m in pool)
    assert any("closing connection" in m for m in pool)


async def test_statement_cache_size_zero_and_unique_statement_names(dsn, backend):
    if backend != "postgresql":
        pytest.skip("asyncpg")
    async with DatabaseInterface(dsn, statement_cache_size=0, pool_size=2) as db:
        db.bind_tables(Table)
        await Note.create()
        async with db.get_session() as sess:
            await sess.add(Note(body="a"))
            assert await sess.select(Note).where(Note.body == "a").first() is not None
            rows = await (await sess.cursor("SELECT body FROM notes")).flatten()
            assert [r["body"] for r in rows] == ["a"]
        async with db.raw_connection() as raw:
            assert raw._stmt_cache.get_max_size() == 0
            first, second = raw._get_unique_id("stmt"), raw._get_unique_id("stmt")
        assert first != second and first.startswith("__asyncqlio_stmt_")
        # the per-process token keeps two processes' names apart on one pgbouncer connection
        assert len(first.split("_")) > 4


# --- SQLite
async def test_sqlite_busy_timeout(tmp_path):
    dsn = f"sqlite:///{tmp_path / 'busy.db'}"
    async with DatabaseInterface(dsn, busy_timeout=0.3) as db:
        await db.execute("CREATE TABLE t (x INTEGER)")
        async with db.begin() as holder:
            await holder.execute("INSERT INTO t VALUES (1)")  # holds the write lock
            started = time.monotonic()
            with pytest.raises(OperationalError, match="locked"):
                await db.execute("INSERT INTO t VALUES (2)")
            assert 0.25 < time.monotonic() - started < 3


async def test_sqlite_busy_timeout_from_the_dsn(tmp_path):
    async with DatabaseInterface(f"sqlite:///{tmp_path / 'b.db'}?timeout=0.1") as db:
        assert db.connector.busy_timeout == 0.1


async def test_sqlite_begin_immediate_serializes_read_then_write(tmp_path):
    """Two deferred transactions that read then write deadlock and one fails at once;
    BEGIN IMMEDIATE takes the write lock at BEGIN, so the second waits its turn."""
    dsn = f"sqlite:///{tmp_path / 'imm.db'}"
    async with DatabaseInterface(dsn, busy_timeout=5) as db:
        await db.execute("CREATE TABLE counter (n INTEGER)")
        await db.execute("INSERT INTO counter VALUES (0)")

        async def bump(**session_options: object) -> None:
            async with db.get_session(**session_options) as sess:
                n = (await sess.fetch("SELECT n FROM counter"))["n"]
                await asyncio.sleep(0.05)
                await sess.execute("UPDATE counter SET n = {n}", {"n": n + 1})

        results = await asyncio.gather(bump(), bump(), return_exceptions=True)
        assert any(isinstance(r, OperationalError) for r in results)
        await db.execute("UPDATE counter SET n = 0")
        await asyncio.gather(*(bump(immediate=True) for _ in range(4)))
        assert await db.scalar("SELECT n FROM counter") == 4
        writer = db.execution_options(immediate=True)  # the interface-wide default
        await asyncio.gather(*(_bump_on(writer) for _ in range(3)))
        assert await db.scalar("SELECT n FROM counter") == 7


async def _bump_on(db: DatabaseInterface) -> None:
    async with db.get_session() as sess:
        n = (await sess.fetch("SELECT n FROM counter"))["n"]
        await asyncio.sleep(0.02)
        await sess.execute("UPDATE counter SET n = {n}", {"n": n + 1})


async def test_sqlite_memory_is_shared_by_every_session():
    async with DatabaseInterface("sqlite:///:memory:", pool_size=3) as db:
        await db.execute("CREATE TABLE t (x INTEGER)")
        async with db.get_session() as a, db.get_session() as b:
            await a.execute("INSERT INTO t VALUES (1)")
            await a.commit()
            assert await b.fetch("SELECT count(*) AS n FROM t") == {"n": 1}
        await db.dispose()  # no connection open: the data stays
        assert await db.scalar("SELECT count(*) FROM t") == 1
