"""The synchronous faces of an :class:`~asyncqlio.ext.asyncio.engine.AsyncConnection` and of
its transactions, as SQLAlchemy's ``Connection`` and ``Transaction``: what
``AsyncConnection.run_sync(fn)`` hands ``fn``, so code written for a synchronous
connection (``conn.execute(...)``, ``with conn.begin_nested(): ...``) runs unchanged::

    def load(conn, n):
        conn.execute(text("INSERT INTO t (x) VALUES (:x)"), [{"x": i} for i in range(n)])
        return conn.scalar(text("SELECT count(*) FROM t"))

    count = await async_conn.run_sync(load, 10)

Each method runs the async connection's through
:func:`~asyncqlio.ext.asyncio.bridge.await_only`: the I/O happens on the event loop that
called ``run_sync()``, on the same connection, with the same rules (autobegin, and
``PendingRollbackError`` after a failed statement). Called outside ``run_sync()``, they raise
:class:`~asyncqlio.ext.asyncio.bridge.MissingGreenlet`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from asyncqlio.ext.asyncio.bridge import await_only, synchronous

if TYPE_CHECKING:
    from asyncqlio.ext.asyncio.engine import AsyncConnection, AsyncTransaction, RawConnection
    from asyncqlio.orm.results import Result, ScalarResult

__all__ = ["SyncConnection", "SyncTransaction"]


class SyncConnection:
    """SQLAlchemy's ``Connection`` over an ``AsyncConnection`` (``async_connection``), for
    functions given to ``run_sync()``. Results are the buffered ones the async connection
    gives (``.all()``, ``.scalar()``, ``.scalars()``... are synchronous already)."""

    __slots__ = ("_async",)

    def __init__(self, async_connection: "AsyncConnection") -> None:
        self._async = async_connection

    @property
    def async_connection(self) -> "AsyncConnection":
        return self._async

    # --- statements
    @synchronous
    async def execute(self, statement: Any, parameters: Any = None, *,
                      execution_options: Mapping[str, Any] | None = None) -> "Result":
        """Run a statement (``select()``, ``insert()``, ``text()``...); a buffered Result. A
        list of dicts as ``parameters`` runs it once per dict."""

    @synchronous
    async def scalar(self, statement: Any, parameters: Any = None, *,
                     execution_options: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row, or None."""

    @synchronous
    async def scalars(self, statement: Any, parameters: Any = None, *,
                      execution_options: Mapping[str, Any] | None = None) -> "ScalarResult":
        """The first column of every row."""

    @synchronous
    async def exec_driver_sql(self, statement: str, parameters: Any = None,
                              execution_options: Mapping[str, Any] | None = None) -> "Result":
        """SQL in the driver's own placeholders (``$1`` on PostgreSQL, ``?`` on SQLite)."""

    # --- transactions
    def begin(self) -> "SyncTransaction":
        """Begin the transaction (``with conn.begin():`` commits at the end of the block,
        rolls back if it raises); InvalidRequestError if one is already begun."""
        tx = self._async.begin()
        await_only(tx.start())
        return tx.sync_transaction  # type: ignore[return-value]

    def begin_nested(self) -> "SyncTransaction":
        """A SAVEPOINT (``with conn.begin_nested():`` releases it at the end of the block,
        rolls back to it if it raises)."""
        tx = self._async.begin_nested()
        await_only(tx.start())
        return tx.sync_transaction  # type: ignore[return-value]

    @synchronous
    async def commit(self) -> None:
        """Commit the transaction, if there is one."""

    @synchronous
    async def rollback(self) -> None:
        """Roll back the transaction, if there is one."""

    def in_transaction(self) -> bool:
        return self._async.in_transaction()

    def in_nested_transaction(self) -> bool:
        return self._async.in_nested_transaction()

    def get_transaction(self) -> "SyncTransaction | None":
        tx = self._async.get_transaction()
        return tx.sync_transaction if tx is not None else None

    def get_nested_transaction(self) -> "SyncTransaction | None":
        tx = self._async.get_nested_transaction()
        return tx.sync_transaction if tx is not None else None

    # --- options and state
    def execution_options(self, **options: Any) -> "SyncConnection":
        """Options for this connection (``isolation_level`` before a transaction begins);
        returns this connection."""
        await_only(self._async.execution_options(**options))
        return self

    def get_execution_options(self) -> dict[str, Any]:
        return self._async.get_execution_options()

    @synchronous
    async def get_isolation_level(self) -> str:
        """The isolation level of this connection's transaction."""

    @synchronous
    async def close(self) -> None:
        """Close the async connection under it (rolling back what is not committed)."""

    @synchronous
    async def invalidate(self, exception: BaseException | None = None) -> None:
        """Discard the driver connection (the pool closes it)."""

    @property
    def connection(self) -> "RawConnection":
        """The pooled driver connection (``.driver_connection``)."""
        return await_only(self._async.get_raw_connection())

    @property
    def closed(self) -> bool:
        return self._async.closed

    @property
    def invalidated(self) -> bool:
        return self._async.invalidated

    @property
    def info(self) -> dict:
        return self._async.info

    @property
    def dialect(self) -> Any:
        return self._async.dialect

    @property
    def engine(self) -> Any:
        """The engine: the :class:`~asyncqlio.db.DatabaseInterface` (``sync_engine``)."""
        return self._async.sync_engine

    def __repr__(self) -> str:
        return f"<SyncConnection of {self._async!r}>"


class SyncTransaction:
    """SQLAlchemy's ``Transaction`` over an ``AsyncTransaction`` (``async_transaction``):
    ``commit()``, ``rollback()``, ``close()``, ``is_active``, and ``with`` blocks."""

    __slots__ = ("_async",)

    def __init__(self, async_transaction: "AsyncTransaction") -> None:
        self._async = async_transaction

    @property
    def async_transaction(self) -> "AsyncTransaction":
        return self._async

    @property
    def connection(self) -> SyncConnection:
        return self._async.connection.sync_connection  # type: ignore[return-value]

    @property
    def is_active(self) -> bool:
        return self._async.is_active

    @property
    def is_valid(self) -> bool:
        return self._async.is_valid

    @property
    def nested(self) -> bool:
        return self._async.nested

    @synchronous
    async def commit(self) -> None:
        """Commit (a savepoint: release it)."""

    @synchronous
    async def rollback(self) -> None:
        """Roll back (a savepoint: roll back to it)."""

    @synchronous
    async def close(self) -> None:
        """Roll back if still active."""

    def __enter__(self) -> "SyncTransaction":
        self._async._enter()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        await_only(self._async.__aexit__(exc_type, exc, tb))

    def __repr__(self) -> str:
        return f"<SyncTransaction of {self._async!r}>"
