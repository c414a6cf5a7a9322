"""``DatabaseInterface``: the engine. Parses the DSN, owns the pool, hands out sessions and
connection-level transactions (SQLAlchemy's Engine methods).

The engine knows nothing of the ORM: the session classes are set on it by
:mod:`asyncqlio.orm` (``DatabaseInterface.session_class``), and a statement built by the ORM
runs through its own ``_execute_on_connection`` method.
"""
from __future__ import annotations

import inspect
import itertools
from typing import Any, Callable, ClassVar, Mapping, Sequence

from asyncqlio import backends
from asyncqlio.backends.base import BaseConnector, BaseDialect, BaseTransaction
from asyncqlio.backends.connection import Connection, translate_params
from asyncqlio.events import Dispatch, listen_on_class
from asyncqlio.exc import ArgumentError, InvalidRequestError
from asyncqlio.pool import AsyncAdaptedQueuePool, BasePool
from asyncqlio.url import URL, parse_dsn

#: every option some pool class takes; which class takes which is its ``options``
_POOL_OPTIONS = AsyncAdaptedQueuePool.options
_ISOLATION_LEVELS = {"postgresql": ("READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE",
                                    "READ UNCOMMITTED"),
                     "sqlite": ("SERIALIZABLE",)}
#: per dialect, driver connect() keywords the connector passes itself, and the option it
#: takes each as
_RENAMED_CONNECT_ARGS = {"postgresql": {"timeout": "connect_timeout"},
                         "sqlite": {"timeout": "busy_timeout"}}
#: per dialect, driver connect() keywords set from the DSN or that asyncqlio depends on
_FIXED_CONNECT_ARGS = {"postgresql": ("dsn", "host", "port", "user", "password", "database",
                                      "connection_class"),
                       "sqlite": ("database", "isolation_level", "uri")}

Params = Mapping[str, Any] | Sequence[Any] | None


@listen_on_class
class DatabaseInterface:
    """The connection to one database: ``DatabaseInterface("sqlite:///app.db")``.

    Options: ``poolclass`` (:class:`~asyncqlio.pool.AsyncAdaptedQueuePool`, or ``NullPool``,
    ``StaticPool``), ``pool_size`` (5), ``max_overflow`` (10), ``pool_timeout`` (30 s) for
    the queue pool, ``pool_recycle``, ``pool_pre_ping``, ``reset_on_return`` (True),
    ``echo`` (SQL to the ``asyncqlio.sql`` logger), ``echo_pool`` (to ``asyncqlio.pool``;
    ``"debug"`` adds each checkout), ``hide_parameters``, ``statement_cache_size``
    (PostgreSQL), ``busy_timeout`` (SQLite, seconds), ``connect_args`` (a dict of keywords
    for the driver's connect call, as in SQLAlchemy); any other option goes to that call
    too. ``connector`` is a :class:`~asyncqlio.backends.base.BaseConnector` subclass to use
    instead of the DSN's.
    """

    #: the classes of ``get_session()`` and ``get_ddl_session()`` (set by asyncqlio.orm)
    session_class: ClassVar[type | None] = None
    ddl_session_class: ClassVar[type | None] = None
    #: numbers the parameters ``emit_param()`` names
    param_counter = itertools.count()

    def __init__(self, dsn: str | URL | None = None, connector: type[BaseConnector] | None = None,
                 **options: Any) -> None:
        self.url: URL | None = None
        self._options = options
        self._connector_type = connector
        self.pool: BasePool | None = None
        self.connector: BaseConnector | None = None
        self.dispatch = Dispatch()
        self._execution_options: dict[str, Any] = {}
        self._connected = False
        if dsn is not None:
            self._configure(dsn)

    def _configure(self, dsn: str | URL) -> None:
        self.url = parse_dsn(dsn)
        connector_type = self._connector_type
        if connector_type is None:
            connector_type = backends.load(self.url.dialect, self.url.backend).CONNECTOR_TYPE
        options = dict(self._options)
        poolclass = options.pop("poolclass", AsyncAdaptedQueuePool)
        if not (isinstance(poolclass, type) and issubclass(poolclass, BasePool)):
            raise ArgumentError("poolclass is a class of asyncqlio.pool (AsyncAdaptedQueuePool, "
                                f"NullPool, StaticPool), not {poolclass!r}")
        pool_opts = {k: options.pop(k) for k in _POOL_OPTIONS if k in options}
        for key in pool_opts:
            if key not in poolclass.options:
                raise ArgumentError(f"{poolclass.__name__} does not take {key}; pool_size, "
                                    "max_overflow and pool_timeout are the queue pool's "
                                    "(AsyncAdaptedQueuePool, QueuePool)")
        connect_args = options.pop("connect_args", None)
        if connect_args is not None:
            options.update(_connect_args(connector_type.dialect.name, connect_args, options))
        self.connector = connector_type(self.url, **options)
        self.pool = poolclass(self.connector, dispatch=self.dispatch, **pool_opts)
        self.connector.pool = self.pool

    @property
    def dialect(self) -> BaseDialect:
        """The database's dialect (a ``PostgresqlDialect``, ``Sqlite3Dialect``...)."""
        if self.connector is None:
            raise InvalidRequestError("this DatabaseInterface has no DSN; pass one to connect()")
        return self.connector.dialect

    @property
    def connected(self) -> bool:
        """Whether ``connect()`` was called, and ``close()`` not since."""
        return self._connected

    async def connect(self, dsn: str | URL | None = None, **kwargs: Any) -> "DatabaseInterface":
        """Open the first connection, so a wrong DSN fails here and not at first use. After
        ``close()`` this opens the pool again (in the running event loop)."""
        if dsn is not None:
            self._configure(dsn)
        if self.pool is None:
            raise InvalidRequestError("connect() needs a DSN")
        self.pool.reopen()
        await self.connector.connect(**kwargs)
        self._connected = True
        return self

    async def close(self) -> None:
        """Close the pool (shared with every interface made by ``execution_options``);
        ``connect()`` opens it again."""
        self._connected = False
        if self.pool is not None:
            await self.pool.close()

    async def dispose(self) -> None:
        """Close the pooled connections; checked-out ones close when they come back, and the
        next checkout opens a new one (after a fork, or to drop every connection)."""
        if self.pool is not None:
            await self.pool.dispose()

    async def __aenter__(self) -> "DatabaseInterface":
        if not self._connected:
            await self.connect()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    def bind_tables(self, md: Any) -> Any:
        """Bind a ``table_base()`` class (or any of its tables, or its ``TableMetadata``) to
        this interface: every table of that base does its I/O here. The foreign keys and
        relationships are resolved now, so a name that matches nothing fails here. Returns
        the metadata."""
        metadata = md if hasattr(md, "setup_tables") else md.metadata
        metadata.bind = self
        metadata.setup_tables()
        return metadata

    def get_session(self, **kwargs: Any) -> Any:
        """A session; ``immediate=True`` begins its transactions with ``BEGIN IMMEDIATE`` on
        SQLite (default: the interface's ``execution_options(immediate=...)``)."""
        return _require(self.session_class)(self, **kwargs)

    def get_ddl_session(self, **kwargs: Any) -> Any:
        """A session with schema operations and inspection
        (:class:`asyncqlio.orm.ddl.ddlsession.DDLSession`)."""
        return _require(self.ddl_session_class)(self, **kwargs)

    def get_transaction(self, **kwargs: Any) -> BaseTransaction:
        """A low-level transaction (:class:`~asyncqlio.backends.base.BaseTransaction`):
        ``await tr.begin()`` takes a connection from the pool."""
        if self.connector is None:
            raise InvalidRequestError("this DatabaseInterface has no DSN; pass one to connect()")
        kwargs.setdefault("begin_sql", self.begin_statement())
        kwargs.setdefault("events", self.dispatch)
        return self.connector.get_transaction(**kwargs)

    def emit_param(self, name: str | None = None) -> str | tuple[str, str]:
        """The placeholder for a raw-SQL parameter: ``{name}``; without a name, a new one
        and its name (``("{param_3}", "param_3")``)."""
        if name is not None:
            return "{" + name + "}"
        name = f"param_{next(self.param_counter)}"
        return "{" + name + "}", name

    async def get_db_server_version(self) -> str:
        """The server's version string (SQLite: its library version)."""
        return await self.connector.get_db_server_version()

    # --- execution options
    def execution_options(self, **options: Any) -> "DatabaseInterface":
        """A new interface over the same pool whose transactions begin with these options:
        ``isolation_level`` ("READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE", ...) and
        ``immediate`` (SQLite ``BEGIN IMMEDIATE``). Any other key is kept for the program
        to read back (``get_execution_options()``; SQLAlchemy's examples shard by
        ``shard_id``). It hears this interface's listeners, and those added to it only for
        itself."""
        self._check_execution_options(options)
        child = type(self).__new__(type(self))
        child.__dict__.update(self.__dict__)
        child.dispatch = Dispatch(self.dispatch)
        child._execution_options = {**self._execution_options, **options}
        return child

    def update_execution_options(self, **options: Any) -> None:
        """Change this interface's own options in place; interfaces made from it before
        keep theirs (as in SQLAlchemy)."""
        self._check_execution_options(options)
        self._execution_options = {**self._execution_options, **options}

    def get_execution_options(self) -> dict[str, Any]:
        return dict(self._execution_options)

    def _check_execution_options(self, options: Mapping[str, Any]) -> None:
        """The options asyncqlio acts on must be ones it can act on; the rest are the
        program's."""
        if "isolation_level" in options:
            levels = _ISOLATION_LEVELS[self.dialect.name]
            if options["isolation_level"] not in levels:
                raise ArgumentError(f"isolation_level on {self.dialect.name} is one of "
                                    f"{', '.join(levels)}, not {options['isolation_level']!r}")
        if not isinstance(options.get("immediate", False), bool):
            raise ArgumentError(f"immediate is True or False, not {options['immediate']!r}")

    def begin_statement(self, immediate: bool | None = None) -> str:
        """The SQL that starts a transaction under these execution options."""
        opts = self._execution_options
        if self.dialect.name == "sqlite":
            if immediate is None:
                immediate = bool(opts.get("immediate"))
            return "BEGIN IMMEDIATE" if immediate else "BEGIN"
        level = opts.get("isolation_level")
        return f"BEGIN ISOLATION LEVEL {level}" if level else "BEGIN"

    # --- connection-level work
    def begin(self) -> "_Begin":
        """``async with db.begin() as conn:`` a connection in a transaction, committed when
        the block ends, rolled back if it raises."""
        return _Begin(self)

    def raw_connection(self) -> "_RawCheckout":
        """``async with db.raw_connection() as raw:`` the driver's own connection
        (``asyncpg.Connection`` / ``aiosqlite.Connection``), back to the pool after the block;
        a transaction left open there is rolled back."""
        return _RawCheckout(self)

    async def transaction(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(conn, *args, **kwargs)`` inside ``begin()``; its result (awaited if it is
        awaitable)."""
        async with self.begin() as conn:
            return await _call(fn, conn, *args, **kwargs)

    async def run_callable(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(conn, *args, **kwargs)`` with a connection outside any transaction (each
        statement commits by itself); its result."""
        async with _Connected(self) as conn:
            return await _call(fn, conn, *args, **kwargs)

    async def execute(self, sql: Any, params: Params = None) -> Any:
        """Run one statement in its own transaction. Raw SQL: the number of rows changed
        (-1 where not known). A query built on a session: a ``Result`` with ``rowcount``
        (see :meth:`EngineConnection.execute`)."""
        async with self.begin() as conn:
            return await conn.execute(sql, params)

    async def fetch(self, sql: Any, params: Params = None) -> dict[str, Any] | None:
        """The first row as a mapping, or None."""
        async with self.begin() as conn:
            return await conn.fetchrow(sql, params)

    async def scalar(self, sql: Any, params: Params = None) -> Any:
        """The first column of the first row, or None."""
        async with self.begin() as conn:
            return await conn.scalar(sql, params)

    async def has_table(self, name: str) -> bool:
        """Whether a table or view ``name`` exists (in the current schema on PostgreSQL)."""
        if self.dialect.name == "sqlite":
            sql = "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = {n}"
        else:
            sql = ("SELECT 1 FROM information_schema.tables "
                   "WHERE table_schema = current_schema() AND table_name = {n}")
        return await self.scalar(sql, {"n": name}) is not None

    async def table_names(self) -> list[str]:
        """The tables (not views) of the database, or of the current schema, sorted."""
        if self.dialect.name == "sqlite":
            sql = ("SELECT name FROM sqlite_master WHERE type = 'table' "
                   "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
        else:
            sql = ("SELECT table_name AS name FROM information_schema.tables "
                   "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' "
                   "ORDER BY table_name")
        async with self.begin() as conn:
            return [r["name"] for r in await conn.fetch(sql)]

    def translate(self, sql: str, params: Any) -> tuple[str, Sequence[Any]]:
        return translate_params(self.dialect, sql, params)

    def __repr__(self) -> str:
        return f"<DatabaseInterface {self.url or 'unconfigured'}>"


def _connect_args(dialect: str, connect_args: Mapping[str, Any],
                  options: Mapping[str, Any]) -> dict[str, Any]:
    """SQLAlchemy's ``connect_args`` as connector options: the keywords the connector passes
    itself under the option it takes them as, the rest as they are."""
    if not isinstance(connect_args, Mapping):
        raise ArgumentError(f"connect_args is a dict of keywords, not {connect_args!r}")
    fixed = [k for k in _FIXED_CONNECT_ARGS.get(dialect, ()) if k in connect_args]
    if fixed:
        raise ArgumentError(f"connect_args cannot set {', '.join(fixed)} on {dialect}: "
                            "asyncqlio sets it from the DSN or depends on it")
    renamed = _RENAMED_CONNECT_ARGS.get(dialect, {})
    result: dict[str, Any] = {}
    for key, value in connect_args.items():
        option = renamed.get(key, key)
        if option != key and option in options:
            raise ArgumentError(f"connect_args {key!r} and the option {option} are the same "
                                "setting; give one")
        result[option] = value
    return result


def _require(cls: type | None) -> type:
    if cls is None:
        raise InvalidRequestError("sessions come from asyncqlio.orm; import asyncqlio")
    return cls


async def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    result = fn(*args, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


class EngineConnection:
    """A pooled connection lent by ``db.begin()``, ``transaction()`` or ``run_callable()``.
    Raw SQL takes ``{name}`` placeholders with a mapping (or the driver's with a sequence); a
    query built on a session (``sess.select(T)...``) runs as compiled."""

    def __init__(self, db: DatabaseInterface, conn: Connection) -> None:
        self.db = db
        self.connection = conn

    @property
    def raw(self) -> Any:
        return self.connection.raw

    @property
    def in_transaction(self) -> bool:
        return self.connection.in_transaction

    def _sql(self, sql: Any, params: Params) -> tuple[str, Sequence[Any]]:
        if isinstance(sql, str):
            return translate_params(self.db.dialect, sql, params)
        if params is not None:
            raise ArgumentError("a query carries its own parameters")
        return sql.compile()

    async def execute(self, sql: Any, params: Params = None) -> Any:
        """Raw SQL: rows changed (-1 where not known), the original API. A query built on a
        session: a ``Result`` as SQLAlchemy's ``conn.execute(stmt)`` gives, with
        ``rowcount``, and the rows of a select or of ``returning()`` as ``Row`` tuples
        (column values; no identity map below the session)."""
        if isinstance(sql, str):
            return await self.connection.execute_script(*self._sql(sql, params))
        if params is not None:
            raise ArgumentError("a query carries its own parameters")
        return await sql._execute_on_connection(self)

    async def fetch(self, sql: Any, params: Params = None) -> list[dict[str, Any]]:
        """Every row, as mappings (:class:`~asyncqlio.backends.base.DictRow`)."""
        return await self.connection.fetch_mappings(*self._sql(sql, params))

    async def fetchrow(self, sql: Any, params: Params = None) -> dict[str, Any] | None:
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None

    async def scalar(self, sql: Any, params: Params = None) -> Any:
        rows = await self.connection.fetch(*self._sql(sql, params))
        return rows[0][0] if rows else None


class _Connected:
    """A checkout as an ``EngineConnection``, back to the pool after the block."""

    def __init__(self, db: DatabaseInterface) -> None:
        self.db = db
        self.conn: Connection | None = None

    async def __aenter__(self) -> EngineConnection:
        if self.db.pool is None:
            raise InvalidRequestError("this DatabaseInterface has no DSN; pass one to connect()")
        self.conn = await self.db.pool.acquire(self.db.dispatch)
        return EngineConnection(self.db, self.conn)

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        await self.db.pool.release(self.conn)


class _Begin(_Connected):
    async def __aenter__(self) -> EngineConnection:
        conn = await super().__aenter__()
        try:
            await self.conn.begin(self.db.begin_statement())
        except BaseException as e:
            await self.__aexit__(type(e), e, None)
            raise
        return conn

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        conn = self.conn
        try:
            if conn.in_transaction and not conn.broken:
                if exc_type is None:
                    await conn.commit()  # refused: the pool rolls back what is left open
                else:
                    try:
                        await conn.rollback()
                    except Exception:  # noqa: BLE001 - the block's error is the one to see
                        conn.broken = True  # its state is unknown: the pool closes it
                    except BaseException:
                        conn.broken = True
                        raise
        finally:
            await self.db.pool.release(conn)


class _RawCheckout(_Connected):
    """The driver's connection: what was done on it is unknown, so a block interrupted by
    cancellation closes it, and an open transaction is rolled back by the pool."""

    async def __aenter__(self) -> Any:  # type: ignore[override]
        return (await super().__aenter__()).raw

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        conn = self.conn
        if exc_type is not None and not isinstance(exc, Exception):
            conn.broken = True
        else:
            try:
                conn.in_transaction = conn.driver_in_transaction()
            except Exception:  # noqa: BLE001 - closed by its user
                conn.broken = True
        await super().__aexit__(exc_type, exc, tb)
