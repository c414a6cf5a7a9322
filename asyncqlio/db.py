"""``DatabaseInterface``: the engine. Parses the DSN, owns the pool, hands out sessions and
connection-level transactions (SQLAlchemy's Engine methods)."""
from __future__ import annotations

import inspect
from typing import Any, Callable, Mapping, Sequence

from asyncqlio import backends
from asyncqlio._speedups import _row
from asyncqlio.backends.base import Connection, Dialect, translate_params
from asyncqlio.events import Dispatch
from asyncqlio.exc import ArgumentError, InvalidRequestError
from asyncqlio.orm.results import Result, row_class
from asyncqlio.pool import Pool
from asyncqlio.url import URL, parse_dsn

_POOL_OPTIONS = ("pool_size", "max_overflow", "pool_timeout", "pool_recycle", "pool_pre_ping",
                 "reset_on_return", "echo_pool")
_ISOLATION_LEVELS = {"postgresql": ("READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE",
                                    "READ UNCOMMITTED"),
                     "sqlite": ("SERIALIZABLE",)}

Params = Mapping[str, Any] | Sequence[Any] | None


class DatabaseInterface:
    """The connection to one database: ``DatabaseInterface("sqlite:///app.db")``.

    Options: ``pool_size`` (5), ``max_overflow`` (10), ``pool_timeout`` (30 s),
    ``pool_recycle``, ``pool_pre_ping``, ``reset_on_return`` (True), ``echo`` (SQL to the
    ``asyncqlio.sql`` logger), ``echo_pool`` (to ``asyncqlio.pool``; ``"debug"`` adds each
    checkout), ``hide_parameters``, ``statement_cache_size`` (PostgreSQL), ``busy_timeout``
    (SQLite, seconds); anything else goes to the driver's connect call.
    """

    def __init__(self, dsn: str | URL | None = None, **options: Any) -> None:
        self.url: URL | None = None
        self._options = options
        self.pool: Pool | None = None
        self.connector: Any = None
        self.dispatch = Dispatch()
        self._execution_options: dict[str, Any] = {}
        if dsn is not None:
            self._configure(dsn)

    def _configure(self, dsn: str | URL) -> None:
        self.url = parse_dsn(dsn)
        backend = backends.load(self.url.backend)
        pool_opts = {k: self._options[k] for k in _POOL_OPTIONS if k in self._options}
        driver_opts = {k: v for k, v in self._options.items() if k not in _POOL_OPTIONS}
        self.connector = backend.Connector(self.url, **driver_opts)
        self.pool = Pool(self.connector, dispatch=self.dispatch, **pool_opts)

    @property
    def dialect(self) -> Dialect:
        if self.connector is None:
            raise InvalidRequestError("this DatabaseInterface has no DSN; pass one to connect()")
        return self.connector.dialect

    @property
    def connected(self) -> bool:
        return self.pool is not None and self.pool._opened > 0

    async def connect(self, dsn: str | URL | None = None) -> "DatabaseInterface":
        """Open the first connection, so a wrong DSN fails here and not at first use."""
        if dsn is not None:
            self._configure(dsn)
        if self.pool is None:
            raise InvalidRequestError("connect() needs a DSN")
        conn = await self.pool.acquire()
        await self.pool.release(conn)
        return self

    async def close(self) -> None:
        """Close the pool (shared with every interface made by ``execution_options``)."""
        if self.pool is not None:
            await self.pool.close()

    async def dispose(self) -> None:
        """Close the pooled connections; checked-out ones close when they come back, and the
        next checkout opens a new one (after a fork, or to drop every connection)."""
        if self.pool is not None:
            await self.pool.dispose()

    async def __aenter__(self) -> "DatabaseInterface":
        return await self.connect()

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    def bind_tables(self, base: type) -> type:
        """Bind a ``table_base()`` class (and so all its tables) to this interface."""
        base.metadata.bind = self
        return base

    def get_session(self, **kwargs: Any) -> Any:
        """A session; ``immediate=True`` begins its transactions with ``BEGIN IMMEDIATE`` on
        SQLite (default: the interface's ``execution_options(immediate=...)``)."""
        from asyncqlio.orm.session import Session
        return Session(self, **kwargs)

    def get_ddl_session(self, **kwargs: Any) -> Any:
        """A session with schema operations and inspection (``asyncqlio.orm.ddl_session``)."""
        from asyncqlio.orm.ddl_session import DDLSession
        return DDLSession(self, **kwargs)

    # --- execution options
    def execution_options(self, **options: Any) -> "DatabaseInterface":
        """A new interface over the same pool (and listeners) whose transactions begin with
        these options: ``isolation_level`` ("READ COMMITTED", "REPEATABLE READ",
        "SERIALIZABLE", ...) and ``immediate`` (SQLite ``BEGIN IMMEDIATE``)."""
        for key, value in options.items():
            if key == "isolation_level":
                levels = _ISOLATION_LEVELS[self.dialect.name]
                if value not in levels:
                    raise ArgumentError(f"isolation_level on {self.dialect.name} is one of "
                                        f"{', '.join(levels)}, not {value!r}")
            elif key != "immediate":
                raise ArgumentError(f"unknown execution option {key!r}; "
                                    "options are isolation_level and immediate")
        child = DatabaseInterface.__new__(DatabaseInterface)
        child.__dict__.update(self.__dict__)
        child._execution_options = {**self._execution_options, **options}
        return child

    def get_execution_options(self) -> dict[str, Any]:
        return dict(self._execution_options)

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
            return await self.connection.execute(*self._sql(sql, params))
        stmt, args = self._sql(sql, params)
        shape = _row_shape(sql, self.db.dialect.name)
        if shape is None:
            return Result([], [], await self.connection.execute(stmt, args),
                          returns_rows=False)
        keys, make = shape
        records = await self.connection.fetch(stmt, args)
        return Result(make(records), keys)

    async def fetch(self, sql: Any, params: Params = None) -> list[dict[str, Any]]:
        """Every row, as mappings."""
        return await self.connection.fetch_mappings(*self._sql(sql, params))

    async def fetchrow(self, sql: Any, params: Params = None) -> dict[str, Any] | None:
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None

    async def scalar(self, sql: Any, params: Params = None) -> Any:
        rows = await self.connection.fetch(*self._sql(sql, params))
        return rows[0][0] if rows else None


def _row_shape(query: Any, dialect: str) -> tuple[list[str], Callable[[list], list]] | None:
    """The keys of a query's rows and how records become them; None for a statement that
    returns no rows (an insert, or an update or delete without ``returning()``)."""
    from asyncqlio.orm.query import SelectQuery, _BulkQuery, _entity_key
    if isinstance(query, SelectQuery):
        if query.entities is not None:
            return [_entity_key(e, i) for i, e in enumerate(query.entities)], query._tuples
        return _table_rows(query.table, dialect)
    if isinstance(query, _BulkQuery) and query._returning is not None:
        if query._returning == ():
            return _table_rows(query._target(), dialect)
        entities = SelectQuery(query.session).columns(*query._returning)
        return [c.attr_name for c in query._returning], entities._tuples
    return None


def _table_rows(table: type, dialect: str) -> tuple[list[str], Callable[[list], list]]:
    """Whole rows of a table as Row tuples keyed by attribute name, values loaded."""
    info = table.__table__
    keys = [c.attr_name for c in info.columns]
    cls = row_class(tuple(keys))
    n = len(keys)
    loaders = info.loaders_for(dialect)

    def make(records: list) -> list:
        return [cls(_row.load_values(r[:n], loaders)) for r in records]

    return keys, make


class _Connected:
    """A checkout as an ``EngineConnection``, back to the pool after the block."""

    def __init__(self, db: DatabaseInterface) -> None:
        self.db = db
        self.conn: Connection | None = None

    async def __aenter__(self) -> EngineConnection:
        if self.db.pool is None:
            raise InvalidRequestError("this DatabaseInterface has no DSN; pass one to connect()")
        self.conn = await self.db.pool.acquire()
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
