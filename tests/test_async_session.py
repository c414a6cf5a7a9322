"""SQLAlchemy 2.x's asyncio ORM session API (``asyncqlio.ext.asyncio``) on both backends,
engines made by ``create_async_engine()`` from SQLAlchemy URLs: every member of
AsyncSession, AsyncSessionTransaction, async_sessionmaker, async_scoped_session and
AsyncAttrs, async_object_session / async_session / close_all_sessions, and the Session
methods of ``sqlalchemy.orm`` (add ... transaction), as SQLAlchemy 2.x has them (run through
``run_sync()`` where SQLAlchemy's AsyncSession offers them only there). What is checked is
what a program sees: the rows in the database read back on another connection, the values
on the objects, the errors of ``asyncqlio.exc``.

Where asyncqlio differs on purpose, the test says so: a rollback restores the objects'
values instead of expiring them; an expired attribute raises ExpiredAttributeError until
refreshed (SQLAlchemy's async raises MissingGreenlet); relationships load only when asked
(``awaitable_attrs``, loader options)."""
from __future__ import annotations

import asyncio
import contextlib
from typing import List, Optional

import pytest

from asyncqlio import ForeignKey, String, events, func
from asyncqlio.exc import (ArgumentError, DatabaseError, ExpiredAttributeError, IntegrityError,
                           InvalidRequestError, MissingGreenlet, NoResultFound, NotLoadedError,
                           ObjectNotExecutableError, PendingRollbackError)
from asyncqlio.ext.asyncio.engine import AsyncConnection, create_async_engine
from asyncqlio.ext.asyncio.scoping import async_scoped_session
from asyncqlio.ext.asyncio.session import (AsyncAttrs, AsyncSession, AsyncSessionTransaction,
                                           async_object_session, async_session,
                                           async_sessionmaker, close_all_sessions)
from asyncqlio.ext.asyncio.sync_session import SyncSession
from asyncqlio.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload
from asyncqlio.orm.results import Result, ScalarResult
from asyncqlio.orm.statements import delete, insert, select, update
from asyncqlio.orm.text import text


class Base(AsyncAttrs, DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "as_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(30), unique=True)
    note: Mapped[Optional[str]] = mapped_column(server_default="none given")
    addresses: Mapped[List[Address]] = relationship(back_populates="user",
                                                    order_by=lambda: Address.id)


class Address(Base):
    __tablename__ = "as_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(50))
    user_id: Mapped[int] = mapped_column(ForeignKey("as_users.id"))
    user: Mapped[User] = relationship(back_populates="addresses", lazy="joined")


@pytest.fixture
def url(dsn: str) -> str:
    """The test database as a SQLAlchemy URL."""
    if dsn.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + dsn[len("sqlite:"):]
    return "postgresql+asyncpg:" + dsn.partition(":")[2]


@pytest.fixture
async def engine(url: str):
    eng = create_async_engine(url)
    eng.sync_engine.bind_tables(Base)
    await User.create()
    await Address.create()
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
async def seeded(engine):
    """ann (two addresses) and bob (none), committed."""
    async with AsyncSession(engine) as s:
        s.add_all([User(name="ann", addresses=[Address(email="ann@a"), Address(email="ann@b")]),
                   User(name="bob")])
        await s.commit()
    return engine


async def stored(engine, stmt) -> list:
    """The rows another connection sees committed."""
    async with engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(stmt)).all()]


async def names(engine) -> list[str]:
    return [r[0] for r in await stored(engine, select(User.name).order_by(User.id))]


@contextlib.contextmanager
def statements(engine):
    """The SQL sent on the engine's connections inside the block."""
    sent: list[str] = []

    def seen(conn, sql, params) -> None:
        sent.append(sql)

    events.listen(engine.sync_engine, "before_execute", seen)
    try:
        yield sent
    finally:
        events.remove(engine.sync_engine, "before_execute", seen)


# --- async_sessionmaker


async def test_async_sessionmaker_init_call_configure(engine):
    factory = async_sessionmaker(engine, expire_on_commit=False, autoflush=False,
                                 info={"app": 1})
    s = factory()
    assert isinstance(s, AsyncSession) and s.bind is engine
    assert s.expire_on_commit is False and s.autoflush is False and s.info == {"app": 1}
    local = factory(autoflush=True, info={"req": 2})  # __call__(**local_kw) over the defaults
    assert local.autoflush is True and local.info == {"app": 1, "req": 2}
    s.info["x"] = 1
    assert factory().info == {"app": 1}  # each session has its own dict

    class Custom(AsyncSession):
        pass

    assert isinstance(async_sessionmaker(engine, class_=Custom)(), Custom)
    unbound = async_sessionmaker()
    unbound.configure(bind=engine, expire_on_commit=False)
    async with unbound() as s:
        s.add(User(name="configured"))
        await s.commit()
        assert s.bind is engine and s.expire_on_commit is False
    assert await names(engine) == ["configured"]


async def test_async_sessionmaker_begin_commits_or_rolls_back(engine):
    factory = async_sessionmaker(engine)
    async with factory.begin() as s:
        s.add(User(name="kept"))
    assert await names(engine) == ["kept"] and not s.in_transaction()
    with pytest.raises(RuntimeError):
        async with factory.begin() as s:
            s.add(User(name="dropped"))
            await s.flush()
            raise RuntimeError
    assert await names(engine) == ["kept"]
    with pytest.raises(IntegrityError):
        async with factory.begin() as s:
            s.add(User(name="kept"))  # the commit's flush fails: rolled back
    assert await names(engine) == ["kept"] and s.is_active


# --- the session's life: __init__, async with, close, aclose, reset, close_all


async def test_session_block_closes_and_rolls_back(engine):
    async with AsyncSession(engine) as s:
        ann = User(name="ann")
        s.add(ann)
        await s.flush()
        assert ann.id is not None and s.in_transaction()
    # SQLAlchemy 2.x: leaving the block closes the session, not committing it
    assert await names(engine) == [] and ann not in s and async_object_session(ann) is None
    # close() leaves the session usable, with a new transaction
    s.add(User(name="again"))
    await s.commit()
    assert await names(engine) == ["again"]
    await s.aclose()  # contextlib.aclosing's name
    async with contextlib.aclosing(AsyncSession(engine)) as s2:
        s2.add(User(name="closing"))
    assert await names(engine) == ["again"]


async def test_init_keywords(engine):
    s = AsyncSession(engine, autoflush=False, expire_on_commit=False, info={"k": "v"})
    assert s.autoflush is False and s.expire_on_commit is False and s.info == {"k": "v"}
    assert AsyncSession(binds={User: engine}).get_bind(User) is engine.sync_engine
    with pytest.raises(NotImplementedError, match="two-phase"):
        AsyncSession(engine, twophase=True)
    with pytest.raises(ArgumentError, match="needs an engine"):
        AsyncSession()
    with pytest.raises(ArgumentError):
        AsyncSession(engine, no_such_option=True)


async def test_close_detaches_objects_and_gives_the_connection_back(seeded):
    s = AsyncSession(seeded)
    ann = await s.get(User, 1)
    ann.name = "changed"
    s.add(User(name="new"))
    assert seeded.pool.checkedout() == 1
    await s.close()
    assert seeded.pool.checkedout() == 0
    assert ann not in s and not s.new and not s.dirty and list(s.identity_map) == []
    assert ann.name == "changed"  # closing detaches, keeping the values
    assert await names(seeded) == ["ann", "bob"]


async def test_reset(seeded):
    s = AsyncSession(seeded)
    ann = await s.get(User, 1)
    await s.execute(update(User).where(User.id == 2).values(name="robert"))
    await s.reset()
    assert ann not in s and not s.in_transaction() and await names(seeded) == ["ann", "bob"]
    assert (await s.get(User, 2)).name == "bob"  # usable again
    await s.close()


async def test_close_all_sessions(seeded):
    one, two = AsyncSession(seeded), AsyncSession(seeded)
    ann = await one.get(User, 1)
    await two.execute(update(User).where(User.id == 2).values(name="robert"))
    await close_all_sessions()
    assert ann not in one and not one.in_transaction() and not two.in_transaction()
    assert seeded.pool.checkedout() == 0 and await names(seeded) == ["ann", "bob"]
    await one.get(User, 1)
    await AsyncSession.close_all()  # deprecated in SQLAlchemy 2.0, still there
    assert list(one.identity_map) == []


# --- add, add_all, new, identity_map, flush, commit


async def test_add_add_all_new_flush_commit(engine):
    async with AsyncSession(engine) as s:
        ann = User(name="ann")
        s.add(ann)
        s.add(ann)  # repeated calls are ignored
        s.add_all([User(name="bob"), User(name="cy")])
        assert ann in s and len(s.new) == 3 and ann in s.new and ann.id is None
        assert list(s.identity_map) == []
        await s.flush()
        assert not s.new and ann.id is not None
        assert s.identity_map[s.identity_key(User, ann.id)] is ann
        assert sorted(k[1][0] for k in s.identity_map.keys()) == sorted(
            u.id for u in s.identity_map.values())
        assert await names(engine) == []  # flushed, not committed
        await s.commit()
        assert await names(engine) == ["ann", "bob", "cy"]
        # expire_on_commit: the values are loaded again when next needed
        with pytest.raises(ExpiredAttributeError):
            ann.name
        await s.refresh(ann)
        assert ann.name == "ann" and ann.note == "none given"  # the server default
    async with AsyncSession(engine, expire_on_commit=False) as s:
        dan = User(name="dan")
        s.add(dan)
        await s.commit()
        assert dan.name == "dan"  # still readable


async def test_add_takes_detached_objects_and_refuses_others(seeded):
    async with AsyncSession(seeded) as first:
        ann = await first.get(User, 1)
    ann.name = "annie"  # changed while detached
    async with AsyncSession(seeded) as s:
        s.add(ann)
        assert ann in s and ann in s.dirty
        await s.commit()
    assert await names(seeded) == ["annie", "bob"]
    async with AsyncSession(seeded) as one, AsyncSession(seeded) as two:
        bob = await one.get(User, 2)
        with pytest.raises(InvalidRequestError, match="another session"):
            two.add(bob)
        assert async_object_session(bob) is one
        one.expunge(bob)
        two.add(bob)
        assert bob in two and async_object_session(bob) is two


async def test_flush_objects_is_not_implemented(engine):
    async with AsyncSession(engine) as s:
        ann = User(name="ann")
        s.add(ann)
        with pytest.raises(NotImplementedError, match="flush"):
            await s.flush([ann])


async def test_commit_without_a_transaction_and_autobegin(engine):
    async with AsyncSession(engine) as s:
        await s.commit()  # nothing begun: nothing to do
        await s.rollback()
    async with AsyncSession(engine, autobegin=False) as s:
        with pytest.raises(InvalidRequestError, match="autobegin"):
            await s.execute(select(User))
        async with s.begin():
            s.add(User(name="explicit"))
    assert await names(engine) == ["explicit"]


# --- delete, deleted, dirty, is_modified


async def test_delete_and_deleted(seeded):
    async with AsyncSession(seeded) as s:
        bob = await s.get(User, 2)
        await s.delete(bob)
        assert list(s.deleted) == [bob] and bob in s
        await s.flush()
        assert not s.deleted and bob not in s
        assert await s.get(User, 2) is None
        with pytest.raises(InvalidRequestError, match="not persisted"):
            await s.delete(User(name="never stored"))
        await s.commit()
    assert await names(seeded) == ["ann"]


async def test_dirty_and_is_modified(seeded):
    async with AsyncSession(seeded) as s:
        ann = await s.get(User, 1)
        assert not s.dirty and not s.is_modified(ann)
        ann.name = "ann"  # the same value: no net change (SQLAlchemy lists it in dirty)
        assert not s.is_modified(ann) and ann not in s.dirty
        ann.name = "annie"
        assert list(s.dirty) == [ann] and s.is_modified(ann)
        assert s.is_modified(ann, include_collections=False)
        await s.flush()
        assert not s.dirty and not s.is_modified(ann)
        await s.commit()
    assert await names(seeded) == ["annie", "bob"]


# --- expire, expire_all, refresh


async def test_expire_attribute_names_and_refresh(seeded):
    async with AsyncSession(seeded) as s:
        ann = await s.get(User, 1)
        # non-ORM SQL in the transaction: the object does not know of it
        await s.execute(text("UPDATE as_users SET name = :n, note = :o WHERE id = 1"),
                        {"n": "annie", "o": "noted"})
        assert ann.name == "ann"
        s.expire(ann, ["name"])
        assert ann.note == "none given"  # not expired
        with pytest.raises(ExpiredAttributeError):
            ann.name
        await s.refresh(ann, ["name"])  # only the named attribute
        assert ann.name == "annie" and ann.note == "none given"
        await s.refresh(ann)
        assert ann.note == "noted"
        ann.name = "unflushed"
        s.expire(ann)  # every attribute but the key; the change is forgotten
        assert not s.dirty
        with pytest.raises(ExpiredAttributeError):
            ann.note
        assert ann.id == 1
        await s.refresh(ann)
        assert ann.name == "annie"


async def test_expire_relationships(seeded):
    async with AsyncSession(seeded) as s:
        ann = await s.get(User, 1)
        addresses = await ann.awaitable_attrs.addresses
        s.expire(ann, ["addresses"])
        assert ann.name == "ann"
        with pytest.raises(NotLoadedError):
            ann.addresses
        await s.execute(delete(Address).where(Address.email == "ann@b"))
        assert [a.email for a in await ann.awaitable_attrs.addresses] == ["ann@a"]
        assert ann.addresses[0] is addresses[0]
        s.expire(ann)  # everything
        with pytest.raises(NotLoadedError):
            ann.addresses
        await s.refresh(ann, ["addresses"])
        await s.commit()  # expire_on_commit: the collection too
        with pytest.raises(NotLoadedError):
            ann.addresses
        with pytest.raises(KeyError):  # as SQLAlchemy
            s.expire(ann, ["nope"])


async def test_expire_all(seeded):
    async with AsyncSession(seeded) as s:
        users = (await s.scalars(select(User).order_by(User.id))).all()
        await s.execute(text("UPDATE as_users SET note = 'all'"))
        s.expire_all()
        for user in users:
            with pytest.raises(ExpiredAttributeError):
                user.note
        # a query loads expired objects again (SQLAlchemy loads on access)
        again = (await s.scalars(select(User).order_by(User.id))).all()
        assert again == users and [u.note for u in users] == ["all", "all"]


async def test_refresh_relationships_and_with_for_update(seeded, backend):
    async with AsyncSession(seeded) as s:
        ann = await s.get(User, 1)
        with pytest.raises(NotLoadedError):
            ann.addresses
        await s.refresh(ann, ["addresses"])
        assert [a.email for a in ann.addresses] == ["ann@a", "ann@b"]
        await s.refresh(ann, with_for_update=True)
        assert ann.name == "ann"
        with pytest.raises(NotLoadedError):
            ann.addresses  # a lazy relationship is expired by refresh(), as in SQLAlchemy
        address = (await s.scalars(select(Address).where(Address.email == "ann@a"))).one()
        await s.execute(text("UPDATE as_addresses SET user_id = 2 WHERE id = :id"),
                        {"id": address.id})
        await s.refresh(address)  # an eager one is loaded again
        assert address.user is await s.get(User, 2)
        if backend == "postgresql":
            # the row is locked until the session's transaction ends
            async with seeded.connect() as other:
                with pytest.raises(DatabaseError, match="lock"):
                    await other.execute(text("SELECT id FROM as_users WHERE id = 1 "
                                             "FOR UPDATE NOWAIT"))
        with pytest.raises(InvalidRequestError, match="no attribute"):
            await s.refresh(ann, ["nope"])
        with pytest.raises(InvalidRequestError):
            await s.refresh(User(name="transient"))


# --- expunge, expunge_all


async def test_expunge_and_expunge_all(seeded):
    async with AsyncSession(seeded) as s:
        ann, bob = await s.get(User, 1), await s.get(User, 2)
        ann.name = "not written"
        s.expunge(ann)
        assert ann not in s and async_object_session(ann) is None and not s.dirty
        new = User(name="new")
        s.add(new)
        s.expunge_all()
        assert bob not in s and new not in s and not s.new and list(s.identity_map) == []
        await s.commit()
    assert await names(seeded) == ["ann", "bob"]


# --- get, get_one, identity_key, identity_map


async def test_get_get_one_and_identity_key(seeded):
    async with AsyncSession(seeded) as s:
        ann = await s.get(User, 1)
        with statements(seeded) as sent:
            assert await s.get(User, 1) is ann  # from the identity map
            assert await s.get(User, {"id": 1}) is ann
        assert sent == []
        assert await s.get(User, 99) is None
        with pytest.raises(NoResultFound):
            await s.get_one(User, 99)
        assert await s.get_one(User, 2) is await s.get(User, 2)
        await s.execute(text("UPDATE as_users SET name = 'annie' WHERE id = 1"))
        assert await s.get(User, 1) is ann and ann.name == "ann"
        assert await s.get(User, 1, populate_existing=True) is ann and ann.name == "annie"
        assert await s.get(User, 1, with_for_update=True) is ann
        key = s.identity_key(instance=ann)
        assert key == AsyncSession.identity_key(User, 1) == s.identity_key(User, (1,)) \
            == (User, (1,), None)
        assert s.identity_map.get(key) is ann and s.identity_map[key] is ann
        row = (await s.execute(select(User.id, User.name).where(User.id == 2))).one()
        assert AsyncSession.identity_key(User, row=row) == (User, (2,), None)
    async with AsyncSession(seeded) as s:
        ann = await s.get(User, 1, options=[selectinload(User.addresses)])
        assert [a.email for a in ann.addresses] == ["ann@a", "ann@b"]  # loaded with it


# --- merge


async def test_merge(seeded):
    async with AsyncSession(seeded) as s:
        ann = await s.get(User, 1)
        merged = await s.merge(User(id=1, name="annie"))
        assert merged is ann and ann.name == "annie" and list(s.dirty) == [ann]
        new = User(id=7, name="gus")
        copy = await s.merge(new)  # no row 7: a pending copy
        assert copy is not new and copy in s.new and new not in s
        loaded = await s.merge(User(id=2, note="merged"))  # loaded, then changed
        assert loaded.name == "bob" and loaded.note == "merged"
        await s.commit()
    assert await stored(seeded, select(User.id, User.name, User.note).order_by(User.id)) == [
        (1, "annie", "none given"), (2, "bob", "merged"), (7, "gus", "none given")]


async def test_merge_load_false(seeded):
    async with AsyncSession(seeded, expire_on_commit=False) as s:
        bob = await s.get(User, 2)
    async with AsyncSession(seeded) as s:
        with statements(seeded) as sent:
            copy = await s.merge(bob, load=False)
        assert sent == []  # no database access
        assert copy is not bob and copy in s and copy.name == "bob" and not s.is_modified(copy)
        assert bob not in s
        bob.name = "dirty"
        with pytest.raises(InvalidRequestError, match="unflushed"):
            await s.merge(bob, load=False)
        with pytest.raises(InvalidRequestError, match="never persisted"):
            await s.merge(User(id=3, name="transient"), load=False)


async def test_merge_leaves_out_expired_values(seeded):
    async with AsyncSession(seeded) as s:
        ann = await s.get(User, 1)
        await s.commit()  # expired, then detached by the end of the block
    ann.note = "set while detached"
    async with AsyncSession(seeded) as s:
        copy = await s.merge(ann)
        assert copy.name == "ann" and copy.note == "set while detached"
        assert list(s.dirty) == [copy]
        await s.commit()
    async with AsyncSession(seeded) as s:
        bob = await s.get(User, 2)
        await s.commit()
    async with AsyncSession(seeded) as s:
        copy = await s.merge(bob, load=False)
        with pytest.raises(ExpiredAttributeError):
            copy.name  # expired it was, expired it stays
        assert (await s.get(User, 2)) is copy and copy.name == "bob"  # loaded again
    assert await stored(seeded, select(User.name, User.note).order_by(User.id)) == [
        ("ann", "set while detached"), ("bob", "none given")]


# --- begin, begin_nested, transactions


async def test_begin_commits_and_rolls_back(engine):
    s = AsyncSession(engine)
    async with s.begin() as tx:
        assert isinstance(tx, AsyncSessionTransaction)
        s.add(User(name="ann"))
        assert s.in_transaction() and s.get_transaction() is tx
    assert await names(engine) == ["ann"] and not s.in_transaction()
    with pytest.raises(ZeroDivisionError):
        async with s.begin():
            s.add(User(name="bob"))
            await s.flush()
            1 / 0
    assert await names(engine) == ["ann"]
    await s.execute(select(User))
    with pytest.raises(InvalidRequestError, match="already begun"):
        async with s.begin():
            pass
    await s.close()


async def test_session_transaction_commit_and_rollback(engine):
    async with AsyncSession(engine) as s:
        tx = await s.begin()
        s.add(User(name="ann"))
        await tx.commit()
        assert not tx.is_active and await names(engine) == ["ann"]
        tx = await s.begin()
        s.add(User(name="bob"))
        await s.flush()
        await tx.rollback()
        assert await names(engine) == ["ann"]
        with pytest.raises(InvalidRequestError):
            await tx.commit()


async def test_begin_nested(seeded):
    async with AsyncSession(seeded) as s:
        ann = await s.get(User, 1)
        assert s.in_transaction() and not s.in_nested_transaction()
        root = s.get_transaction()
        assert isinstance(root, AsyncSessionTransaction) and s.get_nested_transaction() is None
        async with s.begin_nested() as sp:
            assert s.in_nested_transaction() and s.get_nested_transaction() is sp
            assert s.get_transaction() is root
            ann.name = "inner"
            s.add(User(name="cy"))
        assert not s.in_nested_transaction()  # released
        nested = await s.begin_nested()
        ann.name = "rolled back"
        cy2 = User(name="dee")
        s.add(cy2)
        await s.flush()
        await nested.rollback()
        # asyncqlio restores the objects to the savepoint (SQLAlchemy expires them)
        assert ann.name == "inner" and cy2 not in s
        await s.commit()
    assert await names(seeded) == ["inner", "bob", "cy"]


async def test_rollback_restores_objects(seeded):
    async with AsyncSession(seeded) as s:
        ann = await s.get(User, 1)
        ann.name = "changed"
        new = User(name="new")
        s.add(new)
        await s.flush()
        await s.rollback()
        # asyncqlio puts the values back (SQLAlchemy expires them, to load on access)
        assert ann.name == "ann" and ann in s
        assert new not in s and async_object_session(new) is None  # transient again
        assert not s.new and not s.dirty and not s.in_transaction()
    assert await names(seeded) == ["ann", "bob"]


async def test_transaction_is_get_transaction(engine):
    """SQLAlchemy 1.3's ``Session.transaction`` is ``get_transaction()`` in 2.x."""
    async with AsyncSession(engine) as s:
        assert s.get_transaction() is None
        s.add(User(name="ann"))
        await s.flush()
        tx = s.get_transaction()
        assert isinstance(tx, AsyncSessionTransaction) and tx.is_active and not tx.nested
        await tx.commit()
        assert s.get_transaction() is None and await names(engine) == ["ann"]


async def test_failed_flush_is_active_and_pending_rollback(seeded):
    async with AsyncSession(seeded) as s:
        assert s.is_active
        s.add(User(name="ann"))  # unique name taken
        with pytest.raises(IntegrityError):
            await s.flush()
        assert not s.is_active
        with pytest.raises(PendingRollbackError):
            await s.execute(select(User))
        with pytest.raises(PendingRollbackError):
            await s.commit()
        await s.rollback()
        assert s.is_active and not s.new
        assert (await s.scalars(select(User.name).order_by(User.id))).all() == ["ann", "bob"]


# --- execute, scalar, scalars, stream, stream_scalars


async def test_execute_statements_and_parameters(seeded):
    async with AsyncSession(seeded) as s:
        result = await s.execute(select(User).where(User.id == 1))
        assert isinstance(result, Result)
        ann = result.scalar_one()
        assert ann is await s.get(User, 1)
        rows = (await s.execute(select(User.id, User.name).order_by(User.id))).all()
        assert rows == [(1, "ann"), (2, "bob")] and rows[0].name == "ann"
        # one dict: one row; a list of dicts: executemany
        result = await s.execute(insert(User), {"id": 3, "name": "cy"})
        assert result.rowcount == 1
        result = await s.execute(insert(User), [{"id": 4, "name": "dee"},
                                                {"id": 5, "name": "eve"}])
        assert result.rowcount == 2
        result = await s.execute(update(User), [{"id": 4, "name": "dora"},
                                                {"id": 5, "note": "e"}])  # by primary key
        assert result.rowcount == 2
        await s.execute(text("UPDATE as_users SET note = :note WHERE id = :id"),
                        [{"id": 1, "note": "a"}, {"id": 2, "note": "b"}])
        found = await s.execute(text("SELECT name FROM as_users WHERE id = :id"), {"id": 3})
        assert found.scalar() == "cy"
        result = await s.execute(delete(User).where(User.id == 3))
        assert result.rowcount == 1
        # the execution options and bind arguments of SQLAlchemy are taken
        await s.execute(select(User), execution_options={"populate_existing": True},
                        bind_arguments={"mapper": User})
        # SQLAlchemy 2.x: SQL strings must be text()
        with pytest.raises(ArgumentError, match="text"):
            await s.execute("SELECT 1")
        with pytest.raises(ObjectNotExecutableError):
            await s.execute("SELECT 1")
        await s.commit()
    assert await stored(seeded, select(User.id, User.name, User.note).order_by(User.id)) == [
        (1, "ann", "a"), (2, "bob", "b"), (4, "dora", "none given"), (5, "eve", "e")]


async def test_execute_keeps_loaded_objects_in_step(seeded):
    async with AsyncSession(seeded) as s:
        ann = await s.get(User, 1)
        await s.execute(update(User).where(User.id == 1).values(name="annie"))
        assert ann.name == "annie"  # SQLAlchemy's synchronize_session
        await s.execute(delete(User).where(User.id == 2))
        assert await s.get(User, 2) is None
        await s.commit()
    assert await names(seeded) == ["annie"]


async def test_scalar_and_scalars(seeded):
    async with AsyncSession(seeded) as s:
        assert await s.scalar(select(func.count()).select_from(User)) == 2
        assert await s.scalar(select(User.name).where(User.id == 99)) is None
        assert await s.scalar(text("SELECT name FROM as_users WHERE id = :id"), {"id": 2}) == "bob"
        users = await s.scalars(select(User).order_by(User.id))
        assert isinstance(users, ScalarResult)
        assert [u.name for u in users.all()] == ["ann", "bob"]
        with pytest.raises(ArgumentError):
            await s.scalar("SELECT 1")


async def test_stream_and_stream_scalars(seeded):
    async with AsyncSession(seeded) as s:
        ann = await s.get(User, 1)
        result = await s.stream(select(User).order_by(User.id))
        assert [row[0] async for row in result] == [ann, await s.get(User, 2)]
        result = await s.stream(select(User.name).where(User.id > 0).order_by(User.id))
        assert await result.scalars().all() == ["ann", "bob"]
        users = await s.stream_scalars(select(User).order_by(User.id.desc()))
        assert [u.name async for u in users] == ["bob", "ann"]


# --- no_autoflush, autoflush, info


async def test_autoflush_and_no_autoflush(engine):
    async with AsyncSession(engine) as s:
        s.add(User(name="ann"))
        with s.no_autoflush:
            s.add(User(name="bob"))
            assert await s.scalar(select(func.count()).select_from(User)) == 0
        assert await s.scalar(select(func.count()).select_from(User)) == 2
        s.autoflush = False
        s.add(User(name="cy"))
        assert await s.scalar(select(func.count()).select_from(User)) == 2
        await s.commit()  # commit flushes anyway
    assert await names(engine) == ["ann", "bob", "cy"]


async def test_info(engine):
    s = AsyncSession(engine, info={"request": 1})
    s.info["user"] = "ann"
    assert s.info == {"request": 1, "user": "ann"} and AsyncSession(engine).info == {}
    assert s.sync_session.info is s.info


# --- invalidate


async def test_invalidate_discards_the_connection(seeded):
    opened = []
    events.listen(seeded.sync_engine, "connect", lambda conn: opened.append(conn))
    s = AsyncSession(seeded)
    ann = await s.get(User, 1)
    await s.execute(update(User).where(User.id == 2).values(name="robert"))
    await s.close()  # pooled
    await s.get(User, 1)
    assert opened == []
    await s.execute(update(User).where(User.id == 2).values(name="robert"))
    await s.invalidate()
    assert ann not in s and await names(seeded) == ["ann", "bob"]
    await s.get(User, 1)  # on a new connection: the old one was closed, not pooled
    assert len(opened) == 1
    await s.close()


# --- connection, get_bind, bind_mapper, bind_table


async def test_connection_is_the_sessions(seeded, backend):
    async with AsyncSession(seeded) as s:
        s.add(User(id=3, name="cy"))
        await s.flush()
        conn = await s.connection()
        assert isinstance(conn, AsyncConnection) and conn.in_transaction()
        # the session's transaction: the flushed row is there, not committed
        assert (await conn.execute(select(func.count()).select_from(User))).scalar() == 3
        await conn.execute(text("UPDATE as_users SET name = 'c' WHERE id = 3"))
        with pytest.raises(InvalidRequestError, match="session"):
            await conn.commit()
        await s.commit()
    assert await names(seeded) == ["ann", "bob", "c"]


async def test_connection_execution_options(seeded, backend):
    async with AsyncSession(seeded) as s:
        await s.connection(execution_options={"isolation_level": "SERIALIZABLE"})
        if backend == "postgresql":
            level = await s.scalar(text("SHOW transaction_isolation"))
            assert level == "serializable"
        with pytest.warns(RuntimeWarning, match="ignored"):  # SQLAlchemy's SAWarning is one
            await s.connection(execution_options={"isolation_level": "SERIALIZABLE"})
        await s.commit()
        if backend == "postgresql":  # the next transaction is the engine's default again
            assert await s.scalar(text("SHOW transaction_isolation")) == "read committed"
        await s.rollback()
        with pytest.raises(ArgumentError):
            await s.connection(execution_options={"isolation_level": "NO SUCH LEVEL"})


async def test_get_bind_bind_mapper_bind_table(engine, url):
    async with AsyncSession(engine) as s:
        assert s.get_bind() is engine.sync_engine and s.get_bind(User) is engine.sync_engine
        s.bind_mapper(User, engine)  # the session's own engine: what it does anyway
        s.bind_table(Address.__table__, engine.sync_engine)
        assert s.get_bind(User) is engine.sync_engine
        other = create_async_engine(url)
        try:
            with pytest.raises(NotImplementedError, match="several engines"):
                s.bind_mapper(User, other)
            with pytest.raises(NotImplementedError, match="several engines"):
                s.bind_table(User.__table__, other)
            with pytest.raises(NotImplementedError, match="several engines"):
                AsyncSession(engine, binds={Address: other})
        finally:
            await other.dispose()
        s.add(User(name="ann"))
        await s.commit()
    assert await names(engine) == ["ann"]


# --- prepare, enable_relationship_loading


async def test_prepare_is_not_implemented(engine):
    async with AsyncSession(engine) as s:
        with pytest.raises(NotImplementedError, match="two-phase"):
            await s.prepare()
        with pytest.raises(NotImplementedError, match="two-phase"):
            await s.run_sync(lambda session: session.prepare())


async def test_a_session_bound_to_a_connection_is_refused(engine):
    """Joining a connection's transaction is not built: refused, rather than a session on
    a connection of its own that would not see the transaction's rows."""
    async with engine.connect() as conn:
        with pytest.raises(NotImplementedError, match="joining a connection"):
            AsyncSession(bind=conn)
        with pytest.raises(NotImplementedError, match="joining a connection"):
            async_sessionmaker(conn)()


async def test_enable_relationship_loading(seeded):
    async with AsyncSession(seeded) as s:
        address = Address(email="new@a", user_id=2)
        s.enable_relationship_loading(address)
        assert address not in s and async_object_session(address) is s
        bob = await address.awaitable_attrs.user
        assert bob is await s.get(User, 2)
        assert not s.new  # not written
        transient = User(id=1, name="ann")
        s.sync_session.enable_relationship_loading(transient)  # SQLAlchemy's spelling
        assert [a.email for a in await transient.awaitable_attrs.addresses] == ["ann@a", "ann@b"]
        await s.commit()
        assert len(await stored(seeded, select(Address.id))) == 2
        ann = await s.get(User, 1)
        s.expunge(ann)
        with pytest.raises(NotImplementedError, match="enable_relationship_loading"):
            s.enable_relationship_loading(ann)  # detached
    async with AsyncSession(seeded) as one, AsyncSession(seeded) as two:
        pending = Address(email="p@a", user_id=1)
        one.add(pending)
        with pytest.raises(InvalidRequestError, match="another session"):
            two.enable_relationship_loading(pending)


# --- the bulk operations (through run_sync, as SQLAlchemy's AsyncSession offers them)


async def test_bulk_insert_mappings(engine):
    async with AsyncSession(engine) as s:
        mappings = [{"name": "ann"}, {"name": "bob", "note": None}]
        await s.run_sync(lambda session: session.bulk_insert_mappings(
            User, mappings, return_defaults=True))
        assert [m["id"] for m in mappings] == [1, 2] and "note" not in mappings[0]
        plain = [{"name": "cy"}]
        await s.run_sync(lambda session: session.bulk_insert_mappings(User, plain))
        assert plain == [{"name": "cy"}]
        await s.bulk_insert_mappings(User, [{"name": "dee", "note": None}], render_nulls=True)
        assert not s.new and list(s.identity_map) == []  # not the session's objects
        await s.commit()
    # None leaves the column to its default unless render_nulls (then NULL is written)
    assert await stored(engine, select(User.name, User.note).order_by(User.id)) == [
        ("ann", "none given"), ("bob", "none given"), ("cy", "none given"), ("dee", None)]


async def test_bulk_save_objects(seeded):
    async with AsyncSession(seeded, expire_on_commit=False) as s:
        ann = await s.get(User, 1)
        ann.note = "changed"
        new = [User(name="cy"), User(name="dee")]
        await s.run_sync(lambda session: session.bulk_save_objects([ann, *new]))
        assert [u.id for u in new] == [3, 4]  # the keys are read back anyway
        assert all(u not in s and async_object_session(u) is None for u in new)
        assert ann in s and not s.is_modified(ann) and not s.dirty
        more = [User(name="eve")]
        await s.bulk_save_objects(more, return_defaults=True)
        assert more[0].id == 5 and more[0].note == "none given"
        await s.commit()
    assert await stored(seeded, select(User.name, User.note).order_by(User.id)) == [
        ("ann", "changed"), ("bob", "none given"), ("cy", "none given"),
        ("dee", "none given"), ("eve", "none given")]
    # detached objects: updated by key, changed columns only unless update_changed_only=False
    new[0].note = "cy's"
    async with AsyncSession(seeded) as s:
        await s.execute(text("UPDATE as_users SET name = 'dorothy' WHERE id = 4"))
        await s.commit()
        with statements(seeded) as sent:
            await s.bulk_save_objects([new[0]])
        assert len([q for q in sent if q.startswith("UPDATE")]) == 1 and "name" not in sent[-1]
        await s.bulk_save_objects([new[1]], update_changed_only=False)  # dee over dorothy
        await s.commit()
    assert await stored(seeded, select(User.name, User.note).where(User.id > 2)
                        .order_by(User.id)) == [("cy", "cy's"), ("dee", "none given"),
                                                ("eve", "none given")]


async def test_bulk_save_objects_order(engine):
    async with AsyncSession(engine) as s:
        s.add(User(id=1, name="ann"))
        await s.commit()
    async with AsyncSession(engine) as s:
        ann = await s.get(User, 1)
        ann.name = "free"
        with statements(engine) as sent:
            # in the order given: the rename frees "ann" before the insert takes it
            await s.bulk_save_objects([ann, User(id=2, name="ann")])
        assert [q.split()[0] for q in sent] == ["UPDATE", "INSERT"]
        await s.rollback()
        ann = await s.get(User, 1)
        ann.name = "free"
        with pytest.raises(IntegrityError):  # inserts first: "ann" is still taken
            await s.bulk_save_objects([ann, User(id=2, name="ann")], preserve_order=False)
        await s.rollback()
    assert await names(engine) == ["ann"]


async def test_bulk_update_mappings(seeded):
    async with AsyncSession(seeded) as s:
        await s.run_sync(lambda session: session.bulk_update_mappings(
            User, [{"id": 1, "note": "one"}, {"id": 2, "name": "robert", "note": "two"}]))
        await s.commit()
    assert await stored(seeded, select(User.name, User.note).order_by(User.id)) == [
        ("ann", "one"), ("robert", "two")]


# --- run_sync, sync_session, sync_session_class


async def test_run_sync(seeded):
    def business(session, name: str) -> str:
        session.add(User(name=name))
        session.flush()
        with session.begin(nested=True):  # SQLAlchemy 2.x: begin_nested()
            session.add(User(name="nested"))
        nested = session.begin_nested()
        session.add(User(name="undone"))
        assert session.get_nested_transaction().nested
        nested.rollback()
        assert session.get_nested_transaction() is None and session.get_transaction().is_active
        count = session.execute(select(func.count()).select_from(User)).scalar()
        conn = session.connection()
        rows = conn.execute(text("SELECT name FROM as_users ORDER BY id")).scalars().all()
        return f"{count} {rows[-1]}"

    async with AsyncSession(seeded) as s:
        assert await s.run_sync(business, "cy") == "4 nested"
        assert isinstance(s.sync_session, SyncSession) and s.sync_session.bind is seeded.sync_engine
        assert async_session(s.sync_session) is s
        with pytest.raises(MissingGreenlet):
            s.sync_session.execute(select(User))  # synchronous I/O outside run_sync()
        await s.commit()
    assert await names(seeded) == ["ann", "bob", "cy", "nested"]


async def test_sync_session_class(seeded):
    class Audited(SyncSession):
        def audited_add(self, obj):
            self.info["added"] = self.info.get("added", 0) + 1
            self.add(obj)

    class AuditedSession(AsyncSession):
        sync_session_class = Audited

    assert AsyncSession.sync_session_class is SyncSession
    for s in (AsyncSession(seeded, sync_session_class=Audited), AuditedSession(seeded)):
        async with s:
            assert isinstance(s.sync_session, Audited)
            await s.run_sync(lambda session: session.audited_add(User(name=f"u{id(s)}")))
            assert s.info["added"] == 1 and len(s.new) == 1


# --- async_object_session, async_session, object_session, AsyncAttrs


async def test_object_sessions(seeded):
    async with AsyncSession(seeded) as s:
        ann = await s.get(User, 1)
        assert async_object_session(ann) is s
        assert AsyncSession.object_session(ann) is s.sync_session
        assert async_session(s.sync_session) is s
        new = User(name="new")
        assert async_object_session(new) is None and AsyncSession.object_session(new) is None
        s.add(new)
        assert async_object_session(new) is s
    assert async_object_session(ann) is None  # closed: detached
    assert async_session(object()) is None


async def test_awaitable_attrs(seeded):
    async with AsyncSession(seeded) as s:
        ann = (await s.scalars(select(User).where(User.id == 1))).one()
        with pytest.raises(NotLoadedError):
            ann.addresses  # no I/O on attribute access
        addresses = await ann.awaitable_attrs.addresses
        assert [a.email for a in addresses] == ["ann@a", "ann@b"] and ann.addresses is addresses
        assert await addresses[0].awaitable_attrs.user is ann
        assert await ann.awaitable_attrs.name == "ann"  # loaded already: as it is
        s.expire(ann, ["note"])
        assert await ann.awaitable_attrs.note == "none given"  # an expired column: loaded
        await s.commit()
        assert await ann.awaitable_attrs.name == "ann"  # expired by the commit


# --- async_scoped_session


async def test_async_scoped_session_scopes(seeded):
    scoped = async_scoped_session(async_sessionmaker(seeded), scopefunc=asyncio.current_task)
    assert isinstance(scoped.session_factory, async_sessionmaker)
    mine = scoped()
    assert scoped() is mine and isinstance(mine, AsyncSession)
    with pytest.raises(InvalidRequestError):
        scoped(autoflush=False)  # a session exists in this scope

    async def other_task() -> AsyncSession:
        sess = scoped()
        sess.add(User(name="from a task"))
        await scoped.commit()
        await scoped.remove()
        return sess

    theirs = await asyncio.create_task(other_task())
    assert theirs is not mine and not theirs.in_transaction()
    assert await names(seeded) == ["ann", "bob", "from a task"]
    await scoped.remove()
    assert scoped() is not mine
    await scoped.remove()
    scoped.configure(autoflush=False)
    assert scoped().autoflush is False
    await scoped.remove()


async def test_async_scoped_session_proxies(seeded):
    scoped = async_scoped_session(async_sessionmaker(seeded, info={"app": 1}),
                                  scopefunc=asyncio.current_task)
    assert scoped.bind is seeded and scoped.info == {"app": 1} and scoped.autoflush
    assert scoped.get_bind() is seeded.sync_engine
    ann = await scoped.get(User, 1)
    assert await scoped.get_one(User, 1) is ann
    assert scoped.identity_key(instance=ann) == (User, (1,), None)
    assert scoped.identity_map[scoped.identity_key(User, 1)] is ann
    assert scoped.object_session(ann) is scoped().sync_session
    ann.name = "annie"
    assert list(scoped.dirty) == [ann] and scoped.is_modified(ann)
    scoped.expire(ann, ["name"])
    await scoped.refresh(ann)
    assert ann.name == "ann"
    scoped.add(User(id=3, name="cy"))
    scoped.add_all([User(id=4, name="dee")])
    assert len(scoped.new) == 2 and scoped.is_active
    await scoped.flush()
    dee = await scoped.get(User, 4)
    await scoped.delete(dee)
    assert list(scoped.deleted) == [dee]
    with scoped.no_autoflush:
        assert await scoped.scalar(select(func.count()).select_from(User)) == 4
    assert (await scoped.scalars(select(User.name).order_by(User.id))).all() == [
        "ann", "bob", "cy"]
    assert (await scoped.execute(select(User.id).where(User.id == 3))).scalar() == 3
    assert [r[0] async for r in await scoped.stream(select(User.id).order_by(User.id))] == [1, 2, 3]
    assert [i async for i in await scoped.stream_scalars(select(User.id).where(User.id < 3)
                                                          .order_by(User.id))] == [1, 2]
    merged = await scoped.merge(User(id=2, note="merged"))
    assert merged.note == "merged"
    conn = await scoped.connection()
    assert conn.in_transaction()
    async with scoped.begin_nested():
        scoped.add(User(id=5, name="eve"))
    await scoped.commit()
    assert await names(seeded) == ["ann", "bob", "cy", "eve"]
    scoped.expire_all()
    with pytest.raises(ExpiredAttributeError):
        ann.name
    scoped.expunge(ann)
    assert ann not in scoped()
    cy = await scoped.get(User, 3)
    scoped.expunge_all()
    assert cy not in scoped() and list(scoped.identity_map) == []
    scoped.add(User(id=9, name="rolled back"))
    await scoped.rollback()
    assert not scoped.new
    await scoped.get(User, 1)
    await scoped.reset()
    assert list(scoped.identity_map) == [] and not scoped.in_transaction()
    await scoped.get(User, 1)
    await scoped.invalidate()
    assert not scoped.in_transaction()
    await scoped.get(User, 1)
    await scoped.close()
    assert list(scoped.identity_map) == []
    async with scoped.begin():
        scoped.add(User(id=6, name="fay"))
    await scoped.aclose()
    await scoped.close_all()
    await scoped.remove()
    assert await names(seeded) == ["ann", "bob", "cy", "eve", "fay"]
