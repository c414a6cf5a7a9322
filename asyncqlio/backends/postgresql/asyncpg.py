"""PostgreSQL through asyncpg (``postgresql://``, ``postgres://``, ``postgresql+asyncpg://``)."""
from __future__ import annotations

import asyncio
import itertools
import secrets
import urllib.parse
from typing import Any, AsyncIterator, Awaitable, Sequence

import asyncpg

from asyncqlio import exc
from asyncqlio.backends.base import (BaseConnector, BaseResultSet, BaseTransaction, DictRow,
                                     ResultSet)
from asyncqlio.backends.connection import Connection, driver_message, translate_params
from asyncqlio.backends.postgresql import PostgresqlDialect

DIALECT = PostgresqlDialect()

# asyncpg.connect() keywords that may come from the DSN query string
_CONNECT_OPTIONS = {"statement_cache_size": int, "command_timeout": float, "ssl": str,
                    "max_cached_statement_lifetime": int, "max_cacheable_statement_size": int}
# libpq's names that asyncpg reads from a DSN itself; they reach it in a DSN of their own
_DSN_OPTIONS = {"sslmode", "sslcert", "sslkey", "sslrootcert", "sslcrl", "sslpassword",
                "ssl_min_protocol_version", "ssl_max_protocol_version", "passfile",
                "target_session_attrs", "krbsrvname", "gsslib", "service"}

_ERRORS: list[tuple[type[BaseException], type[exc.DBAPIError]]] = [
    (asyncpg.IntegrityConstraintViolationError, exc.IntegrityError),
    (asyncpg.DataError, exc.DataError),
    (asyncpg.exceptions.DataError, exc.DataError),
    (asyncpg.SyntaxOrAccessError, exc.ProgrammingError),
    (asyncpg.FeatureNotSupportedError, exc.NotSupportedError),
    (asyncpg.InFailedSQLTransactionError, exc.InternalError),
    (asyncpg.PostgresConnectionError, exc.OperationalError),
    (asyncpg.exceptions.ConnectionDoesNotExistError, exc.OperationalError),
    (asyncpg.InternalServerError, exc.InternalError),
    (asyncpg.OperatorInterventionError, exc.OperationalError),
    (asyncpg.InterfaceError, exc.InterfaceError),
    (asyncpg.InternalClientError, exc.InterfaceError),
    (asyncpg.PostgresError, exc.DatabaseError),
    (ConnectionError, exc.OperationalError),
]


_PROCESS_TOKEN = secrets.token_hex(6)
_statement_ids = itertools.count(1)


class _UniqueNames(asyncpg.Connection):
    """asyncpg names prepared statements from a per-process counter, so two processes behind
    pgbouncer in transaction mode can pick the same name on one server connection; ours carry
    a random token per process as well."""

    __slots__ = ()

    def _get_unique_id(self, prefix: str) -> str:
        return f"__asyncqlio_{prefix}_{_PROCESS_TOKEN}_{next(_statement_ids):x}__"


class AsyncpgConnection(Connection):
    dialect = DIALECT
    raw: asyncpg.Connection

    def wrap_error(self, error: BaseException) -> BaseException:
        if self.raw.is_closed() or isinstance(error, asyncpg.InternalClientError):
            self.broken = True  # lost, or its protocol state is confused: never reuse it
        for driver_type, ours in _ERRORS:
            if isinstance(error, driver_type):
                return ours(driver_message(error), error)
        if isinstance(error, (OverflowError, TypeError, ValueError)) and not isinstance(error, exc.DatabaseException):
            # asyncpg rejects a Python value that does not fit the column's type client-side
            return exc.DataError(driver_message(error), error)
        return error

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        status = await self._guard(self.raw.execute(sql, *params), sql, params)
        last = status.rpartition(" ")[2]
        return int(last) if last.isdigit() else -1

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        await self._guard(self.raw.executemany(sql, rows), sql, ())
        return -1  # asyncpg does not report it

    async def copy_rows(self, table: str, columns: list[str], rows: Sequence[Sequence[Any]]) -> None:
        await self._guard(self.raw.copy_records_to_table(table, records=rows, columns=columns),
                          f"COPY {table} ({', '.join(columns)}) FROM STDIN", ())

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> Awaitable[list[Any]]:
        # the guarded awaitable itself: one coroutine fewer per query
        return self._guard(self.raw.fetch(sql, *params), sql, params)

    def run(self, sql: str, params: Sequence[Any] = ()) -> Awaitable[tuple[list[str] | None, list, int]]:
        return self._guard(self._described(sql, params), sql, params)

    async def _described(self, sql: str, params: Sequence[Any]) -> tuple[list[str] | None, list, int]:
        """Any statement, prepared first so its columns are known even when it returns no
        rows; its column names (None where it returns no rows), rows and rows changed."""
        stmt = await self.raw.prepare(sql)
        records = await stmt.fetch(*params)
        names = [a.name for a in stmt.get_attributes()]
        if not names:
            last = (stmt.get_statusmsg() or "").rpartition(" ")[2]
            return None, [], int(last) if last.isdigit() else -1
        return names, records, len(records)

    async def fetch_mappings(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return [DictRow(r) for r in await self.fetch(sql, params)]

    async def cursor(self, sql: str, params: Sequence[Any] = (), chunk: int = 100,
                     mappings: bool = True) -> AsyncIterator[list[Any]]:
        cur = await self._guard(self.raw.cursor(sql, *params), sql, params)
        while True:
            rows = await self._guard(cur.fetch(chunk), sql, params)
            if not rows:
                return
            size = yield [DictRow(r) for r in rows] if mappings else rows
            chunk = size or chunk  # asend(n): the next chunk's size

    async def ping(self) -> None:
        await self.raw.execute("SELECT 1", timeout=5)

    def driver_in_transaction(self) -> bool:
        if self.raw.is_closed():
            raise exc.InterfaceError("the connection is closed")
        return self.raw.is_in_transaction()

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.raw.close(), 5)
        except BaseException:
            self.raw.terminate()
            raise


class AsyncpgTransaction(BaseTransaction):
    """A low-level transaction on an asyncpg connection of the pool."""


AsyncpgResultSet: type[BaseResultSet] = ResultSet


def get_param_query(sql: str, params: Any) -> tuple[str, tuple]:
    """Raw SQL with ``{name}`` placeholders and a mapping, as asyncpg takes it (``$1`` and a
    tuple of values)."""
    sql, args = translate_params(DIALECT, sql, params)
    return sql, tuple(args)


class AsyncpgConnector(BaseConnector):
    """Opens asyncpg connections. DSN query-string options: asyncpg's connect keywords
    (``statement_cache_size``, ``command_timeout``, ``ssl``...), libpq's ``ssl*`` and
    ``target_session_attrs``..., ``connect_timeout``; anything else is a server setting."""

    dialect = DIALECT
    transaction_type = AsyncpgTransaction

    def __init__(self, url: Any, *, echo: bool = False, hide_parameters: bool = False,
                 statement_cache_size: int | None = None, connect_timeout: float | None = None,
                 **driver_options: Any) -> None:
        super().__init__(url)
        url = self.url
        self.echo = echo
        self.hide_parameters = hide_parameters
        options: dict[str, Any] = {}
        settings: dict[str, str] = {}
        libpq: dict[str, str] = {}
        for key, value in url.options.items():
            if key in _CONNECT_OPTIONS:
                options[key] = _CONNECT_OPTIONS[key](value)
            elif key in _DSN_OPTIONS:
                libpq[key] = value
            elif key == "connect_timeout":
                connect_timeout = float(value) if connect_timeout is None else connect_timeout
            else:
                settings[key] = value  # anything else is a server setting (GUC)
        self._libpq_dsn = "postgresql://?" + urllib.parse.urlencode(libpq) if libpq else None
        if settings:
            options["server_settings"] = settings
        if statement_cache_size is not None:
            options["statement_cache_size"] = statement_cache_size
        given = driver_options.pop("server_settings", None)
        if given:  # connect_args' settings join the DSN's, taking precedence over them
            options["server_settings"] = {**settings, **given}
        options.update(driver_options)
        self.options = options
        self.connect_timeout = 10.0 if connect_timeout is None else connect_timeout

    async def open(self) -> AsyncpgConnection:
        url = self.url
        try:
            raw = await asyncpg.connect(self._libpq_dsn, host=url.host or "localhost",
                                        port=url.port or 5432, user=url.username,
                                        password=url.password, database=url.database,
                                        timeout=self.connect_timeout,
                                        connection_class=_UniqueNames, **self.options)
        except (OSError, asyncio.TimeoutError, asyncpg.PostgresError,
                asyncpg.InterfaceError) as e:
            if isinstance(e, TimeoutError) and not str(e):
                reason = f"timed out after {self.connect_timeout:g} s"
            else:
                reason = driver_message(e)
            if url.password:
                reason = reason.replace(url.password, "***")
            raise exc.OperationalError(
                f"cannot connect to PostgreSQL at {url.address} as {url.username!r}: {reason}",
                e) from e
        return AsyncpgConnection(raw, echo=self.echo, hide_parameters=self.hide_parameters)


CONNECTOR_TYPE = AsyncpgConnector
