"""Statements built without a session, as SQLAlchemy 2.x writes them (``select()``,
``insert()``, ``update()``, ``delete()``, ``text()``, ``and_``/``or_``/``not_`` and the
ON CONFLICT inserts of :mod:`asyncqlio.dialects`), run through a session and through a
connection of ``db.begin()``, on SQLite files and on PostgreSQL. What is checked is what a
program sees: the rows in the database, the values of the objects, the errors. The last
test runs one program under SQLAlchemy and under asyncqlio, its imports changed, and
compares what each gives."""
from __future__ import annotations

import sys
import types
from typing import List, Optional

import asyncpg
import pytest
from conftest import PG_DSN, PG_SCHEMA

from asyncqlio import (ForeignKey, Integer, String, aliased, and_, asc, delete, desc, exists,
                       func, insert, not_, or_, select, text, update)
from asyncqlio.dialects import postgresql, sqlite
from asyncqlio.exc import (ArgumentError, DatabaseError, IntegrityError, InvalidRequestError,
                           OperationalError, PendingRollbackError, ResourceClosedError)
from asyncqlio.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "st_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(30), unique=True)
    fullname: Mapped[Optional[str]]
    score: Mapped[int] = mapped_column(default=0)
    #: attribute and column named apart; the database fills it in
    joined: Mapped[Optional[str]] = mapped_column("joined_on", String(20),
                                                  server_default="today")
    active: Mapped[bool] = mapped_column(default=True)
    addresses: Mapped[List[Address]] = relationship(back_populates="user")


class Address(Base):
    __tablename__ = "st_address"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str]
    user_id: Mapped[int] = mapped_column(ForeignKey("st_user.id"))
    user: Mapped[User] = relationship(back_populates="addresses")


class Folder(Base):
    """Its files are joined in by every select of folders (``lazy="joined"``)."""

    __tablename__ = "st_folder"

    id: Mapped[int] = mapped_column(primary_key=True)
    files: Mapped[List[File]] = relationship(lazy="joined")


class File(Base):
    __tablename__ = "st_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    folder_id: Mapped[int] = mapped_column(ForeignKey("st_folder.id"))


@pytest.fixture
async def tdb(db):
    """The test database with three users (a: two addresses, b: one, c: none)."""
    db.bind_tables(Base)
    await User.create()
    await Address.create()
    async with db.get_session() as sess:
        await sess.execute(insert(User), [
            {"name": "a", "fullname": "Ann", "score": 1},
            {"name": "b", "score": 2},
            {"name": "c", "fullname": "Cid", "score": 3, "active": False}])
        await sess.execute(insert(Address), [
            {"email": "a1@x", "user_id": 1}, {"email": "a2@x", "user_id": 1},
            {"email": "b1@x", "user_id": 2}])
    return db


def ins(db):
    """The dialect's insert() with ON CONFLICT."""
    return (postgresql if db.dialect.name == "postgresql" else sqlite).insert


async def users(sess) -> list:
    """(name, fullname, score) of every user, by id, as the database has them."""
    rows = await sess.execute(text("SELECT name, fullname, score FROM st_user ORDER BY id"))
    return [tuple(r) for r in rows]


# --- select()


async def test_select_rows_are_the_sessions_objects(tdb):
    async with tdb.get_session() as sess:
        result = await sess.execute(select(User).order_by(User.id))
        assert list(result.keys()) == ["User"]
        found = result.scalars().all()
        assert [u.name for u in found] == ["a", "b", "c"]
        assert await sess.get(User, 1) is found[0]
        assert (await sess.scalars(select(User).where(User.id == 2))).one() is found[1]
        assert await sess.scalar(select(User).where(User.name == "c")) is found[2]
        # a server default and a Boolean come back as such on both databases
        assert [(u.joined, u.active) for u in found] == \
            [("today", True), ("today", True), ("today", False)]


async def test_select_columns_labels_and_functions(tdb):
    async with tdb.get_session() as sess:
        result = await sess.execute(
            select(User.id, User.name.label("who"), User.joined, User.active)
            .where(User.id < 3).order_by(User.id))
        assert list(result.keys()) == ["id", "who", "joined", "active"]
        rows = result.all()
        assert rows == [(1, "a", "today", True), (2, "b", "today", True)]
        assert rows[1].who == "b" and rows[1]._mapping["joined"] == "today"
        assert await sess.scalar(select(func.count()).select_from(User)) == 3
        assert await sess.scalar(select(func.count(Address.id)).where(Address.user_id == 1)) == 2
        r = await sess.execute(select(func.max(User.score).label("top"), func.min(User.score)))
        assert list(r.keys()) == ["top", "min"] and r.one() == (3, 1)


async def test_where_filter_filter_by_and_boolean_operators(tdb):
    async with tdb.get_session() as sess:
        async def names(stmt):
            return (await sess.scalars(stmt.order_by(User.id))).all()

        base = select(User.name)
        assert await names(base.where(User.score > 1).filter(User.score < 3)) == ["b"]
        assert await names(base.filter_by(name="c", score=3)) == ["c"]
        assert await names(base.where(or_(User.score == 1, User.score == 3))) == ["a", "c"]
        assert await names(base.where(and_(User.score >= 1, not_(User.name == "b")))) == \
            ["a", "c"]
        assert await names(base.where((User.score == 1) | ~(User.score < 3))) == ["a", "c"]
        assert await names(base.where((User.score > 1) & User.fullname.is_(None))) == ["b"]
        assert await names(base.where(User.fullname == None)) == ["b"]  # noqa: E711
        assert await names(base.where(User.name.in_([]))) == []
        assert await names(base.where(User.name.not_in(["a"]), User.active)) == ["b"]
        # a Python bool is SQLAlchemy's constant: and_(True, *conds) builds a filter up
        assert await names(base.where(and_(True, User.score > 2))) == ["c"]
        assert await names(base.where(and_(True))) == ["a", "b", "c"]
        assert await names(base.where(or_(False, User.score < 2))) == ["a"]
        assert await names(base.where(or_(User.score < 2, True))) == ["a", "b", "c"]
        assert await names(base.where(and_(User.score < 2, False))) == []
        assert await names(base.where(or_(False))) == []
        with pytest.raises(ArgumentError):
            and_("name = 'a'")
        with pytest.raises(ArgumentError):
            or_()
        with pytest.raises(ArgumentError):
            select(User).filter_by(nope=1)


async def test_order_limit_offset_slice_distinct(tdb):
    async with tdb.get_session() as sess:
        async def ids(stmt):
            return (await sess.scalars(stmt)).all()

        by_score = select(User.id).order_by(desc(User.score))
        assert await ids(by_score) == [3, 2, 1]
        assert sorted(await ids(by_score.order_by(None))) == [1, 2, 3]
        assert await ids(by_score.order_by(None).order_by(asc(User.score))) == [1, 2, 3]
        assert await ids(select(User.id).order_by(User.id).limit(2).offset(1)) == [2, 3]
        assert await ids(select(User.id).order_by(User.id).offset(2)) == [3]
        assert await ids(select(User.id).order_by(User.id).slice(1, 3)) == [2, 3]
        assert await ids(select(User.id).order_by(User.id).slice(1, 1)) == []
        assert await ids(select(Address.user_id).distinct().order_by(Address.user_id)) == [1, 2]
        with pytest.raises(ArgumentError):
            select(User).order_by("name")
        with pytest.raises(TypeError):
            select(User).limit("1; DROP TABLE st_user")


async def test_group_by_and_having(tdb):
    async with tdb.get_session() as sess:
        n = func.count(Address.id).label("n")
        rows = (await sess.execute(select(Address.user_id, n).group_by(Address.user_id)
                                   .order_by(Address.user_id))).all()
        assert rows == [(1, 2), (2, 1)]
        rows = (await sess.execute(select(Address.user_id, n).group_by(Address.user_id)
                                   .having(func.count(Address.id) > 1))).all()
        assert rows == [(1, 2)] and rows[0].n == 2


async def test_joins(tdb):
    expected = [("a", "a1@x"), ("a", "a2@x"), ("b", "b1@x")]
    async with tdb.get_session() as sess:
        async def rows(stmt):
            return [tuple(r) for r in await sess.execute(stmt.order_by(Address.id))]

        pair = select(User.name, Address.email)
        assert await rows(pair.join(Address)) == expected  # by the foreign key
        assert await rows(pair.join(Address, User.id == Address.user_id)) == expected
        assert await rows(pair.join(User.addresses)) == expected
        assert await rows(pair.join(Address, User.addresses)) == expected
        assert await rows(pair.join_from(User, Address)) == expected
        assert await rows(select(User.name, Address.email).select_from(Address)
                          .join(Address.user)) == expected
        assert await rows(pair.outerjoin(Address).order_by(User.id)) == \
            [*expected, ("c", None)]
        other = aliased(Address, "other")
        assert [tuple(r) for r in await sess.execute(
            select(User.name, other.email).join(other, User.id == other.user_id)
            .where(other.email.startswith("a")).order_by(other.id))] == expected[:2]
        # filter_by() names the attributes of the table joined last
        found = (await sess.scalars(select(User).join(Address).filter_by(email="b1@x"))).all()
        assert [u.name for u in found] == ["b"]
        # rows of the selected table through a join, each object once with distinct()
        found = (await sess.scalars(select(User).join(User.addresses).distinct()
                                    .order_by(User.id))).all()
        assert [u.name for u in found] == ["a", "b"]
        with pytest.raises(NotImplementedError):
            select(User).join(Address, full=True)


async def test_several_tables_in_a_row(tdb):
    async with tdb.get_session() as sess:
        result = await sess.execute(select(User, Address).join(Address).order_by(Address.id))
        assert list(result.keys()) == ["User", "Address"]
        rows = result.all()
        assert [(u.name, a.email) for u, a in rows] == \
            [("a", "a1@x"), ("a", "a2@x"), ("b", "b1@x")]
        assert rows[0].User is rows[1].User is await sess.get(User, 1)
        assert rows[2].Address is await sess.get(Address, 3)
        rows = (await sess.execute(select(User, Address).outerjoin(Address)
                                   .order_by(User.id, Address.id))).all()
        assert [(u.name, a and a.email) for u, a in rows][-1] == ("c", None)
        rows = (await sess.execute(select(User).add_columns(Address.email).join(Address)
                                   .where(User.id == 2))).all()
        assert rows == [(await sess.get(User, 2), "b1@x")]
        assert list(rows[0]._mapping) == ["User", "email"]
        stmt = select(User).where(User.score > 1)
        assert (await sess.execute(stmt.with_only_columns(User.name).order_by(User.id))) \
            .scalars().all() == ["b", "c"]


async def test_subqueries_and_exists(tdb):
    async with tdb.get_session() as sess:
        counts = select(Address.user_id, func.count().label("cnt")) \
            .group_by(Address.user_id).subquery("counts")
        rows = (await sess.execute(select(User.name, counts.c.cnt)
                                   .join(counts, User.id == counts.c.user_id)
                                   .order_by(User.id))).all()
        assert rows == [("a", 2), ("b", 1)]
        per_user = select(func.count(Address.id)).where(Address.user_id == User.id) \
            .scalar_subquery()
        rows = (await sess.execute(select(User.name, per_user.label("k"))
                                   .order_by(User.id))).all()
        assert rows == [("a", 2), ("b", 1), ("c", 0)] and rows[2].k == 0
        has = select(Address.id).where(Address.user_id == User.id).exists()
        assert (await sess.scalars(select(User.name).where(has).order_by(User.id))).all() == \
            ["a", "b"]
        assert (await sess.scalars(select(User.name).where(~has))).all() == ["c"]
        assert (await sess.scalars(select(User.name).where(
            exists(select(Address.id).where(Address.user_id == User.id, Address.id > 2))
        ))).all() == ["b"]
        assert (await sess.scalars(select(User.id).where(User.id.in_(select(Address.user_id)))
                                   .order_by(User.id))).all() == [1, 2]
        # a select without FROM
        assert await sess.scalar(select(select(User.id).where(User.id == 1).exists())) is True
        assert await sess.scalar(select(select(User.id).where(User.id == 9).exists())) is False
        assert await sess.scalar(select(select(func.count(User.id)).scalar_subquery())) == 3
        assert await sess.scalar(select(func.lower("ABC"))) == "abc"
        whole = select(User).where(User.score > 1).subquery()
        assert (await sess.execute(select(whole.c.name).order_by(whole.c.id))).all() == \
            [("b",), ("c",)]
        assert await sess.scalar(select(func.count()).select_from(whole)) == 2


async def test_selectinload_option(tdb):
    async with tdb.get_session() as sess:
        found = (await sess.scalars(select(User).options(selectinload(User.addresses))
                                    .order_by(User.id))).all()
        assert [sorted(a.email for a in u.addresses) for u in found] == \
            [["a1@x", "a2@x"], ["b1@x"], []]
        assert found[0].addresses[0].user is found[0]
        with pytest.raises(ArgumentError):
            select(User.name).options(selectinload(User.addresses))


async def test_with_for_update(tdb, backend):
    async with tdb.get_session() as sess:
        locked = (await sess.scalars(select(User).where(User.id == 1).with_for_update())).one()
        assert locked.name == "a"
        if backend == "postgresql":  # the row is locked until this session ends
            async with tdb.begin() as conn:
                with pytest.raises(DatabaseError, match="lock"):
                    await text("SELECT id FROM st_user WHERE id = 1 FOR UPDATE NOWAIT") \
                        ._execute_on_connection(conn)
        with pytest.raises(NotImplementedError):
            select(User).with_for_update(skip_locked=True)


async def test_stream_with_yield_per(tdb):
    async with tdb.get_session() as sess:
        await sess.execute(insert(User), [{"name": f"s{i:04}", "score": i} for i in range(2500)])
        result = await sess.stream(select(User.id).order_by(User.id)
                                   .execution_options(yield_per=600))
        sizes = [len(part) async for part in result.partitions()]
        assert sizes == [600, 600, 600, 600, 103]
        result = await sess.stream(select(User).where(User.id <= 10).order_by(User.id)
                                   .execution_options(yield_per=3))
        objects = await result.scalars().all()
        assert [u.id for u in objects] == list(range(1, 11))
        assert objects[0] is await sess.get(User, 1)
        rows = await (await sess.stream(select(User, Address.email).join(Address)
                                        .order_by(Address.id))).all()
        assert [(u.name, e) for u, e in rows] == [("a", "a1@x"), ("a", "a2@x"), ("b", "b1@x")]


async def test_populate_existing(tdb):
    async with tdb.get_session() as sess:
        a = await sess.get(User, 1)
        await sess.execute(text("UPDATE st_user SET score = 50 WHERE id = 1"))
        await sess.execute(select(User).where(User.id == 1))
        assert a.score == 1  # the identity map keeps the object as it is
        again = await sess.scalar(select(User).where(User.id == 1)
                                  .execution_options(populate_existing=True))
        assert again is a and a.score == 50
        with pytest.raises(LookupError):
            async with sess.begin_nested():
                await sess.execute(text("UPDATE st_user SET score = 7 WHERE id = 1"))
                await sess.execute(select(User).execution_options(populate_existing=True))
                assert a.score == 7
                raise LookupError
        assert a.score == 50
        both = (await sess.execute(select(User, Address).join(Address).where(User.id == 1)
                                   .execution_options(populate_existing=True))).all()
        assert both[0].User is a


#: a statement held by a module global, for the test below
HELD_GLOBALLY = select(User.name).where(User.score > 1)


def test_builders_change_only_statements_nobody_holds():
    """A builder changes the statement it is called on, instead of copying it, only when
    nothing but the expression holds it (``select(User).where(...)``); a statement held
    anywhere — a local, a global, a list, a dict, an attribute, a closure, a default
    argument, a class attribute, another statement's copy — is left as it was."""
    def sql(stmt):
        return stmt.compile()[0]

    local = select(User.name).where(User.score > 1)
    expected = sql(local)
    box = [select(User.name).where(User.score > 1)]
    mapping = {"q": select(User.name).where(User.score > 1)}
    holder = types.SimpleNamespace(q=select(User.name).where(User.score > 1))

    class Holder:
        q = select(User.name).where(User.score > 1)

    def closure():
        return local

    def default(q=select(User.name).where(User.score > 1)):
        return q

    shared_lists = local.limit(3)  # a copy sharing local's condition list
    for held in (local, box[0], mapping["q"], holder.q, Holder.q, closure(), default(),
                 HELD_GLOBALLY):
        for build in (lambda q: q.where(User.id == 1), lambda q: q.order_by(User.id),
                      lambda q: q.limit(1), lambda q: q.offset(2), lambda q: q.distinct(),
                      lambda q: q.group_by(User.name), lambda q: q.filter_by(name="x"),
                      lambda q: q.compile(dialect=postgresql_dialect())):
            build(held)
            assert sql(held) == expected
    shared_lists.where(User.id == 2).order_by(User.id)
    assert sql(local) == expected and "LIMIT" in sql(shared_lists)
    assert "WHERE" in sql(shared_lists) and sql(shared_lists).count("AND") == 0
    # and an expression's own statement is built in place (on CPython, which tells such a
    # statement apart), to the same SQL a copy gives
    from asyncqlio.orm import statements
    if sys.implementation.name == "cpython":
        assert statements._ALONE > 0
        fresh = select(User.name)
        assert fresh.where(User.id == 1) is not fresh
    assert sql(select(User.name).where(User.score > 1).where(User.id == 1)) == \
        sql(local.where(User.id == 1))


def postgresql_dialect():
    from asyncqlio.backends.postgresql import PostgresqlDialect
    return PostgresqlDialect()


async def test_statements_are_immutable(tdb):
    base = select(User.name).where(User.score > 1)
    narrower = base.where(User.score < 3)
    base.order_by(User.id).limit(1).join(Address).filter_by(email="x")
    ins_base = insert(User).values(name="q")
    ins_base.values(fullname="Q")
    ins_base.returning(User.id)
    upd = update(User).where(User.id == 1)
    upd.values(score=9)
    upd.where(User.id == 2).values(score=8)
    dele = delete(Address).where(Address.id == 1)
    dele.where(Address.id == 2)
    upsert = ins(tdb)(User).values(name="a", score=7)
    upsert.on_conflict_do_update(index_elements=[User.name], set_={"score": 70})
    async with tdb.get_session() as sess:
        assert (await sess.scalars(base.order_by(User.id))).all() == ["b", "c"]
        assert (await sess.scalars(narrower)).all() == ["b"]
        assert (await sess.execute(base.order_by(User.id))).scalars().all() == ["b", "c"]
        await sess.execute(ins_base)
        assert await sess.scalar(select(User.fullname).where(User.name == "q")) is None
        with pytest.raises(InvalidRequestError):
            await sess.execute(upd)  # no values(): nothing was added to it
        assert (await sess.execute(dele)).rowcount == 1
        with pytest.raises(IntegrityError):
            await sess.execute(upsert)  # no ON CONFLICT was added to it
        await sess.rollback()


def test_str_of_a_statement():
    sql = str(select(User.id).where(User.name == "x' OR '1'='1"))
    assert sql == 'SELECT "st_user"."id" FROM "st_user" WHERE ("st_user"."name" = ?)'
    assert "INSERT INTO \"st_user\"" in str(insert(User).values(name="a"))
    assert str(text("SELECT :a")) == "SELECT :a"


# --- insert()


async def test_insert_values_in_every_form(tdb):
    async with tdb.get_session() as sess:
        r = await sess.execute(insert(User).values(name="d", score=5))
        assert r.rowcount == 1 and not r.returns_rows
        await sess.execute(insert(User).values({"name": "e", "fullname": "Eve"}))
        await sess.execute(insert(User).values({User.name: "f", User.joined: "monday"}))
        await sess.execute(insert(User).values({"name": "g", "joined_on": "tuesday"}))
        r = await sess.execute(insert(User).values([{"name": "h"}, {"name": "i", "score": 9}]))
        assert r.rowcount == 2
        # values() and the parameters of execute() together
        await sess.execute(insert(User).values(score=4), [{"name": "j"}, {"name": "k"}])
        # a second values() adds to the row, or to the rows
        await sess.execute(insert(User).values(name="l").values(score=7, name="m"))
        await sess.execute(insert(User).values([{"name": "n"}]).values([{"name": "o"}]))
        with pytest.raises(ArgumentError):
            insert(User).values(name="x").values([{"name": "y"}])
        assert not sess.identity_map  # written, not kept: SQLAlchemy's ORM bulk insert
    async with tdb.get_session() as sess:
        rows = (await sess.execute(select(User.name, User.fullname, User.score, User.joined)
                                   .where(User.id > 3).order_by(User.id))).all()
    assert rows == [("d", None, 5, "today"), ("e", "Eve", 0, "today"),
                    ("f", None, 0, "monday"), ("g", None, 0, "tuesday"),
                    ("h", None, 0, "today"), ("i", None, 9, "today"),
                    ("j", None, 4, "today"), ("k", None, 4, "today"),
                    ("m", None, 7, "today"), ("n", None, 0, "today"), ("o", None, 0, "today")]


async def test_bulk_insert_of_many_rows(tdb):
    mappings = [{"name": f"u{i}", "score": i} for i in range(2500)]
    mappings[7]["fullname"] = "seven"  # a row giving more columns than the others
    async with tdb.get_session() as sess:
        r = await sess.execute(insert(User), mappings)
        assert r.rowcount == 2500
    async with tdb.get_session() as sess:
        assert await sess.scalar(select(func.count()).select_from(User)) == 2503
        assert await sess.scalar(select(func.sum(User.score)).where(User.id > 3)) == \
            sum(range(2500))
        assert await sess.scalar(select(User.fullname).where(User.name == "u7")) == "seven"
        assert await sess.scalar(select(User.joined).where(User.name == "u2499")) == "today"


async def test_insert_returning(tdb):
    async with tdb.get_session() as sess:
        r = await sess.execute(insert(User).values(name="d").returning(User.id, User.joined))
        assert list(r.keys()) == ["id", "joined"] and r.all() == [(4, "today")]
        d = (await sess.execute(insert(User).values(name="e", score=2).returning(User))) \
            .scalar_one()
        assert (d.id, d.name, d.score, d.joined, d.active) == (5, "e", 2, "today", True)
        assert await sess.get(User, 5) is d
        many = (await sess.scalars(insert(User).returning(User),
                                   [{"name": f"m{i}"} for i in range(1500)])).all()
        assert len(many) == 1500 and [m.name for m in many[:2]] == ["m0", "m1"]
        assert await sess.get(User, many[-1].id) is many[-1]
        assert await sess.scalar(insert(User).values(name="z").returning(User.id)) == 1506
        with pytest.raises(ArgumentError):
            insert(User).returning(Address.id)


async def test_insert_of_sql_expressions(tdb):
    async with tdb.get_session() as sess:
        await sess.execute(insert(User).values(name=func.lower("LOUD"), fullname="x"))
        await sess.execute(insert(User), [{"name": func.upper("q"), "score": 1},
                                          {"name": func.upper("r"), "score": 2}])
        made = (await sess.execute(insert(User).values(name=func.lower("ZED"))
                                   .returning(User))).scalar_one()
        assert made.name == "zed"
    async with tdb.get_session() as sess:
        assert (await sess.scalars(select(User.name).where(User.id > 3).order_by(User.id))) \
            .all() == ["loud", "Q", "R", "zed"]


async def test_insert_errors(tdb):
    async with tdb.get_session() as sess:
        with pytest.raises(ArgumentError, match="nope"):
            insert(User).values(nope=1)
        with pytest.raises(ArgumentError, match="nope"):
            await sess.execute(insert(User), [{"name": "x"}, {"name": "y", "nope": 1}])
        with pytest.raises(ArgumentError):
            await sess.execute(insert(User).values([{"name": "x"}, {"name": "y"}]), [{"score": 1}])
        with pytest.raises(ArgumentError):
            await sess.execute(insert(User), [("x",)])
        with pytest.raises(ArgumentError):
            insert(User).values("name")
        with pytest.raises(IntegrityError):
            await sess.execute(insert(User).values(name="a"))
        with pytest.raises(PendingRollbackError):
            await sess.execute(select(User))
        await sess.rollback()
        assert await sess.scalar(select(func.count()).select_from(User)) == 3
        with pytest.raises(IntegrityError):
            await sess.execute(insert(User), [{"name": "new"}, {"name": "b"}])
        await sess.rollback()
    async with tdb.get_session() as sess:
        assert [u[0] for u in await users(sess)] == ["a", "b", "c"]


# --- update()


async def test_update_keeps_loaded_objects_in_step(tdb):
    async with tdb.get_session() as sess:
        a, b, c = (await sess.scalars(select(User).order_by(User.id))).all()
        a.fullname = "not yet written"
        r = await sess.execute(update(User).where(User.id <= 2).values(score=User.score + 10))
        assert r.rowcount == 2 and not r.returns_rows
        assert (a.score, b.score, c.score) == (11, 12, 3)
        assert a.fullname == "not yet written"  # autoflushed first, then kept
        await sess.execute(update(User).filter_by(name="c").values(
            {User.score: User.score * 2, "joined_on": "later"}))
        assert (c.score, c.joined) == (6, "later")
        await sess.execute(update(User).values(name=func.upper(User.name)))
        # a column given again in values() takes the new value
        await sess.execute(update(User).where(User.id == 2).values(score=0).values(score=12))
        assert [u.name for u in (a, b, c)] == ["A", "B", "C"]
    async with tdb.get_session() as sess:
        assert await users(sess) == [("A", "not yet written", 11), ("B", None, 12),
                                     ("C", "Cid", 6)]


async def test_update_returning(tdb):
    async with tdb.get_session() as sess:
        r = await sess.execute(update(User).where(User.id == 2).values(fullname="Bob")
                               .returning(User.id, User.fullname))
        assert r.all() == [(2, "Bob")]
        b = (await sess.execute(update(User).where(User.id == 2).values(score=20)
                                .returning(User))).scalar_one()
        assert (b.fullname, b.score) == ("Bob", 20) and await sess.get(User, 2) is b
        r = await sess.execute(update(User).where(User.id > 5).values(score=0)
                               .returning(User.id))
        assert r.all() == [] and r.rowcount == 0


async def test_update_without_synchronizing(tdb):
    async with tdb.get_session() as sess:
        a = await sess.get(User, 1)
        await sess.execute(update(User).where(User.id == 1).values(score=99)
                           .execution_options(synchronize_session=False))
        assert a.score == 1
        await sess.execute(update(User).where(User.id == 1).values(score=98),
                           execution_options={"synchronize_session": False})
        assert a.score == 1
        assert await sess.scalar(select(User.score).where(User.id == 1)) == 98


async def test_update_by_primary_key(tdb):
    async with tdb.get_session() as sess:
        a = await sess.get(User, 1)
        r = await sess.execute(update(User), [{"id": 1, "score": 100},
                                             {"id": 2, "score": 200, "fullname": "Bee"}])
        assert r.rowcount == 2
        assert a.score == 100 and a.fullname == "Ann"
        with pytest.raises(LookupError):
            async with sess.begin_nested():  # a rollback to the savepoint takes both back
                await sess.execute(update(User), [{"id": 1, "score": 5}])
                assert a.score == 5
                raise LookupError
        assert a.score == 100
        with pytest.raises(ArgumentError):
            await sess.execute(update(User).where(User.id == 1), [{"id": 1, "score": 1}])
        with pytest.raises(ArgumentError):
            await sess.execute(update(User), [{"score": 1}])  # no primary key
        with pytest.raises(ArgumentError):
            await sess.execute(update(User), [{"id": 1, "nope": 1}])
    async with tdb.get_session() as sess:
        assert await users(sess) == [("a", "Ann", 100), ("b", "Bee", 200), ("c", "Cid", 3)]


async def test_update_errors(tdb):
    async with tdb.get_session() as sess:
        with pytest.raises(ArgumentError):
            await sess.execute(update(User).where(User.id == 1).values(score=5), {"score": 7})
        with pytest.raises(ArgumentError):
            update(User).values(nope=1)
        with pytest.raises(InvalidRequestError):
            await sess.execute(update(User).where(User.id == 1))
        with pytest.raises(IntegrityError):
            await sess.execute(update(User).where(User.id == 2).values(name="a"))
        await sess.rollback()
        assert await sess.scalar(select(User.score).where(User.id == 1)) == 1


# --- delete()


async def test_delete(tdb):
    async with tdb.get_session() as sess:
        b1 = await sess.get(Address, 3)
        r = await sess.execute(delete(Address).where(Address.user_id == 2))
        assert r.rowcount == 1
        assert b1 not in sess and await sess.get(Address, 3) is None
        r = await sess.execute(delete(Address).where(Address.id == 1)
                               .returning(Address.id, Address.email))
        assert r.all() == [(1, "a1@x")]
        gone = (await sess.execute(delete(Address).returning(Address))).scalar_one()
        assert (gone.id, gone.email) == (2, "a2@x") and gone not in sess
        with pytest.raises(ArgumentError):
            await sess.execute(delete(Address), [{"id": 1}])
    async with tdb.get_session() as sess:
        assert await sess.scalar(select(func.count()).select_from(Address)) == 0


# --- text()


async def test_text_parameters(tdb, backend):
    async with tdb.get_session() as sess:
        r = await sess.execute(text("SELECT id, name FROM st_user WHERE id = :x OR id = :x + 1 "
                                    "ORDER BY id"), {"x": 1})
        assert list(r.keys()) == ["id", "name"] and r.all() == [(1, "a"), (2, "b")]
        r = await sess.execute(text(r"SELECT 'a\:b' AS k, name FROM st_user WHERE name = :n"),
                               {"n": "c"})
        assert r.all() == [("a:b", "c")]
        by_id = text("SELECT name FROM st_user WHERE id = :i").bindparams(i=2)
        assert (await sess.execute(by_id)).scalar() == "b"
        assert (await sess.execute(by_id, {"i": 3})).scalar() == "c"
        assert await sess.scalar(text("SELECT count(*) FROM st_user")) == 3
        assert (await sess.scalars(text("SELECT name FROM st_user ORDER BY id"))).all() == \
            ["a", "b", "c"]
        if backend == "postgresql":  # ::type is a cast, not a parameter
            r = await sess.execute(text("SELECT '4'::int + :v AS k"), {"v": 1})
            assert r.one().k == 5


async def test_text_columns_give_result_types(tdb, backend):
    async with tdb.get_session() as sess:
        plain = text("SELECT id, active FROM st_user ORDER BY id")
        typed = (await sess.execute(plain.columns(User.id, User.active))).all()
        assert typed == [(1, True), (2, True), (3, False)]
        assert all(type(r.active) is bool for r in typed)
        if backend == "sqlite":  # without a type, what the driver gives
            assert (await sess.execute(plain)).all()[2][1] == 0
        r = await sess.execute(plain.columns(uid=Integer, flag=User.active.type))
        assert list(r.keys()) == ["uid", "flag"] and r.first().flag is True


async def test_text_many_and_non_returning(tdb, backend):
    async with tdb.get_session() as sess:
        r = await sess.execute(text("INSERT INTO st_user (name, score, active) "
                                    "VALUES (:name, :score, :active)"),
                               [{"name": "p", "score": 1, "active": True},
                                {"name": "q", "score": 2, "active": False}])
        # asyncpg does not count the rows of an executemany (nor does SQLAlchemy there)
        assert r.rowcount == (2 if backend == "sqlite" else -1) and not r.returns_rows
        with pytest.raises(ResourceClosedError):
            r.all()
        r = await sess.execute(text("UPDATE st_user SET score = score + 1 WHERE id < :i"),
                               {"i": 3})
        assert r.rowcount == 2
        with pytest.raises(ResourceClosedError):
            r.first()
    async with tdb.get_session() as sess:
        assert [s for _, _, s in await users(sess)] == [2, 3, 3, 1, 2]


async def test_text_parameter_errors(tdb):
    async with tdb.get_session() as sess:
        with pytest.raises(ArgumentError, match=":b"):
            await sess.execute(text("SELECT :a, :b"), {"a": 1})
        with pytest.raises(ArgumentError, match=":b"):
            await sess.execute(text("SELECT :a"), {"a": 1, "b": 2})
        with pytest.raises(ArgumentError):
            await sess.execute(text("SELECT 1"), {"a": 1})
        with pytest.raises(ArgumentError):
            await sess.execute(text("SELECT :a"), [1])
        with pytest.raises(ArgumentError):
            text("SELECT :a").bindparams(b=1)
        with pytest.raises(ArgumentError):
            text(42)
        with pytest.raises(ArgumentError):
            await sess.execute(text("INSERT INTO st_user (name) VALUES (:name)"),
                               [{"name": "p"}, {"nmae": "q"}])


async def test_text_values_are_always_bound(tdb):
    evil = "x'); DROP TABLE st_user; --"
    async with tdb.get_session() as sess:
        r = await sess.execute(text("SELECT id FROM st_user WHERE name = :n"),
                               {"n": "a' OR '1'='1"})
        assert r.all() == []
        await sess.execute(text("INSERT INTO st_user (name, score, active) "
                                "VALUES (:n, 0, :t)"), {"n": evil, "t": True})
        await sess.execute(insert(User).values(name=evil + "2"))
        await sess.execute(update(User).where(User.name == evil).values(fullname=evil))
    async with tdb.get_session() as sess:
        assert (await sess.execute(select(User.name, User.fullname).where(User.id == 4))) \
            .one() == (evil, evil)
        assert await sess.scalar(select(func.count()).select_from(User)) == 5


# --- ON CONFLICT


async def test_on_conflict_do_update(tdb):
    async with tdb.get_session() as sess:
        a = await sess.get(User, 1)
        stmt = ins(tdb)(User).values(name="a", fullname="Anna", score=5)
        stmt = stmt.on_conflict_do_update(
            index_elements=[User.name],
            set_={"fullname": stmt.excluded.fullname, "score": User.score + stmt.excluded.score})
        r = await sess.execute(stmt)
        assert r.rowcount == 1
        assert (a.fullname, a.score) == ("Anna", 6)  # the session's object in step
        stmt = ins(tdb)(User).values([{"name": "a", "score": 50}, {"name": "b", "score": 60},
                                      {"name": "new", "score": 70}])
        stmt = stmt.on_conflict_do_update(index_elements=["name"],
                                          set_={User.score: stmt.excluded.score},
                                          where=User.score < 3)
        await sess.execute(stmt)
        assert a.score == 6  # its row did not meet where=
        many = ins(tdb)(User)
        many = many.on_conflict_do_update(index_elements=[User.name],
                                          set_={"score": many.excluded.score})
        await sess.execute(many, [{"name": "c", "score": 33}, {"name": "d", "score": 44}])
    async with tdb.get_session() as sess:
        assert await users(sess) == [("a", "Anna", 6), ("b", None, 60), ("c", "Cid", 33),
                                     ("new", None, 70), ("d", None, 44)]


async def test_on_conflict_do_nothing(tdb):
    async with tdb.get_session() as sess:
        r = await sess.execute(ins(tdb)(User).values([{"name": "a"}, {"name": "n1"}])
                               .on_conflict_do_nothing())
        assert r.rowcount == 1
        r = await sess.execute(ins(tdb)(User).values(name="b", score=9)
                               .on_conflict_do_nothing(index_elements=[User.name]))
        assert r.rowcount == 0
        r = await sess.execute(ins(tdb)(User).on_conflict_do_nothing(),
                               [{"name": "c"}, {"name": "n2"}])
        assert r.rowcount == 1
    async with tdb.get_session() as sess:
        assert [(n, s) for n, _, s in await users(sess)] == \
            [("a", 1), ("b", 2), ("c", 3), ("n1", 0), ("n2", 0)]


async def test_on_conflict_constraint(tdb, backend):
    if backend == "sqlite":
        with pytest.raises(ArgumentError):
            sqlite.insert(User).on_conflict_do_nothing(constraint="st_user_name_key")
        return
    async with tdb.get_session() as sess:
        stmt = postgresql.insert(User).values(name="a", score=9)
        await sess.execute(stmt.on_conflict_do_update(constraint="st_user_name_key",
                                                      set_={"score": stmt.excluded.score}))
        await sess.execute(postgresql.insert(User).values(name="b")
                           .on_conflict_do_nothing(constraint="st_user_name_key"))
        with pytest.raises(ArgumentError):
            stmt.on_conflict_do_nothing(constraint="x", index_elements=[User.name])
    async with tdb.get_session() as sess:
        assert [s for _, _, s in await users(sess)] == [9, 2, 3]


async def test_on_conflict_returning(tdb):
    async with tdb.get_session() as sess:
        a = await sess.get(User, 1)
        stmt = ins(tdb)(User).values([{"name": "a", "score": 7}, {"name": "zz", "score": 8}])
        stmt = stmt.on_conflict_do_update(index_elements=[User.name],
                                          set_={"score": stmt.excluded.score})
        rows = (await sess.execute(stmt.returning(User.name, User.score))).all()
        assert sorted(rows) == [("a", 7), ("zz", 8)] and a.score == 7
        objs = (await sess.scalars(stmt.returning(User))).all()
        assert sorted(o.name for o in objs) == ["a", "zz"] and a in objs
        zz = await sess.scalar(select(User).where(User.name == "zz"))
        assert zz in objs and zz.score == 8
        rows = (await sess.execute(ins(tdb)(User).values([{"name": "a"}, {"name": "yy"}])
                                   .on_conflict_do_nothing().returning(User.name))).all()
        assert rows == [("yy",)]


async def test_on_conflict_with_a_partial_index(tdb, backend):
    async with tdb.get_session() as sess:
        await sess.execute(text("CREATE UNIQUE INDEX st_user_live ON st_address (email) "
                                "WHERE user_id > 1"))
        stmt = ins(tdb)(Address).values(email="b1@x", user_id=2)
        stmt = stmt.on_conflict_do_update(
            index_elements=[Address.email], index_where=Address.user_id > 1,
            set_={"email": func.upper(stmt.excluded.email)})
        if backend == "sqlite":  # it matches the index only to a predicate of literals
            with pytest.raises(OperationalError, match="ON CONFLICT"):
                await sess.execute(stmt)
            await sess.rollback()
            return
        await sess.execute(stmt)
        assert (await sess.scalars(select(Address.email).order_by(Address.id))).all() == \
            ["a1@x", "a2@x", "B1@X"]


async def test_on_conflict_arguments(tdb):
    stmt = ins(tdb)(User).values(name="a")
    with pytest.raises(ArgumentError):
        stmt.on_conflict_do_update(index_elements=[User.name])  # no set_
    with pytest.raises(ArgumentError):
        stmt.on_conflict_do_update(set_={"score": 1})  # no target
    with pytest.raises(ArgumentError):
        stmt.on_conflict_do_update(index_elements=["nope"], set_={"score": 1})
    with pytest.raises(ArgumentError):
        stmt.on_conflict_do_update(index_elements=[User.name], set_={"nope": 1})
    with pytest.raises(ArgumentError):
        stmt.on_conflict_do_update(index_elements=[User.name], set_={"score": 1},
                                   where="score < 3")
    with pytest.raises(ArgumentError):
        stmt.on_conflict_do_nothing(index_where=User.score > 1)  # qualifies no columns
    # the proposed row's columns by attribute name, and by column name as SQLAlchemy has them
    assert stmt.excluded.joined.sql == stmt.excluded.joined_on.sql == 'excluded."joined_on"'
    assert [c.attr_name for c in stmt.excluded][:2] == ["id", "name"]


# --- below the session: a connection of db.begin()


async def test_statements_on_a_connection(tdb):
    async with tdb.begin() as conn:
        async def run(stmt, params=None):
            return await stmt._execute_on_connection(conn, params)

        r = await run(select(User.id, User.name).where(User.score > 1).order_by(User.id))
        assert r.all() == [(2, "b"), (3, "c")]
        r = await run(select(User).where(User.id == 3))
        row = r.one()
        assert (row.name, row.joined, row.active) == ("c", "today", False)
        # a table among the columns: its columns, flat, as SQLAlchemy's Core rows
        r = await run(select(User.name, Address).outerjoin(Address).order_by(User.id, Address.id))
        assert sorted(r.keys()) == ["email", "id", "name", "user_id"]
        assert [(x.name, x.id, x.email, x.user_id) for x in r.all()][-2:] == \
            [("b", 3, "b1@x", 2), ("c", None, None, None)]
        r = await run(insert(User), [{"name": f"c{i}"} for i in range(1500)])
        assert r.rowcount == 1500
        r = await run(insert(User).values(name=func.upper("zed")).returning(User.id, User.name))
        assert r.all() == [(1504, "ZED")]
        r = await run(update(User).where(User.id < 3).values(score=User.score + 100)
                      .returning(User.id, User.score))
        assert sorted(r.all()) == [(1, 101), (2, 102)]
        r = await run(delete(Address).where(Address.user_id == 1))
        assert r.rowcount == 2
        r = await run(text("SELECT count(*) AS n FROM st_user WHERE score > :s"), {"s": 100})
        assert r.one().n == 2
        await run(text("UPDATE st_user SET fullname = :f WHERE id = :i"),
                  [{"f": "one", "i": 1}, {"f": "two", "i": 2}])
        stmt = ins(tdb)(User).values([{"name": "a", "score": 9}, {"name": "new", "score": 1}])
        r = await run(stmt.on_conflict_do_update(index_elements=[User.name],
                                                 set_={"score": stmt.excluded.score + 1})
                      .returning(User.name, User.score))
        assert sorted(r.all()) == [("a", 10), ("new", 1)]
        r = await run(ins(tdb)(User).values(name="b").on_conflict_do_nothing()
                      .returning(User.id))
        assert r.all() == []
        with pytest.raises(ArgumentError):
            await run(select(User), {"id": 1})
        with pytest.raises(ArgumentError):
            await run(update(User).where(User.id == 1).values(score=0), {"score": 1})
        with pytest.raises(ArgumentError):
            await run(update(User), [{"id": 1, "score": 0}])
        with pytest.raises(ArgumentError):
            await run(delete(User), {"id": 1})
        with pytest.raises(ArgumentError):
            await run(text("SELECT :a"), {"b": 1})
    async with tdb.get_session() as sess:
        assert (await users(sess))[:3] == [("a", "one", 10), ("b", "two", 102), ("c", "Cid", 3)]
        assert await sess.scalar(select(func.count()).select_from(User)) == 1505


async def test_connection_rows_ignore_eager_loads(tdb):
    await Folder.create()
    await File.create()
    async with tdb.begin() as conn:
        await insert(Folder)._execute_on_connection(conn, [{"id": 1}, {"id": 2}])
        await insert(File)._execute_on_connection(conn, [{"folder_id": 1}, {"folder_id": 1}])
        r = await select(Folder).order_by(Folder.id)._execute_on_connection(conn)
        assert r.all() == [(1,), (2,)]  # the joined files would repeat folder 1
        r = await select(Folder).order_by(Folder.id)._stream_on_connection(conn)
        assert await r.all() == [(1,), (2,)]
    async with tdb.get_session() as sess:
        folders = (await sess.scalars(select(Folder).order_by(Folder.id))).all()
        assert [len(f.files) for f in folders] == [2, 0]


async def test_integrity_error_on_a_connection(tdb):
    with pytest.raises(IntegrityError):
        async with tdb.begin() as conn:
            await insert(User).values(name="x")._execute_on_connection(conn)
            await insert(User).values(name="a")._execute_on_connection(conn)
    async with tdb.get_session() as sess:  # rolled back as a whole
        assert await sess.scalar(select(func.count()).select_from(User)) == 3


async def test_stream_on_a_connection(tdb):
    async with tdb.begin() as conn:
        await insert(User)._execute_on_connection(conn, [{"name": f"x{i}"} for i in range(30)])
        result = await select(User.id, User.name).order_by(User.id) \
            .execution_options(yield_per=7)._stream_on_connection(conn)
        sizes = [len(p) async for p in result.partitions()]
        assert sizes == [7, 7, 7, 7, 5]
        result = await select(User, Address.email).join(Address).order_by(Address.id) \
            ._stream_on_connection(conn)
        assert [(r.name, r.email) for r in await result.all()] == \
            [("a", "a1@x"), ("a", "a2@x"), ("b", "b1@x")]


async def test_parameters_where_a_statement_takes_none(tdb):
    async with tdb.get_session() as sess:
        for stmt in (select(User), select(User.id).where(User.id == 1),
                     delete(Address).where(Address.id == 1), text("SELECT 1"),
                     update(User).where(User.id == 1).values(score=2)):
            with pytest.raises(ArgumentError):
                await sess.execute(stmt, {"x": 1})
        with pytest.raises(ArgumentError):
            await sess.scalar(select(User.id), {"id": 1})
        with pytest.raises(ArgumentError):
            await sess.stream(select(User), {"x": 1})
        assert [s for _, _, s in await users(sess)] == [1, 2, 3]
        assert await sess.scalar(select(func.count()).select_from(Address)) == 3


# --- the same program under SQLAlchemy


PROGRAM = '''
from __future__ import annotations
from typing import List, Optional
from {core} import ForeignKey, String, select, insert, update, delete, text, func, and_, or_, not_
from {orm} import DeclarativeBase, Mapped, mapped_column, relationship, selectinload, aliased
from {dialects} import {dialect} as dialect


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "sp_author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(30), unique=True)
    born: Mapped[Optional[int]]
    books: Mapped[List[Book]] = relationship(back_populates="author")


class Book(Base):
    __tablename__ = "sp_book"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    pages: Mapped[int] = mapped_column(default=100)
    author_id: Mapped[int] = mapped_column(ForeignKey("sp_author.id"))
    author: Mapped[Author] = relationship(back_populates="books")


async def program(session_factory):
    out = []
    async with session_factory() as s:
        await s.execute(insert(Author), [{{"name": "ann", "born": 1950}}, {{"name": "bob"}},
                                        {{"name": "cy", "born": 1990}}])
        await s.execute(insert(Book).values([
            {{"title": "t1", "pages": 10, "author_id": 1}},
            {{"title": "t2", "pages": 100, "author_id": 1}},
            {{"title": "t3", "pages": 30, "author_id": 2}}]))
        await s.commit()
    async with session_factory() as s:
        ann = await s.get(Author, 1)
        out.append((await s.scalars(select(Author).order_by(Author.id))).all())
        out.append((await s.execute(select(Author.name, Book.title).join(Author.books)
                                    .order_by(Book.id))).all())
        out.append((await s.execute(select(Author, Book).outerjoin(Book)
                                    .order_by(Author.id, Book.id))).all())
        out.append((await s.execute(select(Author.name, func.count(Book.id).label("n"))
                                    .outerjoin(Book).group_by(Author.name)
                                    .having(func.count(Book.id) < 2)
                                    .order_by(Author.name))).all())
        out.append((await s.scalars(select(Author.name).where(
            or_(Author.born == None, and_(Author.born > 1960, not_(Author.name == "ann"))))
            .order_by(Author.id.desc()))).all())
        sub = select(Book.author_id, func.sum(Book.pages).label("total")) \\
            .group_by(Book.author_id).subquery()
        out.append((await s.execute(select(Author.name, sub.c.total)
                                    .join(sub, Author.id == sub.c.author_id)
                                    .order_by(Author.id))).all())
        other = aliased(Book)
        out.append((await s.scalars(select(other.title).where(other.pages > 50)
                                    .order_by(other.id))).all())
        out.append([(a, len(a.books)) for a in (await s.scalars(
            select(Author).options(selectinload(Author.books)).order_by(Author.id))).all()])
        out.append((await s.scalars(select(Book.id).order_by(Book.id).slice(1, 3))).all())
        r = await s.execute(update(Author).where(Author.id == 1).values(born=Author.born + 1))
        out.append((r.rowcount, ann.born))
        out.append((await s.execute(update(Book).where(Book.pages < 50).values(pages=0)
                                    .returning(Book.id, Book.pages))).all())
        out.append(sorted((await s.execute(delete(Book).where(Book.id == 3)
                                           .returning(Book.title))).all()))
        new = (await s.execute(insert(Author).values(name="dee").returning(Author))).scalar_one()
        out.append((new, new is await s.get(Author, new.id)))
        stmt = dialect.insert(Author).values([{{"name": "ann", "born": 1}},
                                              {{"name": "eve", "born": None}}])
        stmt = stmt.on_conflict_do_update(index_elements=[Author.name],
                                          set_={{"born": stmt.excluded.born}})
        out.append(sorted((await s.execute(stmt.returning(Author.name, Author.born))).all()))
        out.append((await s.execute(dialect.insert(Author).values(name="bob")
                                    .on_conflict_do_nothing())).rowcount)
        out.append((await s.execute(text("SELECT name FROM sp_author WHERE id = :i OR id = :i + 1 "
                                         "ORDER BY id"), {{"i": 2}})).all())
        r = await s.execute(text("UPDATE sp_book SET pages = :p WHERE id = :i"),
                            [{{"p": 1, "i": 1}}, {{"p": 2, "i": 2}}])
        out.append(r.rowcount)
        out.append((await s.execute(select(Book.title, Book.pages).order_by(Book.id))).all())
        await s.commit()
    return out
'''


def _plain(value):
    """Results as plain data: objects as (class, key), rows as tuples."""
    if hasattr(value, "_mapping") or isinstance(value, tuple):  # a Row of either
        return tuple(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "__table__"):
        return (type(value).__name__, value.id)
    return value


def _load_program(core: str, orm: str, dialects: str, dialect: str) -> types.ModuleType:
    module = types.ModuleType(f"statements_program_{core}")
    sys.modules[module.__name__] = module  # where the annotations' names are looked up
    try:
        source = PROGRAM.format(core=core, orm=orm, dialects=dialects, dialect=dialect)
        exec(compile(source, module.__name__, "exec", dont_inherit=True), vars(module))
    finally:
        del sys.modules[module.__name__]
    return module


async def test_the_same_program_under_sqlalchemy(db, backend, tmp_path):
    pytest.importorskip("sqlalchemy")
    pytest.importorskip("aiosqlite")
    import sqlalchemy.orm
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    dialect = "postgresql" if backend == "postgresql" else "sqlite"
    ours = _load_program("asyncqlio", "asyncqlio.orm", "asyncqlio.dialects", dialect)
    db.bind_tables(ours.Base)
    await ours.Author.create()
    await ours.Book.create()
    mine = _plain(await ours.program(db.get_session))

    theirs = _load_program("sqlalchemy", "sqlalchemy.orm", "sqlalchemy.dialects", dialect)
    sqlalchemy.orm.configure_mappers()
    if backend == "sqlite":
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'sqlalchemy.db'}")
    else:
        schema = f"{PG_SCHEMA}_sa"
        conn = await asyncpg.connect(PG_DSN)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"')
        await conn.close()
        url = "postgresql+asyncpg://" + PG_DSN.partition("://")[2]
        engine = create_async_engine(url, connect_args={"server_settings": {"search_path": schema}})
    try:
        async with engine.begin() as conn:
            await conn.run_sync(theirs.Base.metadata.create_all)
        expected = _plain(await theirs.program(
            lambda: AsyncSession(engine, expire_on_commit=False)))
    finally:
        await engine.dispose()
        if backend == "postgresql":
            conn = await asyncpg.connect(PG_DSN)
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            await conn.close()
    assert mine == expected
