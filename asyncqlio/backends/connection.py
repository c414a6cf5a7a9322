"""The connection wrapper every driver module subclasses: one interface over its driver,
with ``{name}`` parameters translated and driver errors wrapped into :mod:`asyncqlio.exc`."""
from __future__ import annotations

import logging
import re
import time
from typing import Any, AsyncIterator, Mapping, Sequence

from asyncqlio.events import Dispatch
from asyncqlio.exc import ArgumentError

sql_logger = logging.getLogger("asyncqlio.sql")

_PARAM = re.compile(r"\{\{|\}\}|\{(\w+)\}")


def translate_params(dialect: Any, sql: str,
                     params: Mapping[str, Any] | Sequence[Any] | None) -> tuple[str, Any]:
    """Raw SQL uses ``{name}`` placeholders with a mapping (the original asyncqlio format;
    ``{{``/``}}`` are literal braces), or the driver's own placeholders with a sequence. On
    SQLite a mapping also binds sqlite3's own ``:name`` placeholders (what the original's
    SQLite backend took), where the SQL has no ``{name}``."""
    if params is None:
        return sql, ()
    if not isinstance(params, Mapping):
        return sql, tuple(params)
    args: list[Any] = []
    seen: dict[str, str] = {}
    if params and not dialect.numeric and _PARAM.search(sql) is None:
        return sql, dict(params)

    def repl(m: re.Match) -> str:
        name = m.group(1)
        if name is None:
            return m.group(0)[0]
        if name not in params:
            raise ArgumentError(f"no value given for SQL parameter {{{name}}}")
        if dialect.numeric:
            if name not in seen:
                args.append(params[name])
                seen[name] = f"${len(args)}"
            return seen[name]
        args.append(params[name])
        return "?"

    return _PARAM.sub(repl, sql), args


def driver_message(error: BaseException) -> str:
    """The message of the asyncqlio error that wraps a driver error: the driver's own text,
    without its class name, which the wrapper's class would repeat ("IntegrityError:
    IntegrityError: ...") and ``__cause__`` keeps; a bare class (a timeout) names itself."""
    return str(error) or type(error).__name__


_NO_LISTENERS = Dispatch()


class Connection:
    """A driver connection; subclasses implement the ``_``-prefixed driver calls."""

    dialect: Any

    def __init__(self, raw: Any, *, echo: bool = False, hide_parameters: bool = False) -> None:
        self.raw = raw
        self.echo = echo
        self.hide_parameters = hide_parameters
        self.in_transaction = False
        #: set when a statement was interrupted: the connection's state is unknown
        self.broken = False
        self.created = time.monotonic()
        #: the listeners of the interface that checked it out (``Dispatch.attach``)
        self.events = _NO_LISTENERS
        #: the pool's dispose() count when opened: an older connection is closed on return
        self.generation = 0
        #: the program's own dict, kept as long as this connection (SQLAlchemy's ``info``)
        self.info: dict[Any, Any] = {}

    def _log(self, sql: str, params: Sequence[Any], started: float) -> None:
        shown = "[hidden]" if self.hide_parameters else repr(tuple(params))
        sql_logger.info("%s %s (%.3f ms)", sql, shown, (time.perf_counter() - started) * 1e3)

    def wrap_error(self, error: BaseException) -> BaseException:
        raise NotImplementedError

    async def _guard(self, awaitable: Any, sql: str, params: Sequence[Any]) -> Any:
        started = time.perf_counter() if self.echo else 0.0
        try:
            return await awaitable
        except BaseException as e:
            wrapped = self.wrap_error(e)
            if wrapped is e:
                self.broken = True  # cancelled or interrupted mid-statement
                raise
            raise wrapped from e
        finally:
            if self.echo:  # failed statements too: they are the ones being looked for
                self._log(sql, params, started)

    async def _guard_with_events(self, awaitable: Any, sql: str, params: Sequence[Any]) -> Any:
        """``_guard`` with the before/after_execute listeners; the Dispatch the connection
        carries puts it in place of ``_guard`` while such listeners exist."""
        events = self.events
        try:
            await events.fire("before_execute", self, sql, params)
        except BaseException:
            awaitable.close()  # never started: the connection is as it was
            raise
        result = await type(self)._guard(self, awaitable, sql, params)
        await events.fire("after_execute", self, sql, params)
        return result

    # --- the interface the ORM uses; params are already in driver form
    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; the number of rows it changed (-1 where not known)."""
        raise NotImplementedError

    async def execute_script(self, sql: str, params: Any = ()) -> int:
        """Raw SQL that may be several statements separated by ``;`` (without parameters);
        the rows the last one changed."""
        return await self.execute(sql, params)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """Run a statement once per parameter row (values already bound by the column types);
        the rows changed in all (-1 where not known)."""
        raise NotImplementedError

    async def copy_rows(self, table: str, columns: list[str], rows: Sequence[Sequence[Any]]) -> None:
        """Bulk-load rows with COPY, where the dialect has it (``Dialect.copy``)."""
        raise NotImplementedError(f"COPY is not available on {self.dialect.name}")

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """All rows, each a sequence in select-list order."""
        raise NotImplementedError

    async def fetch_mappings(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        raise NotImplementedError

    def cursor(self, sql: str, params: Sequence[Any] = (), chunk: int = 100,
               mappings: bool = True) -> AsyncIterator[list[Any]]:
        """Chunks of rows as mappings, read as they are needed (inside a transaction); with
        ``mappings`` false the driver's records, read by position (columns of one name
        stay apart)."""
        raise NotImplementedError

    def chunks(self, sql: str, params: Sequence[Any] = ()) -> "RecordChunks":
        """The statement's records read from a cursor as they are asked for."""
        return RecordChunks(self, sql, params)

    async def begin(self, sql: str = "BEGIN") -> None:
        """Start a transaction with ``sql`` (``BEGIN IMMEDIATE``, an isolation level...)."""
        await self.execute(sql)
        self.in_transaction = True
        if self.events.transaction:
            await self.events.fire("begin", self)

    async def commit(self) -> None:
        try:
            await self.execute("COMMIT")
        finally:
            self.in_transaction = False
        if self.events.transaction:
            await self.events.fire("commit", self)

    async def rollback(self) -> None:
        await self.reset()
        if self.events.transaction:
            await self.events.fire("rollback", self)

    async def reset(self) -> None:
        """Roll back without telling listeners: the pool's clean-up on check-in."""
        try:
            await self.execute("ROLLBACK")
        finally:
            self.in_transaction = False

    async def ping(self) -> None:
        """Raise if the connection is no longer usable; no events, no logging."""
        raise NotImplementedError

    def driver_in_transaction(self) -> bool:
        """Whether the driver itself sees an open transaction (after raw use)."""
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class RecordChunks:
    """A statement's records, read from a cursor a chunk at a time, each chunk the size the
    read asks for (``await chunks.read(n)``; ``[]`` at the end); the cursor opens at the
    first read, and ``close()`` ends it (inside a transaction, as cursors need)."""

    __slots__ = ("conn", "sql", "params", "cursor")

    def __init__(self, conn: Connection, sql: str, params: Sequence[Any]) -> None:
        self.conn = conn
        self.sql = sql
        self.params = params
        self.cursor: Any = None

    async def read(self, n: int) -> list[Any]:
        try:
            if self.cursor is None:
                # records read by position: two selected columns of one name stay two
                self.cursor = self.conn.cursor(self.sql, self.params, n, mappings=False)
                records = await anext(self.cursor, None)
            else:
                records = await self.cursor.asend(n)
        except StopAsyncIteration:
            records = None
        return records or []

    async def close(self) -> None:
        if self.cursor is not None:
            await self.cursor.aclose()
