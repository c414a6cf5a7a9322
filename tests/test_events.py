"""Events on both backends: every name fires with its arguments, sync and coroutine listeners,
targets (an interface, its pool, the DatabaseInterface class, an execution_options child and
the rule that its listeners are its own while its parent's reach it), removal, and a
listener that raises."""
from __future__ import annotations

import asyncio

import pytest

from asyncqlio import DatabaseInterface, events
from asyncqlio.backends.connection import Connection
from asyncqlio.exc import ArgumentError, InterfaceError, OperationalError


async def test_every_event_fires_in_order(db):
    seen: list[tuple] = []

    def sync(name: str):
        def listener(conn: Connection, *args: object) -> None:
            assert isinstance(conn, Connection)
            seen.append((name, *args))
        return listener

    def coro(name: str):
        async def listener(conn: Connection, *args: object) -> None:
            await asyncio.sleep(0)
            seen.append((name, *args))
        return listener

    for i, name in enumerate(events.NAMES):
        events.listen(db, name, (sync if i % 2 else coro)(name))
    await db.dispose()  # so the next checkout opens a connection: "connect"

    async with db.get_session() as sess:
        await sess.execute("SELECT CAST({v} AS INTEGER)", {"v": 7})
    assert [s[0] for s in seen] == [
        "connect", "checkout",
        "before_execute", "after_execute", "begin",      # BEGIN
        "before_execute", "after_execute",               # SELECT
        "before_execute", "after_execute", "commit",     # COMMIT
        "checkin"]
    marker = "$1" if db.dialect.numeric else "?"
    assert [list(s[2]) for s in seen if s[0] == "before_execute" and "CAST" in s[1]] == [[7]]
    assert ("after_execute", f"SELECT CAST({marker} AS INTEGER)", [7]) in [
        (s[0], s[1], list(s[2])) for s in seen if s[0] == "after_execute"]

    seen.clear()
    with pytest.raises(ZeroDivisionError):
        async with db.begin() as conn:
            await conn.execute("SELECT 1")
            1 / 0
    assert [s[0] for s in seen if "execute" not in s[0]] == ["checkout", "begin", "rollback",
                                                              "checkin"]


async def test_pool_target_and_decorator(db):
    out: list[str] = []

    @events.listens_for(db.pool, "checkout")
    async def on_checkout(conn: Connection) -> None:
        out.append("checkout")

    @events.listens_for(db, "checkin")
    def on_checkin(conn: Connection) -> None:
        out.append("checkin")

    assert events.contains(db, "checkout", on_checkout)
    await db.scalar("SELECT 1")
    assert out == ["checkout", "checkin"]
    events.remove(db, "checkout", on_checkout)
    await db.scalar("SELECT 1")
    assert out == ["checkout", "checkin", "checkin"]
    with pytest.raises(ArgumentError):
        events.remove(db, "checkout", on_checkout)


async def test_class_level_listener_sees_every_interface(dsn):
    counts: dict[str, int] = {}

    def count(conn: Connection, sql: str, params: object) -> None:
        counts[sql] = counts.get(sql, 0) + 1

    events.listen(DatabaseInterface, "before_execute", count)
    try:
        async with DatabaseInterface(dsn) as one:
            await one.scalar("SELECT 11")
            async with DatabaseInterface(dsn) as two:
                await two.scalar("SELECT 11")
    finally:
        events.remove(DatabaseInterface, "before_execute", count)
    assert counts["SELECT 11"] == 2
    async with DatabaseInterface(dsn) as three:  # removed: nothing fires any more
        await three.scalar("SELECT 11")
        assert not three.dispatch.execute
    assert counts["SELECT 11"] == 2


ENGINE_EVENTS = ("before_execute", "after_execute", "begin", "commit", "rollback")


def recorder(seen: list[tuple[str, str]], who: str, name: str):
    return lambda conn, *args: seen.append((who, name))


async def test_child_listeners_fire_only_for_the_child(db):
    """SQLAlchemy's rule for execution_options(): the child hears its parent's listeners,
    the parent never hears the child's."""
    seen: list[tuple[str, str]] = []
    child = db.execution_options(shard_id="b")
    for name in ENGINE_EVENTS:
        events.listen(child, name, recorder(seen, "child", name))
    assert not db.dispatch.execute and not db.dispatch.transaction
    await db.execute("SELECT 1")
    async with db.get_session() as sess:
        await sess.execute("SELECT 1")
    async with db.begin() as conn:  # nothing listens here: the statement path has no events
        assert "_guard" not in conn.connection.__dict__
    assert seen == []

    for name in ENGINE_EVENTS:
        events.listen(db, name, recorder(seen, "parent", name))
    await db.execute("SELECT 1")
    assert {who for who, _ in seen} == {"parent"}
    seen.clear()
    await child.execute("SELECT 1")
    assert seen == [
        ("parent", "before_execute"), ("child", "before_execute"),  # BEGIN
        ("parent", "after_execute"), ("child", "after_execute"),
        ("parent", "begin"), ("child", "begin"),
        ("parent", "before_execute"), ("child", "before_execute"),  # SELECT 1
        ("parent", "after_execute"), ("child", "after_execute"),
        ("parent", "before_execute"), ("child", "before_execute"),  # COMMIT
        ("parent", "after_execute"), ("child", "after_execute"),
        ("parent", "commit"), ("child", "commit")]
    seen.clear()
    with pytest.raises(KeyError):
        async with child.begin() as conn:
            await conn.execute("SELECT 1")
            raise KeyError("boom")
    assert [e for e in seen if e[1] in ("begin", "rollback")] == [
        ("parent", "begin"), ("child", "begin"), ("parent", "rollback"), ("child", "rollback")]
    seen.clear()
    await db.execute("SELECT 1")  # the same pooled connection, back with the parent
    assert {who for who, _ in seen} == {"parent"}


async def test_parent_listeners_added_later_reach_every_descendant(db):
    seen: list[tuple[str, str]] = []
    child = db.execution_options(shard_id="b")
    grandchild = child.execution_options(shard_id="c")
    on_parent = recorder(seen, "parent", "commit")
    on_child = recorder(seen, "child", "commit")
    events.listen(db, "commit", on_parent)
    events.listen(child, "commit", on_child)
    await grandchild.execute("SELECT 1")
    await child.execute("SELECT 1")
    await db.execute("SELECT 1")
    assert seen == [("parent", "commit"), ("child", "commit"),  # grandchild
                    ("parent", "commit"), ("child", "commit"),  # child
                    ("parent", "commit")]                       # parent
    seen.clear()
    events.remove(db, "commit", on_parent)
    assert not events.contains(grandchild, "commit", on_parent)
    await grandchild.execute("SELECT 1")
    assert seen == [("child", "commit")]
    with pytest.raises(ArgumentError):  # it listens on child, not on its descendant
        events.remove(grandchild, "commit", on_child)


async def test_pool_events_of_a_child_belong_to_the_shared_pool(db):
    out: list[str] = []
    child = db.execution_options(shard_id="b")

    def on_checkout(conn: Connection) -> None:
        out.append("checkout")

    events.listen(child, "checkout", on_checkout)
    assert events.contains(db.pool, "checkout", on_checkout)
    await db.scalar("SELECT 1")
    await child.scalar("SELECT 1")
    async with db.get_session() as sess:
        await sess.execute("SELECT 1")
    assert out == ["checkout"] * 3
    events.remove(db.pool, "checkout", on_checkout)
    await child.scalar("SELECT 1")
    assert out == ["checkout"] * 3


async def test_class_level_listener_fires_once_for_a_child(dsn):
    counts: dict[str, int] = {}

    def count(conn: Connection, sql: str, params: object) -> None:
        counts[sql] = counts.get(sql, 0) + 1

    events.listen(DatabaseInterface, "before_execute", count)
    try:
        async with DatabaseInterface(dsn) as db:
            await db.execution_options(shard_id="b").execution_options().scalar("SELECT 12")
    finally:
        events.remove(DatabaseInterface, "before_execute", count)
    assert counts["SELECT 12"] == 1


async def test_a_childs_session_hears_the_childs_listeners(db):
    seen: list[tuple[str, str]] = []
    child = db.execution_options(shard_id="b")
    events.listen(child, "commit", recorder(seen, "child", "commit"))
    async with child.get_session() as sess:
        await sess.execute("SELECT 1")
    assert seen == [("child", "commit")]


async def test_before_execute_that_raises_stops_the_statement(db):
    def refuse(conn: Connection, sql: str, params: object) -> None:
        if "forbidden" in sql:
            raise PermissionError(sql)

    events.listen(db, "before_execute", refuse)
    with pytest.raises(PermissionError):
        await db.scalar("SELECT 'forbidden'")
    assert db.pool.checkedout() == 0
    assert all(not c.broken and not c.in_transaction for c in db.pool._idle)
    events.remove(db, "before_execute", refuse)
    assert await db.scalar("SELECT 'forbidden'") == "forbidden"


async def test_unknown_names_and_targets_are_refused(db):
    with pytest.raises(ArgumentError, match="unknown event"):
        events.listen(db, "on_connect", print)
    with pytest.raises(ArgumentError):
        events.listen(object(), "connect", print)


async def test_rollback_of_a_lost_connection_is_announced(db):
    """Closing a lost connection is what ends its transaction: listeners hear a rollback."""
    seen: list[str] = []
    events.listen(db, "rollback", lambda conn: seen.append("rollback"))
    sess = db.get_session()
    await sess.start()
    try:
        await sess.execute("SELECT 1")
        await sess.conn.raw.close()  # the driver connection goes away mid-transaction
        with pytest.raises((InterfaceError, OperationalError)):
            await sess.execute("SELECT 1")
        await sess.rollback()
        assert seen == ["rollback"]
        await sess.execute("SELECT 1")  # a new connection, a new transaction
        await sess.rollback()
        assert seen == ["rollback", "rollback"]
    finally:
        await sess.close()
