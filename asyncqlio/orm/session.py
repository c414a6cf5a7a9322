"""Sessions: one connection, one transaction at a time, checkpoints (SAVEPOINTs), and the
row operations of the original asyncqlio.

The transaction begins at the first statement (after ``start()`` or a ``commit()``), so a
session is reusable after commit. A statement that fails leaves the session refusing
everything but ``rollback()`` (:class:`~asyncqlio.exc.PendingRollbackError`), on SQLite as on
PostgreSQL, so nothing half-done can be committed.
"""
from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, Generator, Mapping, Sequence

from asyncqlio._speedups import _compile, _row
from asyncqlio.backends.base import Connection, Dialect, translate_params
from asyncqlio.exc import (ArgumentError, DatabaseException, PendingRollbackError,
                           SessionClosedError)
from asyncqlio.orm import persistence
from asyncqlio.orm.query import BulkDeleteQuery, BulkUpdateQuery, InsertQuery, SelectQuery
from asyncqlio.orm.results import ResultGenerator, ResultSet
from asyncqlio.orm.schema import TableBase

if TYPE_CHECKING:
    from asyncqlio.db import DatabaseInterface

Params = Mapping[str, Any] | Sequence[Any] | None


class SessionState(enum.Enum):
    NOT_READY = 0
    READY = 1
    FAILED = 2
    CLOSED = 3


_UNUSABLE = frozenset((SessionState.FAILED, SessionState.CLOSED))


class _Write:
    """What ``add()`` returns: the row is registered already; awaiting writes it now."""

    __slots__ = ("session", "row")

    def __init__(self, session: "Session", row: TableBase) -> None:
        self.session = session
        self.row = row

    def __await__(self) -> Generator[Any, None, TableBase]:
        return self.session._write_now(self.row).__await__()


class Session:
    """A window onto the database: ``async with db.get_session() as sess:``.

    On leaving the block the session commits (or rolls back on an exception) and closes.
    """

    def __init__(self, bind: "DatabaseInterface", **kwargs: Any) -> None:
        if kwargs:
            raise ArgumentError(f"unknown session options: {', '.join(kwargs)}")
        self.bind = bind
        self.dialect: Dialect = bind.dialect
        self.state = SessionState.NOT_READY
        self.conn: Connection | None = None
        #: rows added but not yet written, in the order they were added
        self._pending: dict[int, TableBase] = {}
        self._checkpoints: list[str] = []

    def __repr__(self) -> str:
        return f"<Session {self.state.name} on {self.bind!r}>"

    # --- lifecycle
    async def start(self) -> "Session":
        """Acquire a connection from the pool (done for you by ``async with``)."""
        if self.state is SessionState.CLOSED:
            raise SessionClosedError("this session is closed")
        if self.conn is None:
            self.conn = await self.bind.pool.acquire()
            self.state = SessionState.READY
        return self

    async def close(self) -> None:
        """Give the connection back (rolling back anything uncommitted)."""
        if self.state is SessionState.CLOSED:
            return
        conn, self.conn = self.conn, None
        self.state = SessionState.CLOSED
        self._pending.clear()
        if conn is not None:
            await self.bind.pool.release(conn)

    async def __aenter__(self) -> "Session":
        return await self.start()

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self.state is SessionState.CLOSED:
            return  # closed inside the block: nothing left to commit or roll back
        try:
            if exc_type is None:
                try:
                    await self.commit()
                except BaseException:
                    await self.rollback()
                    raise
            else:
                await self.rollback()
        finally:
            await self.close()

    def _check_open(self) -> None:
        if self.state is SessionState.CLOSED:
            raise SessionClosedError("this session is closed")
        if self.state is SessionState.FAILED:
            raise PendingRollbackError(
                "a statement failed in this session's transaction; call rollback() first")

    async def _ready(self) -> Connection:
        """The connection, in a transaction, for the next statement."""
        conn = self.conn
        if conn is not None and conn.in_transaction and self.state is SessionState.READY:
            return conn
        self._check_open()
        if conn is None:
            await self.start()
            conn = self.conn
        try:
            await conn.begin()
        except BaseException:
            self.state = SessionState.FAILED
            raise
        return conn

    async def _fetch(self, sql: str, params: Sequence[Any]) -> list[Any]:
        conn = await self._ready()
        try:
            return await conn.fetch(sql, params)
        except BaseException:
            self.state = SessionState.FAILED
            raise

    async def _execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        conn = await self._ready()
        try:
            return await conn.execute(sql, params)
        except BaseException:
            self.state = SessionState.FAILED
            raise

    async def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        conn = await self._ready()
        try:
            return await conn.executemany(sql, rows)
        except BaseException:
            self.state = SessionState.FAILED
            raise

    async def _copy(self, table: str, columns: list[str], rows: Sequence[Sequence[Any]]) -> None:
        conn = await self._ready()
        try:
            await conn.copy_rows(table, columns, rows)
        except BaseException:
            self.state = SessionState.FAILED
            raise

    # --- transactions
    async def commit(self) -> "Session":
        """Write pending rows and commit. The session stays usable."""
        self._check_open()
        await self.flush()
        conn = self.conn
        if conn is not None and conn.in_transaction:
            try:
                await conn.commit()
            except BaseException:
                self.state = SessionState.FAILED
                raise
        self._checkpoints.clear()
        return self

    async def rollback(self, checkpoint: str | None = None) -> "Session":
        """Roll back the transaction, or only to ``checkpoint`` (keeping the transaction)."""
        if self.state is SessionState.CLOSED:
            raise SessionClosedError("this session is closed")
        conn = self.conn
        if checkpoint is not None:
            index = self._checkpoint_index(checkpoint)
            if conn.broken:
                raise PendingRollbackError(
                    "the connection was interrupted or lost; only rollback() is possible")
            try:
                await conn.execute("ROLLBACK TO SAVEPOINT " + _compile.quote(checkpoint))
            except BaseException:
                self.state = SessionState.FAILED
                raise
            del self._checkpoints[index + 1:]
            self._pending.clear()  # checkpoint() flushed: these were all added after it
            self.state = SessionState.READY
            return self
        self._checkpoints.clear()
        self._pending.clear()
        if conn is not None and not conn.broken and conn.in_transaction:
            try:
                await conn.rollback()
            except DatabaseException:
                conn.broken = True  # its state is unknown; closing it rolls back for sure
        if conn is not None and conn.broken:
            # interrupted or lost: the pool closes it, the next statement gets another
            self.conn = None
            await self.bind.pool.release(conn)
        self.state = SessionState.READY if self.conn is not None else SessionState.NOT_READY
        return self

    async def checkpoint(self, name: str) -> "Session":
        """``SAVEPOINT name``: a point ``rollback(name)`` returns to. Rows added before it
        are written first, so rolling back to it keeps them."""
        await self.flush()
        await self._execute("SAVEPOINT " + _compile.quote(name))
        self._checkpoints.append(name)
        return self

    async def release_checkpoint(self, name: str) -> "Session":
        index = self._checkpoint_index(name)
        await self._execute("RELEASE SAVEPOINT " + _compile.quote(name))
        del self._checkpoints[index:]
        return self

    def _checkpoint_index(self, name: str) -> int:
        """The latest checkpoint called ``name``, the one SQL returns to."""
        for i in range(len(self._checkpoints) - 1, -1, -1):
            if self._checkpoints[i] == name:
                return i
        raise ArgumentError(f"no checkpoint named {name!r} in this transaction")

    # --- query builders
    @property
    def select(self) -> SelectQuery:
        return SelectQuery(self)

    @property
    def insert(self) -> InsertQuery:
        return InsertQuery(self)

    @property
    def update(self) -> BulkUpdateQuery:
        return BulkUpdateQuery(self)

    @property
    def delete(self) -> BulkDeleteQuery:
        return BulkDeleteQuery(self)

    async def run_select_query(self, query: SelectQuery) -> ResultGenerator:
        return await query.all()

    async def run_insert_query(self, query: InsertQuery) -> list[TableBase]:
        self._check_open()
        for row in query.rows_to_insert:
            self._pending.pop(id(row), None)
        return await persistence.insert(self, query.rows_to_insert, query.conflict_sql)

    async def run_update_query(self, query: BulkUpdateQuery) -> int:
        return await query.run()

    async def run_delete_query(self, query: BulkDeleteQuery) -> int:
        return await query.run()

    # --- rows
    def add(self, row: TableBase) -> _Write:
        """Register ``row`` for writing at the next flush or commit; ``await`` it to write
        it now (INSERT for a new row, UPDATE of its changed columns for a loaded one)."""
        if not isinstance(row, TableBase):
            raise ArgumentError(f"add() takes a table row, not {row!r}")
        if self.state in _UNUSABLE:
            self._check_open()
        if row._state == _row.TRANSIENT:
            row._state = _row.PENDING
        self._pending[id(row)] = row
        row._session = self
        return _Write(self, row)

    async def _write_now(self, row: TableBase) -> TableBase:
        self._check_open()
        self._pending.pop(id(row), None)
        if row._state in (_row.TRANSIENT, _row.PENDING):
            await persistence.insert(self, [row])
        else:
            await persistence.update(self, row)
        return row

    async def flush(self) -> None:
        """Write every row registered with ``add()``: new ones batched into multi-row
        INSERTs, loaded ones as UPDATEs of their changed columns."""
        self._check_open()
        if not self._pending:
            return
        rows = list(self._pending.values())
        new = [r for r in rows if r._state in (_row.TRANSIENT, _row.PENDING)]
        loaded = [r for r in rows if r._state == _row.PERSISTENT]
        if new:
            await persistence.insert(self, new)
        if loaded:
            await persistence.update_many(self, loaded)
        self._pending.clear()

    async def insert_now(self, row: TableBase) -> TableBase:
        self._check_open()
        self._pending.pop(id(row), None)
        await persistence.insert(self, [row])
        return row

    async def update_now(self, row: TableBase) -> TableBase:
        self._check_open()
        self._pending.pop(id(row), None)
        return await persistence.update(self, row)

    async def delete_now(self, row: TableBase) -> TableBase:
        self._check_open()
        self._pending.pop(id(row), None)
        return await persistence.delete(self, row)

    remove = delete_now

    async def merge(self, row: TableBase) -> TableBase:
        """Write a row that was not loaded, by its primary key: its set columns overwrite the
        stored row, or it is inserted if there is none."""
        self._check_open()
        self._pending.pop(id(row), None)
        return await persistence.merge(self, row)

    async def truncate(self, table: type, *, cascade: bool = False) -> None:
        name = table.__table__.quoted
        if self.dialect.name == "postgresql":
            await self._execute(f"TRUNCATE TABLE {name}" + (" CASCADE" if cascade else ""))
        else:
            await self._execute(f"DELETE FROM {name}")

    # --- raw SQL
    async def execute(self, sql: str, params: Params = None) -> int:
        """Run raw SQL (``{name}`` placeholders with a mapping); rows changed, or -1."""
        sql, args = translate_params(self.dialect, sql, params)
        return await self._execute(sql, args)

    async def cursor(self, sql: str, params: Params = None) -> ResultSet:
        """Run raw SQL and read its rows (as mappings) as they are needed. The first rows
        are read here, so an error in the statement raises here."""
        sql, args = translate_params(self.dialect, sql, params)
        conn = await self._ready()
        chunks = conn.cursor(sql, args)
        try:
            first = await anext(chunks, None)
        except BaseException:
            self.state = SessionState.FAILED
            raise
        return ResultSet(self._guarded_chunks(first, chunks))

    async def _guarded_chunks(self, first: list | None, chunks: Any) -> Any:
        try:
            if first is not None:
                yield first
            async for chunk in chunks:
                yield chunk
        except BaseException:
            self.state = SessionState.FAILED
            raise
        finally:
            await chunks.aclose()

    async def fetch(self, sql: str, params: Params = None) -> dict[str, Any] | None:
        """The first row of raw SQL as a mapping, or None."""
        sql, args = translate_params(self.dialect, sql, params)
        conn = await self._ready()
        try:
            rows = await conn.fetch_mappings(sql, args)
        except BaseException:
            self.state = SessionState.FAILED
            raise
        return rows[0] if rows else None
