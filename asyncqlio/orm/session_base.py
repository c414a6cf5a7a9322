"""The session's core: one connection, one transaction at a time, checkpoints
(SAVEPOINTs), and raw SQL (the original asyncqlio's ``SessionBase``).

The transaction begins at the first statement (after ``start()`` or a ``commit()``), so a
session is reusable after commit. A statement that fails leaves the session refusing
everything but ``rollback()`` (:class:`~asyncqlio.exc.PendingRollbackError`, carrying the
failure), on SQLite as on PostgreSQL, so nothing half-done can be committed. A block whose
code caught that failure and ended normally is rolled back, with a warning.
"""
from __future__ import annotations

import asyncio
import enum
import itertools
import warnings
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from asyncqlio._speedups import _compile, _row
from asyncqlio.backends.base import BaseDialect, BaseResultSet, BaseTransaction, DictRow, ResultSet
from asyncqlio.backends.connection import Connection, translate_params
from asyncqlio.exc import (ArgumentError, DatabaseException, InvalidRequestError,
                           PendingRollbackError, SessionClosedError)
from asyncqlio.orm.unit_of_work import IdentityMap, SessionTransaction, Snapshot, end_block

if TYPE_CHECKING:
    from asyncqlio.db import DatabaseInterface

Params = Mapping[str, Any] | Sequence[Any] | None


class SessionState(enum.Enum):
    NOT_READY = 0
    READY = 1
    FAILED = 2
    CLOSED = 3


_UNUSABLE = frozenset((SessionState.FAILED, SessionState.CLOSED))


class SessionBase(_row.SessionRows):
    """A session's connection and transaction: ``async with db.get_session() as sess:``
    begins at the first statement, commits on a clean exit (rolls back on an exception) and
    closes. :class:`~asyncqlio.orm.session.Session` adds the rows and queries."""

    def __init__(self, bind: "DatabaseInterface", *, autoflush: bool = True,
                 immediate: bool | None = None, **kwargs: Any) -> None:
        if kwargs:
            raise ArgumentError(f"unknown session options: {', '.join(kwargs)}")
        #: the engine the session's connections come from; ``bind`` is what the session was
        #: given (an AsyncSession's is the AsyncEngine over ``db``)
        self.db = self.bind = bind
        #: engine (issue 4): BEGIN, BEGIN IMMEDIATE (SQLite) or with an isolation level
        self._begin_sql = bind.begin_statement(immediate)
        self.dialect: BaseDialect = bind.dialect
        self.state = SessionState.NOT_READY
        self.conn: Connection | None = None
        self.autoflush = autoflush
        self._autoflush_off = 0
        #: (class, primary key tuple) -> the one object for that row in this session
        self.identity_map = IdentityMap()
        # _pending, _dirty, _usable: see _row.SessionRows. The column descriptors fill
        # _dirty themselves, so finding the dirty rows costs nothing
        self._pending = {}
        self._dirty = {}
        #: rows marked by ``delete(row)`` for the next flush
        self._deleted: dict[int, Any] = {}
        #: what a rollback needs to take back the changes each flush in this transaction
        #: wrote, for rows loaded after it began (see ``_row.journal``)
        self._journal: list[Any] = []
        #: rows inserted in this transaction, in order: a rollback makes them transient again
        #: (those deleted or expunged since too: their row does not exist either)
        self._inserted: list[Any] = []
        self._transaction: SessionTransaction | None = None
        #: open savepoints, innermost last
        self._checkpoints: list[SessionTransaction] = []
        self._savepoints = itertools.count(1)
        #: the task running a statement now: a second task gets an error, not a mixed-up
        #: connection
        self._task: asyncio.Task | None = None
        #: the error that left the session FAILED
        self._failure: BaseException | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.state.name} on {self.bind!r}>"

    def _fail(self, error: BaseException) -> None:
        """A statement failed: nothing but rollback() until the transaction is ended."""
        self.state = SessionState.FAILED
        self._failure = error

    @property
    def state(self) -> SessionState:
        return self._state

    @state.setter
    def state(self, state: SessionState) -> None:
        self._state = state
        self._usable = state not in _UNUSABLE

    # --- lifecycle
    async def start(self) -> "SessionBase":
        """Acquire a connection from the pool (done for you by ``async with``)."""
        if self.state is SessionState.CLOSED:
            raise SessionClosedError("this session is closed")
        if self.conn is None:
            self.conn = await self.db.pool.acquire(self.db.dispatch)
            self.state = SessionState.READY
        return self

    async def close(self, *, has_error: bool = False) -> None:
        """Give the connection back (rolling back anything uncommitted); the objects are
        detached. With ``has_error`` the connection is closed rather than pooled."""
        if self.state is SessionState.CLOSED:
            return
        conn, self.conn = self.conn, None
        if has_error and conn is not None:
            conn.broken = True
        self.state = SessionState.CLOSED
        self._end_transaction()
        self.expunge_all()
        if conn is not None:
            await self.db.pool.release(conn)

    async def __aenter__(self) -> "SessionBase":
        return await self.start()

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self.state is SessionState.CLOSED:
            return  # closed inside the block: nothing left to commit or roll back
        failed = exc_type is not None
        if not failed and self.state is SessionState.FAILED:
            # a statement failed and the block caught its error: nothing is committed
            warnings.warn(f"{type(self).__name__} block ended after a failed statement "
                          f"({self._failure!r}); its transaction was rolled back",
                          RuntimeWarning, stacklevel=2)
            failed = True
        try:
            await end_block(self, failed)
        finally:
            await self.close()

    def _check_open(self) -> None:
        if self.state is SessionState.CLOSED:
            raise SessionClosedError("this session is closed")
        if self.state is SessionState.FAILED:
            raise PendingRollbackError(
                f"a statement failed in this session's transaction ({self._failure!r}); "
                "call rollback() first") from self._failure

    def _enter(self) -> None:
        """One statement at a time, from one task: a session is not shared between tasks."""
        task = asyncio.current_task()
        if self._task is not None and self._task is not task:
            raise InvalidRequestError(
                "this session is running a statement for another task; a session must not "
                "be used by two tasks at once (give each task its own session)")
        self._task = task

    def _live(self) -> Connection | None:
        """The connection if it is ready for a statement as it is (no await needed)."""
        conn = self.conn
        if conn is not None and conn.in_transaction and self.state is SessionState.READY:
            return conn
        return None

    async def _ready(self) -> Connection:
        """The connection, in a transaction, for the next statement."""
        live = self._live()
        if live is not None:
            return live
        conn = self.conn
        self._check_open()
        if conn is None:
            await self.start()
            conn = self.conn
        if not conn.in_transaction:
            try:
                await conn.begin(self._begin_sql)
            except BaseException as e:
                self._fail(e)
                raise
            self._begun()
        return conn

    def _begun(self) -> None:
        """The transaction began: remember the objects, for a rollback to restore."""
        tx = self._transaction
        if tx is None:
            tx = self._transaction = SessionTransaction(self)
        tx.is_active = True
        tx.snapshot = Snapshot(self, nested=False)

    @property
    def _journaling(self) -> bool:
        """Whether what is written now goes into the journal a rollback restores from (a
        transaction whose start was remembered)."""
        tx = self._transaction
        return tx is not None and tx.snapshot is not None

    def _end_transaction(self) -> None:
        self._inserted.clear()
        self._journal.clear()
        for tx in self._checkpoints:
            tx.is_active = False
        self._checkpoints.clear()
        if self._transaction is not None:
            self._transaction.is_active = False
            self._transaction = None

    async def _run(self, method: str, *args: Any) -> Any:
        """One statement by the name of a connection method: one task at a time; a failure
        leaves the session refusing all but ``rollback()``."""
        self._enter()
        try:
            conn = await self._ready()
            try:
                return await getattr(conn, method)(*args)
            except BaseException as e:
                self._fail(e)
                raise
        finally:
            self._task = None

    # the same, written out for the statements every query and flush makes (a ready
    # connection is taken without awaiting _ready: a coroutine fewer per statement)
    async def _fetch(self, sql: str, params: Sequence[Any]) -> list[Any]:
        self._enter()
        try:
            conn = self._live() or await self._ready()
            try:
                return await conn.fetch(sql, params)
            except BaseException as e:
                self._fail(e)
                raise
        finally:
            self._task = None

    async def _execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self._enter()
        try:
            conn = self._live() or await self._ready()
            try:
                return await conn.execute(sql, params)
            except BaseException as e:
                self._fail(e)
                raise
        finally:
            self._task = None

    async def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        self._enter()
        try:
            conn = self._live() or await self._ready()
            try:
                return await conn.executemany(sql, rows)
            except BaseException as e:
                self._fail(e)
                raise
        finally:
            self._task = None

    async def _copy(self, table: str, columns: list[str], rows: Sequence[Sequence[Any]]) -> None:
        self._enter()
        try:
            conn = await self._ready()
            try:
                await conn.copy_rows(table, columns, rows)
            except BaseException as e:
                self._fail(e)
                raise
        finally:
            self._task = None

    # --- transactions
    def begin(self) -> SessionTransaction:
        """``async with sess.begin():`` — commits on a clean exit, rolls back on error."""
        self._check_open()
        if self.in_transaction():
            raise InvalidRequestError("a transaction is already begun on this session")
        self._transaction = SessionTransaction(self)  # the one the first statement begins
        return self._transaction

    def begin_nested(self) -> SessionTransaction:
        """``async with sess.begin_nested():`` — a SAVEPOINT; rolling it back restores the
        session's objects as they were when it began."""
        self._check_open()
        return SessionTransaction(self, f"sa_savepoint_{next(self._savepoints)}")

    async def _savepoint(self, tx: SessionTransaction) -> None:
        """Flush, then ``SAVEPOINT``, remembering the objects as they are now."""
        await self.flush()
        await self._execute("SAVEPOINT " + _compile.quote(tx.name))
        tx.snapshot = Snapshot(self, nested=True)
        tx.is_active = True
        self._checkpoints.append(tx)

    def in_transaction(self) -> bool:
        return self.conn is not None and self.conn.in_transaction

    def in_nested_transaction(self) -> bool:
        return bool(self._checkpoints) and self.in_transaction()

    def get_transaction(self) -> SessionTransaction | None:
        return self._transaction if self.in_transaction() else None

    def get_nested_transaction(self) -> SessionTransaction | None:
        return self._checkpoints[-1] if self.in_nested_transaction() else None

    async def commit(self) -> "SessionBase":
        """Write pending rows and commit. The session stays usable."""
        self._check_open()
        await self.flush()
        conn = self.conn
        if conn is not None and conn.in_transaction:
            try:
                await conn.commit()
            except BaseException as e:
                self._fail(e)
                raise
        self._end_transaction()
        return self

    async def rollback(self, checkpoint: str | None = None) -> "SessionBase":
        """Roll back the transaction, or only to ``checkpoint`` (keeping the transaction).
        The session's objects are put back as they were when it (or the checkpoint) began:
        attribute values restored, rows inserted since detached, rows deleted since back."""
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
            except BaseException as e:
                self._fail(e)
                raise
            for tx in self._checkpoints[index + 1:]:
                tx.is_active = False
            del self._checkpoints[index + 1:]
            self._checkpoints[index].snapshot.restore(self, keep_new=True)
            self.state = SessionState.READY
            return self
        tx = self._transaction
        if tx is not None and tx.snapshot is not None:
            tx.snapshot.restore(self, keep_new=False)
        else:
            _row.detach(self._pending.values(), _row.TRANSIENT)
            self._pending.clear()
            self._deleted.clear()
        self._end_transaction()
        unannounced = conn is not None and conn.in_transaction
        if conn is not None and not conn.broken and conn.in_transaction:
            try:
                await conn.rollback()  # tells the listeners itself
                unannounced = False
            except DatabaseException:
                conn.broken = True  # its state is unknown; closing it rolls back for sure
        if conn is not None and conn.broken:
            # interrupted or lost: the pool closes it, the next statement gets another
            self.conn = None
            await self.db.pool.release(conn)
            if unannounced and conn.events.transaction:
                # closing it ended the transaction: listeners hear of it like any rollback
                await conn.events.fire("rollback", conn)
        self.state = SessionState.READY if self.conn is not None else SessionState.NOT_READY
        return self

    async def checkpoint(self, name: str) -> "SessionBase":
        """``SAVEPOINT name``: a point ``rollback(name)`` returns to. Rows added before it
        are written first, so rolling back to it keeps them."""
        await self._savepoint(SessionTransaction(self, name))
        return self

    async def release_checkpoint(self, name: str) -> "SessionBase":
        index = self._checkpoint_index(name)
        await self._execute("RELEASE SAVEPOINT " + _compile.quote(name))
        for tx in self._checkpoints[index:]:
            tx.is_active = False
        del self._checkpoints[index:]
        return self

    def _checkpoint_index(self, name: str) -> int:
        """The latest checkpoint called ``name``, the one SQL returns to."""
        for i in range(len(self._checkpoints) - 1, -1, -1):
            if self._checkpoints[i].name == name:
                return i
        raise ArgumentError(f"no checkpoint named {name!r} in this transaction")

    async def reset(self) -> None:
        """Roll back, detach every object and give the connection back; the session can
        be used again."""
        if self.state is not SessionState.CLOSED:
            await self.rollback()
        self.expunge_all()
        conn, self.conn = self.conn, None
        if conn is not None:
            await self.db.pool.release(conn)
        self.state = SessionState.NOT_READY

    async def invalidate(self) -> None:
        """Discard the connection without trusting it (it is closed, not pooled), roll
        back and detach every object."""
        if self.conn is not None:
            self.conn.broken = True
        await self.reset()

    def expunge_all(self) -> None:
        """Detach every row."""
        _row.detach_mapped(self.identity_map.by_class, _row.DETACHED)
        _row.detach(self._pending.values(), -1)
        _row.detach(self._deleted.values(), -1)
        for row in self._deleted.values():
            row._state = _row.DETACHED
        self.identity_map.clear()
        self._pending.clear()
        self._dirty.clear()
        self._deleted.clear()

    async def truncate(self, table: type, *, cascade: bool = False) -> None:
        name = table.__table__.quoted
        if self.dialect.name == "postgresql":
            await self._execute(f"TRUNCATE TABLE {name}" + (" CASCADE" if cascade else ""))
        else:
            await self._execute(f"DELETE FROM {name}")

    # --- raw SQL
    async def execute(self, sql: Any, params: Params = None) -> Any:
        """Run raw SQL (``{name}`` placeholders with a mapping, or the driver's own with a
        sequence; several statements separated by ``;`` without parameters): the number
        of rows changed, or -1 (the original asyncqlio's API)."""
        if not isinstance(sql, str):
            raise ArgumentError(f"{type(self).__name__}.execute() takes SQL text, not {sql!r}")
        sql, args = translate_params(self.dialect, sql, params)
        return await self._run("execute_script", sql, args)

    async def cursor(self, sql: str, params: Params = None) -> BaseResultSet:
        """Run raw SQL and read its rows (as mappings) as they are needed. The first rows
        are read here, so an error in the statement raises here."""
        sql, args = translate_params(self.dialect, sql, params)
        conn = await self._ready()
        chunks = conn.cursor(sql, args)
        try:
            first = await anext(chunks, None)
        except BaseException as e:
            self._fail(e)
            raise
        return ResultSet(self._guarded_chunks(chunks), first)

    async def _guarded_chunks(self, chunks: Any) -> Any:
        try:
            async for chunk in chunks:
                yield chunk
        except GeneratorExit:  # closed by its reader: nothing failed
            raise
        except BaseException as e:
            self._fail(e)
            raise
        finally:
            await chunks.aclose()

    async def fetch(self, sql: str, params: Params = None) -> DictRow | None:
        """The first row of raw SQL (a mapping, also read by position), or None."""
        sql, args = translate_params(self.dialect, sql, params)
        conn = await self._ready()
        try:
            rows = await conn.fetch_mappings(sql, args)
        except BaseException as e:
            self._fail(e)
            raise
        return rows[0] if rows else None


    @property
    def transaction(self) -> BaseTransaction | None:
        """The session's connection as the original asyncqlio's low-level transaction
        (``execute``, ``cursor``...), or None before the first statement."""
        if self.conn is None:
            return None
        connector = self.db.connector
        tr = connector.transaction_type(connector)
        tr.connection = self.conn
        return tr

    async def flush(self) -> None:
        """Write what the session holds (a session of rows overrides this)."""
