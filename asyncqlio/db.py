"""``DatabaseInterface``: the engine. Parses the DSN, owns the pool, hands out sessions."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from asyncqlio import backends
from asyncqlio.backends.base import Dialect, translate_params
from asyncqlio.exc import InvalidRequestError
from asyncqlio.pool import Pool
from asyncqlio.url import URL, parse_dsn

_POOL_OPTIONS = ("pool_size", "max_overflow", "pool_timeout", "pool_recycle", "pool_pre_ping",
                 "reset_on_return", "echo_pool")


class DatabaseInterface:
    """The connection to one database: ``DatabaseInterface("sqlite:///app.db")``.

    Options: ``pool_size`` (5), ``max_overflow`` (10), ``pool_timeout`` (30 s),
    ``pool_recycle``, ``pool_pre_ping``, ``reset_on_return`` (True), ``echo`` (SQL to the
    ``asyncqlio.sql`` logger), ``hide_parameters``, ``statement_cache_size`` (PostgreSQL),
    ``busy_timeout`` (SQLite, seconds); anything else goes to the driver's connect call.
    """

    def __init__(self, dsn: str | URL | None = None, **options: Any) -> None:
        self.url: URL | None = None
        self._options = options
        self.pool: Pool | None = None
        self.connector: Any = None
        if dsn is not None:
            self._configure(dsn)

    def _configure(self, dsn: str | URL) -> None:
        self.url = parse_dsn(dsn)
        backend = backends.load(self.url.backend)
        pool_opts = {k: self._options[k] for k in _POOL_OPTIONS if k in self._options}
        driver_opts = {k: v for k, v in self._options.items() if k not in _POOL_OPTIONS}
        self.connector = backend.Connector(self.url, **driver_opts)
        self.pool = Pool(self.connector, **pool_opts)

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
        if self.pool is not None:
            await self.pool.close()

    async def __aenter__(self) -> "DatabaseInterface":
        return await self.connect()

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    def bind_tables(self, base: type) -> type:
        """Bind a ``table_base()`` class (and so all its tables) to this interface."""
        base.metadata.bind = self
        return base

    def get_session(self, **kwargs: Any) -> Any:
        from asyncqlio.orm.session import Session
        return Session(self, **kwargs)

    async def execute(self, sql: str, params: Mapping[str, Any] | Sequence[Any] | None = None) -> int:
        """Run one statement in its own transaction; the number of rows changed."""
        async with self.get_session() as sess:
            return await sess.execute(sql, params)

    async def fetch(self, sql: str, params: Mapping[str, Any] | Sequence[Any] | None = None) -> Any:
        async with self.get_session() as sess:
            return await sess.fetch(sql, params)

    def translate(self, sql: str, params: Any) -> tuple[str, Sequence[Any]]:
        return translate_params(self.dialect, sql, params)

    def __repr__(self) -> str:
        return f"<DatabaseInterface {self.url or 'unconfigured'}>"
