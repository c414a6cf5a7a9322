"""A connection pool over any backend connector.

``pool_size`` connections are kept; up to ``max_overflow`` more are opened under load and
closed on return. Check-in is shielded from cancellation, rolls back what the user left open
(``reset_on_return``), and closes rather than reuses a connection whose state is unknown.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import Any

from asyncqlio.backends.base import Connection
from asyncqlio.exc import PoolTimeout

log = logging.getLogger("asyncqlio.pool")


class Pool:
    def __init__(self, connector: Any, *, pool_size: int = 5, max_overflow: int = 10,
                 pool_timeout: float = 30.0, pool_recycle: float | None = None,
                 pool_pre_ping: bool = False, reset_on_return: bool = True,
                 echo_pool: bool = False) -> None:
        if pool_size < 1 or max_overflow < 0:
            raise ValueError("pool_size must be >= 1 and max_overflow >= 0")
        self.connector = connector
        self.pool_size = pool_size
        self.max_overflow = max_overflow
        self.pool_timeout = pool_timeout
        self.pool_recycle = pool_recycle
        self.pool_pre_ping = pool_pre_ping
        self.reset_on_return = reset_on_return
        self.echo_pool = echo_pool
        self._idle: collections.deque[Connection] = collections.deque()
        self._slots = asyncio.Semaphore(pool_size + max_overflow)
        self._checked_out: set[Connection] = set()
        self._opened = 0
        self._closed = False

    def _log(self, msg: str, *args: Any) -> None:
        if self.echo_pool:
            log.info(msg, *args)

    # --- counters (SQLAlchemy's names)
    def size(self) -> int:
        return self.pool_size

    def checkedout(self) -> int:
        return len(self._checked_out)

    def checkedin(self) -> int:
        return len(self._idle)

    def overflow(self) -> int:
        return self._opened - self.pool_size

    def status(self) -> str:
        return (f"Pool size: {self.pool_size}  Connections in pool: {self.checkedin()} "
                f"Current Overflow: {self.overflow()} "
                f"Current Checked out connections: {self.checkedout()}")

    # --- checkout / checkin
    async def acquire(self) -> Connection:
        if self._closed:
            from asyncqlio.exc import InvalidRequestError
            raise InvalidRequestError("the pool is disposed")
        try:
            await asyncio.wait_for(self._slots.acquire(), self.pool_timeout)
        except asyncio.TimeoutError:
            raise PoolTimeout(
                f"no connection free after {self.pool_timeout}s: pool_size={self.pool_size}, "
                f"max_overflow={self.max_overflow}, all {self.checkedout()} checked out") from None
        try:
            conn = await self._checkout()
        except BaseException:
            self._slots.release()
            raise
        self._checked_out.add(conn)
        return conn

    async def _checkout(self) -> Connection:
        while self._idle:
            conn = self._idle.pop()
            if self.pool_recycle is not None and time.monotonic() - conn.created > self.pool_recycle:
                self._log("recycling connection %r", conn)
                await self._discard(conn)
                continue
            if self.pool_pre_ping:
                try:
                    await conn.ping()
                except Exception:
                    self._log("pre-ping failed, replacing connection %r", conn)
                    await self._discard(conn)
                    continue
            return conn
        conn = await self.connector.connect()
        self._opened += 1
        self._log("opened connection %r (%d open)", conn, self._opened)
        return conn

    async def _discard(self, conn: Connection) -> None:
        self._opened -= 1
        try:
            await conn.close()
        except BaseException:  # noqa: BLE001 - a dead connection may fail to close
            pass

    async def release(self, conn: Connection) -> None:
        """Return a connection; safe to call from a cancelled task."""
        self._checked_out.discard(conn)
        if (not conn.broken and not self._closed and len(self._idle) < self.pool_size
                and not (self.reset_on_return and conn.in_transaction)):
            self._idle.append(conn)  # nothing to reset: no I/O, nothing to cancel
            self._slots.release()
            return
        # the reset runs to the end even if the caller is cancelled meanwhile
        await asyncio.shield(asyncio.ensure_future(self._checkin(conn)))

    async def _checkin(self, conn: Connection) -> None:
        try:
            reuse = not conn.broken and not self._closed
            if reuse and self.reset_on_return and conn.in_transaction:
                try:
                    await conn.rollback()
                except Exception:
                    reuse = False
            if reuse and len(self._idle) < self.pool_size:
                self._idle.append(conn)
            else:
                await self._discard(conn)
        finally:
            self._slots.release()

    def connect(self) -> "_Checkout":
        """``async with pool.connect() as conn:``"""
        return _Checkout(self)

    async def dispose(self) -> None:
        """Close the idle connections; checked-out ones close when they come back."""
        while self._idle:
            await self._discard(self._idle.pop())

    async def close(self) -> None:
        self._closed = True
        await self.dispose()
        await self.connector.close()

    def recreate(self) -> "Pool":
        return Pool(self.connector, pool_size=self.pool_size, max_overflow=self.max_overflow,
                    pool_timeout=self.pool_timeout, pool_recycle=self.pool_recycle,
                    pool_pre_ping=self.pool_pre_ping, reset_on_return=self.reset_on_return,
                    echo_pool=self.echo_pool)


class _Checkout:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.conn: Connection | None = None

    async def __aenter__(self) -> Connection:
        self.conn = await self.pool.acquire()
        return self.conn

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.pool.release(self.conn)
