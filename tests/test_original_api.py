"""The original asyncqlio's API against real databases: each test is one feature as a
program written for the original uses it, checked by what that program would read back."""
from __future__ import annotations

import asyncio
import contextlib
import decimal
import io
import sys
from pathlib import Path

import pytest

from asyncqlio import (BaseConnector, BaseResultSet, BaseTransaction, DatabaseException,
                       DatabaseInterface, DictRow, IntegrityError, exc)
from asyncqlio.backends.postgresql import PostgresqlDialect
from asyncqlio.backends.sqlite3 import Sqlite3Dialect
from asyncqlio.orm.ddl import migration_tool
from asyncqlio.orm.operators import AscSorter, DescSorter
from asyncqlio.orm.query import ResultGenerator, RowDeleteQuery, RowUpdateQuery, UpsertQuery
from asyncqlio.orm.schema.column import Column
from asyncqlio.orm.schema.index import Index
from asyncqlio.orm.schema.relationship import ForeignKey, Relationship
from asyncqlio.orm.schema.table import table_base
from asyncqlio.orm.schema.types import Integer, Numeric, Real, String, Text


def _tables():
    Base = table_base()

    class Person(Base):
        id = Column(Integer(), primary_key=True)
        name = Column(String(64))
        email = Column(String(64), nullable=True)
        lat = Column(Numeric(5, 3), default=0)
        lon = Column(Numeric(5, 3, False), default=0)
        person_name_idx = Index(name)
        cars = Relationship(left="Person.id", right="Car.owner_id")

    class Car(Base):
        id = Column(Integer(), primary_key=True)
        owner_id = Column(Integer(), foreign_key=ForeignKey("Person.id"))
        make = Column(String(32))
        owner = Relationship(left="Car.owner_id", right="Person.id", use_iter=False)

    return Base, Person, Car


@pytest.fixture
async def people(db):
    Base, Person, Car = _tables()
    db.bind_tables(Base)
    await Person.create()
    await Car.create()
    return db, Person, Car


async def _names(db, Person):
    async with db.get_session() as sess:
        return [p.name for p in await sess.select(Person).order_by(Person.id)]


# --- the low-level API

async def test_the_interface_and_its_connector(db, backend):
    assert db.connected and isinstance(db.connector, BaseConnector)
    assert isinstance(db.dialect, PostgresqlDialect if backend == "postgresql" else Sqlite3Dialect)
    assert db.dialect.has_checkpoints and db.dialect.has_truncate == (backend == "postgresql")
    assert isinstance(await db.get_db_server_version(), str)
    assert db.emit_param("id") == "{id}"
    placeholder, name = db.emit_param()
    assert placeholder == "{" + name + "}"
    assert db.connector.dsn.startswith(db.url.scheme) and (db.connector.password is None
                                                           or "***" in db.connector.dsn)


async def test_a_transaction_by_hand(db):
    tr = db.get_transaction()
    assert isinstance(tr, BaseTransaction)
    await tr.begin()
    await tr.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)")
    await tr.execute("INSERT INTO t VALUES ({id}, {n})", {"id": 1, "n": 10})
    cursor = await tr.cursor("SELECT id, n FROM t")
    assert isinstance(cursor, BaseResultSet)
    async with cursor:
        row = await cursor.fetch_row()
    assert isinstance(row, DictRow) and row["n"] == 10 and row[1] == 10 and list(row) == ["id", "n"]
    await tr.commit()
    await tr.close()
    assert db.pool.checkedout() == 0
    async with db.get_transaction() as tr:  # commits at the end
        await tr.execute("INSERT INTO t VALUES (2, 20)")
        cursor = await tr.cursor("SELECT n FROM t ORDER BY id")
        assert [r["n"] async for r in cursor] == [10, 20]
        more = await tr.cursor("SELECT n FROM t ORDER BY id")
        assert [r[0] for r in await more.fetch_many(n=5)] == [10, 20]


async def test_a_failed_transaction_can_begin_again(db):
    tr = db.get_transaction()
    await tr.begin()
    with pytest.raises(DatabaseException):
        try:
            await tr.execute("SELECT nope FROM nowhere")
        finally:
            await tr.rollback()
            await tr.close(has_error=True)
    await tr.begin()
    assert (await (await tr.cursor("SELECT 1 + 1 AS two")).fetch_row())["two"] == 2
    await tr.rollback()
    await tr.close()
    assert db.pool.checkedout() == 0


async def test_savepoints_of_a_transaction(db):
    async with db.get_transaction() as tr:
        await tr.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        await tr.execute("INSERT INTO t VALUES (1)")
        await tr.create_savepoint("sp")
        await tr.execute("INSERT INTO t VALUES (2)")
        await tr.rollback(checkpoint="sp")
        await tr.release_savepoint("sp")
        rows = await (await tr.cursor("SELECT id FROM t")).flatten()
    assert [r["id"] for r in rows] == [1]


async def test_the_interface_reconnects_after_close(dsn):
    db = DatabaseInterface(dsn=dsn)
    await db.connect()
    await db.close()
    assert not db.connected
    await db.connect()  # the original's test suite connects each module's fixture anew
    async with db.get_session() as sess:
        assert (await sess.fetch("SELECT 1 AS one"))["one"] == 1
    await db.close()


async def test_raw_sql_in_a_session(db, backend):
    async with db.get_session() as sess:
        # several statements at once, as the original's SQLite backend ran them
        await sess.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT); "
                           "INSERT INTO t VALUES (1, 'a;b'); INSERT INTO t VALUES (2, 'c')")
        assert await sess.fetch("SELECT * FROM t WHERE id = 3") is None
        row = await sess.fetch("SELECT note FROM t WHERE id = {id}", {"id": 1})
        assert row["note"] == "a;b" and row[0] == "a;b"
        cursor = await sess.cursor("SELECT count(*) FROM t")
        assert (await cursor.fetch_row())[0] == 2
        if backend == "sqlite":  # the original SQLite backend's own :name placeholders
            assert (await sess.fetch("SELECT note FROM t WHERE id = :id", {"id": 2}))[0] == "c"


async def test_session_transactions_by_hand(people):
    db, Person, _ = people
    sess = db.get_session()
    try:
        await sess.start()
        await sess.execute("INSERT INTO person (id, name, lat, lon) VALUES (1, 'a', 0, 0)")
        await sess.rollback()
    finally:
        await sess.close()
    assert await _names(db, Person) == []
    assert db.pool.checkedout() == 0


async def test_a_caught_failure_rolls_the_block_back(people):
    db, Person, _ = people
    with pytest.warns(RuntimeWarning, match="rolled back"):
        async with db.get_session() as sess:
            await sess.add(Person(id=1, name="kept?"))
            with pytest.raises(DatabaseException):
                await sess.execute("SELECT nope FROM nowhere")
    assert await _names(db, Person) == []
    with pytest.raises(IntegrityError):  # a failure the block did not catch propagates
        async with db.get_session() as sess:
            await sess.add(Person(id=1, name="a"))
            await sess.add(Person(id=1, name="b"))
    assert await _names(db, Person) == []


# --- the DDL session

async def test_ddl_session_defaults_and_reading(db, backend):
    columns = [Column.with_name("id", Integer(), primary_key=True),
               Column.with_name("name", String(128), unique=True),
               Column.with_name("balance", Real())]
    for _ in range(2):  # IF NOT EXISTS unless told otherwise
        async with db.get_ddl_session() as sess:
            await sess.create_table("acct", *columns)
    async with db.get_ddl_session() as sess:
        await sess.create_index("acct", "acct_balance_idx", "balance")
        cols = await sess.get_columns("acct")
        assert [(c.name, c.table_name) for c in cols] == \
            [("id", "acct"), ("name", "acct"), ("balance", "acct")]
        assert [type(c.type) for c in cols] == [Integer, String, Real]
        indexes = {i.name: i for i in await sess.get_indexes("acct")}
        assert indexes["acct_balance_idx"].columns == ["balance"]
        assert all(i.table_name == "acct" for i in indexes.values())
        if backend == "postgresql":  # the indexes behind the key and the UNIQUE column too
            assert indexes["acct_pkey"].constraint == "PRIMARY KEY"
            assert indexes["acct_name_key"].constraint == "UNIQUE"
        else:
            assert set(indexes) == {"acct_balance_idx"}
        assert {c.name for c in await sess.get_columns()} >= {"id", "name", "balance"}
        await sess.drop_table("acct")
        await sess.drop_table("acct")  # IF EXISTS unless told otherwise
    assert not await db.has_table("acct")


async def test_dialect_schema_queries(db, backend):
    async with db.get_ddl_session() as sess:
        await sess.create_table("acct", Column.with_name("id", Integer, primary_key=True),
                                Column.with_name("name", Text, nullable=True))
        await sess.create_index("acct", "acct_name_idx", "name", unique=True)
        sql = db.dialect.get_column_sql("acct", emitter=db.emit_param)
        rows = await (await sess.cursor(sql, {"table_name": "acct"})).flatten()
        cols = list(db.dialect.transform_rows_to_columns(*rows, table_name="acct"))
        assert [(c.name, c.table_name, c.primary_key, c.nullable) for c in cols] == \
            [("id", "acct", True, False), ("name", "acct", False, True)]
        sql = db.dialect.get_index_sql("acct", emitter=db.emit_param)
        rows = await (await sess.cursor(sql, {"table_name": "acct"})).flatten()
        by_name = {i.name: i for i in db.dialect.transform_rows_to_indexes(*rows)}
        assert list(by_name["acct_name_idx"].get_column_names()) == ["name"]
        assert by_name["acct_name_idx"].unique


# --- tables

async def test_table_classmethods(people, backend):
    db, Person, Car = people
    await Person.create()  # IF NOT EXISTS
    async with db.get_session() as sess:
        await sess.insert.rows(Person(id=1, name="a"), Person(id=2, name="b"))
    row = await Person.get(Person.name == "b")
    assert row.id == 2 and row._session is None
    assert await Person.get(Person.name == "c") is None
    async with db.get_ddl_session() as sess:
        live = {i.name for i in await sess.get_indexes("person")}
    assert all(Person.get_index(name) is not None for name in live)  # <table>_pkey too
    await Person.truncate(cascade=True)
    assert await _names(db, Person) == []
    await Car.drop()
    await Person.drop(cascade=True)
    assert not await db.has_table("person")


async def test_numeric_columns_as_the_original_stored_them(people):
    db, Person, _ = people
    async with db.get_session() as sess:
        await sess.insert.rows(Person(id=110, name="numeric", lat=12.010, lon=12.010))
    async with db.get_session() as sess:
        row = await sess.select(Person).where(Person.id == 110).first()
    assert str(row.lat) == "12.010" and isinstance(row.lat, decimal.Decimal)
    assert str(row.lon) == "12.01" and isinstance(row.lon, float)


async def test_a_row_s_change_record(people):
    db, Person, _ = people
    async with db.get_session() as sess:
        await sess.add(Person(id=1, name="before"))
    async with db.get_session() as sess:
        row = await sess.select(Person).first()
        assert row._history == {}
        row.name = "after"
        assert Person.name in row._history
        change = row._history[Person.name]
        assert (change.previous_value, change.current_value) == ("before", "after")


async def test_a_custom_type_with_the_original_s_hooks_round_trips(db):
    class Upper(String):
        def on_set(self, row, value):
            return super().on_set(row, value.upper())

    Base = table_base()

    class Code(Base):
        id = Column(Integer(), primary_key=True)
        code = Column(Upper(8))

    db.bind_tables(Base)
    await Code.create()
    async with db.get_session() as sess:
        await sess.add(Code(id=1, code="abc"))
        loaded = await sess.select(Code).first()
        loaded.code = "def"
        await sess.add(loaded)
    async with db.get_session() as sess:
        assert (await sess.fetch("SELECT code FROM code"))["code"] == "DEF"
        assert (await sess.select(Code).first()).code == "DEF"


# --- sessions and queries

async def test_inserting_upserting_and_merging(people):
    db, Person, _ = people
    async with db.get_session() as sess:
        rows = await sess.insert.rows(*(Person(id=i, name=f"p{i}", email=f"{i}@x") for i in range(3)))
        assert [r.id for r in rows] == [0, 1, 2]
        query = sess.insert.rows(Person(id=1, name="upsert", email="not updated"))
        upsert = query.on_conflict(Person.id)
        assert isinstance(upsert, UpsertQuery)
        await upsert.update(Person.name).run()
        await sess.insert.rows(Person(id=2, name="ignored")).on_conflict(Person.id).nothing()
        await sess.insert.rows(Person(id=0, name="ignored")).on_conflict(Person.id).run()
    async with db.get_session() as sess:
        row = await sess.select(Person).where(Person.id == 1).first()
        assert (row.name, row.email) == ("upsert", "1@x")
        await sess.merge(Person(id=2, email="merged"))
    async with db.get_session() as sess:
        rows = await sess.select(Person).order_by(Person.id).all()
        assert [(r.id, r.name, r.email) async for r in rows] == \
            [(0, "p0", "0@x"), (1, "upsert", "1@x"), (2, "p2", "merged")]


async def test_bulk_updates_and_deletes_by_the_original_s_call_forms(people):
    db, Person, _ = people
    async with db.get_session() as sess:
        await sess.insert.rows(*(Person(id=i, name=f"p{i}", lat=i) for i in range(1, 6)))
    async with db.get_session() as sess:
        await sess.update(Person).set(Person.name, "big").where(Person.id > 3)
        await sess.update(Person).set(Person.lat + 10).where(Person.id == 1)
        await sess.update(Person).set(Person.lat.incr(1)).where(Person.id == 2)
        await sess.update(Person).set(Person.lat.decr(1)).where(Person.id == 3)
        await sess.update.table(Person).set(Person.email.set("e")).where(Person.id == 3).run()
        query = sess.update(Person)
        query.set_update(Person.lat.set(0))
        query.add_condition(Person.id == 5)
        await query
    async with db.get_session() as sess:
        rows = await sess.select(Person).order_by(Person.id)
        assert [(r.name, r.lat, r.email) for r in rows] == [
            ("p1", 11, None), ("p2", 3, None), ("p3", 2, "e"), ("big", 4, None),
            ("big", 0, None)]
        await sess.delete.table(Person).where(Person.id == 5).run()
        await sess.delete(Person).where(Person.id == 4)
        row = await sess.select(Person).where(Person.id == 3).first()
        await sess.remove(row)
    assert await _names(db, Person) == ["p1", "p2"]


async def test_rows_written_now(people):
    db, Person, _ = people
    async with db.get_session() as sess:
        a = await sess.insert_now(Person(id=1, name="a"))
        assert a.id == 1 and a._session is sess
        a.name = "A"
        await sess.update_now(a)
        b = await sess.add(Person(id=2, name="b"))
        b.name = "B"
        assert (await RowUpdateQuery(sess).rows(b).run()) == [b]
        assert RowUpdateQuery(sess).rows(a).generate_sql() == []  # nothing left to write
        query = RowDeleteQuery(sess).rows(a)
        assert len(query.generate_sql()) == 1
        await query.run()
    assert await _names(db, Person) == ["B"]


async def test_selecting_by_the_original_s_call_forms(people):
    db, Person, _ = people
    async with db.get_session() as sess:
        await sess.insert.rows(*(Person(id=i, name=n) for i, n in enumerate("cab", 1)))
    async with db.get_session() as sess:
        assert [p.name for p in await sess.select.from_(Person).order_by(Person.name)] == \
            ["a", "b", "c"]
        desc = await sess.select(Person).order_by(Person.name, sort_order="desc")
        assert [p.name for p in desc] == ["c", "b", "a"]
        assert [p.name for p in await sess.select(Person).order_by(DescSorter(Person.id))] == \
            ["b", "a", "c"]
        assert [p.id for p in await sess.select(Person).order_by(AscSorter(Person.name,
                                                                           Person.id))] == \
            [2, 3, 1]
        query = sess.select(Person)
        query.set_table(Person)
        query.add_condition(Person.id.in_(1, 2))
        query.limit(5).offset(0)
        assert (query.row_limit, query.row_offset) == (5, 0)
        assert query.generate_sql() == query.compile()
        gen = await query.run()
        assert isinstance(gen, ResultGenerator)
        first = await gen.next()
        assert first.id in (1, 2) and len(await gen.flatten()) == 1 and await gen.next() is None
        assert [p.name async for p in sess.select(Person).where(Person.id == 3)] == ["b"]
        assert await sess.select(Person).where(Person.id == 9).first() is None
        assert (await sess.run_select_query(sess.select(Person).where(Person.id == 1))) \
            .__class__ is ResultGenerator


async def test_relationships_as_the_original_iterated_them(people):
    db, Person, Car = people
    async with db.get_session() as sess:
        await sess.insert.rows(Person(id=1, name="ann"), Person(id=2, name="bob"))
        await sess.insert.rows(Car(id=1, owner_id=1, make="saab"), Car(id=2, owner_id=1, make="vw"))
    async with db.get_session() as sess:
        ann = await sess.select(Person).where(Person.name == "ann").first()
        assert [c.make async for c in ann.cars] == ["saab", "vw"]
        assert [c.make for c in await ann.cars] == ["saab", "vw"]
        assert (await ann.cars.first()).make == "saab"
        assert [c.make for c in await ann.cars.query.order_by(Car.make.desc())] == ["vw", "saab"]
        car = await sess.select(Car).where(Car.make == "vw").first()
        assert car.owner is ann  # use_iter=False: the row, joined
        bob = await sess.select(Person).where(Person.id == 2).first()
        assert list(bob.cars) == []


async def test_sessions_of_a_ddl_session_subclass_share_the_base(db):
    from asyncqlio.orm.session import SessionBase
    async with db.get_ddl_session() as ddl:
        assert isinstance(ddl, SessionBase)
        tr = ddl.transaction
        assert tr is None or isinstance(tr, BaseTransaction)
        await ddl.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        assert isinstance(ddl.transaction, BaseTransaction)
        assert await ddl.transaction.execute("INSERT INTO t VALUES (1)") == 1


# --- the migration tool

async def test_the_original_migration_tool(dsn, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    loop = asyncio.get_running_loop()

    def run(*args):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = migration_tool.cli(list(args))
        return status, out.getvalue()

    assert run("init", "migrations", "--dsn", dsn)[0] == 0
    assert (tmp_path / "migrations" / "env.py").exists()
    first = migration_tool.new(Path("migrations"), "add people")
    assert first.name == "001_add_people.py"
    first.write_text(first.read_text().replace(
        '    """Performs an upgrade."""',
        '    """Performs an upgrade."""\n'
        '    await session.execute("CREATE TABLE people (id INTEGER PRIMARY KEY)")').replace(
        '    """Performs a downgrade."""',
        '    """Performs a downgrade."""\n    await session.drop_table("people")'))
    second = migration_tool.new(Path("migrations"), "more")
    assert second.name == "002_more.py"
    # asyncio.run cannot nest: the tool's own loop runs in a thread here
    status, out = await loop.run_in_executor(None, run, "migrate")
    assert status == 0 and "At revision 2" in out
    db = DatabaseInterface(dsn)
    await db.connect()
    try:
        assert await db.has_table("people")
        assert await db.scalar("SELECT version FROM asql_version") == 2
        status, out = await loop.run_in_executor(None, run, "migrate", "-2")
        assert status == 0 and "At revision 0" in out and not await db.has_table("people")
        status, out = await loop.run_in_executor(None, run, "migrate", "nonsense")
        assert status == 1
    finally:
        await db.close()
    assert migration_tool.get_revision("+1", 3) == 4 and migration_tool.get_revision("7", 0) == 7


# --- a whole program written for the original

async def test_a_program_written_for_the_original_runs_unchanged(dsn, backend):
    sys.path.insert(0, str(Path(__file__).parent.parent / "examples"))
    try:
        import original_api
    finally:
        sys.path.pop(0)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        await original_api.main(dsn)
    lines = out.getvalue().splitlines()
    assert lines[:6] == ["a second Le Guin is refused", "books: 2 2", "The Dispossessed 9.99",
                         "The Lathe of Heaven 7.50", "by Le Guin : The Dispossessed",
                         "by Le Guin : The Lathe of Heaven"]
    assert lines[6] == "The Dispossessed 10.99 True"
    assert lines[7].startswith("The Lathe of Heaven (1971) 8.5") and lines[7].endswith("False")
    assert lines[8] == "{'name': 'Ursula K. Le Guin'}"
    assert lines[9] == "class Book(Table):" and lines[-1] == "bad SQL is a ProgrammingError"
    assert "('book', 'isbn')" in lines[-2]


async def test_module_scoped_interfaces_as_the_original_suite_used_them(dsn):
    """The original's suite made one interface at import (outside any event loop) and
    connected and closed it once per test module, each module in an event loop of its own."""
    db = DatabaseInterface(dsn=dsn)

    def module():
        async def run():
            await db.connect()
            async with db.get_session() as sess:
                value = (await sess.fetch("SELECT 2 AS n"))["n"]
            await db.close()
            return value
        return asyncio.run(run())

    loop = asyncio.get_running_loop()
    assert [await loop.run_in_executor(None, module) for _ in range(2)] == [2, 2]


def test_pending_rollback_names_its_cause():
    assert issubclass(exc.PendingRollbackError, exc.InvalidRequestError)
