"""Bulk ``sess.update(T)`` / ``sess.delete(T)`` keep the session's objects in step with the
database (SQLAlchemy's synchronize_session="fetch"), a rollback takes that back, and
``sess.execute()`` of them gives a Result with ``rowcount``; on both backends, checked
against the database."""
from __future__ import annotations

import pytest

from asyncqlio import Boolean, Column, ForeignKey, Integer, String, aliased, table_base
from asyncqlio._speedups import _row
from asyncqlio.exc import ExpiredAttributeError, ResourceClosedError

Table = table_base()


class Team(Table, table_name="teams"):
    id = Column(Integer, primary_key=True)
    name = Column(String(32))


class Player(Table, table_name="players"):
    id = Column(Integer, primary_key=True)
    name = Column(String(32))
    score = Column(Integer)
    team_id = Column(Integer, foreign_key=ForeignKey("teams.id"), nullable=True)
    active = Column(Boolean, default=True)


@pytest.fixture
async def db(db):
    db.bind_tables(Table)
    await Team.create()
    await Player.create()
    async with db.get_session() as sess:
        await sess.insert.rows(Team(id=1, name="red"), Team(id=2, name="blue"))
        await sess.insert.rows(*(Player(id=i, name=f"p{i}", score=i * 10, team_id=1 + i % 2)
                                 for i in range(1, 6)))
    return db


async def in_db(sess) -> dict[int, tuple]:
    """The players the session's transaction sees, read with raw SQL (not the map)."""
    rows = await (await sess.cursor("SELECT id, name, score FROM players ORDER BY id")).flatten()
    return {r["id"]: (r["name"], r["score"]) for r in rows}


START = {i: (f"p{i}", i * 10) for i in range(1, 6)}


async def test_update_gives_loaded_objects_the_new_values(db):
    async with db.get_session() as sess:
        p1, p2, p5 = await sess.select(Player).where(Player.id.in_([1, 2, 5])).order_by(Player.id)
        p2.name = "renamed"  # unflushed: autoflush writes it first
        n = await sess.update(Player).set(Player.score, Player.score + 1).where(Player.id <= 3)
        assert n == 3
        assert (p1.score, p2.score, p5.score) == (11, 21, 50)  # p5 was not matched
        assert p2.name == "renamed" and not sess.dirty and not sess.is_modified(p2)
        assert len(sess.identity_map) == 3  # rows 3 and 4 were not loaded: not created now
        assert await in_db(sess) == {**START, 1: ("p1", 11), 2: ("renamed", 21), 3: ("p3", 31)}
        assert await sess.get(Player, 1) is p1
    async with db.get_session() as sess:
        assert (await sess.get(Player, 2)).score == 21  # committed


async def test_update_keeps_unflushed_changes_of_other_columns(db):
    async with db.get_session() as sess:
        p1 = await sess.get(Player, 1)
        p2 = await sess.get(Player, 2)
        with sess.no_autoflush:
            p1.name = "kept"          # another column: stays a pending change
            p2.score = 500            # a set column: becomes what the database computed
            count = await sess.update(Player).set(Player.score, Player.score * 2) \
                .where(Player.id.in_([1, 2]))
        assert count == 2
        assert (p1.name, p1.score) == ("kept", 20) and p2.score == 40
        assert sess.dirty == [p1] and not sess.is_modified(p2)
        assert (await in_db(sess))[1] == ("p1", 20)  # the name is not written yet
        await sess.flush()
        assert await in_db(sess) == {**START, 1: ("kept", 20), 2: ("p2", 40)}


async def test_update_values_of_all_kinds_and_no_objects(db):
    async with db.get_session() as sess:
        # nothing of Player in the map: no RETURNING needed, the row count comes back
        assert await sess.update(Player).set(Player.name, "x").where(Player.id == 99) == 0
        t = await sess.get(Team, 1)
        assert await sess.update(Team).set(Team.name, "crimson").where(Team.id == 1) == 1
        assert t.name == "crimson"


async def test_update_loads_values_as_the_column_type_does(db):
    async with db.get_session() as sess:
        p1 = await sess.get(Player, 1)
        p2 = await sess.get(Player, 2)
        sess.expire(p2, ["name", "score", "active"])
        await sess.update(Player).set(Player.active, False).set(Player.score, 5) \
            .where(Player.id <= 2)
        assert p1.active is False and p1.score == 5  # a bool on SQLite too, not 0
        assert p2.active is False and p2.score == 5
        with pytest.raises(ExpiredAttributeError):
            p2.name  # expired and not set: still expired (no hidden I/O)
        await sess.refresh(p2)
        assert (p2.name, p2.active) == ("p2", False)


async def test_delete_marks_objects_deleted(db):
    async with db.get_session() as sess:
        p1, p2, p3 = await sess.select(Player).where(Player.id <= 3).order_by(Player.id)
        assert await sess.delete(Player).where(Player.score < 25) == 2
        assert p1._state == _row.DELETED and p2._state == _row.DELETED
        assert p1 not in sess and (Player, (1,)) not in sess.identity_map
        assert p3._state == _row.PERSISTENT and p3 in sess
        assert await sess.get(Player, 1) is None
        assert [p.id for p in await sess.select(Player).order_by(Player.id)] == [3, 4, 5]
    async with db.get_session() as sess:
        assert sorted((await in_db(sess))) == [3, 4, 5]


async def test_delete_of_a_row_marked_for_deletion_or_changed(db):
    async with db.get_session() as sess:
        p1 = await sess.get(Player, 1)
        p2 = await sess.get(Player, 2)
        with sess.no_autoflush:
            sess.delete(p1)
            p2.name = "gone anyway"
            assert await sess.delete(Player).where(Player.id <= 2) == 2
        assert not sess.deleted and not sess.dirty
        assert p1._state == p2._state == _row.DELETED
        await sess.flush()  # nothing left to write for them
        assert sorted(await in_db(sess)) == [3, 4, 5]


async def test_savepoint_rollback_restores_updated_and_deleted_objects(db):
    async with db.get_session() as sess:
        p1 = await sess.get(Player, 1)
        p2 = await sess.get(Player, 2)
        async with sess.begin_nested() as tx:
            p3 = await sess.get(Player, 3)  # loaded inside the savepoint
            await sess.update(Player).set(Player.score, Player.score + 100) \
                .where(Player.id.in_([1, 3]))
            await sess.delete(Player).where(Player.id == 2)
            assert (p1.score, p3.score, p2._state) == (110, 130, _row.DELETED)
            await tx.rollback()
        assert await in_db(sess) == START
        assert (p1.score, p3.score) == (10, 30)
        assert p2._state == _row.PERSISTENT and await sess.get(Player, 2) is p2
        assert await sess.get(Player, 3) is p3 and not sess.dirty
        p2.score = 7  # still tracked: written at commit
    async with db.get_session() as sess:
        assert (await in_db(sess))[2] == ("p2", 7)


async def test_rollback_of_deletes_loaded_in_the_transaction(db):
    async with db.get_session() as sess:
        await sess.checkpoint("before")
        p4 = await sess.get(Player, 4)  # loaded after the checkpoint
        deleted = await sess.delete(Player).where(Player.id >= 4).returning(Player)
        assert deleted[0] is p4 and [p._state for p in deleted] == [_row.DELETED] * 2
        assert sorted(await in_db(sess)) == [1, 2, 3]
        await sess.rollback("before")
        assert await in_db(sess) == START
        assert p4._state == _row.PERSISTENT and await sess.get(Player, 4) is p4
        p4.name = "back"
        await sess.flush()
        assert (await in_db(sess))[4] == ("back", 40)


async def test_full_rollback_restores_objects(db):
    async with db.get_session() as sess:
        p1 = await sess.get(Player, 1)
        await sess.commit()
        await sess.update(Player).set(Player.name, "tmp")
        await sess.delete(Player).where(Player.id == 1)
        assert p1._state == _row.DELETED and p1.name == "tmp"
        await sess.rollback()
        assert p1._state == _row.PERSISTENT and p1.name == "p1" and await sess.get(Player, 1) is p1
        assert await in_db(sess) == START


async def test_update_returning_table_gives_the_session_objects(db):
    async with db.get_session() as sess:
        p1 = await sess.get(Player, 1)
        rows = await sess.update(Player).set(Player.score, Player.score - 1) \
            .where(Player.id <= 2).returning(Player)
        rows.sort(key=lambda p: p.id)
        assert rows[0] is p1 and p1.score == 9
        assert rows[1].score == 19 and await sess.get(Player, 2) is rows[1]  # now mapped
        result = await sess.execute(
            sess.update(Player).set(Player.name, "z").where(Player.id == 1).returning(Player))
        assert result.rowcount == 1 and result.keys() == ["Player"]
        assert result.scalar_one() is p1 and p1.name == "z"


async def test_returning_columns_and_execute_results(db):
    async with db.get_session() as sess:
        p1 = await sess.get(Player, 1)
        rows = await sess.update(Player).set(Player.score, 0).where(Player.id == 1) \
            .returning(Player.name)
        assert rows == [("p1",)] and rows[0].name == "p1" and p1.score == 0
        result = await sess.execute(sess.update(Player).set(Player.score, 1)
                                    .where(Player.id <= 2))
        assert result.rowcount == 2 and not result.returns_rows
        assert p1.score == 1
        for read in (result.all, result.fetchone, result.first, result.scalar, result.one):
            with pytest.raises(ResourceClosedError):
                read()
        result = await sess.execute(sess.delete(Player).where(Player.id >= 4)
                                    .returning(Player.id, Player.name))
        assert result.rowcount == 2 and result.keys() == ["id", "name"]
        assert sorted(result.tuples().all()) == [(4, "p4"), (5, "p5")]
        result = await sess.execute(sess.delete(Player).where(Player.id == 99))
        assert result.rowcount == 0
        result = await sess.execute(sess.insert.rows(Player(id=9, name="n", score=1)))
        assert result.rowcount == 1 and not result.returns_rows
        result = await sess.execute(sess.insert.rows(Player(id=10, name="m", score=2))
                                    .returning(Player.id))
        assert result.scalar_one() == 10
        assert sorted(await in_db(sess)) == [1, 2, 3, 9, 10]


async def test_delete_returning_objects_not_loaded(db):
    async with db.get_session() as sess:
        gone = await sess.delete(Player).where(Player.id == 3).returning(Player)
        assert [(p.id, p.name, p._state) for p in gone] == [(3, "p3", _row.DELETED)]
        assert (Player, (3,)) not in sess.identity_map
        async with sess.begin_nested() as tx:
            p4 = (await sess.execute(sess.delete(Player).where(Player.id == 4)
                                     .returning(Player))).scalar_one()
            assert p4._state == _row.DELETED
            await tx.rollback()
        assert p4._state == _row.PERSISTENT and await sess.get(Player, 4) is p4


async def test_update_autoflushes_new_rows_first(db):
    async with db.get_session() as sess:
        p6 = Player(id=6, name="p6", score=60)
        sess.add(p6)  # pending: the bulk update must see it
        assert await sess.update(Player).set(Player.score, 0).where(Player.id >= 5) == 2
        assert p6.score == 0
        with sess.no_autoflush:
            sess.add(Player(id=7, name="p7", score=70))
            assert await sess.update(Player).set(Player.score, 1).where(Player.id >= 5) == 2
        await sess.flush()  # raw SQL does not autoflush
        assert (await in_db(sess))[7] == ("p7", 70)  # written after the update: untouched


async def test_update_of_the_primary_key_detaches_the_objects(db):
    async with db.get_session() as sess:
        p1 = await sess.get(Player, 1)
        p2 = await sess.get(Player, 2)
        assert await sess.update(Player).set(Player.id, Player.id + 100) \
            .where(Player.id <= 2) == 2
        assert p1 not in sess and p1._state == _row.DETACHED and p2 not in sess
        moved = await sess.get(Player, 101)
        assert moved is not p1 and moved.name == "p1"
        assert sorted(await in_db(sess)) == [3, 4, 5, 101, 102]


async def test_stream_keeps_columns_of_the_same_name(db):
    async with db.get_session() as sess:
        q = sess.select(Player.name, Team.name).join(Team).where(Player.id <= 2) \
            .order_by(Player.id)
        rows = await (await sess.stream(q)).all()
        assert [tuple(r) for r in rows] == [("p1", "blue"), ("p2", "red")]
        assert [tuple(r) for r in (await sess.execute(q)).all()] == [tuple(r) for r in rows]


async def test_execute_of_an_alias_is_keyed_by_the_alias_name(db):
    async with db.get_session() as sess:
        Other = aliased(Player, "other")
        result = await sess.execute(sess.select(Other).where(Other.id == 1))
        assert result.keys() == ["other"]
        row = result.one()
        assert row.other is await sess.get(Player, 1)
        streamed = await sess.stream(sess.select(Other).where(Other.id == 1))
        assert streamed.keys() == ["other"]
        assert (await streamed.scalar_one()) is row.other
