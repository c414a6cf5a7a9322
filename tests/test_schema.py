"""Tables as the database sees them: CREATE/DROP, keys, constraints, defaults, indexes,
foreign keys, hostile identifiers, and the row API."""
from __future__ import annotations

import datetime
import itertools
import uuid

import pytest

from asyncqlio import (JSON, UUID, BigInt, Boolean, Column, ForeignKey, Index, Integer, Real,
                       Serial, String, Text, Timestamp, exc, table_base)
from asyncqlio._speedups import _row

Table = table_base()


class Thing(Table, table_name="things"):
    id = Column(Integer, primary_key=True)
    name = Column(String(64), unique=True)
    note = Column(Text, nullable=True)


class Big(Table, table_name="big"):
    id = Column(BigInt, primary_key=True)
    note = Column(Text, nullable=True)


class Counter(Table, table_name="counter"):
    id = Column(Serial, primary_key=True)
    note = Column(Text, nullable=True)


class Membership(Table, table_name="membership"):
    user_id = Column(Integer, primary_key=True)
    group_id = Column(Integer, primary_key=True)
    role = Column(String(20), default="member")


class Keyed(Table, table_name="keyed"):
    code = Column(String(10), primary_key=True)
    label = Column(Text, nullable=True)


class Strict(Table, table_name="strict"):
    id = Column(Integer, primary_key=True)
    name = Column(Text)  # NOT NULL unless nullable=True
    maybe = Column(Text, nullable=True)


_seq = itertools.count(1)


class Defaults(Table, table_name="defaults"):
    id = Column(Integer, primary_key=True)
    score = Column(Real, default=0)
    tags = Column(JSON, default=list)
    seq = Column(Integer, default=lambda: next(_seq))
    token = Column(UUID, default=uuid.uuid4)
    server_num = Column(Integer, server_default="42")
    server_text = Column(Text, server_default="'it''s'")
    server_flag = Column(Boolean, server_default="TRUE")
    created = Column(Timestamp(timezone=True), server_default="CURRENT_TIMESTAMP")


class Indexed(Table, table_name="indexed"):
    id = Column(Integer, primary_key=True)
    a = Column(Integer, index=True)
    b = Column(Text)
    c = Column(Text, nullable=True)
    by_ab = Index(a, b)
    uq = Index(b, c, unique=True, name="uq_indexed_b_c")


class Parent(Table, table_name="parent"):
    id = Column(Integer, primary_key=True)
    name = Column(Text)


class Child(Table, table_name="child"):
    id = Column(Integer, primary_key=True)
    parent_id = Column(Integer, foreign_key=ForeignKey("parent.id", on_delete="CASCADE",
                                                       on_update="cascade"))


class Pet(Table):  # table name "pet"; the key is named by class
    id = Column(Integer, primary_key=True)
    owner_id = Column(Integer, nullable=True,
                      foreign_key=ForeignKey("Parent.id", on_delete="set null"))


class Toy(Table, table_name="toy"):
    id = Column(Integer, primary_key=True)
    parent_id = Column(Integer, foreign_key=ForeignKey(Parent.id))  # NO ACTION


class Decoy(Table, table_name="x"):
    id = Column(Integer, primary_key=True)
    note = Column(Text)


WEIRD = 'we"ird; DROP TABLE x; --'


class Hostile(Table, table_name="select"):
    id = Column(Integer, primary_key=True, name=WEIRD)
    user = Column(Text, name="user")
    order = Column(Integer, name="order", index=True)
    group = Column(String(20), name="group", unique=True, nullable=True)
    spaced = Column(Text, name="has space; DELETE FROM x", nullable=True)
    quotes = Column(Text, name="'single' \"double\" `back`", nullable=True)


class HostileChild(Table, table_name='ta"ble; DROP TABLE x; --'):
    id = Column(Integer, primary_key=True, name="from")
    parent = Column(Integer, name="where", nullable=True,
                    foreign_key=ForeignKey(Hostile.id, on_delete="CASCADE"), index=True)


ALL = [Thing, Big, Counter, Membership, Keyed, Strict, Defaults, Indexed, Parent, Child, Pet,
       Toy, Decoy, Hostile, HostileChild]


async def _setup(db, *tables) -> None:
    db.bind_tables(Table)
    for table in tables or ALL:
        await table.create()


async def _rows(sess, sql: str, params=None) -> list[dict]:
    return await (await sess.cursor(sql, params)).flatten()


async def table_names(db, backend) -> set[str]:
    async with db.get_session() as sess:
        if backend == "sqlite":
            rows = await _rows(sess, "SELECT name FROM sqlite_master WHERE type = 'table'")
        else:
            rows = await _rows(sess, "SELECT tablename AS name FROM pg_tables "
                                     "WHERE schemaname = current_schema()")
    return {r["name"] for r in rows}


async def indexes(db, backend, table: str) -> dict[str, str]:
    """index name -> its definition, for the indexes the database has on ``table``."""
    async with db.get_session() as sess:
        if backend == "sqlite":
            rows = await _rows(sess, "SELECT name, sql FROM sqlite_master "
                                     "WHERE type = 'index' AND tbl_name = {t}", {"t": table})
        else:
            rows = await _rows(sess, "SELECT indexname AS name, indexdef AS sql FROM pg_indexes "
                                     "WHERE schemaname = current_schema() AND tablename = {t}",
                               {"t": table})
    return {r["name"]: r["sql"] or "" for r in rows}


# --- create / drop

async def test_create_and_drop(db, backend):
    await _setup(db, Thing, Big)
    assert {"things", "big"} <= await table_names(db, backend)
    await Thing.create()  # if_not_exists=True by default
    with pytest.raises(exc.ProgrammingError):
        await Thing.create(if_not_exists=False)
    async with db.get_session() as sess:
        await sess.add(Thing(name="kept"))
    await Thing.create()
    async with db.get_session() as sess:
        assert [t.name for t in await sess.select(Thing)] == ["kept"]

    await Thing.drop()
    assert "things" not in await table_names(db, backend)
    assert "big" in await table_names(db, backend)
    await Thing.drop()  # if_exists=True by default
    with pytest.raises(exc.ProgrammingError):
        await Thing.drop(if_exists=False)
    await Thing.create(if_not_exists=False)
    async with db.get_session() as sess:
        assert await sess.select(Thing) == []


async def test_truncate(db):
    await _setup(db, Thing)
    async with db.get_session() as sess:
        await sess.insert.rows(Thing(name="a"), Thing(name="b"))
    await Thing.truncate()
    async with db.get_session() as sess:
        assert await sess.select(Thing).count() == 0


async def test_unbound_table_refuses_io():
    Other = table_base()

    class Lonely(Other):
        id = Column(Integer, primary_key=True)

    with pytest.raises(exc.UnboundError):
        await Lonely.create()


# --- keys

async def test_integer_primary_key_autoincrements(db):
    await _setup(db, Thing, Big)
    async with db.get_session() as sess:
        a = await sess.add(Thing(name="a"))
        b, c = await sess.insert.rows(Thing(name="b"), Thing(name="c"))
        sess.add(Thing(name="d"))
    assert (a.id, b.id, c.id) == (1, 2, 3)
    async with db.get_session() as sess:
        explicit = await sess.add(Thing(id=100, name="explicit"))
        after = await sess.add(Thing(name="after"))
        big = await sess.add(Big(note="x"))
        big2 = await sess.add(Big(id=2**40))
        big3 = await sess.add(Big())
    assert explicit.id == 100
    assert isinstance(after.id, int) and after.id not in (1, 2, 3, 100)
    assert big.id == 1 and big2.id == 2**40 and isinstance(big3.id, int)
    async with db.get_session() as sess:
        ids = sorted(t.id for t in await sess.select(Thing))
        assert len(ids) == 6 and ids[:4] == [1, 2, 3, 4]


async def test_insert_rows_with_only_generated_columns(db):
    await _setup(db, Counter)
    async with db.get_session() as sess:
        rows = await sess.insert.rows(Counter(), Counter(), Counter())
        assert [r.id for r in rows] == [1, 2, 3]
    async with db.get_session() as sess:
        assert await sess.select(Counter).count() == 3


async def test_serial(db, backend):
    await _setup(db, Counter)
    async with db.get_session() as sess:
        rows = await sess.insert.rows(*[Counter(note=str(i)) for i in range(5)])
    assert [r.id for r in rows] == [1, 2, 3, 4, 5]
    if backend == "postgresql":
        async with db.get_session() as sess:
            info = await sess.fetch(
                "SELECT data_type, column_default FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = 'counter' "
                "AND column_name = 'id'")
        assert info["data_type"] == "integer"
        assert info["column_default"].startswith("nextval(")


async def test_compound_primary_key(db):
    await _setup(db, Membership)
    async with db.get_session() as sess:
        await sess.insert.rows(Membership(user_id=1, group_id=1),
                               Membership(user_id=1, group_id=2, role="owner"),
                               Membership(user_id=2, group_id=1))
    with pytest.raises(exc.IntegrityError):
        async with db.get_session() as sess:
            await sess.add(Membership(user_id=1, group_id=2))
    with pytest.raises(exc.IntegrityError):
        async with db.get_session() as sess:
            await sess.add(Membership(user_id=3))  # half a key

    async with db.get_session() as sess:
        m = await sess.select(Membership).where(Membership.user_id == 1,
                                                Membership.group_id == 2).first()
        assert (m.user_id, m.group_id, m.role) == (1, 2, "owner")
        m.role = "admin"
        await sess.add(m)
        moved = await sess.select(Membership).where(Membership.user_id == 2).first()
        moved.group_id = 5  # a key column changes: the UPDATE finds the row by its old key
        await sess.add(moved)
        await sess.merge(Membership(user_id=1, group_id=1, role="merged"))
    async with db.get_session() as sess:
        rows = await sess.select(Membership).order_by(Membership.user_id, Membership.group_id)
        assert [(r.user_id, r.group_id, r.role) for r in rows] == \
            [(1, 1, "merged"), (1, 2, "admin"), (2, 5, "member")]
        await sess.remove(rows[1])
    async with db.get_session() as sess:
        rows = await sess.select(Membership).order_by(Membership.user_id, Membership.group_id)
        assert [(r.user_id, r.group_id) for r in rows] == [(1, 1), (2, 5)]
        assert rows[0] == Membership(user_id=1, group_id=1)
        assert rows[0] != Membership(user_id=1, group_id=2)
    assert tuple(c.name for c in Membership.primary_key) == ("user_id", "group_id")


async def test_text_primary_key_is_not_null(db):
    await _setup(db, Keyed)
    for bad in (Keyed(label="no key"), Keyed(code=None)):
        with pytest.raises(exc.IntegrityError):
            async with db.get_session() as sess:
                await sess.add(bad)
    async with db.get_session() as sess:
        await sess.add(Keyed(code="k1"))
    with pytest.raises(exc.IntegrityError):
        async with db.get_session() as sess:
            await sess.add(Keyed(code="k1"))
    async with db.get_session() as sess:
        assert [k.code for k in await sess.select(Keyed)] == ["k1"]


# --- constraints and defaults

async def test_not_null(db):
    await _setup(db, Strict)
    for bad in (Strict(), Strict(name=None), Strict(maybe="x")):
        with pytest.raises(exc.IntegrityError):
            async with db.get_session() as sess:
                await sess.add(bad)
    async with db.get_session() as sess:
        ok = await sess.add(Strict(name="a"))
        assert ok.maybe is None
    with pytest.raises(exc.IntegrityError):
        async with db.get_session() as sess:
            await sess.update(Strict).set(Strict.name, None)
    async with db.get_session() as sess:
        loaded = await sess.select(Strict).first()
        loaded.name = None
        with pytest.raises(exc.IntegrityError):
            await sess.add(loaded)
        await sess.rollback()
    async with db.get_session() as sess:
        assert [(s.name, s.maybe) for s in await sess.select(Strict)] == [("a", None)]


async def test_defaults(db):
    await _setup(db, Defaults)
    first, second = Defaults(), Defaults(seq=1000, score=2.5, server_num=7, server_flag=False)
    seq = first.seq
    # Python defaults are there before the INSERT, converted like assigned values
    assert first.score == 0.0 and type(first.score) is float
    assert first.tags == [] and first.tags is not second.tags
    assert isinstance(first.token, uuid.UUID) and first.token != second.token
    assert first.server_num is None  # known only once the database has written it
    # a callable is called once per row, and not when a value is given
    assert second.seq == 1000 and Defaults().seq == seq + 1
    started = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)
    async with db.get_session() as sess:
        await sess.insert.rows(first, second)
        assert (first.server_num, first.server_text, first.server_flag) == (42, "it's", True)
        assert first.created.tzinfo is not None and first.created >= started
    async with db.get_session() as sess:
        rows = await sess.select(Defaults).order_by(Defaults.id)
        assert [(r.score, r.tags, r.seq, r.server_num, r.server_flag) for r in rows] == \
            [(0.0, [], seq, 42, True), (2.5, [], 1000, 7, False)]
        assert rows[0].token == first.token and rows[0].token != rows[1].token
        assert rows[0].created == first.created
        assert type(rows[0].server_flag) is bool
        now = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=1)
        recent = sess.select(Defaults).where(Defaults.created.between(started, now))
        assert await recent.count() == 2


def test_default_of_wrong_type_is_refused():
    Other = table_base()

    class Bad(Other):
        id = Column(Integer, primary_key=True)
        n = Column(Integer, default="zero")

    with pytest.raises(TypeError):
        Bad()
    assert Bad(n=1).n == 1


async def test_unique(db):
    await _setup(db, Thing, Indexed)
    async with db.get_session() as sess:
        await sess.add(Thing(name="a"))
    with pytest.raises(exc.IntegrityError):
        async with db.get_session() as sess:
            await sess.add(Thing(name="a"))
    async with db.get_session() as sess:
        await sess.add(Thing(name="b"))
    async with db.get_session() as sess:
        thing = await sess.select(Thing).where(Thing.name == "b").first()
        thing.name = "a"
        with pytest.raises(exc.IntegrityError):
            await sess.add(thing)
        await sess.rollback()
    # Index(..., unique=True) over two columns
    async with db.get_session() as sess:
        await sess.insert.rows(Indexed(a=1, b="x", c="y"), Indexed(a=1, b="x", c="z"))
    with pytest.raises(exc.IntegrityError):
        async with db.get_session() as sess:
            await sess.add(Indexed(a=2, b="x", c="y"))
    async with db.get_session() as sess:
        assert sorted(t.name for t in await sess.select(Thing)) == ["a", "b"]
        assert await sess.select(Indexed).count() == 2


async def test_indexes_are_created(db, backend):
    await _setup(db, Indexed, Thing, Hostile, HostileChild)
    found = await indexes(db, backend, "indexed")
    # a column's index is ix_<table>_<column>; a class body's is named after its attribute
    assert {"ix_indexed_a", "indexed_by_ab", "uq_indexed_b_c"} <= set(found)
    assert "UNIQUE" in found["uq_indexed_b_c"].upper()
    for name in ("ix_indexed_a", "indexed_by_ab"):
        assert "UNIQUE" not in found[name].upper()
    assert "ix_select_order" in await indexes(db, backend, "select")
    assert f'ix_{HostileChild.__table__.name}_where' in \
        await indexes(db, backend, HostileChild.__table__.name)
    # unique=True is a constraint, backed by an index on both backends
    assert any(name != "things_pkey" and "pkey" not in name
               for name in await indexes(db, backend, "things"))
    await Indexed.create()  # the indexes exist already: IF NOT EXISTS
    assert set(await indexes(db, backend, "indexed")) == set(found)


async def test_long_index_names_stay_distinct(db, backend):
    """PostgreSQL cuts identifiers at 63 bytes; generated index names must not collide."""
    Other = table_base()
    long = "a_table_with_a_rather_long_name_" + "é" * 5  # 42 bytes, within the limit

    class Long(Other, table_name=long):
        id = Column(Integer, primary_key=True)
        first_column_with_long_name = Column(Integer, index=True)
        second_column_with_long_name = Column(Integer, index=True)
        both = Index(first_column_with_long_name, second_column_with_long_name, unique=True)

    db.bind_tables(Other)
    await Long.create()
    names = [i.name for i in Long.__table__.indexes]
    assert len(set(names)) == 3 and all(len(n.encode()) <= 63 for n in names)
    assert set(names) <= set(await indexes(db, backend, long))
    async with db.get_session() as sess:
        await sess.add(Long(first_column_with_long_name=1, second_column_with_long_name=2))
    with pytest.raises(exc.IntegrityError):
        async with db.get_session() as sess:
            await sess.add(Long(first_column_with_long_name=1, second_column_with_long_name=2))


# --- foreign keys

async def test_foreign_keys(db):
    await _setup(db, Parent, Child, Pet, Toy)
    with pytest.raises(exc.IntegrityError):
        async with db.get_session() as sess:
            await sess.add(Child(parent_id=999))
    async with db.get_session() as sess:
        p1, p2 = await sess.insert.rows(Parent(name="one"), Parent(name="two"))
        await sess.insert.rows(Child(parent_id=p1.id), Child(parent_id=p1.id),
                               Child(parent_id=p2.id))
    with pytest.raises(exc.IntegrityError):
        async with db.get_session() as sess:
            await sess.update(Child).set(Child.parent_id, 12345).where(Child.parent_id == p1.id)
    async with db.get_session() as sess:
        p1.id = 10  # ON UPDATE CASCADE
        await sess.add(p1)
        assert sorted(c.parent_id for c in await sess.select(Child)) == [p2.id, 10, 10]

    async with db.get_session() as sess:
        await sess.insert.rows(Pet(owner_id=p1.id), Pet(owner_id=p2.id))
        toy = await sess.add(Toy(parent_id=p2.id))
    async with db.get_session() as sess:
        await sess.delete(Parent).where(Parent.id == p1.id)  # CASCADE, SET NULL
    async with db.get_session() as sess:
        assert [c.parent_id for c in await sess.select(Child)] == [p2.id]
        assert sorted((p.owner_id or 0) for p in await sess.select(Pet)) == [0, p2.id]

    with pytest.raises(exc.IntegrityError):  # the toy still points at p2 (NO ACTION)
        async with db.get_session() as sess:
            await sess.remove(p2)
    async with db.get_session() as sess:
        await sess.remove(toy)
        await sess.remove(p2)
    async with db.get_session() as sess:
        assert await sess.select(Parent).count() == 0
        assert await sess.select(Child).count() == 0
        assert [p.owner_id for p in await sess.select(Pet)] == [None, None]


async def test_drop_referenced_table(db, backend):
    await _setup(db, Parent, Toy)
    async with db.get_session() as sess:
        parent = await sess.add(Parent(name="p"))
        await sess.add(Toy(parent_id=parent.id))
    with pytest.raises(exc.DatabaseError):
        await Parent.drop()
    assert {"parent", "toy"} <= await table_names(db, backend)
    if backend == "postgresql":
        await Parent.drop(cascade=True)  # drops the constraint, keeps the referencing table
        assert "parent" not in await table_names(db, backend)
        async with db.get_session() as sess:
            assert await sess.select(Toy).count() == 1


async def test_foreign_key_errors(db):
    Other = table_base()

    class Orphan(Other):
        id = Column(Integer, primary_key=True)
        ref = Column(Integer, foreign_key=ForeignKey("nowhere.id"))

    with pytest.raises(exc.SchemaError, match="nowhere"):
        db.bind_tables(Other)  # references are resolved when the tables are bound
    with pytest.raises(exc.SchemaError):
        await Orphan.create()
    with pytest.raises(exc.SchemaError):
        ForeignKey("parent.id", on_delete="EXPLODE")
    with pytest.raises(exc.SchemaError):
        ForeignKey("parent.id", on_update="CASCADE; DROP TABLE x")


# --- hostile identifiers

async def test_hostile_names(db, backend):
    await _setup(db, Decoy, Hostile, HostileChild)
    async with db.get_session() as sess:
        await sess.add(Decoy(note="still here"))
        a = await sess.add(Hostile(user="alice", order=1, group="g1", spaced="s", quotes="q"))
        b, c = await sess.insert.rows(Hostile(user="bob", order=2), Hostile(user="carol", order=3))
        await sess.add(HostileChild(parent=a.id))
        assert (a.id, b.id, c.id) == (1, 2, 3)
    with pytest.raises(exc.IntegrityError):
        async with db.get_session() as sess:
            await sess.add(Hostile(user="dup", order=9, group="g1"))

    async with db.get_session() as sess:
        found = await sess.select(Hostile).where(Hostile.user == "alice", Hostile.order < 2,
                                                 Hostile.group == "g1").first()
        assert found.to_dict() == {"id": 1, "user": "alice", "order": 1, "group": "g1",
                                   "spaced": "s", "quotes": "q"}
        assert await sess.select(Hostile).where(Hostile.spaced.startswith("s")).count() == 1
        ordered = await sess.select(Hostile).order_by(Hostile.order.desc())
        assert [h.user for h in ordered] == ["carol", "bob", "alice"]
        found.user = "alice2"
        found.quotes = 'x"; DROP TABLE x; --'
        await sess.add(found)
        assert await sess.update(Hostile).set(Hostile.group, "g2").where(Hostile.order == 2) == 1
        await sess.merge(Hostile(id=3, user="carol2", order=30))
        await sess.insert.rows(Hostile(id=3, user="carol3", order=33)) \
            .on_conflict(Hostile.id).update(Hostile.user)
        raw = await sess.fetch('SELECT "user", "order" FROM "select" '
                               'WHERE "we""ird; DROP TABLE x; --" = 3')
        assert raw == {"user": "carol3", "order": 30}

    async with db.get_session() as sess:
        rows = await sess.select(Hostile).order_by(Hostile.id)
        assert [(h.id, h.user, h.group, h.quotes) for h in rows] == [
            (1, "alice2", "g1", 'x"; DROP TABLE x; --'), (2, "bob", "g2", None),
            (3, "carol3", None, None)]
        await sess.remove(rows[1])
        assert await sess.delete(Hostile).where(Hostile.id == 1) == 1  # cascades to the child
    async with db.get_session() as sess:
        assert [h.id for h in await sess.select(Hostile)] == [3]
        assert await sess.select(HostileChild).count() == 0
        assert [d.note for d in await sess.select(Decoy)] == ["still here"]

    await HostileChild.drop()
    await Hostile.drop()
    assert await table_names(db, backend) >= {"x"}
    assert not {"select", HostileChild.__table__.name} & await table_names(db, backend)
    async with db.get_session() as sess:
        assert await sess.select(Decoy).count() == 1


# --- the row API

def test_row_api():
    t = Thing(name="a", note=None)
    assert t.to_dict() == {"id": None, "name": "a", "note": None}
    assert repr(t) == "<Thing id=None name='a' note=None>"
    with pytest.raises(TypeError, match="Thing.__init__"):
        Thing(nmae="typo")
    with pytest.raises(TypeError):
        Thing(name=5)
    with pytest.raises(TypeError):
        Thing("a")  # columns are keywords only

    # equality by primary key; rows without one are only equal to themselves
    assert Thing(name="a") != Thing(name="a")
    assert t == t
    assert Thing(id=1, name="a") == Thing(id=1, name="b")
    assert Thing(id=1) != Thing(id=2)
    assert Thing(id=1) != Big(id=1)
    assert hash(Thing(id=1)) == hash(Thing(id=1, note="x"))
    assert len({Thing(id=1), Thing(id=1), Thing(id=2)}) == 2

    h = Hostile(id=5, user="u")
    assert h.to_dict()["id"] == 5  # keyed by attribute, not by the column's SQL name
    assert Hostile.get_column(WEIRD) is Hostile.id
    assert Hostile.get_column("id") is Hostile.id
    assert Hostile.get_column("has space; DELETE FROM x") is Hostile.spaced
    assert Hostile.get_column("nope") is None
    assert [c.name for c in Thing.iter_columns()] == ["id", "name", "note"]
    assert [c.name for c in Hostile.iter_columns()][0] == WEIRD
    assert Thing.primary_key == (Thing.id,)
    assert Thing.id.table is Thing and Thing.id.table_name == "things"


def test_model_constructors():
    Other = table_base()

    class Custom(Other, table_name="custom_init"):
        id = Column(Integer, primary_key=True)
        name = Column(String(20))

        def __init__(self, name):
            super().__init__(name=name.upper())

    class Child(Custom, table_name="custom_child"):
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        extra = Column(Integer, default=7)

    c = Custom("ab")
    assert (c.id, c.name) == (None, "AB")
    with pytest.raises(TypeError, match="unexpected keyword argument 'nope'"):
        _row.RowBase.__init__(c, nope=1)  # the keyword path, for super().__init__(**values)
    child = Child("cd")  # its own columns, the parent's __init__ kept
    assert (child.name, child.extra) == ("CD", 7)



def test_constructor_calls():
    """Compiled, ``User(...)`` is a C vectorcall that reads the keywords off the stack; it
    must do what calling the class through ``type.__call__`` does, and step aside for a
    class whose construction was changed."""
    import functools
    import inspect

    from asyncqlio._speedups import COMPILED

    Other = table_base()

    class Made(Other, table_name="made"):
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        tag = Column(String(10), default="t")
        stamp = Column(Integer, default=lambda: 42)

    assert _row.install_constructor(type("Probe", (), {})) is COMPILED
    in_order = Made(id=1, name="a", tag="x", stamp=3)
    assert (in_order.id, in_order.name, in_order.tag, in_order.stamp) == (1, "a", "x", 3)
    assert in_order._prior is None and in_order._state == _row.TRANSIENT
    shuffled = Made(stamp=3, name="b", id=2)  # out of order; a default fills tag
    assert (shuffled.id, shuffled.name, shuffled.tag, shuffled.stamp) == (2, "b", "t", 3)
    assert _row.written(shuffled) == (0, 1, 3)
    assert [_row.old_value(shuffled, i) for i in (0, 1, 3)] == [_row.NO_VALUE] * 3
    built = "na" + "".join(["me"])  # a keyword that is not the interned column name
    assert Made(**{built: "c", "id": 3}).name == "c"
    assert Made().stamp == 42 and Made().id is None
    assert functools.partial(Made, id=4)(name="d").name == "d"
    with pytest.raises(TypeError, match=r"Made.__init__\(\) got an unexpected keyword argument 'nmae'"):
        Made(nmae="x")
    with pytest.raises(TypeError):
        Made(1)
    with pytest.raises(TypeError):
        Made(name=5)  # checked as an attribute write is
    assert str(inspect.signature(Made)) == "(*, id=None, name=None, tag=None, stamp=None)"

    calls = []

    def later_init(self, **values):
        calls.append(values)
        _row.RowBase.__init__(self, **values)

    Made.__init__ = later_init  # assigned after the class was made: it runs
    assert Made(id=5, name="e").name == "e" and calls == [{"id": 5, "name": "e"}]

    class WithNew(Other, table_name="with_new"):
        id = Column(Integer, primary_key=True)

        def __new__(cls, **values):
            calls.append("new")
            return super().__new__(cls)

    assert WithNew(id=6).id == 6 and calls[-1] == "new"

    class Meta(type):
        def __call__(cls, *args, **kwargs):
            calls.append("meta")
            return super().__call__(*args, **kwargs)

    class Metaed(Other, metaclass=Meta, table_name="metaed"):
        id = Column(Integer, primary_key=True)

    assert Metaed(id=7).id == 7 and calls[-1] == "meta"

async def test_loaded_rows_equal_by_key(db):
    await _setup(db, Thing)
    async with db.get_session() as sess:
        added = await sess.add(Thing(name="a"))
    async with db.get_session() as sess:
        loaded = await sess.select(Thing).first()
    async with db.get_session() as sess:
        again = await sess.select(Thing).first()
    assert loaded == added == again
    assert loaded.to_dict() == {"id": 1, "name": "a", "note": None}
    assert repr(loaded) == "<Thing id=1 name='a' note=None>"


def test_schema_errors():
    Other = table_base()
    with pytest.raises(exc.SchemaError):
        class NoKey(Other):
            a = Column(Integer)
    with pytest.raises(exc.SchemaError):
        Column(Integer, primary_key=True, nullable=True)

    class Once(Other, table_name="once"):
        id = Column(Integer, primary_key=True)

    with pytest.raises(exc.SchemaError):
        class Twice(Other, table_name="once"):
            id = Column(Integer, primary_key=True)
    with pytest.raises(exc.SchemaError):
        class Elsewhere(Other):
            id = Column(Integer, primary_key=True)
            ix = Index(Once.id)
    with pytest.raises(exc.SchemaError):
        Index()
    with pytest.raises(exc.SchemaError):
        class Nul(Other):
            id = Column(Integer, primary_key=True, name="a\x00b")
    with pytest.raises(exc.SchemaError):
        class Empty(Other, table_name=""):
            id = Column(Integer, primary_key=True)
    with pytest.raises(exc.SchemaError):
        class Same(Other):
            id = Column(Integer, primary_key=True)
            other = Column(Integer, name="id")


def test_with_name():
    column = Column.with_name("free", String(10), nullable=True, unique=True)
    assert (column.name, column.nullable, column.unique) == ("free", True, True)
    assert repr(column.type) == "String(10)"
