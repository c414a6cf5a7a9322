"""SQLAlchemy 2.x's asyncio engine API (``asyncqlio.ext.asyncio``) over asyncqlio's engine,
on both backends, with SQLAlchemy URLs: create_async_engine() and its keywords,
async_engine_from_config(), AsyncEngine (connect, begin, dispose, execution options, raw
connections), AsyncConnection (autobegin, commit/rollback, begin/begin_nested, execute,
scalar(s), stream, exec_driver_sql, run_sync and its synchronous facade, info,
invalidate, close), AUTOCOMMIT, the failed-statement rule (PendingRollbackError), and
cancellation mid-statement leaving the pool healthy. What is checked is what a program
would see: the rows in the database, the values, the errors."""
from __future__ import annotations

import asyncio
import logging

import aiosqlite
import asyncpg
import pytest

from asyncqlio import (DatabaseInterface, ForeignKey, String, delete, events, func, insert,
                       select, text, update)
from asyncqlio.exc import (ArgumentError, IntegrityError, InvalidRequestError,
                           ObjectNotExecutableError, PendingRollbackError, ProgrammingError,
                           ResourceClosedError)
from asyncqlio.ext.asyncio.bridge import MissingGreenlet
from asyncqlio.ext.asyncio.engine import (AsyncConnection, AsyncEngine, AsyncTransaction,
                                          async_engine_from_config, create_async_engine)
from asyncqlio.ext.asyncio.sync_connection import SyncConnection, SyncTransaction
from asyncqlio.orm import DeclarativeBase, Mapped, mapped_column
from asyncqlio.pool import NullPool, StaticPool


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "ae_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(String(32), unique=True)
    score: Mapped[int] = mapped_column(default=0)


def ddl(backend: str) -> str:
    key = "SERIAL PRIMARY KEY" if backend == "postgresql" else "INTEGER PRIMARY KEY"
    return (f"CREATE TABLE ae_notes (id {key}, body VARCHAR(32) UNIQUE, "
            "score INTEGER NOT NULL DEFAULT 0)")


@pytest.fixture
def url(dsn: str) -> str:
    """The test database as a SQLAlchemy URL."""
    if dsn.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + dsn[len("sqlite:"):]
    return "postgresql+asyncpg:" + dsn.partition(":")[2]


@pytest.fixture
async def engine(url: str, backend: str):
    eng = create_async_engine(url)
    async with eng.begin() as conn:
        await conn.execute(text(ddl(backend)))
    try:
        yield eng
    finally:
        await eng.dispose()


async def bodies(engine: AsyncEngine) -> list[str]:
    """What another connection sees committed."""
    async with engine.connect() as conn:
        return list((await conn.scalars(select(Note.body).order_by(Note.id))).all())


def slow_sql(backend: str) -> str:
    if backend == "postgresql":
        return "SELECT pg_sleep(10)"
    return ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
            "WHERE x < 100000000) SELECT count(*) FROM c")


# --- create_async_engine()

async def test_engine_from_url_opens_nothing_until_used(url, backend):
    engine = create_async_engine(url)
    try:
        assert isinstance(engine.sync_engine, DatabaseInterface)
        assert engine.name == engine.dialect.name == backend
        assert engine.driver == ("asyncpg" if backend == "postgresql" else "aiosqlite")
        assert engine.pool is engine.sync_engine.pool
        assert engine.url.scheme.endswith(engine.driver)
        assert engine.pool.checkedin() == engine.pool.checkedout() == 0
        async with engine.connect() as conn:  # no connect() on the engine first
            assert isinstance(conn, AsyncConnection)
            assert engine.pool.checkedout() == 1
            assert await conn.scalar(text("SELECT 1 + 1")) == 2
        assert engine.pool.checkedout() == 0 and engine.pool.checkedin() == 1
        conn = await engine.connect()  # awaited rather than entered
        assert await conn.scalar(text("SELECT 3")) == 3
        await conn.close()
        assert engine.pool.checkedout() == 0
    finally:
        await engine.dispose()


async def test_keywords_reach_the_pool_and_unknown_ones_are_refused(url):
    engine = create_async_engine(url, pool_size=3, max_overflow=1, pool_timeout=0.5,
                                 pool_recycle=3600, pool_pre_ping=True, echo=False,
                                 echo_pool=False, hide_parameters=True,
                                 pool_reset_on_return="rollback", logging_name="x",
                                 pool_logging_name="y", future=True, query_cache_size=10,
                                 pool_use_lifo=True)
    pool = engine.pool
    assert (pool.size(), pool.max_overflow, pool.pool_timeout) == (3, 1, 0.5)
    assert pool.pool_recycle == 3600 and pool.pool_pre_ping and pool.reset_on_return == "rollback"
    await engine.dispose()
    assert isinstance(create_async_engine(url, poolclass=NullPool).pool, NullPool)
    assert isinstance(create_async_engine(url, poolclass=StaticPool).pool, StaticPool)
    with pytest.raises(ArgumentError, match="'bogus','other'"):
        create_async_engine(url, bogus=1, other=2)
    with pytest.raises(ArgumentError, match="'creator'"):
        create_async_engine(url, creator=lambda: None)
    with pytest.raises(ArgumentError, match="future"):
        create_async_engine(url, future=False)
    with pytest.raises(ArgumentError):  # the queue pool's keyword on a NullPool
        create_async_engine(url, poolclass=NullPool, pool_size=5)
    with pytest.raises(ArgumentError):
        create_async_engine("mysql+nonsense://x/y")


async def test_engine_execution_options_and_isolation_level_keywords(url, backend):
    level = "SERIALIZABLE"
    engine = create_async_engine(url, isolation_level=level,
                                 execution_options={"shard_id": "east"})
    try:
        assert engine.get_execution_options() == {"shard_id": "east", "isolation_level": level}
        if backend == "postgresql":
            async with engine.connect() as conn:
                assert await conn.scalar(text("SHOW transaction_isolation")) == "serializable"
                assert await conn.get_isolation_level() == "SERIALIZABLE"
        with pytest.raises(ArgumentError):
            create_async_engine(url, isolation_level="NEVER")
    finally:
        await engine.dispose()


async def test_async_engine_from_config_reads_strings(url):
    engine = async_engine_from_config({"sqlalchemy.url": url, "sqlalchemy.pool_size": "3",
                                       "sqlalchemy.max_overflow": "0",
                                       "sqlalchemy.pool_timeout": "2.5",
                                       "sqlalchemy.pool_pre_ping": "true",
                                       "sqlalchemy.echo": "false", "other.pool_size": "9"},
                                      max_overflow=2)
    try:
        assert engine.pool.size() == 3 and engine.pool.pool_timeout == 2.5
        assert engine.pool.pool_pre_ping is True and engine.echo is False
        assert engine.pool.max_overflow == 2  # keywords override the configuration
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT 1")) == 1
    finally:
        await engine.dispose()
    engine = async_engine_from_config({"db.url": url, "db.echo": "debug"}, prefix="db.")
    assert engine.echo == "debug"
    with pytest.raises(ArgumentError, match="sqlalchemy.url"):
        async_engine_from_config({"url": url})
    with pytest.raises(ArgumentError, match="pool_size"):
        async_engine_from_config({"sqlalchemy.url": url, "sqlalchemy.pool_size": "many"})


async def test_memory_sqlite_is_shared_by_the_engines_connections():
    engine = create_async_engine("sqlite+aiosqlite://")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE m (x INTEGER)"))
            await conn.execute(text("INSERT INTO m VALUES (:x)"), [{"x": 1}, {"x": 2}])
        async with engine.connect() as one, engine.connect() as two:
            assert await one.scalar(text("SELECT count(*) FROM m")) == 2
            assert await two.scalar(text("SELECT sum(x) FROM m")) == 3
    finally:
        await engine.dispose()


# --- AsyncEngine

async def test_engine_begin_commits_and_rolls_back(engine):
    async with engine.begin() as conn:
        assert conn.in_transaction()
        await conn.execute(insert(Note).values(body="kept"))
    assert await bodies(engine) == ["kept"]
    with pytest.raises(KeyError):
        async with engine.begin() as conn:
            await conn.execute(insert(Note).values(body="lost"))
            raise KeyError("boom")
    assert await bodies(engine) == ["kept"]
    assert engine.pool.checkedout() == 0


async def test_engine_execution_options_share_the_pool(engine, backend):
    shard = engine.execution_options(shard_id=3)
    assert isinstance(shard, AsyncEngine) and shard.pool is engine.pool
    assert shard.get_execution_options() == {"shard_id": 3}
    assert engine.get_execution_options() == {}
    assert shard != engine and shard == AsyncEngine(shard.sync_engine)
    assert hash(shard) == hash(AsyncEngine(shard.sync_engine))
    level = "REPEATABLE READ" if backend == "postgresql" else "SERIALIZABLE"
    inner = shard.execution_options(isolation_level=level)
    assert inner.get_execution_options() == {"shard_id": 3, "isolation_level": level}
    async with inner.connect() as conn:
        assert conn.get_execution_options() == {"shard_id": 3, "isolation_level": level}
        if backend == "postgresql":
            assert await conn.scalar(text("SHOW transaction_isolation")) == "repeatable read"
    with pytest.raises(ArgumentError):
        engine.execution_options(isolation_level="SOMETIMES")
    engine.update_execution_options(tenant=7)
    assert engine.get_execution_options() == {"tenant": 7}
    assert shard.get_execution_options() == {"shard_id": 3}
    async with shard.begin() as conn:
        await conn.execute(insert(Note).values(body="shard"))
    assert await bodies(engine) == ["shard"]
    assert engine.pool.checkedout() == 0


async def test_raw_connection_is_the_drivers_and_goes_back_to_the_pool(engine, backend):
    raw = await engine.raw_connection()
    driver = asyncpg.Connection if backend == "postgresql" else aiosqlite.Connection
    assert isinstance(raw.driver_connection, driver)
    assert engine.pool.checkedout() == 1
    if backend == "postgresql":
        assert await raw.driver_connection.fetchval("SELECT 41 + 1") == 42
    else:
        assert await raw.driver_connection.execute_fetchall("SELECT 41 + 1") == [(42,)]
    raw.info["seen"] = True
    await raw.close()
    await raw.close()  # once only
    assert engine.pool.checkedout() == 0
    async with engine.connect() as conn:  # the same pooled connection, with its info
        assert conn.info == {"seen": True}
    raw = await engine.raw_connection()
    raw.close()  # not awaited: given back in the background
    for _ in range(50):
        if engine.pool.checkedout() == 0:
            break
        await asyncio.sleep(0.01)
    assert engine.pool.checkedout() == 0


async def test_dispose_closes_pooled_connections_and_the_engine_goes_on(engine):
    async with engine.connect() as conn:
        first = (await conn.get_raw_connection()).driver_connection
    assert engine.pool.checkedin() == 1
    await engine.dispose()
    assert engine.pool.checkedin() == 0
    async with engine.connect() as conn:
        assert (await conn.get_raw_connection()).driver_connection is not first
        await conn.execute(insert(Note).values(body="after"))
        await conn.commit()
    assert await bodies(engine) == ["after"]
    with pytest.raises(NotImplementedError):
        await engine.dispose(close=False)


# --- AsyncConnection: transactions

async def test_autobegin_commit_rollback_and_close(engine):
    async with engine.connect() as conn:
        assert not conn.in_transaction() and conn.get_transaction() is None
        await conn.execute(insert(Note).values(body="a"))
        tx = conn.get_transaction()
        assert conn.in_transaction() and isinstance(tx, AsyncTransaction) and tx.is_active
        assert conn.get_transaction() is tx
        await conn.commit()
        assert not conn.in_transaction() and not tx.is_active
        await conn.execute(insert(Note).values(body="b"))
        await conn.rollback()
        await conn.commit()  # nothing to commit: no effect
        await conn.execute(insert(Note).values(body="c"))
        assert await bodies(engine) == ["a"]  # not seen before commit
    # close rolled "c" back
    assert await bodies(engine) == ["a"]
    assert engine.pool.checkedout() == 0


async def test_begin_is_explicit_and_refused_twice(engine):
    async with engine.connect() as conn:
        tx = conn.begin()
        assert not conn.in_transaction()  # begun when awaited
        assert await tx is tx and conn.in_transaction()
        with pytest.raises(InvalidRequestError, match="already"):
            await conn.begin()
        await conn.execute(insert(Note).values(body="x"))
        await tx.commit()
        assert not tx.is_active
        with pytest.raises(InvalidRequestError, match="inactive"):
            await tx.commit()
        await tx.rollback()  # inactive: nothing to do
        await conn.execute(select(Note))  # autobegin
        with pytest.raises(InvalidRequestError, match="autobegin"):
            await conn.begin()
        await conn.rollback()
        async with conn.begin():
            await conn.execute(insert(Note).values(body="y"))
        with pytest.raises(ZeroDivisionError):
            async with conn.begin():
                await conn.execute(insert(Note).values(body="z"))
                1 / 0
        assert not conn.in_transaction()
    assert await bodies(engine) == ["x", "y"]


async def test_statements_after_premature_commit_in_a_block_are_refused(engine):
    async with engine.connect() as conn:
        async with conn.begin():
            await conn.execute(insert(Note).values(body="early"))
            await conn.commit()
            with pytest.raises(InvalidRequestError, match="closed transaction"):
                await conn.execute(insert(Note).values(body="late"))
    assert await bodies(engine) == ["early"]


async def test_begin_nested_releases_and_rolls_back_to_the_savepoint(engine):
    async with engine.begin() as conn:
        await conn.execute(insert(Note).values(body="outer"))
        async with conn.begin_nested() as sp:
            assert conn.in_nested_transaction() and conn.get_nested_transaction() is sp
            await conn.execute(insert(Note).values(body="released"))
        assert not conn.in_nested_transaction() and not sp.is_active
        with pytest.raises(LookupError):
            async with conn.begin_nested():
                await conn.execute(insert(Note).values(body="undone"))
                raise LookupError
        sp = await conn.begin_nested()
        await conn.execute(insert(Note).values(body="also undone"))
        inner = await conn.begin_nested()
        await conn.execute(insert(Note).values(body="inner"))
        await sp.rollback()  # the savepoints inside it go too
        assert not inner.is_active and not conn.in_nested_transaction()
        assert conn.in_transaction()
    assert await bodies(engine) == ["outer", "released"]


async def test_begin_nested_without_a_transaction_begins_one(engine):
    async with engine.connect() as conn:
        sp = await conn.begin_nested()
        assert conn.in_transaction() and conn.in_nested_transaction()
        await conn.execute(insert(Note).values(body="n"))
        await conn.commit()  # the whole transaction: the savepoint with it
        assert not sp.is_active and not conn.in_transaction()
        with pytest.raises(InvalidRequestError, match="inactive"):
            await sp.commit()
    assert await bodies(engine) == ["n"]


async def test_a_failed_statement_leaves_only_rollback(engine):
    """asyncqlio's rule, stricter than SQLAlchemy: nothing of a transaction in which a
    statement failed is committed (SQLite would keep the first insert)."""
    async with engine.connect() as conn:
        await conn.execute(insert(Note).values(body="first"))
        with pytest.raises(IntegrityError):
            await conn.execute(insert(Note).values(body="first"))
        with pytest.raises(PendingRollbackError) as info:
            await conn.execute(select(Note))
        assert isinstance(info.value.__cause__, IntegrityError)
        with pytest.raises(PendingRollbackError):
            await conn.commit()
        with pytest.raises(PendingRollbackError):
            await conn.exec_driver_sql("SELECT 1")
        with pytest.raises(PendingRollbackError):
            await conn.begin_nested()
        await conn.rollback()
        await conn.execute(insert(Note).values(body="second"))
        await conn.commit()
    assert await bodies(engine) == ["second"]


async def test_a_failure_inside_a_savepoint_is_undone_with_it(engine):
    async with engine.begin() as conn:
        await conn.execute(insert(Note).values(body="kept"))
        with pytest.raises(IntegrityError):
            async with conn.begin_nested():
                await conn.execute(insert(Note).values(body="kept"))
        await conn.execute(insert(Note).values(body="after"))  # the outer one goes on
    assert await bodies(engine) == ["kept", "after"]


async def test_a_block_that_swallowed_a_failure_is_rolled_back_with_a_warning(engine):
    with pytest.warns(RuntimeWarning, match="failed statement"):
        async with engine.begin() as conn:
            await conn.execute(insert(Note).values(body="half"))
            try:
                await conn.execute(text("INSERT INTO nowhere VALUES (1)"))
            except ProgrammingError:
                pass
    assert await bodies(engine) == []
    assert engine.pool.checkedout() == 0


async def test_commit_refused_by_the_database_leaves_rollback(engine, backend):
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE ae_parent (id INTEGER PRIMARY KEY)"))
        fk = ("REFERENCES ae_parent (id) DEFERRABLE INITIALLY DEFERRED")
        await conn.execute(text(f"CREATE TABLE ae_child (id INTEGER PRIMARY KEY, "
                                f"parent_id INTEGER {fk})"))
    async with engine.connect() as conn:
        await conn.execute(text("INSERT INTO ae_child (id, parent_id) VALUES (1, 99)"))
        with pytest.raises(IntegrityError):
            await conn.commit()
        assert conn.in_transaction()
        with pytest.raises(PendingRollbackError):
            await conn.execute(text("SELECT 1"))
        await conn.rollback()
        assert await conn.scalar(text("SELECT count(*) FROM ae_child")) == 0


# --- AsyncConnection: statements

async def test_execute_core_statements(engine):
    async with engine.connect() as conn:
        result = await conn.execute(insert(Note), [{"body": "a", "score": 1},
                                                   {"body": "b", "score": 2},
                                                   {"body": "c", "score": 3}])
        assert result.rowcount == 3
        rows = (await conn.execute(select(Note).order_by(Note.id))).all()
        assert [(r.body, r.score) for r in rows] == [("a", 1), ("b", 2), ("c", 3)]
        result = await conn.execute(select(Note.body, Note.score).where(Note.score >= 2)
                                    .order_by(Note.score.desc()))
        assert list(result.keys()) == ["body", "score"]
        assert [tuple(r) for r in result] == [("c", 3), ("b", 2)]
        assert (await conn.execute(update(Note).where(Note.body == "a")
                                   .values(score=10))).rowcount == 1
        assert (await conn.execute(delete(Note).where(Note.body == "c"))).rowcount == 1
        assert await conn.scalar(select(func.count()).select_from(Note)) == 2
        assert (await conn.scalars(select(Note.score).order_by(Note.score))).all() == [2, 10]
        result = await conn.execute(text("SELECT body FROM ae_notes WHERE score = :s"),
                                    {"s": 10})
        assert result.mappings().all() == [{"body": "a"}]
        await conn.execute(text("UPDATE ae_notes SET score = :s WHERE body = :b"),
                           [{"s": 20, "b": "a"}, {"s": 30, "b": "b"}])  # executemany
        await conn.commit()
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT body, score FROM ae_notes ORDER BY body"))
        assert [tuple(r) for r in rows] == [("a", 20), ("b", 30)]


async def test_a_string_is_not_executable(engine):
    async with engine.connect() as conn:
        with pytest.raises(ObjectNotExecutableError, match="Not an executable object.*text"):
            await conn.execute("SELECT 1")
        assert not conn.in_transaction()  # refused before anything began
        with pytest.raises(ArgumentError):
            await conn.scalar("SELECT 1")
        with pytest.raises(ArgumentError):
            await conn.stream("SELECT 1")
        with pytest.raises(ArgumentError, match="isolation_level"):
            await conn.execute(select(Note), execution_options={"isolation_level": "X"})
        assert await conn.scalar(text("SELECT 5")) == 5  # still usable


async def test_exec_driver_sql_takes_the_drivers_placeholders(engine, backend):
    mark = "$1, $2" if backend == "postgresql" else "?, ?"
    async with engine.connect() as conn:
        result = await conn.exec_driver_sql(f"INSERT INTO ae_notes (body, score) VALUES ({mark})",
                                            ("one", 1))
        assert result.rowcount == 1 and not result.returns_rows
        await conn.exec_driver_sql(f"INSERT INTO ae_notes (body, score) VALUES ({mark})",
                                   [("two", 2), ("three", 3)])
        one = "$1" if backend == "postgresql" else "?"
        result = await conn.exec_driver_sql(
            f"SELECT body, score FROM ae_notes WHERE score > {one} ORDER BY score", (1,))
        assert list(result.keys()) == ["body", "score"]
        assert [(r.body, r[1]) for r in result] == [("two", 2), ("three", 3)]
        if backend == "sqlite":  # sqlite3's own :name style
            assert (await conn.exec_driver_sql("SELECT body FROM ae_notes WHERE score = :s",
                                               {"s": 3})).scalar() == "three"
        else:
            with pytest.raises(ArgumentError):
                await conn.exec_driver_sql("SELECT $1", {"s": 3})
        await conn.commit()
    assert await bodies(engine) == ["one", "two", "three"]


async def test_stream_reads_rows_as_they_are_used(engine):
    async with engine.begin() as conn:
        await conn.execute(insert(Note), [{"body": f"n{i:02}", "score": i} for i in range(25)])
    async with engine.connect() as conn:
        result = await conn.stream(select(Note.score).order_by(Note.score),
                                   execution_options={"yield_per": 10})
        assert [r.score async for r in result] == list(range(25))
        async with conn.stream(select(Note).order_by(Note.id)) as result:
            first = await result.fetchmany(3)
            assert [r.body for r in first] == ["n00", "n01", "n02"]
        parts = []
        async with conn.stream(select(Note.score).order_by(Note.score)) as result:
            async for part in result.yield_per(7).partitions():
                parts.append(len(part))
        assert parts == [7, 7, 7, 4]
        scalars = await conn.stream_scalars(select(Note.body).where(Note.score < 3)
                                            .order_by(Note.score))
        assert [b async for b in scalars] == ["n00", "n01", "n02"]
        async with conn.stream_scalars(select(Note.score).order_by(Note.score)) as s:
            assert await s.first() == 0
        result = await conn.stream(text("SELECT count(*) AS n FROM ae_notes"))
        assert await result.scalar() == 25
        left_open = await conn.stream(select(Note.id))
        await conn.commit()  # a stream left open is closed with the transaction
        assert left_open.closed
        assert await conn.scalar(select(func.count()).select_from(Note)) == 25


async def test_run_sync_gets_a_synchronous_connection(engine):
    def work(sync: SyncConnection, body: str, *, score: int) -> int:
        assert isinstance(sync, SyncConnection) and sync.in_transaction() is False
        sync.execute(insert(Note).values(body=body, score=score))
        with sync.begin_nested() as sp:
            assert isinstance(sp, SyncTransaction) and sync.in_nested_transaction()
            sync.execute(insert(Note).values(body="nested"))
        try:
            with sync.begin_nested():
                sync.execute(insert(Note).values(body="undone"))
                raise KeyError
        except KeyError:
            pass
        assert sync.get_transaction().is_active and sync.dialect.name == engine.name
        assert sync.engine is engine.sync_engine
        assert sync.exec_driver_sql("SELECT 1").scalar() == 1
        sync.info["from_sync"] = True
        sync.commit()
        return sync.scalar(select(func.count()).select_from(Note))

    async with engine.connect() as conn:
        assert await conn.run_sync(work, "sync", score=4) == 2
        assert conn.info["from_sync"] is True
        assert conn.in_transaction()  # the count after the commit began another

        def fails(sync: SyncConnection) -> None:
            sync.execute(insert(Note).values(body="sync"))

        with pytest.raises(IntegrityError):
            await conn.run_sync(fails)
        with pytest.raises(PendingRollbackError):
            await conn.run_sync(lambda sync: sync.execute(select(Note)))
        await conn.run_sync(lambda sync: sync.rollback())

        def explicit(sync: SyncConnection) -> None:
            assert sync.execution_options(shard_id=5) is sync
            assert sync.get_execution_options() == {"shard_id": 5}
            assert sync.connection.driver_connection is not None
            with sync.begin():
                sync.execute(insert(Note).values(body="in with"))
            tx = sync.begin()
            sync.execute(insert(Note).values(body="rolled back"))
            tx.rollback()

        await conn.run_sync(explicit)
        with pytest.raises(MissingGreenlet):
            conn.sync_connection.execute(select(Note))  # outside run_sync
    assert await bodies(engine) == ["sync", "nested", "in with"]


async def test_info_follows_the_pooled_connection(url):
    engine = create_async_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            conn.info["tenant"] = 7
            first = (await conn.get_raw_connection()).driver_connection
        async with engine.connect() as conn:
            assert (await conn.get_raw_connection()).driver_connection is first
            assert conn.info == {"tenant": 7}
            await conn.invalidate()  # a new connection next time: a new info
            assert conn.invalidated
            assert await conn.scalar(text("SELECT 1")) == 1
            assert not conn.invalidated and conn.info == {}
            assert (await conn.get_raw_connection()).driver_connection is not first
    finally:
        await engine.dispose()


async def test_invalidate_discards_the_connection(engine):
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        await conn.execute(insert(Note).values(body="lost"))
        await conn.invalidate()
        assert conn.invalidated and conn.in_transaction()
        with pytest.raises(PendingRollbackError):
            await conn.execute(select(Note))
        with pytest.raises(PendingRollbackError):
            await conn.commit()
        await conn.rollback()
        await conn.execute(insert(Note).values(body="kept"))
        await conn.commit()
        assert (await conn.get_raw_connection()).driver_connection is not raw
    assert await bodies(engine) == ["kept"]
    assert engine.pool.checkedout() == 0 and engine.pool.checkedin() == 1


async def test_closed_and_unstarted_connections(engine):
    conn = engine.connect()
    with pytest.raises(InvalidRequestError, match="not been started"):
        await conn.execute(select(Note))
    await conn.start()
    with pytest.raises(InvalidRequestError, match="already started"):
        await conn.start()
    await conn.execute(insert(Note).values(body="rolled back"))
    await conn.close()
    await conn.close()
    assert conn.closed and not conn.in_transaction()
    with pytest.raises(ResourceClosedError):
        await conn.execute(select(Note))
    with pytest.raises(ResourceClosedError):
        await conn.begin()
    with pytest.raises(ResourceClosedError):
        conn.info
    await conn.commit()  # nothing to do, as in SQLAlchemy
    await conn.rollback()
    assert await bodies(engine) == []
    with pytest.raises(InvalidRequestError, match="get_raw_connection"):
        conn.connection


async def test_connection_execution_options(engine, backend):
    async with engine.connect() as conn:
        level = "SERIALIZABLE"
        assert await conn.execution_options(isolation_level=level, shard_id=1) is conn
        assert conn.get_execution_options() == {"isolation_level": level, "shard_id": 1}
        if backend == "postgresql":
            assert await conn.scalar(text("SHOW transaction_isolation")) == "serializable"
        else:
            await conn.execute(text("SELECT 1"))
        with pytest.raises(InvalidRequestError, match="isolation_level"):
            await conn.execution_options(isolation_level=level)
        await conn.execution_options(shard_id=2)  # not the isolation level: any time
        assert conn.get_execution_options()["shard_id"] == 2
        await conn.rollback()
        with pytest.raises(ArgumentError):
            await conn.execution_options(isolation_level="NEVER")
    async with engine.connect() as conn:  # the next checkout starts from the engine's
        assert conn.get_execution_options() == {}
        if backend == "postgresql":
            assert await conn.scalar(text("SHOW transaction_isolation")) == "read committed"
            await conn.rollback()
            await conn.execution_options(isolation_level="repeatable_read")
            assert await conn.get_isolation_level() == "REPEATABLE READ"


async def test_autocommit_runs_each_statement_on_its_own(engine, backend):
    auto = engine.execution_options(isolation_level="autocommit")
    assert auto.get_execution_options() == {"isolation_level": "AUTOCOMMIT"}
    async with auto.connect() as conn:
        await conn.execute(insert(Note).values(body="a"))
        assert conn.in_transaction() and await conn.get_isolation_level() == "AUTOCOMMIT"
        await conn.rollback()  # nothing to undo
        with pytest.raises(IntegrityError):
            await conn.execute(insert(Note).values(body="a"))
        await conn.execute(insert(Note).values(body="b"))  # no transaction to fail
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(conn.execute(text(slow_sql(backend))), 0.3)
        # interrupted: the next statement runs on a new connection, nothing to roll back
        assert await conn.scalar(select(func.count()).select_from(Note)) == 2
    assert await bodies(engine) == ["a", "b"]
    assert engine.pool.checkedout() == 0
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(insert(Note).values(body="c"))
    assert await bodies(engine) == ["a", "b", "c"]


async def test_events_of_the_sync_engine_fire(engine):
    seen: list[str] = []
    events.listen(engine.sync_engine, "begin", lambda conn: seen.append("begin"))
    events.listen(engine.sync_engine, "commit", lambda conn: seen.append("commit"))
    events.listen(engine.sync_engine, "rollback", lambda conn: seen.append("rollback"))
    async with engine.connect() as conn:
        await conn.execute(insert(Note).values(body="e"))
        await conn.commit()
        await conn.execute(select(Note))
    assert seen == ["begin", "commit", "begin", "rollback"]


# --- cancellation

async def test_cancelled_statement_leaves_the_pool_healthy(url, backend):
    engine = create_async_engine(url, pool_size=2, max_overflow=0, pool_timeout=5)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(ddl(backend)))
        running = asyncio.Event()

        async def slow() -> None:
            async with engine.connect() as conn:
                await conn.execute(insert(Note).values(body="never"))
                running.set()
                await conn.execute(text(slow_sql(backend)))

        task = asyncio.create_task(slow())
        await running.wait()
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
        assert engine.pool.checkedout() == 0
        # the interrupted connection was closed, not pooled: every checkout works, at the
        # pool's full size
        for _ in range(3):
            async with engine.connect() as one, engine.connect() as two:
                assert await one.scalar(text("SELECT 1")) == 1
                assert await two.scalar(select(func.count()).select_from(Note)) == 0

        async def slow_in_begin() -> None:
            async with engine.begin() as conn:
                await conn.execute(insert(Note).values(body="never either"))
                await conn.execute(text(slow_sql(backend)))

        task = asyncio.create_task(slow_in_begin())
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
        assert engine.pool.checkedout() == 0
        assert await bodies(engine) == []
        async with engine.begin() as conn:
            await conn.execute(insert(Note).values(body="fine"))
        assert await bodies(engine) == ["fine"]
    finally:
        await engine.dispose()


async def test_a_connection_interrupted_inside_a_transaction_needs_rollback(engine, backend):
    async with engine.connect() as conn:
        await conn.execute(insert(Note).values(body="lost"))
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(conn.execute(text(slow_sql(backend))), 0.3)
        with pytest.raises(PendingRollbackError):
            await conn.execute(select(Note))
        await conn.rollback()  # the broken connection goes; the next statement gets another
        await conn.execute(insert(Note).values(body="kept"))
        await conn.commit()
    assert await bodies(engine) == ["kept"]
    assert engine.pool.checkedout() == 0


async def test_a_sessions_connection_runs_in_its_transaction(engine):
    """``AsyncConnection._of_session``: what ``AsyncSession.connection()`` hands out."""
    async with engine.sync_engine.get_session() as sess:
        conn = AsyncConnection._of_session(sess, await sess._ready())
        assert conn.in_transaction() and conn.engine.sync_engine is engine.sync_engine
        await conn.execute(insert(Note).values(body="via conn"))
        assert await sess.scalar(text("SELECT count(*) FROM ae_notes")) == 1  # same tx
        for refused in (conn.commit(), conn.rollback(), conn.invalidate(), conn.begin(),
                        conn.begin_nested()):
            with pytest.raises(InvalidRequestError, match="session"):
                await refused
        with pytest.raises(IntegrityError):
            await conn.execute(insert(Note).values(body="via conn"))
        with pytest.raises(PendingRollbackError):  # the session failed with it
            await sess.execute(text("SELECT 1"))
        await sess.rollback()
        await conn.execute(insert(Note).values(body="after rollback"))
        await conn.close()  # lets go of it: the session's connection stays open
        await sess.commit()
    assert await bodies(engine) == ["after rollback"]
    assert engine.pool.checkedout() == 0


class TutorialBase(DeclarativeBase):
    pass


class Author(TutorialBase):
    __tablename__ = "ae_authors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(30))


class Book(TutorialBase):
    __tablename__ = "ae_books"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("ae_authors.id"))
    title: Mapped[str] = mapped_column(String(30))


async def test_metadata_create_all_through_run_sync(engine):
    """SQLAlchemy's idiom: ``await conn.run_sync(Base.metadata.create_all)``."""
    async with engine.begin() as conn:
        await conn.run_sync(TutorialBase.metadata.create_all)
        author = (await conn.execute(insert(Author).values(name="Le Guin")
                                     .returning(Author.id))).scalar()
        await conn.execute(insert(Book), [{"author_id": author, "title": "Tehanu"},
                                          {"author_id": author, "title": "Lavinia"}])
    async with engine.connect() as conn:
        rows = await conn.execute(select(Author.name, Book.title)
                                  .join(Book, Book.author_id == Author.id)
                                  .order_by(Book.title))
        assert [tuple(r) for r in rows] == [("Le Guin", "Lavinia"), ("Le Guin", "Tehanu")]
        with pytest.raises(IntegrityError):  # the foreign key is real
            await conn.execute(insert(Book).values(author_id=999, title="nobody's"))
        await conn.rollback()
        await conn.run_sync(TutorialBase.metadata.drop_all)
        await conn.commit()
        with pytest.raises(ProgrammingError):
            await conn.execute(select(Author))


async def test_echo_shows_the_statements(url, capsys):
    logger = logging.getLogger("asyncqlio.sql")
    handlers, level = list(logger.handlers), logger.level
    logger.handlers.clear()
    logger.setLevel(logging.NOTSET)
    engine = create_async_engine(url, echo=True)
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT 40 + :n"), {"n": 2}) == 42
        out = capsys.readouterr().out
        assert "INFO asyncqlio.sql" in out and "SELECT 40 + " in out
        engine.echo = False
        async with engine.connect() as conn:
            await conn.scalar(text("SELECT 'quiet'"))
        assert "quiet" not in capsys.readouterr().out
    finally:
        await engine.dispose()
        logger.handlers[:] = handlers
        logger.setLevel(level)
