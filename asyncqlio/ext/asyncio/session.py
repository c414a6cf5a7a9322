"""SQLAlchemy's ``AsyncSession`` and its factory, over asyncqlio's :class:`Session`.

An ``AsyncSession`` is an asyncqlio session (the same identity map, flush, compiled
queries) with SQLAlchemy 2.x's semantics where they differ from asyncqlio's own: leaving
``async with AsyncSession(engine)`` closes the session and rolls back what was not
committed (asyncqlio's ``Session`` commits); ``close()`` leaves it usable; ``commit()``
expires the objects unless ``expire_on_commit=False``; ``delete()`` and ``merge()`` take
effect at the next flush; ``execute()`` takes statements, not SQL strings; ``add()``
refuses an object that another session holds.
"""
from __future__ import annotations

import warnings
import weakref
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable, Generic, Iterable, Mapping, TypeVar

from asyncqlio._speedups import _row
from asyncqlio.exc import (ArgumentError, ExpiredAttributeError, InvalidRequestError,
                           NoResultFound, NotLoadedError)
from asyncqlio.ext.asyncio.bridge import greenlet_spawn
from asyncqlio.ext.asyncio.engine import AsyncConnection
from asyncqlio.ext.asyncio.sync_session import SyncSession
from asyncqlio.orm import loading
from asyncqlio.orm.schema import relationship as relationships
from asyncqlio.orm.session import Session
from asyncqlio.orm.session_base import SessionState
from asyncqlio.orm.sessionmaker import sessionmaker
from asyncqlio.orm.statements import select
from asyncqlio.orm.unit_of_work import SessionTransaction

_ONE_ENGINE = ("binding a session to several engines is not implemented in asyncqlio: a "
               "session has one connection, to the one engine it was made with")

#: SQLAlchemy's ``AsyncSessionTransaction``: ``async with session.begin():``,
#: ``await tx.commit()`` / ``await tx.rollback()``
AsyncSessionTransaction = SessionTransaction

_AS = TypeVar("_AS", bound="AsyncSession")

#: every AsyncSession alive, for close_all_sessions()
_sessions: "weakref.WeakSet[AsyncSession]" = weakref.WeakSet()

#: the key in an object's ``__dict__`` marking it for relationship loading while it is not
#: persistent (``enable_relationship_loading()``)
_LOADS_RELATIONSHIPS = "__loads_relationships__"


def _engine_of(bind: Any) -> Any:
    """The asyncqlio engine (DatabaseInterface) under an AsyncEngine, or the engine itself."""
    return getattr(bind, "sync_engine", bind)


class AsyncSession(Session):
    """``async with AsyncSession(engine) as session:`` (or from ``async_sessionmaker``).

    Keywords as SQLAlchemy's: ``autoflush``, ``expire_on_commit``, ``info``,
    ``autobegin``, ``binds`` (every bind must be the one engine: a session has one
    connection), ``sync_session_class`` and ``join_transaction_mode`` (accepted).
    ``twophase`` is not implemented."""

    #: SQL text runs through ``text()`` only, as in SQLAlchemy 2.x
    sql_strings = False


    #: the class of :attr:`sync_session`, the synchronous face ``run_sync()`` hands its
    #: function; it is called with the AsyncSession (SQLAlchemy's is a ``Session`` class)
    sync_session_class: type = SyncSession

    def __init__(self, bind: Any = None, *, binds: Mapping[Any, Any] | None = None,
                 sync_session_class: type | None = None, autoflush: bool = True,
                 expire_on_commit: bool = True, autobegin: bool = True,
                 info: Mapping[Any, Any] | None = None, twophase: bool = False,
                 join_transaction_mode: str = "conservative_savepoint",
                 close_resets_only: bool = True, **kwargs: Any) -> None:
        if twophase:
            raise NotImplementedError("two-phase transactions (twophase=True) are not "
                                      "implemented in asyncqlio")
        engines = {id(_engine_of(b)): b for b in (binds or {}).values()}
        if bind is not None:
            engines[id(_engine_of(bind))] = bind
        if not engines:
            raise ArgumentError("an AsyncSession needs an engine: AsyncSession(engine)")
        if len(engines) > 1:
            raise NotImplementedError(_ONE_ENGINE)
        given = bind if bind is not None else next(iter(engines.values()))
        if isinstance(given, AsyncConnection):
            raise NotImplementedError(
                "AsyncSession(bind=connection), a session joining a connection's transaction, "
                "is not implemented in asyncqlio: bind the engine")
        super().__init__(_engine_of(given), autoflush=autoflush, **kwargs)
        self.bind = given
        self.binds = dict(binds or {})
        self.expire_on_commit = expire_on_commit
        self.autobegin = autobegin
        self.info: dict[Any, Any] = dict(info or {})
        self.sync_session = (sync_session_class or self.sync_session_class)(self)
        #: how transactions begin; ``connection(execution_options=...)`` changes it for one
        self._default_begin = self._begin_sql
        _sessions.add(self)

    # --- lifecycle, as SQLAlchemy 2.x
    async def __aenter__(self: _AS) -> _AS:
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        await self.close()

    async def close(self) -> None:  # type: ignore[override]
        """Roll back what was not committed, give the connection back and detach every
        object (new ones become transient); the session can be used again."""
        conn, self.conn = self.conn, None
        self._end_transaction()
        _row.detach(self._pending.values(), _row.TRANSIENT)
        self._pending.clear()
        self.expunge_all()
        self.state = SessionState.NOT_READY
        if conn is not None:
            try:
                if conn.in_transaction and not conn.broken:
                    await conn.rollback()
            finally:
                await self.db.pool.release(conn)

    aclose = close
    reset = close

    async def invalidate(self) -> None:  # type: ignore[override]
        """:meth:`close`, the connection closed rather than given back to the pool (its
        state is not to be trusted)."""
        if self.conn is not None:
            self.conn.broken = True
        await self.close()

    def _end_transaction(self) -> None:
        super()._end_transaction()
        self._begin_sql = self._default_begin

    @classmethod
    async def close_all(cls) -> None:
        """Close every AsyncSession (deprecated in SQLAlchemy: use close_all_sessions())."""
        await close_all_sessions()

    async def _ready(self) -> Any:
        if not self.autobegin and self._transaction is None and not self.in_transaction():
            raise InvalidRequestError("autobegin is disabled on this session; call "
                                      "session.begin() to start a transaction")
        return await super()._ready()

    async def commit(self) -> "AsyncSession":  # type: ignore[override]
        if not self.autobegin and self._transaction is None and not self.in_transaction():
            raise InvalidRequestError("no transaction is begun on this session")
        await super().commit()
        if self.expire_on_commit:
            self.expire_all()
        return self

    def add(self, instance: Any, _warn: bool = True) -> Any:  # type: ignore[override]
        """Put an object into the session: a new one is inserted at the next flush, a
        detached one is tracked again. An object another session holds is refused (expunge
        it there, or ``merge()`` it here)."""
        other = getattr(instance, "_session", None)
        if other is not None and other is not self and instance in other:
            raise InvalidRequestError(f"{type(instance).__name__} object is already attached "
                                      f"to another session ({other!r})")
        return super().add(instance)

    def is_modified(self, instance: Any,  # type: ignore[override]
                    include_collections: bool = True) -> bool:
        """Whether a column of the object has a value not written yet (a change of a
        collection changes the related objects' foreign keys, not this object)."""
        return super().is_modified(instance)

    @property
    def is_active(self) -> bool:
        """False only while a failed statement awaits ``rollback()``."""
        return self.state is not SessionState.FAILED

    # --- statements
    async def get(self, entity: type, ident: Any, *, options: Iterable[Any] | None = None,
                  populate_existing: bool = False, with_for_update: Any = None,
                  identity_token: Any = None, execution_options: Any = None) -> Any:
        """The object with this primary key (a value, a tuple, or a mapping of key
        attribute names to values), from the identity map without I/O when it is there."""
        info = getattr(entity, "__table__", None)
        if not isinstance(ident, (int, str, tuple)) and isinstance(ident, Mapping) \
                and info is not None:
            names = [c.attr_name for c in info.primary_key]
            missing = [n for n in names if n not in ident]
            if missing:
                raise InvalidRequestError(f"get() of {entity.__name__} needs {missing[0]!r}")
            ident = tuple(ident[n] for n in names)
        if not (options or with_for_update):
            row = await super().get(entity, ident)
            if row is not None and populate_existing:
                await self.refresh(row)
            return row
        values = tuple(ident) if isinstance(ident, (tuple, list)) else (ident,)
        stmt = select(entity).where(*[c == v for c, v in zip(info.primary_key, values)])
        if options:
            stmt = stmt.options(*options)
        if with_for_update:
            stmt = stmt.with_for_update(**(with_for_update if isinstance(with_for_update, dict)
                                           else {}))
        row = (await self.execute(stmt)).scalars().first()
        if row is not None and populate_existing:
            await self.refresh(row)
        return row

    async def get_one(self, entity: type, ident: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        row = await self.get(entity, ident, **kwargs)
        if row is None:
            raise NoResultFound(f"no {entity.__name__} row with primary key {ident!r}")
        return row

    def expire(self, instance: Any,  # type: ignore[override]
               attribute_names: Iterable[str] | None = None) -> None:
        """Forget the object's values and their unflushed changes (every attribute but the
        primary key, relationships included, or the named ones): reading a column raises
        ExpiredAttributeError, a relationship NotLoadedError, until ``refresh()``, a query
        or ``await obj.awaitable_attrs.name`` loads it again."""
        rels = {r.name for r in relationships.of_table(type(instance))}
        names = None if attribute_names is None else list(attribute_names)
        columns = None if names is None else [n for n in names if n not in rels]
        if columns is None or columns:
            super().expire(instance, columns)
        else:
            self._check_attached(instance)
        d = instance.__dict__
        for name in rels if names is None else rels.intersection(names):
            d.pop(name, None)

    async def refresh(self, instance: Any, attribute_names: Iterable[str] | None = None,  # type: ignore[override]
                      with_for_update: Any = None) -> None:
        """Load the object's columns again, and its relationships that load with every
        query (the others are expired); or only the named columns and relationships.
        ``with_for_update``: ``SELECT ... FOR UPDATE``."""
        self._check_attached(instance)
        cls = type(instance)
        info = cls.__table__
        names = None if attribute_names is None else list(attribute_names)
        rels = {r.name: r for r in relationships.of_table(cls)}
        columns = [n for n in names if n not in rels] if names is not None else None
        unknown = [n for n in columns or () if n not in info.attrs]
        if unknown:
            raise InvalidRequestError(f"{cls.__name__} has no attribute {unknown[0]!r}")
        if columns is None or columns:
            record = await self._stored_record(instance, bool(with_for_update))
            loaders = info.loaders_for(self.dialect.name)
            if columns is None:
                _row.load_into(instance, record, loaders, self)
                self._dirty.pop(id(instance), None)
            else:
                values = _row.load_values(record, loaders)
                indexes = [info.attrs[n].index for n in columns]
                _row.load_columns(instance, indexes, [values[i] for i in indexes])
                if not _row.forget_changes(instance, indexes):
                    self._dirty.pop(id(instance), None)
        if names is None:  # as SQLAlchemy: eager relationships load again, the others expire
            forgotten = list(rels.values())
            reloaded = [r for r in forgotten if r.load_kind != "explicit"]
        else:
            forgotten = reloaded = [rels[n] for n in names if n in rels]
        for rel in forgotten:
            instance.__dict__.pop(rel.name, None)
        for rel in reloaded:
            await loading.load_select(self, rel, [instance])

    async def delete(self, instance: Any) -> None:  # type: ignore[override]
        """Mark the object for deletion at the next flush."""
        if instance._state != _row.PERSISTENT:
            raise InvalidRequestError(f"{type(instance).__name__} object is not persisted")
        self._mark_deleted(instance)

    async def merge(self, instance: Any, *, load: bool = True,  # type: ignore[override]
                    options: Iterable[Any] | None = None) -> Any:
        """The session's object for the instance's primary key, taking the values set on
        the instance (not its expired ones): the one in the identity map, or loaded, or
        (where the database has none) a new pending copy. The instance itself is left as
        it is. Its changes are written at the next flush. ``load=False`` takes a clean
        detached instance as the stored row, with no SQL."""
        cls = type(instance)
        info = cls.__table__
        values = [_row.column_value(instance, i) for i in range(len(info.columns))]
        key = tuple(values[i] for i in info.pk_indexes)
        target = None
        if all(v is not _row.NO_VALUE and v is not None for v in key):
            if load:
                target = await self.get(cls, key, options=options)
            else:
                target = self.identity_map.get((cls, key))
        if not load:
            if instance._state in (_row.TRANSIENT, _row.PENDING):
                raise InvalidRequestError("merge(load=False) takes objects loaded before "
                                          f"(detached ones); {cls.__name__} object was never "
                                          "persisted: merge() it with load=True")
            if _row.changed(instance):
                raise InvalidRequestError("merge(load=False) takes objects with no unflushed "
                                          f"changes; this {cls.__name__} object has some")
            if target is None:
                target = cls.__new__(cls)
                _row.load_into(target, values, (), self)
                self._track((target,))
            else:
                _row.load_into(target, values, (), self)
            expired = [i for i, v in enumerate(values) if v is _row.EXPIRED]
            if expired:
                _row.expire(target, expired)
            return target
        given = [(i, column, value) for i, (column, value) in enumerate(zip(info.columns, values))
                 if value is not _row.NO_VALUE and value is not _row.EXPIRED]
        if target is None:
            target = cls(**{column.attr_name: value for _, column, value in given})
            self.add(target)
            return target
        for i, column, value in given:
            if i not in info.pk_indexes:
                setattr(target, column.attr_name, value)
        return target

    # --- bulk writes (SQLAlchemy's legacy bulk API): the session's unit of work bypassed
    async def flush(self, objects: Iterable[Any] | None = None) -> None:  # type: ignore[override]
        if objects is not None:
            raise NotImplementedError("flush(objects=...) (flushing some objects only) is not "
                                      "implemented in asyncqlio")
        await super().flush()

    # --- what SQLAlchemy's Session has besides
    async def connection(self, bind_arguments: Any = None, execution_options: Any = None,
                         **kwargs: Any) -> Any:
        """The session's connection, in its transaction, as an AsyncConnection.
        ``execution_options`` (``isolation_level``...) apply to the transaction they begin;
        once one is begun they are ignored, with a warning, as in SQLAlchemy."""
        if execution_options:
            if self.in_transaction():
                warnings.warn("the session's connection is already in a transaction; "
                              "execution_options ignored", RuntimeWarning, stacklevel=2)
            else:
                self._begin_sql = self.db.execution_options(
                    **execution_options).begin_statement()
        conn = await self._ready()
        return AsyncConnection._of_session(self, conn)

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None,
                 **kwargs: Any) -> Any:
        """The engine below the AsyncEngine (SQLAlchemy returns the sync Engine)."""
        return self.db

    def bind_mapper(self, mapper: Any, bind: Any) -> None:
        """Route a class's statements to ``bind``: only the session's own engine can be
        named (a session has one connection)."""
        self._bind(mapper, bind)

    def bind_table(self, table: Any, bind: Any) -> None:
        """Route a table's statements to ``bind``: only the session's own engine."""
        self._bind(table, bind)

    def _bind(self, key: Any, bind: Any) -> None:
        if _engine_of(bind) is not self.db:
            raise NotImplementedError(_ONE_ENGINE)
        self.binds[key] = bind

    def enable_relationship_loading(self, obj: Any) -> None:
        """Let a new object (not added, or pending) load its relationships through this
        session, from its foreign and primary key values: ``await
        obj.awaitable_attrs.rel`` (or ``await Cls.rel.load(obj)``) queries them. The
        object stays out of the session's writes."""
        state = obj._state
        if state == _row.PERSISTENT and obj._session is self:
            return  # its relationships load already
        if state not in (_row.TRANSIENT, _row.PENDING):
            raise NotImplementedError("enable_relationship_loading() of an object that was "
                                      "persisted is not implemented in asyncqlio: add() it "
                                      "back, or merge() it")
        if obj._session is not None and obj._session is not self:
            raise InvalidRequestError(f"{type(obj).__name__} object is already attached to "
                                      f"another session ({obj._session!r})")
        obj._session = self
        d = obj.__dict__
        d[_LOADS_RELATIONSHIPS] = True
        for rel in relationships.of_table(type(obj)):
            d.pop(rel.name, None)  # the empty value a new object starts with

    async def prepare(self) -> None:
        """Two-phase commit is not implemented (``twophase=True`` is refused too)."""
        raise NotImplementedError("prepare() (two-phase commit) is not implemented in "
                                  "asyncqlio")

    async def run_sync(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(sync_session, *args, **kwargs)``, a synchronous function whose session
        calls do their I/O through this session; its return value."""
        return await greenlet_spawn(fn, self.sync_session, *args, **kwargs)

    @classmethod
    def identity_key(cls, class_: type | None = None, ident: Any = None, *,
                     instance: Any = None, row: Any = None,
                     identity_token: Any = None) -> tuple:
        """``(class, primary key tuple, None)``: an object's key in the identity map."""
        if instance is not None:
            return type(instance), tuple(instance.primary_key_values()), None
        if class_ is None:
            raise ArgumentError("identity_key() needs a class and a key, or instance=")
        if row is not None:
            names = [c.attr_name for c in class_.__table__.primary_key]
            return class_, tuple(row._mapping[n] if hasattr(row, "_mapping") else row[n]
                                 for n in names), None
        return class_, tuple(ident) if isinstance(ident, (tuple, list)) else (ident,), None

    @classmethod
    def object_session(cls, instance: Any) -> Any:
        """The synchronous face of the session the object belongs to, or None."""
        sess = async_object_session(instance)
        return None if sess is None else sess.sync_session


def async_object_session(instance: Any) -> AsyncSession | None:
    """The AsyncSession an object belongs to, or None."""
    sess = getattr(instance, "_session", None)
    return sess if isinstance(sess, AsyncSession) else None


def async_session(session: Any) -> AsyncSession | None:
    """The AsyncSession behind a synchronous session face (``session.sync_session``)."""
    sess = getattr(session, "_async", None)
    return sess if isinstance(sess, AsyncSession) else None


async def close_all_sessions() -> None:
    """Close every AsyncSession still alive."""
    for sess in list(_sessions):
        await sess.close()


class async_sessionmaker(sessionmaker, Generic[_AS]):  # noqa: N801 - SQLAlchemy's name
    """``Session = async_sessionmaker(engine, expire_on_commit=False)``;
    ``async with Session() as session:`` or ``async with Session.begin() as session:``."""

    def __init__(self, bind: Any = None, *, class_: type = AsyncSession,
                 autoflush: bool = True, expire_on_commit: bool = True,
                 info: Mapping[Any, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(bind, class_, autoflush=autoflush, expire_on_commit=expire_on_commit,
                         info=info, **kwargs)

    def __call__(self, **local_kw: Any) -> _AS:
        options = {**self.defaults, **local_kw}
        if local_kw.get("info") is not None and self.defaults.get("info"):
            options["info"] = {**self.defaults["info"], **local_kw["info"]}
        bind = options.pop("bind", self.bind)
        return self.class_(bind, **options)

    def configure(self, **options: Any) -> None:
        if "bind" in options:
            self.bind = options.pop("bind")
        super().configure(**options)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[_AS]:
        """A new session in a transaction: committed at the end, rolled back on error,
        closed either way."""
        async with self() as sess:
            async with sess.begin():
                yield sess


class _AwaitableAttrs:
    """``await obj.awaitable_attrs.name``: the attribute, loaded first if it must be."""

    __slots__ = ("_obj",)

    def __init__(self, obj: Any) -> None:
        self._obj = obj

    def __getattr__(self, name: str) -> Any:
        return _loaded(self._obj, name)


async def _loaded(obj: Any, name: str) -> Any:
    d = obj.__dict__
    if name not in d and d.get(_LOADS_RELATIONSHIPS):
        rel = next((r for r in relationships.of_table(type(obj)) if r.name == name), None)
        if rel is not None:
            return await rel.load(obj, obj._session)
    try:
        return getattr(obj, name)
    except NotLoadedError:
        rel = getattr(type(obj), name)
        await rel.load([obj], obj._session)
    except ExpiredAttributeError:
        await obj._session.refresh(obj, [name])
    return getattr(obj, name)


class AsyncAttrs:
    """A mixin for declarative classes: ``await user.awaitable_attrs.addresses`` loads a
    relationship not loaded yet (or an expired column) and gives its value."""

    __slots__ = ()

    @property
    def awaitable_attrs(self) -> Any:
        return _AwaitableAttrs(self)


__all__ = ["AsyncAttrs", "AsyncSession", "AsyncSessionTransaction", "async_object_session",
           "async_session", "async_sessionmaker", "close_all_sessions"]
