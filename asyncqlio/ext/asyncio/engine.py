"""SQLAlchemy 2.x's ``sqlalchemy.ext.asyncio`` engine side over asyncqlio's engine:
:func:`create_async_engine`, :class:`AsyncEngine`, :class:`AsyncConnection`,
:class:`AsyncTransaction`, :func:`async_engine_from_config`. A program written for
SQLAlchemy's asyncio engine runs once its imports name ``asyncqlio`` instead::

    from asyncqlio import select, text
    from asyncqlio.ext.asyncio import create_async_engine

    engine = create_async_engine("postgresql+asyncpg://scott:tiger@localhost/test")
    async with engine.begin() as conn:                  # committed at the end
        await conn.run_sync(Base.metadata.create_all)
        await conn.execute(text("INSERT INTO t (x) VALUES (:x)"), [{"x": 1}, {"x": 2}])
    async with engine.connect() as conn:                # autobegin, rolled back at close
        rows = (await conn.execute(select(User).where(User.id > 1))).all()
        await conn.commit()
    await engine.dispose()

The engine is a :class:`~asyncqlio.db.DatabaseInterface` (``engine.sync_engine``): its pool,
its listeners (``asyncqlio.events.listen(engine.sync_engine, "connect", fn)``) and its
execution options are the ones sessions use too.

Where asyncqlio differs from SQLAlchemy, on purpose:

- **A failed statement poisons its transaction.** After a statement fails inside a
  transaction, the connection refuses everything but ``rollback()`` and ``close()`` with
  :class:`~asyncqlio.exc.PendingRollbackError` (SQLAlchemy lets the program go on: SQLite
  would then commit the half that succeeded, and PostgreSQL silently turns the COMMIT into a
  ROLLBACK). A failure inside ``begin_nested()`` is undone by rolling that savepoint back,
  after which the outer transaction goes on. A ``begin()`` block whose code caught such a
  failure and ended normally is rolled back, with a :class:`RuntimeWarning` (as a session
  block is).
  "Fails" means a database error (:class:`~asyncqlio.exc.DBAPIError`) or an interruption
  (cancellation); an argument refused before anything is sent leaves the transaction as
  it was.
- ``isolation_level`` is applied with ``BEGIN ISOLATION LEVEL ...`` per transaction rather
  than per connection; ``"AUTOCOMMIT"`` runs each statement on its own (no BEGIN, and
  ``commit()``/``rollback()`` have nothing to do).
- Results are buffered :class:`~asyncqlio.orm.results.Result` objects; ``stream()`` of a
  ``select()`` reads a server-side cursor, ``stream()`` of other statements (``text()``)
  reads a buffered result.
- An unknown ``create_async_engine()`` keyword raises
  :class:`~asyncqlio.exc.ArgumentError` (a ``ValueError``; SQLAlchemy raises
  ``TypeError``); ``dispose(close=False)`` is not implemented.

Cost: ``await conn.execute(stmt)`` on a connection in a transaction is one attribute lookup
and four attribute tests before the statement's own ``_execute_on_connection`` (the same
path ``DatabaseInterface.begin()`` connections take); nothing is allocated per call here.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import sys
import warnings
from typing import Any, Awaitable, Callable, Generator, Mapping, Sequence

from asyncqlio.backends.connection import Connection
from asyncqlio.db import DatabaseInterface, EngineConnection
from asyncqlio.exc import (ArgumentError, DBAPIError, InvalidRequestError,
                           ObjectNotExecutableError, PendingRollbackError, ResourceClosedError)
from asyncqlio.ext.asyncio.bridge import greenlet_spawn
from asyncqlio.ext.asyncio.sync_connection import SyncConnection, SyncTransaction
from asyncqlio.orm.results import AsyncResult, Result, row_class
from asyncqlio.url import URL, parse_dsn

__all__ = ["AsyncConnection", "AsyncEngine", "AsyncTransaction", "async_engine_from_config",
           "create_async_engine"]

AUTOCOMMIT = "AUTOCOMMIT"

# --- create_async_engine() keywords
#: SQLAlchemy's keyword -> DatabaseInterface's option
_ENGINE_OPTIONS = {
    "pool_size": "pool_size", "max_overflow": "max_overflow", "pool_timeout": "pool_timeout",
    "pool_recycle": "pool_recycle", "pool_pre_ping": "pool_pre_ping", "echo": "echo",
    "echo_pool": "echo_pool", "hide_parameters": "hide_parameters",
    "connect_args": "connect_args", "poolclass": "poolclass",
    "pool_reset_on_return": "reset_on_return",
    # asyncqlio's own, for programs that know them
    "reset_on_return": "reset_on_return", "statement_cache_size": "statement_cache_size",
    "busy_timeout": "busy_timeout",
}
#: keywords SQLAlchemy takes that change nothing here: logging names (asyncqlio logs to
#: ``asyncqlio.sql`` / ``asyncqlio.pool``), the statement cache size (asyncqlio's compiled
#: cache is its own), LIFO (the queue pool always lends the most recently returned
#: connection), ``future`` (checked below)
_ACCEPTED = frozenset(("logging_name", "pool_logging_name", "query_cache_size",
                       "pool_use_lifo", "future", "_coerce_config"))
#: keywords SQLAlchemy takes that asyncqlio does not implement
_UNSUPPORTED = frozenset(("creator", "async_creator", "pool", "module", "paramstyle",
                          "json_serializer", "json_deserializer", "server_side_cursors",
                          "implicit_returning", "plugins", "strategy", "label_length",
                          "max_identifier_length", "use_insertmanyvalues",
                          "insertmanyvalues_page_size", "enable_from_linting",
                          "skip_autocommit_rollback", "empty_in_strategy",
                          "case_sensitive", "encoding", "convert_unicode"))
#: how async_engine_from_config() reads the strings of a configuration file
_CONFIG_TYPES: dict[str, str] = {
    "pool_size": "int", "max_overflow": "int", "pool_recycle": "int",
    "statement_cache_size": "int", "query_cache_size": "int", "pool_timeout": "float",
    "busy_timeout": "float", "pool_pre_ping": "bool", "hide_parameters": "bool",
    "future": "bool", "pool_use_lifo": "bool", "echo": "bool_or_debug",
    "echo_pool": "bool_or_debug", "pool_reset_on_return": "reset",
}
_TRUE = frozenset(("true", "yes", "on", "y", "t", "1"))
_FALSE = frozenset(("false", "no", "off", "n", "f", "0"))
#: statement-level execution options that only a connection or an engine may set
_CONNECTION_ONLY = ("isolation_level",)


def create_async_engine(url: str | URL | Any, **kw: Any) -> "AsyncEngine":
    """An :class:`AsyncEngine` for a SQLAlchemy URL: ``postgresql+asyncpg://user:pw@host/db``
    (``postgresql://`` too), ``sqlite+aiosqlite:///relative.db``,
    ``sqlite+aiosqlite:////abs/path.db``, ``sqlite+aiosqlite://`` (in memory, shared by the
    engine's connections). Nothing is opened until the first connection is asked for.

    Keywords, as SQLAlchemy's: ``pool_size``, ``max_overflow``, ``pool_timeout``,
    ``pool_recycle``, ``pool_pre_ping``, ``poolclass`` (a class of :mod:`asyncqlio.pool`),
    ``pool_reset_on_return``, ``echo``, ``echo_pool``, ``hide_parameters``, ``connect_args``,
    ``execution_options`` (a dict), ``isolation_level``; ``logging_name``,
    ``pool_logging_name``, ``query_cache_size``, ``pool_use_lifo`` and ``future=True`` are
    taken and change nothing. ``echo=True`` logs each statement to ``asyncqlio.sql`` (and
    ``echo_pool`` the pool to ``asyncqlio.pool``), shown on stdout unless that logger has
    handlers of its own, as SQLAlchemy shows its engine log. Anything else raises :class:`~asyncqlio.exc.ArgumentError`
    naming it. The URL's ``prepared_statement_cache_size`` (SQLAlchemy's asyncpg option) is
    asyncpg's ``statement_cache_size``."""
    options: dict[str, Any] = {}
    unknown: list[str] = []
    unsupported: list[str] = []
    execution_options = kw.pop("execution_options", None)
    isolation_level = kw.pop("isolation_level", None)
    for key, value in kw.items():
        option = _ENGINE_OPTIONS.get(key)
        if option is not None:
            options[option] = value
        elif key in _UNSUPPORTED:
            unsupported.append(key)
        elif key not in _ACCEPTED:
            unknown.append(key)
    if unknown:
        raise ArgumentError(f"Invalid argument(s) {','.join(repr(k) for k in unknown)} sent to "
                            "create_async_engine(); it takes pool_size, max_overflow, "
                            "pool_timeout, pool_recycle, pool_pre_ping, poolclass, "
                            "pool_reset_on_return, echo, echo_pool, hide_parameters, "
                            "connect_args, execution_options, isolation_level")
    if unsupported:
        raise ArgumentError(f"create_async_engine() argument(s) "
                            f"{','.join(repr(k) for k in unsupported)} are SQLAlchemy's and "
                            "not implemented in asyncqlio")
    if kw.get("future", True) is not True:
        raise ArgumentError("the 'future' parameter passed to create_async_engine() may only "
                            "be set to True")
    if execution_options is not None and not isinstance(execution_options, Mapping):
        raise ArgumentError(f"execution_options is a dict, not {execution_options!r}")
    engine_options = dict(execution_options or {})
    if isolation_level is not None:
        engine_options["isolation_level"] = isolation_level
    autocommit, engine_options = _split_autocommit(engine_options)
    db = DatabaseInterface(_url(url), **options)
    if engine_options:
        db.update_execution_options(**engine_options)
    _show_log("asyncqlio.sql", options.get("echo"))
    _show_log("asyncqlio.pool", options.get("echo_pool"))
    return AsyncEngine(db, _autocommit=bool(autocommit))


def _show_log(name: str, echo: Any) -> None:
    """``echo=True`` shows the log, as SQLAlchemy's does: the logger at INFO (DEBUG for
    ``"debug"``), and a handler writing to stdout if it has none."""
    if not echo:
        return
    logger = logging.getLogger(name)
    level = logging.DEBUG if echo == "debug" else logging.INFO
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)


def async_engine_from_config(configuration: Mapping[str, Any], prefix: str = "sqlalchemy.",
                             **kwargs: Any) -> "AsyncEngine":
    """:func:`create_async_engine` from the keys of ``configuration`` that start with
    ``prefix`` (``sqlalchemy.url``, ``sqlalchemy.pool_size``...), the strings of a
    configuration file read as the numbers and booleans they stand for; ``kwargs`` override
    them."""
    options: dict[str, Any] = {key[len(prefix):]: value for key, value in configuration.items()
                               if key.startswith(prefix)}
    for key, value in options.items():
        if isinstance(value, str) and key in _CONFIG_TYPES:
            options[key] = _coerce(key, value)
    options.update(kwargs)
    try:
        url = options.pop("url")
    except KeyError:
        raise ArgumentError(f"the configuration has no {prefix}url") from None
    return create_async_engine(url, **options)


def _coerce(key: str, value: str) -> Any:
    kind = _CONFIG_TYPES[key]
    text = value.strip()
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
    except ValueError:
        raise ArgumentError(f"{key} is a number, not {value!r}") from None
    lowered = text.lower()
    if kind == "reset":
        return None if lowered in ("none", "null", "") else lowered
    if kind == "bool_or_debug" and lowered == "debug":
        return "debug"
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ArgumentError(f"{key} is true or false, not {value!r}")


def _url(url: Any) -> URL:
    """asyncqlio's URL for a string, an asyncqlio URL or a SQLAlchemy ``URL`` object."""
    if not isinstance(url, (str, URL)) and hasattr(url, "render_as_string"):
        url = url.render_as_string(hide_password=False)
    parsed = parse_dsn(url)
    options = parsed.options
    if parsed.dialect == "postgresql" and "prepared_statement_cache_size" in options:
        options = dict(options)
        size = options.pop("prepared_statement_cache_size")
        options.setdefault("statement_cache_size", size)
        parsed = dataclasses.replace(parsed, options=options)
    return parsed


def _split_autocommit(options: Mapping[str, Any]) -> tuple[bool | None, dict[str, Any]]:
    """(True for AUTOCOMMIT, False for another level, None for none given; the rest, the
    level in capitals): the interface takes the isolation levels a BEGIN names, and this
    layer AUTOCOMMIT."""
    rest = dict(options)
    level = rest.get("isolation_level")
    if level is None:
        return None, rest
    if isinstance(level, str):  # "repeatable_read", as SQLAlchemy takes it too
        level = rest["isolation_level"] = level.replace("_", " ").upper()
    if level == AUTOCOMMIT:
        del rest["isolation_level"]
        return True, rest
    return False, rest


def _check_statement_options(options: Mapping[str, Any]) -> None:
    for key in _CONNECTION_ONLY:
        if key in options:
            raise ArgumentError(f"'{key}' execution option may only be specified on "
                                "Connection.execution_options(), or per-engine using the "
                                "isolation_level argument to create_async_engine()")


def _not_executable(statement: Any) -> ObjectNotExecutableError:
    hint = (" (a string of SQL is run with asyncqlio.text(\"...\"), or with "
            "exec_driver_sql())" if isinstance(statement, str) else "")
    return ObjectNotExecutableError(f"Not an executable object: {statement!r}{hint}")


#: background check-ins of raw connections closed without awaiting
_background: set[asyncio.Task] = set()


class AsyncEngine:
    """SQLAlchemy's ``AsyncEngine`` over a :class:`~asyncqlio.db.DatabaseInterface`
    (``sync_engine``): ``connect()``, ``begin()``, ``dispose()``, ``execution_options()``,
    ``raw_connection()``, and the pool, URL and dialect. Two engines are equal when they are
    over the same interface."""

    __slots__ = ("sync_engine", "_autocommit", "__weakref__")

    def __init__(self, sync_engine: DatabaseInterface, *, _autocommit: bool = False) -> None:
        if not isinstance(sync_engine, DatabaseInterface):
            raise ArgumentError(f"AsyncEngine wraps a DatabaseInterface, not {sync_engine!r}")
        if sync_engine.pool is None:
            raise InvalidRequestError("this DatabaseInterface has no DSN")
        self.sync_engine = sync_engine
        self._autocommit = _autocommit

    # --- connections
    def connect(self) -> "AsyncConnection":
        """A connection, taken from the pool by ``await engine.connect()`` or
        ``async with engine.connect() as conn:`` (closed at the end of the block)."""
        return AsyncConnection(self)

    def begin(self) -> "_EngineBegin":
        """``async with engine.begin() as conn:`` a connection in a transaction, committed when
        the block ends, rolled back if it raises (see the module's note on failed
        statements)."""
        return _EngineBegin(self)

    async def raw_connection(self) -> "RawConnection":
        """A connection of the pool as the driver's own: ``.driver_connection`` is the
        ``asyncpg.Connection`` / ``aiosqlite.Connection``. ``await raw.close()`` gives it
        back (a transaction left open is rolled back by the pool); calling ``close()``
        without awaiting gives it back in the background."""
        db = self.sync_engine
        conn = await db.pool.acquire(db.dispatch)
        return RawConnection(conn, db.pool, owned=True)

    async def dispose(self, close: bool = True) -> None:
        """Close the connections in the pool; those checked out are closed when they come
        back, and the next checkout opens a new one. The engine stays usable. (An in-memory
        SQLite database goes with its last connection, as in SQLAlchemy.)
        ``close=False`` (leave the connections alone, after a fork) is not implemented."""
        if not close:
            raise NotImplementedError("dispose(close=False) is not implemented in asyncqlio: "
                                      "its pool cannot forget connections without closing them")
        db = self.sync_engine
        await db.dispose()
        # what the connector keeps beside the pool (the in-memory SQLite database's anchor
        # connection, whose thread would keep the process alive)
        await db.connector.shutdown()

    # --- execution options
    def execution_options(self, **options: Any) -> "AsyncEngine":
        """A new engine over the same pool whose connections run with these options:
        ``isolation_level`` ("SERIALIZABLE", "REPEATABLE READ", "READ COMMITTED",
        "AUTOCOMMIT"), asyncqlio's ``immediate`` (SQLite ``BEGIN IMMEDIATE``); any other
        key (``shard_id``...) is kept for the program (``get_execution_options()``)."""
        autocommit, rest = _split_autocommit(options)
        child = self.sync_engine.execution_options(**rest)
        return AsyncEngine(child, _autocommit=self._autocommit if autocommit is None
                           else autocommit)

    def update_execution_options(self, **options: Any) -> None:
        """Change this engine's options in place (engines made from it keep theirs)."""
        autocommit, rest = _split_autocommit(options)
        self.sync_engine.update_execution_options(**rest)
        if autocommit is not None:
            self._autocommit = autocommit

    def get_execution_options(self) -> dict[str, Any]:
        options = self.sync_engine.get_execution_options()
        if self._autocommit:
            options["isolation_level"] = AUTOCOMMIT
        return options

    def clear_compiled_cache(self) -> None:
        """Nothing to do: asyncqlio's compiled-statement cache is keyed by the statement's
        shape and dialect, bounded, and belongs to no engine."""

    # --- what it is
    @property
    def pool(self) -> Any:
        return self.sync_engine.pool

    @property
    def url(self) -> URL:
        return self.sync_engine.url

    @property
    def dialect(self) -> Any:
        return self.sync_engine.dialect

    @property
    def engine(self) -> DatabaseInterface:
        return self.sync_engine

    @property
    def name(self) -> str:
        """The database's name: ``"postgresql"`` or ``"sqlite"``."""
        return self.sync_engine.dialect.name

    @property
    def driver(self) -> str:
        """The driver's name: ``"asyncpg"`` or ``"aiosqlite"``."""
        return self.sync_engine.url.backend

    @property
    def echo(self) -> Any:
        """Whether statements are logged to ``asyncqlio.sql``; setting it applies to the
        connections this engine hands out from then on."""
        return self.sync_engine.connector.echo

    @echo.setter
    def echo(self, value: Any) -> None:
        self.sync_engine.connector.echo = value
        _show_log("asyncqlio.sql", value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AsyncEngine):
            return NotImplemented
        return self.sync_engine is other.sync_engine

    def __hash__(self) -> int:
        return hash(self.sync_engine)

    def __repr__(self) -> str:
        return f"AsyncEngine({self.sync_engine.url})"


class _EngineBegin:
    """``async with engine.begin() as conn:``"""

    __slots__ = ("engine", "conn", "tx")

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.conn: AsyncConnection | None = None
        self.tx: AsyncTransaction | None = None

    async def __aenter__(self) -> "AsyncConnection":
        conn = self.conn = await self.engine.connect().start()
        try:
            self.tx = await conn.begin().start(is_ctxmanager=True)
        except BaseException as e:
            await conn.__aexit__(type(e), e, None)
            raise
        return conn

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        conn = self.conn
        try:
            await self.tx.__aexit__(exc_type, exc, tb)
        except BaseException as e:
            await conn.__aexit__(type(e), e, None)
            raise
        await conn.__aexit__(exc_type, exc, tb)


class RawConnection:
    """A pooled connection as the driver's: ``driver_connection`` (also
    ``dbapi_connection``) is the ``asyncpg.Connection`` / ``aiosqlite.Connection``, ``info``
    the program's dict for it. One from ``engine.raw_connection()`` goes back to the pool
    on ``close()``; one from ``conn.get_raw_connection()`` belongs to that
    :class:`AsyncConnection`, and its ``close()`` does nothing."""

    __slots__ = ("_conn", "_pool", "_owned", "_closing")

    def __init__(self, conn: Connection, pool: Any, *, owned: bool) -> None:
        self._conn = conn
        self._pool = pool
        self._owned = owned
        self._closing: asyncio.Future | None = None

    @property
    def driver_connection(self) -> Any:
        return self._conn.raw

    dbapi_connection = driver_connection

    @property
    def info(self) -> dict:
        return self._conn.info

    @property
    def is_valid(self) -> bool:
        return not self._conn.broken and self._closing is None

    def invalidate(self, e: BaseException | None = None) -> Awaitable[None]:
        """Never reuse this connection: the pool closes it when it comes back."""
        self._conn.broken = True
        return self.close()

    def close(self) -> Awaitable[None]:
        """Give the connection back to the pool: await it, or let it run in the background."""
        if self._closing is None:
            if self._owned:
                task = asyncio.ensure_future(self._pool.release(self._conn))
                _background.add(task)
                task.add_done_callback(_background.discard)
                self._closing = task
            else:
                done = asyncio.get_running_loop().create_future()
                done.set_result(None)
                self._closing = done
        return self._closing

    async def __aenter__(self) -> "RawConnection":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<RawConnection {self._conn.raw!r}>"


class _Streaming:
    """What ``conn.stream(stmt)`` returns: awaited, the :class:`AsyncResult`; as an async
    context manager, the result, closed at the end of the block."""

    __slots__ = ("_coro", "_result")

    def __init__(self, coro: Any) -> None:
        self._coro = coro
        self._result: Any = None

    def __await__(self) -> Generator[Any, None, Any]:
        return self._coro.__await__()

    async def __aenter__(self) -> Any:
        self._result = await self._coro
        return self._result

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._result.close()


_NOT_STARTED = ("AsyncConnection context has not been started and object has not been "
                "awaited: use `async with engine.connect() as conn:` or "
                "`conn = await engine.connect()`")


class AsyncConnection:
    """SQLAlchemy's ``AsyncConnection``: one pooled connection, taken at ``start()``
    (``await engine.connect()`` or ``async with engine.connect() as conn:``).

    A transaction begins at the first statement (autobegin) or with ``begin()``, and ends
    with ``commit()`` or ``rollback()``; ``begin_nested()`` is a SAVEPOINT. ``close()``
    rolls back what is not committed and gives the connection back.

    Stricter than SQLAlchemy (asyncqlio's rule): after a statement fails inside a
    transaction, everything but ``rollback()`` and ``close()`` raises
    :class:`~asyncqlio.exc.PendingRollbackError` (rolling back the savepoint the failure
    happened in also clears it). Otherwise SQLite would commit the half that succeeded and
    PostgreSQL would silently turn the COMMIT into a ROLLBACK. A statement interrupted by
    cancellation leaves the driver connection ``broken``: the pool closes it when it comes
    back, and after ``rollback()`` the next statement runs on a new one.
    """

    __slots__ = ("engine", "sync_engine", "_db", "_ec", "_trans", "_nested", "_failure",
                 "_ctx", "_started", "_closed", "_begin_sql", "_options", "_autocommit",
                 "_streams", "_savepoints", "_sync", "_session", "__weakref__")

    def __init__(self, async_engine: AsyncEngine) -> None:
        self.engine = async_engine
        db = self.sync_engine = self._db = async_engine.sync_engine
        #: the EngineConnection over the checked-out driver connection (None before start,
        #: after close, and after invalidate() until the next statement)
        self._ec: EngineConnection | None = None
        #: the root transaction, and the innermost savepoint (each links the one it is in)
        self._trans: AsyncTransaction | None = None
        self._nested: AsyncTransaction | None = None
        #: the error of the statement that failed in the transaction
        self._failure: BaseException | None = None
        #: the transaction whose ``async with`` block is running
        self._ctx: AsyncTransaction | None = None
        self._started = False
        self._closed = False
        self._begin_sql = db.begin_statement()
        #: this connection's own execution options (over the engine's)
        self._options: dict[str, Any] | None = None
        self._autocommit = async_engine._autocommit
        #: results of stream() not yet closed, closed when the transaction ends
        self._streams: list | None = None
        self._savepoints = 0
        self._sync: SyncConnection | None = None
        #: the session whose connection this is (``AsyncSession.connection()``), or None
        self._session: Any = None

    @classmethod
    def _of_session(cls, session: Any, conn: Connection) -> "AsyncConnection":
        """The connection of a session (``await session.connection()``), in the session's
        transaction: its statements run there, and one that fails fails the session. The
        transaction is the session's to end: ``commit()``, ``rollback()``, ``begin()``,
        ``begin_nested()`` and ``invalidate()`` raise InvalidRequestError (use the
        session's), and ``close()`` only lets go of it."""
        self = cls(AsyncEngine(session.db))
        self._session = session
        self._ec = EngineConnection(self._db, conn)
        self._started = True
        return self

    def _not_for_session(self, what: str) -> None:
        if self._session is not None:
            raise InvalidRequestError(f"this connection is the session's, in its transaction: "
                                      f"call {what} on the session")

    # --- checkout
    def __await__(self) -> Generator[Any, None, "AsyncConnection"]:
        return self.start().__await__()

    async def __aenter__(self) -> "AsyncConnection":
        return await self.start(is_ctxmanager=True)

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            await self.close()
        except Exception:
            if exc_type is None:
                raise
            # the block's error is the one to see; the connection was discarded

    async def start(self, is_ctxmanager: bool = False) -> "AsyncConnection":
        """Take a connection from the pool (what awaiting this object does)."""
        if self._started:
            raise InvalidRequestError("connection is already started")
        db = self._db
        conn = await db.pool.acquire(db.dispatch)
        echo = db.connector.echo
        if conn.echo != echo:
            conn.echo = echo
        self._ec = EngineConnection(db, conn)
        self._started = True
        return self

    def _live(self) -> EngineConnection:
        """The connection, for anything but a statement: raises if it was never started or
        was closed."""
        ec = self._ec
        if ec is None:
            if not self._started:
                raise InvalidRequestError(_NOT_STARTED)
            if self._closed:
                raise ResourceClosedError("This Connection is closed")
        return ec  # type: ignore[return-value]

    async def _ready(self) -> EngineConnection:
        """The connection, in a transaction, ready for a statement (the slow path of
        ``execute``): refuses after a failure, takes a new driver connection after an
        invalidation outside a transaction, and autobegins."""
        ec = self._live()
        if self._session is not None:  # the session's state, transaction and connection
            conn = await self._session._ready()
            if ec.connection is not conn:
                ec = self._ec = EngineConnection(self._db, conn)
            return ec
        if self._failure is not None:
            raise self._pending()
        if ec is None or ec.connection.broken:
            ec = await self._reconnect()
        if self._trans is None:
            await self._begin_root(AsyncTransaction(self), autobegin=True)
        return ec

    def _pending(self) -> PendingRollbackError:
        failure = self._failure
        error = PendingRollbackError(
            f"a statement failed in this connection's transaction ({failure!r}); only "
            "rollback() or close() are possible now (asyncqlio never commits half a "
            "transaction)")
        error.__cause__ = failure
        return error

    def _invalid_transaction(self) -> PendingRollbackError:
        return PendingRollbackError(
            "Can't reconnect until invalid transaction is rolled back: the connection was "
            "invalidated or interrupted inside it; call rollback() first")

    async def _reconnect(self) -> EngineConnection:
        """Give back a broken or invalidated driver connection and take a new one; refused
        inside a transaction (it was on the old one), except a logical AUTOCOMMIT one."""
        tx = self._trans
        if tx is not None:
            if not tx._autocommit:
                raise self._invalid_transaction()
            self._end_root(tx)  # each statement committed by itself: nothing is lost
        old = self._ec
        self._ec = None
        db = self._db
        if old is not None:
            await db.pool.release(old.connection)
        conn = await db.pool.acquire(db.dispatch)
        ec = self._ec = EngineConnection(db, conn)
        return ec

    def _failed(self, error: BaseException) -> None:
        """A statement raised: a database error or an interruption ends what the
        transaction can do (``PendingRollbackError`` until rollback)."""
        if self._session is not None:
            if isinstance(error, DBAPIError) or not isinstance(error, Exception):
                self._session._fail(error)
            return
        if (self._failure is None and self._trans is not None and not self._autocommit
                and (isinstance(error, DBAPIError) or not isinstance(error, Exception))):
            self._failure = error

    # --- statements
    async def execute(self, statement: Any, parameters: Any = None, *,
                      execution_options: Mapping[str, Any] | None = None) -> Result:
        """Run ``select()``, ``insert()``, ``update()``, ``delete()`` or ``text()``; a
        buffered :class:`~asyncqlio.orm.results.Result`. A list of dicts as ``parameters``
        runs the statement once per dict (executemany)."""
        try:
            run = statement._execute_on_connection
        except AttributeError:
            raise _not_executable(statement) from None
        if execution_options:
            _check_statement_options(execution_options)
            if hasattr(statement, "execution_options"):
                run = statement.execution_options(**execution_options)._execute_on_connection
        ec = self._ec
        if ec is None or self._trans is None or self._failure is not None \
                or ec.connection.broken:
            ec = await self._ready()
        try:
            return await run(ec, parameters)
        except BaseException as e:
            self._failed(e)
            raise

    async def scalar(self, statement: Any, parameters: Any = None, *,
                     execution_options: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row, or None."""
        result = await self.execute(statement, parameters, execution_options=execution_options)
        return result.scalar()

    async def scalars(self, statement: Any, parameters: Any = None, *,
                      execution_options: Mapping[str, Any] | None = None) -> Any:
        """The first column of every row (a ``ScalarResult``)."""
        result = await self.execute(statement, parameters, execution_options=execution_options)
        return result.scalars()

    async def exec_driver_sql(self, statement: str, parameters: Any = None,
                              execution_options: Mapping[str, Any] | None = None) -> Result:
        """SQL as the driver takes it: ``$1, $2`` placeholders and a tuple on PostgreSQL,
        ``?`` and a tuple (or ``:name`` and a dict) on SQLite; a list of tuples runs it once
        per tuple. A buffered Result (``rowcount`` for statements without rows)."""
        if not isinstance(statement, str):
            raise ArgumentError(f"exec_driver_sql() takes SQL as a string, not {statement!r}")
        if execution_options:
            _check_statement_options(execution_options)
        many = _driver_rows(parameters)
        if many is None:
            args = _driver_args(self._db.dialect, parameters)
        elif self._db.dialect.numeric and any(isinstance(p, Mapping) for p in many):
            raise ArgumentError("exec_driver_sql() on PostgreSQL takes positional parameters "
                                "($1, $2, ...) as tuples, not dicts")
        ec = self._ec
        if ec is None or self._trans is None or self._failure is not None \
                or ec.connection.broken:
            ec = await self._ready()
        conn = ec.connection
        try:
            if many is not None:
                return Result([], [], await conn.executemany(statement, many),
                              returns_rows=False)
            names, records, count = await conn.run(statement, args)
        except BaseException as e:
            self._failed(e)
            raise
        if names is None:
            return Result([], [], count, returns_rows=False)
        cls = row_class(tuple(names))
        return Result([cls(r) for r in records], list(names))

    def stream(self, statement: Any, parameters: Any = None, *,
               execution_options: Mapping[str, Any] | None = None) -> _Streaming:
        """``await conn.stream(select(...))`` or ``async with conn.stream(...) as result:``
        an :class:`~asyncqlio.orm.results.AsyncResult` reading the rows as they are used
        (``execution_options={"yield_per": n}`` or ``result.yield_per(n)``: rows per round
        trip). A ``select()`` reads a server-side cursor (PostgreSQL) or ``fetchmany``
        (SQLite) inside the transaction; a stream left open is closed when the transaction
        ends. Other statements are run and their rows read from the buffer."""
        return _Streaming(self._stream(statement, parameters, execution_options))

    def stream_scalars(self, statement: Any, parameters: Any = None, *,
                       execution_options: Mapping[str, Any] | None = None) -> _Streaming:
        """``stream()``, the first column of each row."""
        return _Streaming(self._stream(statement, parameters, execution_options, True))

    async def _stream(self, statement: Any, parameters: Any,
                      execution_options: Mapping[str, Any] | None,
                      scalars: bool = False) -> Any:
        try:
            statement._execute_on_connection
        except AttributeError:
            raise _not_executable(statement) from None
        size = None
        if execution_options:
            _check_statement_options(execution_options)
            size = execution_options.get("yield_per") or execution_options.get("max_row_buffer")
            if hasattr(statement, "execution_options"):
                statement = statement.execution_options(**execution_options)
        ec = await self._ready()
        streamer = getattr(statement, "_stream_on_connection", None)
        try:
            if streamer is not None:
                if size is None and hasattr(statement, "get_execution_options"):
                    size = statement.get_execution_options().get("yield_per")
                inner = await streamer(ec, parameters)
                result = AsyncResult(self._guarded(inner), list(inner.keys()), inner.close,
                                     size or 1000)
            else:
                result = _from_buffer(await statement._execute_on_connection(ec, parameters),
                                      size or 1000)
        except BaseException as e:
            self._failed(e)
            raise
        if self._streams is None:
            self._streams = []
        self._streams.append(result)
        return result.scalars() if scalars else result

    def _guarded(self, inner: AsyncResult) -> Callable[[int], Awaitable[list]]:
        """The rows of ``inner`` ``n`` at a time (``n`` per round trip); a failure while
        reading them fails the transaction as a statement's would."""

        async def fetch(n: int) -> list:
            inner.yield_per(n)
            try:
                return await inner.fetchmany(n)
            except BaseException as e:
                self._failed(e)
                raise

        return fetch

    async def _close_streams(self) -> None:
        streams = self._streams
        if streams:
            self._streams = None
            for result in streams:
                try:
                    await result.close()
                except Exception:  # noqa: BLE001 - a cursor on a lost connection
                    pass

    async def run_sync(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(sync_conn, *args, **kwargs)``, where ``sync_conn`` is a synchronous facade of
        this connection (``execute``, ``scalar``, ``commit``, ``begin``...); its return
        value. ``fn`` runs in a greenlet on this event loop; only this connection's methods
        may do I/O in it."""
        self._live()
        return await greenlet_spawn(fn, self.sync_connection, *args, **kwargs)

    # --- transactions
    def begin(self) -> "AsyncTransaction":
        """A transaction, begun by ``await conn.begin()`` or ``async with conn.begin():``
        (committed when the block ends, rolled back if it raises). Raises
        :class:`~asyncqlio.exc.InvalidRequestError` if one is already begun (explicitly or
        by autobegin)."""
        if not self._started:
            raise InvalidRequestError(_NOT_STARTED)
        return AsyncTransaction(self)

    def begin_nested(self) -> "AsyncTransaction":
        """A SAVEPOINT (beginning the transaction first if there is none): ``await
        conn.begin_nested()`` or ``async with conn.begin_nested():`` (released when the
        block ends, rolled back to if it raises)."""
        if not self._started:
            raise InvalidRequestError(_NOT_STARTED)
        return AsyncTransaction(self, nested=True)

    def _check_ctx(self) -> None:
        ctx = self._ctx
        if ctx is not None and not ctx.is_active:
            raise InvalidRequestError("Can't operate on closed transaction inside context "
                                      "manager. Please complete the context manager before "
                                      "emitting further commands.")

    async def _begin_root(self, tx: "AsyncTransaction", autobegin: bool = False) -> None:
        if not autobegin:
            ec = self._live()
            self._not_for_session("begin()")
            if self._failure is not None:
                raise self._pending()
            if self._trans is not None:
                raise InvalidRequestError(
                    "This connection has already initialized a Transaction() object via "
                    "begin() or autobegin; can't call begin() here unless rollback() or "
                    "commit() is called first.")
            if ec is None or ec.connection.broken:
                ec = await self._reconnect()
        else:
            ec = self._ec
        self._check_ctx()
        if not self._autocommit:
            await ec.connection.begin(self._begin_sql)
        tx.is_active = tx._started = True
        tx._autocommit = self._autocommit
        self._trans = tx

    async def _begin_savepoint(self, tx: "AsyncTransaction") -> None:
        self._live()
        self._not_for_session("begin_nested()")
        if self._failure is not None:
            raise self._pending()
        self._check_ctx()
        ec = await self._ready()
        self._savepoints += 1
        name = f"aq_savepoint_{self._savepoints}"
        try:
            await ec.connection.execute("SAVEPOINT " + name)
        except BaseException as e:
            self._failed(e)
            raise
        tx._savepoint = name
        tx._previous = self._nested
        tx.is_active = tx._started = True
        self._nested = tx

    def _usable_for_end(self) -> EngineConnection:
        """The connection, for a COMMIT or RELEASE: not after a failure or an
        invalidation."""
        if self._failure is not None:
            raise self._pending()
        ec = self._ec
        if ec is None or ec.connection.broken:
            raise self._invalid_transaction()
        return ec

    async def _commit_root(self, tx: "AsyncTransaction") -> None:
        ec = self._usable_for_end()
        await self._close_streams()
        if not tx._autocommit:
            try:
                await ec.connection.commit()
            except BaseException as e:
                # the transaction stays, refusing all but rollback() (SQLite keeps it open
                # after a refused COMMIT; PostgreSQL ended it)
                self._failure = e
                raise
        self._end_root(tx)

    async def _rollback_root(self, tx: "AsyncTransaction") -> None:
        ec = self._ec
        try:
            await self._close_streams()
            if ec is not None:
                conn = ec.connection
                if not conn.broken and conn.in_transaction:
                    try:
                        await conn.rollback()
                    except BaseException:
                        conn.broken = True  # its state is unknown: the pool closes it
                        raise
        finally:
            self._end_root(tx)
            if ec is not None and ec.connection.broken:
                self._ec = None  # the next statement takes a new connection
                await self._db.pool.release(ec.connection)

    def _end_root(self, tx: "AsyncTransaction") -> None:
        tx.is_active = False
        nested = self._nested
        while nested is not None:
            nested.is_active = False
            nested = nested._previous
        self._nested = None
        if self._trans is tx:
            self._trans = None
        self._failure = None

    def _pop_nested(self, tx: "AsyncTransaction") -> None:
        """``tx`` and the savepoints inside it are over."""
        nested = self._nested
        while nested is not None and nested is not tx:
            nested.is_active = False
            nested = nested._previous
        tx.is_active = False
        self._nested = tx._previous

    async def _release_savepoint(self, tx: "AsyncTransaction") -> None:
        ec = self._usable_for_end()
        try:
            await ec.connection.execute("RELEASE SAVEPOINT " + tx._savepoint)
        except BaseException as e:
            self._pop_nested(tx)
            self._failure = e
            raise
        self._pop_nested(tx)

    async def _rollback_savepoint(self, tx: "AsyncTransaction") -> None:
        ec = self._ec
        if ec is None or ec.connection.broken:
            self._pop_nested(tx)
            raise PendingRollbackError(
                "the connection was invalidated or interrupted: only rollback() of the whole "
                "transaction, or close(), is possible")
        try:
            await ec.connection.execute("ROLLBACK TO SAVEPOINT " + tx._savepoint)
        except BaseException as e:
            self._pop_nested(tx)
            self._failure = e
            raise
        self._pop_nested(tx)
        self._failure = None  # the failure was inside this savepoint: undone

    async def commit(self) -> None:
        """Commit the transaction (nothing to do without one). Raises
        :class:`~asyncqlio.exc.PendingRollbackError` after a failed statement."""
        self._not_for_session("commit()")
        tx = self._trans
        if tx is not None:
            await tx.commit()

    async def rollback(self) -> None:
        """Roll back the transaction (nothing to do without one); after a failure or an
        invalidation, this is what makes the connection usable again."""
        self._not_for_session("rollback()")
        tx = self._trans
        if tx is not None:
            await tx.rollback()

    def in_transaction(self) -> bool:
        if self._session is not None:
            return self._session.in_transaction()
        return self._trans is not None

    def in_nested_transaction(self) -> bool:
        return self._nested is not None

    def get_transaction(self) -> "AsyncTransaction | None":
        return self._trans

    def get_nested_transaction(self) -> "AsyncTransaction | None":
        return self._nested

    # --- the end
    async def close(self) -> None:
        """Roll back what is not committed and give the connection back to the pool (a
        broken one is closed by the pool). Calling it again does nothing."""
        self._closed = True
        ec, self._ec = self._ec, None
        if ec is None or self._session is not None:
            return
        conn = ec.connection
        try:
            await self._close_streams()
            tx = self._trans
            if tx is not None:
                try:
                    if not conn.broken and conn.in_transaction:
                        await conn.rollback()
                except BaseException:
                    conn.broken = True
                    raise
                finally:
                    self._end_root(tx)
        finally:
            await self._db.pool.release(conn)

    aclose = close

    async def invalidate(self, exception: BaseException | None = None) -> None:
        """Discard the driver connection: the pool closes it instead of reusing it. Outside a
        transaction the next statement takes a new one; inside one, ``rollback()`` must
        come first."""
        ec = self._live()
        self._not_for_session("invalidate()")
        if ec is None:
            return
        self._ec = None
        conn = ec.connection
        conn.broken = True
        try:
            await self._close_streams()
        finally:
            await self._db.pool.release(conn)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def invalidated(self) -> bool:
        return self._started and not self._closed and self._ec is None

    # --- options and state
    async def execution_options(self, **options: Any) -> "AsyncConnection":
        """Options for this connection's statements and transactions; ``isolation_level``
        applies from the next transaction, and may not change while one is begun. Returns
        this connection."""
        self._live()
        autocommit, _ = _split_autocommit(options)
        if autocommit is not None and (self._trans is not None or self._session is not None):
            raise InvalidRequestError(
                "This connection has already initialized a Transaction() object via begin() "
                "or autobegin; isolation_level may not be altered unless rollback() or "
                "commit() is called first.")
        merged = {**(self._options or {}), **options}
        _, rest = _split_autocommit(merged)
        child = self._db.execution_options(**rest)  # checks them
        self._begin_sql = child.begin_statement()
        self._options = merged
        if autocommit is not None:
            self._autocommit = autocommit
        return self

    def get_execution_options(self) -> dict[str, Any]:
        options = self.engine.get_execution_options()
        if self._options:
            options.update(self._options)
            if not self._autocommit and options.get("isolation_level") == AUTOCOMMIT:
                del options["isolation_level"]
        return options

    async def get_isolation_level(self) -> str:
        """The isolation level the database reports for this connection's transaction (it
        begins one, as a statement would: asyncqlio sets the level per transaction)."""
        if self._autocommit:
            return AUTOCOMMIT
        ec = await self._ready()
        sqlite = self._db.dialect.name == "sqlite"
        try:
            rows = await ec.connection.fetch("PRAGMA read_uncommitted" if sqlite
                                             else "SHOW transaction_isolation")
        except BaseException as e:
            self._failed(e)
            raise
        if sqlite:
            return "READ UNCOMMITTED" if rows and rows[0][0] else "SERIALIZABLE"
        return str(rows[0][0]).upper()

    async def get_raw_connection(self) -> RawConnection:
        """The driver connection under this one (``.driver_connection``); it stays this
        connection's (its ``close()`` does nothing)."""
        ec = self._live()
        if ec is None or ec.connection.broken:
            ec = await self._reconnect()
        return RawConnection(ec.connection, self._db.pool, owned=False)

    @property
    def connection(self) -> Any:
        raise InvalidRequestError("AsyncConnection.connection is not implemented: use "
                                  "await conn.get_raw_connection()")

    @property
    def info(self) -> dict:
        """A dict for the program's own state, kept with the pooled driver connection: it is
        there again when a later checkout gets the same connection."""
        ec = self._live()
        if ec is None:
            raise ResourceClosedError("This Connection was invalidated; run a statement to "
                                      "take a new one")
        return ec.connection.info

    @property
    def dialect(self) -> Any:
        return self._db.dialect

    @property
    def sync_connection(self) -> SyncConnection | None:
        """The synchronous facade ``run_sync()`` hands its function (None before start)."""
        if self._sync is None and self._started:
            self._sync = SyncConnection(self)
        return self._sync

    def __repr__(self) -> str:
        state = ("closed" if self._closed else "invalidated" if self.invalidated
                 else "started" if self._started else "not started")
        return f"<AsyncConnection {self._db.url} {state}>"


_INACTIVE = object()


class AsyncTransaction:
    """SQLAlchemy's ``AsyncTransaction``: ``await conn.begin()`` (or ``begin_nested()``, a
    SAVEPOINT), or ``async with conn.begin():``. ``commit()``, ``rollback()``, ``close()``
    (a rollback if it is still active), ``is_active``."""

    __slots__ = ("connection", "nested", "is_active", "_started", "_savepoint", "_previous",
                 "_outer_ctx", "_autocommit", "_sync")

    def __init__(self, connection: AsyncConnection, nested: bool = False) -> None:
        self.connection = connection
        self.nested = nested
        self.is_active = False
        self._started = False
        self._savepoint: str | None = None
        self._previous: AsyncTransaction | None = None
        self._outer_ctx: Any = _INACTIVE
        self._autocommit = False
        self._sync: SyncTransaction | None = None

    @property
    def is_valid(self) -> bool:
        return self.is_active and not self.connection.invalidated

    @property
    def sync_transaction(self) -> SyncTransaction | None:
        """The synchronous facade of this transaction (what a sync connection's ``begin()``
        returns inside ``run_sync()``)."""
        if self._sync is None and self._started:
            self._sync = SyncTransaction(self)
        return self._sync

    def __await__(self) -> Generator[Any, None, "AsyncTransaction"]:
        return self.start().__await__()

    async def start(self, is_ctxmanager: bool = False) -> "AsyncTransaction":
        """Begin it (what awaiting this object does)."""
        if self._started:
            raise InvalidRequestError("this transaction has already begun")
        if self.nested:
            await self.connection._begin_savepoint(self)
        else:
            await self.connection._begin_root(self)
        if is_ctxmanager:
            self._enter()
        return self

    def _enter(self) -> None:
        conn = self.connection
        self._outer_ctx = conn._ctx
        conn._ctx = self

    def _leave(self) -> None:
        conn = self.connection
        if self._outer_ctx is not _INACTIVE and conn._ctx is self:
            conn._ctx = self._outer_ctx
        self._outer_ctx = _INACTIVE

    async def __aenter__(self) -> "AsyncTransaction":
        return await self.start(is_ctxmanager=True)

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            await self._end_block(exc_type is not None)
        finally:
            self._leave()

    async def _end_block(self, failed: bool) -> None:
        """Commit (or release) when the block ended normally, roll back if it raised."""
        if not self.is_active:
            return  # ended inside the block
        conn = self.connection
        if not failed and conn._failure is not None:
            warnings.warn(f"transaction block ended after a failed statement "
                          f"({conn._failure!r}); it was rolled back", RuntimeWarning,
                          stacklevel=3)
            failed = True
        if not failed:
            try:
                await self.commit()
            except BaseException:
                if self.is_active:
                    await self._rollback_quietly()
                raise
            return
        await self._rollback_quietly()

    async def _rollback_quietly(self) -> None:
        """Roll back on the way out of a block that raised: the block's error is the one to
        see, and a connection that cannot roll back is not reused."""
        conn = self.connection
        try:
            await self.rollback()
        except Exception:  # noqa: BLE001
            ec = conn._ec
            if ec is not None:
                ec.connection.broken = True

    def _check_started(self) -> None:
        if not self._started:
            raise InvalidRequestError("AsyncTransaction context has not been started and "
                                      "object has not been awaited")

    async def commit(self) -> None:
        """Commit (a savepoint: RELEASE it)."""
        self._check_started()
        if not self.is_active:
            raise InvalidRequestError("This nested transaction is inactive" if self.nested
                                      else "This transaction is inactive")
        if self.nested:
            await self.connection._release_savepoint(self)
        else:
            await self.connection._commit_root(self)

    async def rollback(self) -> None:
        """Roll back (a savepoint: ROLLBACK TO it); nothing to do if it already ended."""
        self._check_started()
        if not self.is_active:
            return
        if self.nested:
            await self.connection._rollback_savepoint(self)
        else:
            await self.connection._rollback_root(self)

    async def close(self) -> None:
        """End it without committing: a rollback if it is still active."""
        await self.rollback()

    def __repr__(self) -> str:
        kind = "nested " if self.nested else ""
        return f"<AsyncTransaction {kind}{'active' if self.is_active else 'inactive'}>"


def _driver_rows(parameters: Any) -> list | None:
    """The parameter rows of an executemany (a list of tuples or dicts), else None."""
    if isinstance(parameters, list) and parameters and all(
            isinstance(p, (tuple, list, Mapping)) for p in parameters):
        return [p if isinstance(p, Mapping) else tuple(p) for p in parameters]
    return None


def _driver_args(dialect: Any, parameters: Any) -> Any:
    if parameters is None:
        return ()
    if isinstance(parameters, Mapping):
        if dialect.numeric:
            raise ArgumentError("exec_driver_sql() on PostgreSQL takes positional parameters "
                                "($1, $2, ...) as a tuple, not a dict")
        return dict(parameters)
    if isinstance(parameters, (str, bytes)) or not isinstance(parameters, Sequence):
        raise ArgumentError(f"exec_driver_sql() parameters are a tuple, a dict (SQLite) or a "
                            f"list of them, not {parameters!r}")
    return tuple(parameters)


def _from_buffer(result: Result, size: int) -> AsyncResult:
    """An AsyncResult reading a buffered result's rows."""
    rows = result.all() if result.returns_rows else []
    pos = 0

    async def fetch(n: int) -> list:
        nonlocal pos
        chunk = rows[pos:pos + n]
        pos += len(chunk)
        return chunk

    return AsyncResult(fetch, list(result.keys()), None, size)
