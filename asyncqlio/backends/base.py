"""The parts of a backend, by the original asyncqlio's names: the dialect (what the SQL of a
database can say), the connector (opens the driver's connections, for the pool), and the
low-level transaction and result set of ``db.get_transaction()``.

Each database is a package of :mod:`asyncqlio.backends` holding its dialect class and one
module per driver (``backends/postgresql/asyncpg.py``), as SQLAlchemy's dialects are laid out.
A driver module defines a :class:`BaseConnector` subclass (``CONNECTOR_TYPE``) whose ``open()``
returns a :class:`~asyncqlio.backends.connection.Connection`.
"""
from __future__ import annotations

import abc
import collections.abc
import urllib.parse
from typing import Any, AsyncIterator, Callable, Iterable, Mapping, Sequence

from asyncqlio._speedups._compile_cy import quote
from asyncqlio.backends.connection import Connection, translate_params
from asyncqlio.exc import InvalidRequestError
from asyncqlio.meta import AsyncABC
from asyncqlio.url import URL, parse_dsn

Params = Mapping[str, Any] | Sequence[Any] | None
Emitter = Callable[[str], str]


class BaseDialect:
    """What one database's SQL can say, and how the hot paths write it.

    ``name`` is ``"postgresql"`` or ``"sqlite"``; ``numeric``: ``$1`` placeholders (asyncpg)
    rather than ``?``; ``max_params``: the most bound values one statement takes; ``copy``:
    bulk loads can use COPY; ``update_from``: ``UPDATE ... FROM`` another row source. The
    ``has_*`` properties and the ``get_*`` methods are the original asyncqlio's. (Slots: the
    hot paths read these on every statement.)
    """

    __slots__ = ("name", "numeric", "max_params", "copy", "update_from")

    def __init__(self, name: str = "", *, numeric: bool = False, max_params: int = 999,
                 copy: bool = False, update_from: bool = False) -> None:
        self.name = name
        self.numeric = numeric
        self.max_params = max_params
        self.copy = copy
        self.update_from = update_from

    def placeholder(self, n: int) -> str:
        return f"${n}" if self.numeric else "?"

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    has_checkpoints = property(lambda self: False, doc="SAVEPOINTs")
    has_serial = property(lambda self: False, doc="the SERIAL types")
    has_returns = property(lambda self: False, doc="INSERT ... RETURNING")
    has_ilike = property(lambda self: False, doc="ILIKE")
    has_default = property(lambda self: False, doc="DEFAULT in a VALUES list")
    has_truncate = property(lambda self: False, doc="TRUNCATE")
    has_cascade = property(lambda self: False, doc="DROP TABLE ... CASCADE")

    @property
    def lastval_method(self) -> str:
        """The SQL function giving the key the last INSERT generated."""
        raise NotImplementedError(f"{type(self).__name__} has no lastval method")

    def get_primary_key_index_name(self, table_name: str) -> str:
        """The name the database gives a table's primary key index ("" where it names none
        the schema can refer to)."""
        return ""

    def get_unique_column_index_name(self, table_name: str, column_name: str) -> str:
        """The name the database gives the index of a UNIQUE column ("" where none)."""
        return ""

    def get_column_sql(self, table_name: str | None = None, *,
                       emitter: Emitter = lambda name: "{" + name + "}") -> str:
        """A query describing the columns (of ``table_name``: bind it with ``emitter``)."""
        raise NotImplementedError(f"{type(self).__name__}.get_column_sql")

    def get_index_sql(self, table_name: str | None = None, *,
                      emitter: Emitter = lambda name: "{" + name + "}") -> str:
        """A query describing the indexes (of ``table_name``)."""
        raise NotImplementedError(f"{type(self).__name__}.get_index_sql")

    def get_upsert_sql(self, table_name: str, *,
                       on_conflict_update: bool = True) -> tuple[str, set[str]]:
        """An INSERT ... ON CONFLICT template (``{insert}``, ``{col}``, ``{update}``) and the
        names it needs; SQLite 3.24 and PostgreSQL 9.5 write it alike."""
        action = "UPDATE SET {update}" if on_conflict_update else "NOTHING"
        sql = f"INSERT INTO {table_name} {{insert}} ON CONFLICT ({{col}}) DO {action}"
        needed = {"insert", "col"} | ({"update"} if on_conflict_update else set())
        if self.has_returns:
            sql += " RETURNING {returning}"
            needed.add("returning")
        return sql, needed

    def transform_rows_to_columns(self, *rows: Mapping[str, Any],
                                  table_name: str | None = None) -> Iterable[Any]:
        """Rows of :meth:`get_column_sql` as free-standing ``Column`` objects (installed by
        :mod:`asyncqlio.orm.inspection`, which knows the column types)."""
        raise NotImplementedError("transform_rows_to_columns needs asyncqlio.orm imported")

    def transform_rows_to_indexes(self, *rows: Mapping[str, Any],
                                  table_name: str | None = None) -> Iterable[Any]:
        """Rows of :meth:`get_index_sql` as ``Index`` objects (installed likewise)."""
        raise NotImplementedError("transform_rows_to_indexes needs asyncqlio.orm imported")


Dialect = BaseDialect


class DictRow(dict):
    """A row of raw SQL: a mapping of column names to values that is also read by position
    (``row[0]``), as the original asyncqlio's rows were."""

    __slots__ = ()

    def __getitem__(self, key: Any) -> Any:
        if type(key) is int:
            try:
                return list(self.values())[key]
            except IndexError:
                raise KeyError(key) from None
        return dict.__getitem__(self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        if type(key) is int:
            key = list(self)[key]
        dict.__setitem__(self, key, value)


class BaseResultSet(collections.abc.AsyncIterator, AsyncABC):
    """The rows of a statement, read as they are asked for: ``await fetch_row()``,
    ``await fetch_many(n)``, ``await flatten()``, ``async for row in result``, and
    ``async with result:`` to close it."""

    @property
    @abc.abstractmethod
    def keys(self) -> Iterable[str]:
        """The names of the result's columns."""

    @abc.abstractmethod
    async def fetch_row(self) -> DictRow | None:
        """The next row, or None after the last."""

    @abc.abstractmethod
    async def fetch_many(self, n: int) -> list[DictRow]:
        """The next ``n`` rows (fewer at the end)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop reading (the rows not read are dropped)."""

    async def __anext__(self) -> DictRow:
        row = await self.fetch_row()
        if row is None:
            raise StopAsyncIteration
        return row

    async def flatten(self) -> list[DictRow]:
        """The rows not read yet, as a list."""
        return [row async for row in self]

    async def __aenter__(self) -> "BaseResultSet":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()


class ResultSet(BaseResultSet):
    """A result set over a connection's chunks of rows (each row a :class:`DictRow`)."""

    def __init__(self, chunks: AsyncIterator[list[DictRow]],
                 first: list[DictRow] | None = None) -> None:
        self._chunks = chunks
        self._buffer: list[DictRow] = list(first or ())
        self._keys: list[str] | None = list(self._buffer[0]) if self._buffer else None
        self._done = False

    @property
    def keys(self) -> list[str]:
        if self._keys is None:
            raise InvalidRequestError("no row has been read yet, so the keys are not known")
        return self._keys

    async def _fill(self, n: int | None) -> None:
        while not self._done and (n is None or len(self._buffer) < n):
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                self._done = True
                break
            if chunk and self._keys is None:
                self._keys = list(chunk[0])
            self._buffer.extend(chunk)

    async def fetch_row(self) -> DictRow | None:
        await self._fill(1)
        return self._buffer.pop(0) if self._buffer else None

    async def fetch_many(self, n: int) -> list[DictRow]:
        await self._fill(n)
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    async def flatten(self) -> list[DictRow]:
        await self._fill(None)
        out, self._buffer = self._buffer, []
        return out

    async def close(self) -> None:
        self._done = True
        self._buffer = []
        await self._chunks.aclose()


class BaseTransaction(AsyncABC):
    """A connection from the pool in one transaction (``db.get_transaction()``): ``begin()``,
    ``execute``, ``cursor``, ``commit()`` or ``rollback(checkpoint=None)``, then ``close()``;
    or ``async with db.get_transaction() as tr:`` (committed at the end, rolled back on an
    error). ``close(has_error=True)`` closes the connection instead of pooling it. The same
    object can ``begin()`` again after ``close()``."""

    def __init__(self, connector: "BaseConnector", **options: Any) -> None:
        self.connector = connector
        #: the pooled connection while begun
        self.connection: Connection | None = None
        self._options = options

    async def __aenter__(self) -> "BaseTransaction":
        return await self.begin()

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if self.connection is not None and self.connection.in_transaction:
                if exc_type is None:
                    await self.commit()
                else:
                    await self.rollback()
        finally:
            await self.close(has_error=exc_type is not None and not isinstance(exc, Exception))

    @property
    def acquired_connection(self) -> Any:
        """The driver's own connection while begun (the original asyncqlio's name)."""
        return None if self.connection is None else self.connection.raw

    def _conn(self) -> Connection:
        if self.connection is None:
            raise InvalidRequestError("this transaction is not begun; await begin() first")
        return self.connection

    async def begin(self, **options: Any) -> "BaseTransaction":
        """Take a connection from the pool and ``BEGIN``."""
        if self.connection is not None:
            raise InvalidRequestError("this transaction is already begun")
        pool = self.connector.pool
        conn = await pool.acquire(self._options.get("events"))
        try:
            await conn.begin(self._options.get("begin_sql", "BEGIN"))
        except BaseException:
            await pool.release(conn)
            raise
        self.connection = conn
        return self

    async def commit(self) -> None:
        await self._conn().commit()

    async def rollback(self, checkpoint: str | None = None) -> None:
        """Roll the transaction back, or only to ``checkpoint`` (a savepoint)."""
        conn = self._conn()
        if checkpoint is not None:
            await conn.execute("ROLLBACK TO SAVEPOINT " + quote(checkpoint))
        elif conn.in_transaction:
            await conn.rollback()

    async def create_savepoint(self, name: str) -> None:
        await self._conn().execute("SAVEPOINT " + quote(name))

    async def release_savepoint(self, name: str) -> None:
        await self._conn().execute("RELEASE SAVEPOINT " + quote(name))

    async def execute(self, sql: str, params: Params = None) -> int:
        """Run raw SQL (``{name}`` placeholders with a mapping, or the driver's with a
        sequence); the rows changed, or -1. Statements separated by ``;`` run in turn."""
        conn = self._conn()
        sql, args = translate_params(conn.dialect, sql, params)
        return await conn.execute_script(sql, args)

    async def cursor(self, sql: str, params: Params = None) -> ResultSet:
        """Run raw SQL and read its rows as they are asked for."""
        conn = self._conn()
        sql, args = translate_params(conn.dialect, sql, params)
        chunks = conn.cursor(sql, args)
        first = await anext(chunks, None)
        return ResultSet(chunks, first)

    async def close(self, *, has_error: bool = False) -> None:
        """Give the connection back (rolling back what was not committed); with
        ``has_error`` it is closed rather than reused."""
        conn, self.connection = self.connection, None
        if conn is not None:
            if has_error:
                conn.broken = True
            await self.connector.pool.release(conn)


class BaseConnector(AsyncABC):
    """Opens one database's connections for the pool (``open()``), and is the original
    asyncqlio's connector: ``connect()`` and ``close()`` open and close the interface's pool,
    ``get_transaction()`` a :class:`BaseTransaction` on it.

    ``dsn`` is a DSN string, a :class:`~asyncqlio.url.URL` or ``urllib.parse.urlparse()``'s
    result; ``host``, ``port``, ``username``, ``password``, ``db`` and ``params`` are its
    parts (``dsn`` itself is rendered with the password masked).
    """

    dialect: BaseDialect
    transaction_type: type[BaseTransaction] = BaseTransaction

    def __init__(self, dsn: Any, **options: Any) -> None:
        if isinstance(dsn, urllib.parse.ParseResult):
            dsn = dsn.geturl()
        self.url: URL = parse_dsn(dsn)
        self.dsn = self.url.render()
        self.host = self.url.host
        self.port = self.url.port
        self.username = self.url.username
        self.password = self.url.password
        self.db = self.url.database
        self.params = dict(self.url.options)
        #: the pool the DatabaseInterface made over this connector
        self.pool: Any = None

    @abc.abstractmethod
    async def open(self) -> Connection:
        """One new connection (the pool calls this)."""

    async def shutdown(self) -> None:
        """Release what the connector keeps beside the pool's connections (the pool calls
        this when it closes)."""

    async def connect(self, **kwargs: Any) -> "BaseConnector":
        """Open the pool's first connection, so a wrong DSN fails here."""
        if self.pool is None:
            raise InvalidRequestError("this connector has no pool; connect a DatabaseInterface")
        conn = await self.pool.acquire()
        await self.pool.release(conn)
        return self

    async def close(self) -> None:
        """Close the pool."""
        if self.pool is not None:
            await self.pool.close()

    def get_transaction(self, **options: Any) -> BaseTransaction:
        return self.transaction_type(self, **options)

    def emit_param(self, name: str) -> str:
        """The placeholder for parameter ``name`` in raw SQL: ``{name}`` on every backend."""
        return "{" + name + "}"

    async def get_db_server_version(self) -> str:
        async with self.get_transaction() as tr:
            cur = await tr.cursor(self.version_sql)
            row = await cur.fetch_row()
            await cur.close()
        return str(row[0])

    #: the query :meth:`get_db_server_version` runs
    version_sql = "SELECT version()"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.dsn}>"
