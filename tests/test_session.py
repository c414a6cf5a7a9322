"""Sessions on both backends: transactions, checkpoints and the row operations, each checked
the way a user would: what another session (another connection) sees, and the row objects."""
from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import warnings

import pytest

from asyncqlio import Column, DatabaseInterface, Integer, String, Text, table_base
from asyncqlio.exc import ArgumentError, StaleDataError

Table = table_base()


class Account(Table, table_name="accounts"):
    id = Column(Integer, primary_key=True)
    name = Column(String(64), unique=True)
    balance = Column(Integer, default=0)
    note = Column(Text, nullable=True, default=None)


class Tag(Table, table_name="tags"):
    """Only a generated key: its INSERT has no columns at all."""
    id = Column(Integer, primary_key=True)


@pytest.fixture
async def db(db):
    db.bind_tables(Table)
    await Account.create()
    await Tag.create()
    return db


async def committed(db: DatabaseInterface) -> dict[int, tuple]:
    """What a second session sees: ``{id: (name, balance, note)}``."""
    async with db.get_session() as other:
        result = await other.cursor("SELECT id, name, balance, note FROM accounts ORDER BY id")
        rows = await result.flatten()
    return {r["id"]: (r["name"], r["balance"], r["note"]) for r in rows}


async def names(db: DatabaseInterface) -> list[str]:
    return [v[0] for v in (await committed(db)).values()]


def logged(caplog: pytest.LogCaptureFixture, verb: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "asyncqlio.sql" and r.getMessage().startswith(verb)]


# --- transactions

async def test_async_with_commits_on_success(db):
    async with db.get_session() as sess:
        await sess.add(Account(name="a", balance=1))
        sess.add(Account(name="b"))
    assert await committed(db) == {1: ("a", 1, None), 2: ("b", 0, None)}
    assert db.pool.checkedout() == 0


async def test_async_with_rolls_back_on_exception(db):
    with pytest.raises(RuntimeError, match="boom"):
        async with db.get_session() as sess:
            await sess.add(Account(name="a"))
            sess.add(Account(name="b"))
            raise RuntimeError("boom")
    assert await committed(db) == {}
    assert sess.state.name == "CLOSED"
    assert db.pool.checkedout() == 0


async def test_uncommitted_rows_are_invisible_to_other_sessions(db):
    async with db.get_session() as sess:
        await sess.add(Account(name="a"))
        assert await committed(db) == {}
        assert (await sess.fetch("SELECT count(*) AS n FROM accounts"))["n"] == 1
    assert await names(db) == ["a"]


async def test_explicit_start_commit_rollback_close(db):
    sess = db.get_session()
    await sess.start()
    await sess.add(Account(name="gone"))
    await sess.rollback()
    assert await committed(db) == {}
    await sess.add(Account(name="kept"))
    await sess.commit()
    assert await names(db) == ["kept"]
    await sess.close()
    assert sess.state.name == "CLOSED"
    assert db.pool.checkedout() == 0
    await sess.close()  # closing twice is harmless


async def test_session_is_reusable_after_commit(db):
    async with db.get_session() as sess:
        await sess.add(Account(name="one"))
        await sess.commit()
        await sess.add(Account(name="two"))
        await sess.commit()
        assert await names(db) == ["one", "two"]
        await sess.add(Account(name="three"))
        await sess.rollback()  # undoes only what came after the last commit
        await sess.add(Account(name="four"))
    assert await names(db) == ["one", "two", "four"]


async def test_statements_start_a_session_that_was_not_started(db):
    sess = db.get_session()
    try:
        await sess.execute("INSERT INTO accounts (name, balance) VALUES ('x', 1)")
        await sess.commit()
    finally:
        await sess.close()
    assert await names(db) == ["x"]


# --- checkpoints

async def test_rollback_to_checkpoint_undoes_only_what_came_after(db):
    async with db.get_session() as sess:
        a = await sess.add(Account(name="a", balance=1))
        await sess.checkpoint("cp")
        await sess.add(Account(name="b"))
        await sess.execute("UPDATE accounts SET balance = 99 WHERE id = {id}", {"id": a.id})
        await sess.rollback("cp")
        assert (await sess.fetch("SELECT count(*) AS n FROM accounts"))["n"] == 1
        await sess.add(Account(name="c"))
    assert list((await committed(db)).values()) == [("a", 1, None), ("c", 0, None)]


async def test_nested_checkpoints(db):
    async with db.get_session() as sess:
        await sess.add(Account(name="a"))
        await sess.checkpoint("outer")
        await sess.add(Account(name="b"))
        await sess.checkpoint("inner")
        await sess.add(Account(name="c"))
        await sess.rollback("inner")
        await sess.add(Account(name="d"))
        await sess.checkpoint("inner2")
        await sess.add(Account(name="e"))
        await sess.rollback("outer")  # also drops inner2, which was inside it
        with pytest.raises(ArgumentError):
            await sess.rollback("inner2")
        await sess.add(Account(name="f"))
        await sess.rollback("outer")  # a checkpoint survives a rollback to it
    assert await names(db) == ["a"]


async def test_checkpoint_reused_name_returns_to_latest(db):
    async with db.get_session() as sess:
        await sess.checkpoint("x")
        await sess.add(Account(name="a"))
        await sess.checkpoint("x")
        await sess.add(Account(name="b"))
        await sess.rollback("x")
    assert await names(db) == ["a"]


@pytest.mark.parametrize("name", ['it\'s "quoted"', 'x"; DROP TABLE accounts; --', "säve point"])
async def test_checkpoint_names_are_quoted(db, name):
    async with db.get_session() as sess:
        await sess.add(Account(name="a"))
        await sess.checkpoint(name)
        await sess.add(Account(name="b"))
        await sess.rollback(name)
        await sess.release_checkpoint(name)
    assert await names(db) == ["a"]


async def test_release_checkpoint_keeps_the_work(db):
    async with db.get_session() as sess:
        await sess.checkpoint("cp")
        await sess.add(Account(name="a"))
        await sess.release_checkpoint("cp")
        with pytest.raises(ArgumentError):
            await sess.rollback("cp")
    assert await names(db) == ["a"]


async def test_unknown_checkpoint_is_an_argument_error(db):
    async with db.get_session() as sess:
        with pytest.raises(ArgumentError):
            await sess.rollback("never")
        await sess.add(Account(name="a"))
    assert await names(db) == ["a"]


async def test_pending_rows_and_checkpoints(db):
    """Rows added (not awaited) before a checkpoint survive a rollback to it; rows added
    after it are forgotten with it."""
    async with db.get_session() as sess:
        sess.add(Account(name="before"))
        await sess.checkpoint("cp")
        sess.add(Account(name="after"))
        await sess.rollback("cp")
    assert await names(db) == ["before"]


async def test_commit_forgets_checkpoints(db):
    async with db.get_session() as sess:
        await sess.checkpoint("cp")
        await sess.add(Account(name="a"))
        await sess.commit()
        with pytest.raises(ArgumentError):
            await sess.rollback("cp")
    assert await names(db) == ["a"]


# --- add, flush, update

async def test_awaited_add_inserts_now_and_fills_the_key(db):
    async with db.get_session() as sess:
        row = Account(name="a", note="n")
        same = await sess.add(row)
        assert same is row
        assert isinstance(row.id, int)
        found = await sess.fetch("SELECT name, note FROM accounts WHERE id = {id}", {"id": row.id})
        assert found == {"name": "a", "note": "n"}
        second = await sess.add(Account(name="b"))
        assert second.id != row.id
    assert await committed(db) == {row.id: ("a", 0, "n"), second.id: ("b", 0, None)}


async def test_add_not_awaited_is_written_at_commit(db):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with db.get_session() as sess:
            row = Account(name="later", balance=3)
            pending = sess.add(row)
            assert inspect.isawaitable(pending) and not inspect.iscoroutine(pending)
            del pending
            gc.collect()
            assert row.id is None
            assert (await sess.fetch("SELECT count(*) AS n FROM accounts"))["n"] == 0
        assert isinstance(row.id, int)
    gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)]
    assert await committed(db) == {row.id: ("later", 3, None)}


async def test_flush_writes_pending_rows_without_committing(db):
    async with db.get_session() as sess:
        rows = [Account(name=f"n{i}") for i in range(3)]
        for r in rows:
            sess.add(r)
        await sess.flush()
        assert [r.id for r in rows] == sorted(r.id for r in rows)
        assert (await sess.fetch("SELECT count(*) AS n FROM accounts"))["n"] == 3
        assert await committed(db) == {}
    assert await names(db) == ["n0", "n1", "n2"]


async def test_many_pending_rows_are_batched(dsn, caplog):
    caplog.set_level(logging.INFO, logger="asyncqlio.sql")
    async with DatabaseInterface(dsn, echo=True) as db:
        db.bind_tables(Table)
        await Account.create()
        rows = [Account(name=f"r{i}", balance=i) for i in range(2500)]
        async with db.get_session() as sess:
            for r in rows:
                sess.add(r)
        # one batch: COPY or one array INSERT (PostgreSQL); an executemany of 1,000-row
        # INSERTs and one INSERT of the other 500 rows (SQLite)
        assert len(logged(caplog, "INSERT")) + len(logged(caplog, "COPY")) <= 2
        assert len({r.id for r in rows}) == 2500
        seen = await committed(db)
        assert len(seen) == 2500
        assert all(seen[r.id] == (r.name, r.balance, None) for r in rows)


async def test_rows_with_no_column_values_each_get_a_row(db):
    async with db.get_session() as sess:
        tags = [Tag(), Tag(), Tag()]
        for t in tags:
            sess.add(t)
    assert len({t.id for t in tags}) == 3
    async with db.get_session() as sess:
        assert (await sess.fetch("SELECT count(*) AS n FROM tags"))["n"] == 3


async def test_add_of_a_loaded_row_then_await_updates_it(db):
    async with db.get_session() as sess:
        await sess.add(Account(name="a", balance=1))
    async with db.get_session() as sess:
        row = await sess.select(Account).where(Account.name == "a").first()
        row.balance = 7
        await sess.add(row)
        assert (await sess.fetch("SELECT balance FROM accounts"))["balance"] == 7
    assert await committed(db) == {row.id: ("a", 7, None)}


async def test_loaded_row_added_without_await_is_updated_at_commit(db):
    async with db.get_session() as sess:
        await sess.add(Account(name="a"))
    async with db.get_session() as sess:
        row = await sess.select(Account).first()
        row.note = "changed"
        sess.add(row)
    assert await committed(db) == {row.id: ("a", 0, "changed")}


async def test_update_writes_only_the_changed_columns(db, backend):
    async with db.get_session() as sess:
        await sess.add(Account(name="a", balance=1, note="old"))
    a = db.get_session()
    await a.start()
    try:
        row = await a.select(Account).first()
        if backend == "sqlite":
            await a.commit()  # on SQLite an open reading transaction blocks other writers' COMMIT
        row.balance = 2
        async with db.get_session() as b:  # meanwhile another session changes another column
            await b.execute("UPDATE accounts SET note = 'new' WHERE id = {id}", {"id": row.id})
        await a.update_now(row)
        await a.commit()
    finally:
        await a.close()
    assert await committed(db) == {row.id: ("a", 2, "new")}


async def test_history_is_cleared_after_each_write(dsn, caplog):
    caplog.set_level(logging.INFO, logger="asyncqlio.sql")
    async with DatabaseInterface(dsn, echo=True) as db:
        db.bind_tables(Table)
        await Account.create()
        async with db.get_session() as sess:
            row = await sess.add(Account(name="a"))
            assert logged(caplog, "UPDATE") == []
            row.balance = 5
            await sess.update_now(row)
            updates = logged(caplog, "UPDATE")
            assert len(updates) == 1 and '"balance"' in updates[0] and '"name"' not in updates[0]
            await sess.update_now(row)  # nothing changed since: nothing to write
            row.name = "a"  # set to the value it has: not a change
            await sess.add(row)
            await sess.flush()
            assert len(logged(caplog, "UPDATE")) == 1
            row.note = "n"
            sess.add(row)
        assert len(logged(caplog, "UPDATE")) == 2
        assert await committed(db) == {row.id: ("a", 5, "n")}


async def test_update_of_a_changed_primary_key_finds_the_old_row(db):
    async with db.get_session() as sess:
        row = await sess.add(Account(name="a"))
        old = row.id
        row.id = old + 100
        row.name = "moved"
        await sess.update_now(row)
    assert await committed(db) == {old + 100: ("moved", 0, None)}


async def test_update_of_a_deleted_row_is_stale(db):
    async with db.get_session() as sess:
        row = await sess.add(Account(name="a"))
    async with db.get_session() as other:
        await other.execute("DELETE FROM accounts")
    async with db.get_session() as sess:
        row.balance = 3
        with pytest.raises(StaleDataError):
            await sess.update_now(row)


# --- merge, remove, insert_now, update_now, truncate

async def test_merge_updates_only_the_set_columns_of_a_row_not_loaded(db):
    async with db.get_session() as sess:
        row = await sess.add(Account(name="a", balance=1, note="keep"))
    async with db.get_session() as sess:
        merged = await sess.merge(Account(id=row.id, balance=9))
        # the row now holds what the database has
        assert (merged.name, merged.balance, merged.note) == ("a", 9, "keep")
    assert await committed(db) == {row.id: ("a", 9, "keep")}


async def test_merge_inserts_a_row_that_is_absent(db):
    async with db.get_session() as sess:
        row = await sess.merge(Account(id=1000, name="m", balance=2))
        assert row.id == 1000
    assert await committed(db) == {1000: ("m", 2, None)}


async def test_merge_writes_the_columns_given_and_set_after_construction(db):
    async with db.get_session() as sess:
        row = await sess.add(Account(name="a", balance=1, note="keep"))
    async with db.get_session() as sess:
        # every column given (no default applies), then one more set on the new object
        new = Account(id=row.id, name="b", balance=2, note=None)
        new.note = "set later"
        merged = await sess.merge(new)
        assert (merged.name, merged.balance, merged.note) == ("b", 2, "set later")
    async with db.get_session() as sess:
        # a default filled "note": it is not written over the stored value
        partial = Account(id=row.id, name="c")
        partial.balance = 3
        await sess.merge(partial)
    assert await committed(db) == {row.id: ("c", 3, "set later")}


async def test_merge_of_a_changed_loaded_row(db):
    async with db.get_session() as sess:
        await sess.add(Account(name="a"))
    async with db.get_session() as sess:
        row = await sess.select(Account).first()
        row.note = "merged"
        await sess.merge(row)
    assert await committed(db) == {row.id: ("a", 0, "merged")}


async def test_merge_needs_a_primary_key(db):
    async with db.get_session() as sess:
        with pytest.raises(ArgumentError):
            await sess.merge(Account(name="nokey"))


async def test_remove_and_delete_now(db):
    async with db.get_session() as sess:
        a = await sess.add(Account(name="a"))
        b = await sess.add(Account(name="b"))
        c = await sess.add(Account(name="c"))
    async with db.get_session() as sess:
        assert await sess.remove(a) is a
        await sess.delete_now(b)
        assert await committed(db) == {a.id: ("a", 0, None), b.id: ("b", 0, None),
                                       c.id: ("c", 0, None)}
    assert await names(db) == ["c"]


async def test_remove_rolled_back_keeps_the_row(db):
    async with db.get_session() as sess:
        a = await sess.add(Account(name="a"))
    async with db.get_session() as sess:
        await sess.remove(a)
        await sess.rollback()
    assert await names(db) == ["a"]


async def test_insert_now_and_update_now(db):
    async with db.get_session() as sess:
        row = await sess.insert_now(Account(name="a", balance=1))
        assert isinstance(row.id, int)
        row.balance = 2
        assert await sess.update_now(row) is row
        assert (await sess.fetch("SELECT balance FROM accounts WHERE id = {id}",
                                 {"id": row.id})) == {"balance": 2}
    assert await committed(db) == {row.id: ("a", 2, None)}


async def test_truncate(db):
    async with db.get_session() as sess:
        for i in range(3):
            await sess.add(Account(name=f"n{i}"))
    async with db.get_session() as sess:
        await sess.truncate(Account)
        assert await sess.fetch("SELECT id FROM accounts") is None
        await sess.rollback()  # transactional on both backends
    assert len(await committed(db)) == 3
    async with db.get_session() as sess:
        await sess.truncate(Account)
    assert await committed(db) == {}


# --- raw SQL

async def test_execute_with_named_parameters_returns_rows_changed(db):
    async with db.get_session() as sess:
        for i in range(3):
            n = await sess.execute("INSERT INTO accounts (name, balance) VALUES ({name}, {b})",
                                   {"name": f"n{i}", "b": i})
            assert n == 1
        changed = await sess.execute(
            "UPDATE accounts SET balance = balance + {d} WHERE balance >= {d}", {"d": 1})
        assert changed == 2
        # {{ and }} are literal braces; a parameter may be used twice
        row = await sess.fetch("SELECT '{{x}}' AS lit, CAST({v} AS INTEGER) AS a, "
                              "CAST({v} AS INTEGER) AS b", {"v": 4})
        assert row == {"lit": "{x}", "a": 4, "b": 4}
        with pytest.raises(ArgumentError):
            await sess.execute("SELECT {missing}", {"other": 1})
    assert list((await committed(db)).values()) == [("n0", 0, None), ("n1", 2, None),
                                                    ("n2", 3, None)]


async def test_cursor_reads_rows_as_mappings(db):
    async with db.get_session() as sess:
        await sess.execute("INSERT INTO accounts (name, balance) VALUES ('x', 0)")
        for i in range(1, 250):
            sess.add(Account(name=f"n{i:03}", balance=i))
        await sess.flush()
        sql = "SELECT name, balance FROM accounts WHERE balance >= {low} ORDER BY balance"
        result = await sess.cursor(sql, {"low": 0})
        assert await result.fetch_row() == {"name": "x", "balance": 0}
        many = await result.fetch_many(150)  # crosses the driver's fetch chunks
        assert [r["balance"] for r in many] == list(range(1, 151))
        rest = []
        async for r in result:
            rest.append(r["balance"])
            if len(rest) == 10:
                break
        assert rest == list(range(151, 161))
        assert [r["balance"] for r in await result.flatten()] == list(range(161, 250))
        assert await result.fetch_row() is None
        assert await result.fetch_many(5) == []
        empty = await sess.cursor(sql, {"low": 10_000})
        assert await empty.flatten() == []


async def test_cursor_left_unfinished_does_not_block_commit(db):
    async with db.get_session() as sess:
        for i in range(300):
            sess.add(Account(name=f"n{i}"))
        await sess.flush()
        result = await sess.cursor("SELECT id FROM accounts ORDER BY id")
        assert (await result.fetch_row())["id"] == 1
        await sess.add(Account(name="more"))
    assert len(await committed(db)) == 301


async def test_fetch_returns_a_mapping_or_none(db):
    async with db.get_session() as sess:
        await sess.add(Account(name="a", balance=4))
        row = await sess.fetch("SELECT name, balance FROM accounts WHERE name = {n}", {"n": "a"})
        assert row == {"name": "a", "balance": 4}
        assert row["balance"] == 4
        assert await sess.fetch("SELECT name FROM accounts WHERE name = {n}", {"n": "zz"}) is None


async def test_interface_execute_and_fetch_use_their_own_transaction(db):
    assert await db.execute("INSERT INTO accounts (name, balance) VALUES ({n}, 1)", {"n": "a"}) == 1
    assert await db.fetch("SELECT name FROM accounts") == {"name": "a"}
    assert db.pool.checkedout() == 0


# --- connections come back

async def test_connections_are_returned_after_many_sessions(db):
    for i in range(40):
        async with db.get_session() as sess:
            await sess.add(Account(name=f"s{i}"))
    for _ in range(5):
        with pytest.raises(ZeroDivisionError):
            async with db.get_session() as sess:
                await sess.fetch("SELECT 1 AS one")
                1 / 0

    async def reader() -> int:
        async with db.get_session() as sess:
            return (await sess.fetch("SELECT count(*) AS n FROM accounts"))["n"]

    counts = await asyncio.gather(*(reader() for _ in range(40)))
    assert counts == [40] * 40
    assert db.pool.checkedout() == 0
    assert db.pool.checkedin() <= db.pool.size()
