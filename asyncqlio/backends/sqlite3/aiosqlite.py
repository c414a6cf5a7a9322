"""SQLite through aiosqlite (``sqlite://``, ``sqlite3://``, ``sqlite+aiosqlite://``).

The connection runs in autocommit mode (``isolation_level=None``) and the session emits its own
``BEGIN``, so transactions, savepoints and DDL nest as they do on PostgreSQL. ``LIKE`` is made
case-sensitive, as on PostgreSQL.

Importing this module registers sqlite3 adapters for ``None`` (itself) and ``bool`` (1 or 0),
unless the program registered its own: sqlite3 stores these values the same way without
them, but only after failing to find an adapter, which costs two raised AttributeErrors per
value bound (see :mod:`asyncqlio._speedups._convert_cy`).
"""
from __future__ import annotations

import asyncio
import datetime
import decimal
import sqlite3
import threading
import uuid
from typing import Any, AsyncIterator, Awaitable, Sequence

import aiosqlite

from asyncqlio import exc
from asyncqlio._speedups import _convert
from asyncqlio.backends.base import (BaseConnector, BaseResultSet, BaseTransaction, DictRow,
                                     ResultSet)
from asyncqlio.backends.connection import Connection, driver_message
from asyncqlio.backends.sqlite3 import Sqlite3Dialect

DIALECT = Sqlite3Dialect()

for _type, _adapter in ((type(None), _convert.same), (bool, _convert.sqlite_bool)):
    if (_type, sqlite3.PrepareProtocol) not in sqlite3.adapters:
        sqlite3.register_adapter(_type, _adapter)

# raw-SQL values sqlite3 cannot bind (or binds with deprecated adapters), as the ORM stores them
_ADAPT = {
    datetime.datetime: datetime.datetime.isoformat,
    datetime.date: datetime.date.isoformat,
    datetime.time: datetime.time.isoformat,
    decimal.Decimal: str,
    uuid.UUID: str,
}

_PROGRAMMING = ("no such table", "no such column", "syntax error", "near ",
                "table ", "no such index", "duplicate column", "no such savepoint")


def _adapt(params: Any) -> Any:
    if type(params) is dict:  # sqlite3's own :name placeholders
        return {k: (_ADAPT[type(v)](v) if type(v) in _ADAPT else v) for k, v in params.items()}
    for v in params:
        if type(v) in _ADAPT:
            return [(_ADAPT[type(v)](p) if type(p) in _ADAPT else p) for p in params]
    return params


def _statements(sql: str) -> list[str]:
    """The statements of a script, split where SQLite itself sees one end (not at a ``;``
    inside a string, a comment or a trigger's ``BEGIN ... END``)."""
    out: list[str] = []
    start = 0
    for i, char in enumerate(sql):
        if char == ";" and sqlite3.complete_statement(sql[start:i + 1]):
            piece = sql[start:i].strip()
            if piece:
                out.append(piece)
            start = i + 1
    rest = sql[start:].strip()
    if rest:
        out.append(rest)
    return out


def _counted(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> int:
    """In the connection's thread: run a statement, read the rows of a RETURNING (it counts
    once they are read) and close the cursor; the rows changed."""
    cur = conn.execute(sql, params)
    try:
        if cur.description is not None:
            cur.fetchall()
        return cur.rowcount
    finally:
        cur.close()


def _described(conn: sqlite3.Connection, sql: str, params: Any) -> tuple[list[str] | None, list, int]:
    """In the connection's thread: run any statement; its column names (None where it
    returns no rows), its rows and the rows it changed."""
    cur = conn.execute(sql, params)
    try:
        if cur.description is None:
            return None, [], cur.rowcount
        rows = cur.fetchall()
        return [d[0] for d in cur.description], rows, cur.rowcount
    finally:
        cur.close()


def _counted_many(conn: sqlite3.Connection, sql: str, rows: Sequence[Sequence[Any]]) -> int:
    cur = conn.executemany(sql, rows)
    try:
        return cur.rowcount
    finally:
        cur.close()


async def _stopped(raw: aiosqlite.Connection) -> None:
    """Wait for the worker thread of a connection that failed to open. aiosqlite queues its
    stop without awaiting it, and the thread reports the stop to this event loop: were the
    loop closed by then (a script ending in ``asyncio.run``), the thread would die printing
    "RuntimeError: Event loop is closed"."""
    thread = getattr(raw, "_thread", raw)  # aiosqlite < 0.21: the connection is the thread
    if isinstance(thread, threading.Thread) and thread.ident is not None:
        await asyncio.shield(asyncio.to_thread(thread.join))


class AiosqliteConnection(Connection):
    dialect = DIALECT
    raw: aiosqlite.Connection

    def wrap_error(self, error: BaseException) -> BaseException:
        if isinstance(error, asyncio.CancelledError) and self.raw._connection is not None:
            # the statement runs on in aiosqlite's thread: stop it, so closing is prompt
            self.raw._connection.interrupt()
            return error
        msg = driver_message(error)
        if isinstance(error, sqlite3.IntegrityError):
            return exc.IntegrityError(msg, error)
        if isinstance(error, sqlite3.OperationalError):
            text = str(error)
            if text.startswith(_PROGRAMMING):
                return exc.ProgrammingError(msg, error)
            return exc.OperationalError(msg, error)
        if isinstance(error, sqlite3.DataError):
            return exc.DataError(msg, error)
        if isinstance(error, (sqlite3.ProgrammingError, sqlite3.InterfaceError)):
            if "binding parameter" in str(error) or "type" in str(error):
                return exc.DataError(msg, error)
            return exc.ProgrammingError(msg, error)
        if isinstance(error, sqlite3.NotSupportedError):
            return exc.NotSupportedError(msg, error)
        if isinstance(error, sqlite3.DatabaseError):
            return exc.DatabaseError(msg, error)
        if isinstance(error, sqlite3.Error):
            return exc.InterfaceError(msg, error)
        if isinstance(error, (OverflowError, UnicodeEncodeError)):
            return exc.DataError(msg, error)
        if isinstance(error, ValueError) and "no active connection" in str(error):
            self.broken = True
            return exc.InterfaceError(msg, error)
        return error

    # execute, executemany and fetch return the guarded awaitable, as the coroutine of an
    # ``async def`` would: one coroutine fewer per statement
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Awaitable[int]:
        params = _adapt(params)
        return self._guard(self._in_thread(_counted, sql, params), sql, params)

    async def execute_script(self, sql: str, params: Any = ()) -> int:
        if params:
            return await self.execute(sql, params)
        statements = _statements(sql)
        if len(statements) <= 1:
            return await self.execute(sql)
        count = -1
        for statement in statements:
            count = await self.execute(statement)
        return count

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Awaitable[int]:
        return self._guard(self._in_thread(_counted_many, sql, rows), sql, ())

    async def _in_thread(self, fn: Any, *args: Any) -> Any:
        """``fn(sqlite3 connection, *args)`` run in the connection's thread, as aiosqlite
        runs its own methods: one hop to the thread and back (about 50 µs here) where
        executing through an aiosqlite cursor and closing it takes two. (A coroutine: a
        closed connection's ``_conn`` raises, and must raise inside ``_guard``.)"""
        return await self.raw._execute(fn, self.raw._conn, *args)

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> Awaitable[list[Any]]:
        params = _adapt(params)
        return self._guard(self.raw.execute_fetchall(sql, params), sql, params)

    def run(self, sql: str, params: Any = ()) -> Awaitable[tuple[list[str] | None, list, int]]:
        params = _adapt(params)
        return self._guard(self._in_thread(_described, sql, params), sql, params)

    async def fetch_mappings(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        params = _adapt(params)
        cur = await self._guard(self.raw.execute(sql, params), sql, params)
        try:
            rows = await self._guard(cur.fetchall(), sql, params)
            names = [d[0] for d in cur.description or ()]
        finally:
            await cur.close()
        return [DictRow(zip(names, r)) for r in rows]

    async def cursor(self, sql: str, params: Sequence[Any] = (), chunk: int = 100,
                     mappings: bool = True) -> AsyncIterator[list[Any]]:
        params = _adapt(params)
        cur = await self._guard(self.raw.execute(sql, params), sql, params)
        try:
            names = [d[0] for d in cur.description or ()]
            while True:
                rows = await self._guard(cur.fetchmany(chunk), sql, params)
                if not rows:
                    return
                size = yield [DictRow(zip(names, r)) for r in rows] if mappings else rows
                chunk = size or chunk  # asend(n): the next chunk's size
        finally:
            await cur.close()

    async def commit(self) -> None:
        try:
            await super().commit()
        except exc.DatabaseException:
            if not self.broken:
                # a refused COMMIT (a deferred foreign key) leaves SQLite's transaction open
                self.in_transaction = self.raw.in_transaction
            raise

    async def ping(self) -> None:
        await self.raw.execute_fetchall("SELECT 1")

    def driver_in_transaction(self) -> bool:
        return self.raw.in_transaction

    async def close(self) -> None:
        await self.raw.close()


class Sqlite3Transaction(BaseTransaction):
    """A low-level transaction on an aiosqlite connection of the pool."""


Sqlite3ResultSet: type[BaseResultSet] = ResultSet


class Sqlite3Connector(BaseConnector):
    """Opens aiosqlite connections in autocommit mode. DSN options: ``timeout`` is the busy
    timeout; anything else goes into the SQLite URI (``mode=ro``)."""

    dialect = DIALECT
    transaction_type = Sqlite3Transaction
    version_sql = "SELECT sqlite_version()"

    def __init__(self, url: Any, *, echo: bool = False, hide_parameters: bool = False,
                 busy_timeout: float = 5.0, **driver_options: Any) -> None:
        super().__init__(url)
        url = self.url
        self.echo = echo
        self.hide_parameters = hide_parameters
        options = dict(url.options)
        self.busy_timeout = float(options.pop("timeout", busy_timeout))
        self.driver_options = driver_options
        path = url.database or ":memory:"
        self.memory = path == ":memory:" or options.get("mode") == "memory"
        if path == ":memory:":
            # one in-memory database shared by every connection of this interface; the memdb
            # VFS locks as a file does (a session waits out the busy timeout) where a shared
            # cache fails at once with "database table is locked"
            name = f"asyncqlio-{uuid.uuid4().hex}"
            path = (f"file:/{name}?vfs=memdb" if sqlite3.sqlite_version_info >= (3, 36)
                    else f"file:{name}?mode=memory&cache=shared")
            self.uri = True
        elif options:
            path = "file:" + path + "?" + "&".join(f"{k}={v}" for k, v in options.items())
            self.uri = True
        else:
            self.uri = False
        self.path = path
        #: keeps a shared in-memory database alive while the pool has no connection open
        self._anchor: aiosqlite.Connection | None = None

    async def _open(self) -> aiosqlite.Connection:
        raw = aiosqlite.connect(self.path, isolation_level=None, uri=self.uri,
                                timeout=self.busy_timeout, **self.driver_options)
        # a daemon thread: a program that ends without closing the engine (or dies of an
        # error first) exits instead of waiting for the connection's thread forever
        getattr(raw, "_thread", raw).daemon = True
        try:
            await raw
            await raw.execute("PRAGMA case_sensitive_like = ON")
            await raw.execute("PRAGMA foreign_keys = ON")
        except BaseException as e:
            await raw.close()  # where it opened
            await _stopped(raw)
            if isinstance(e, sqlite3.Error):
                raise exc.OperationalError(f"cannot open SQLite database {self.url.address}: "
                                           f"{driver_message(e)}", e) from e
            raise
        return raw

    async def open(self) -> AiosqliteConnection:
        if self.memory and self._anchor is None:
            self._anchor = await self._open()
        raw = await self._open()
        return AiosqliteConnection(raw, echo=self.echo, hide_parameters=self.hide_parameters)

    async def shutdown(self) -> None:
        if self._anchor is not None:
            anchor, self._anchor = self._anchor, None
            await anchor.close()


CONNECTOR_TYPE = Sqlite3Connector
