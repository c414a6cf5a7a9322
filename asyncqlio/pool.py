"""A connection pool over any backend connector (SQLAlchemy's QueuePool, for asyncio).

``pool_size`` connections are kept; up to ``max_overflow`` more are opened under load and
closed on return. Waiters are served first come, first served and give up after
``pool_timeout`` with :class:`~asyncqlio.exc.PoolTimeout`. Check-in is shielded from
cancellation, rolls back what the user left open (``reset_on_return``), and closes rather
than reuses a connection whose state is unknown: interrupted, lost, failed to reset, or opened
before the last ``dispose()``.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import Any

from asyncqlio.backends.connection import Connection
from asyncqlio.events import Dispatch
from asyncqlio.exc import ArgumentError, InvalidRequestError, PoolTimeout

log = logging.getLogger("asyncqlio.pool")

_RESETS = {True: "rollback", "rollback": "rollback", "commit": "commit", False: None, None: None}


class Pool:
    def __init__(self, connector: Any, *, pool_size: int = 5, max_overflow: int = 10,
                 pool_timeout: float | None = 30.0, pool_recycle: float | None = None,
                 pool_pre_ping: bool = False, reset_on_return: bool | str | None = True,
                 echo_pool: bool | str = False, dispatch: Dispatch | None = None) -> None:
        if pool_size < 1 or max_overflow < 0:
            raise ArgumentError("pool_size must be >= 1 and max_overflow >= 0")
        if reset_on_return not in _RESETS:
            raise ArgumentError("reset_on_return is True/'rollback', 'commit' or False/None, "
                                f"not {reset_on_return!r}")
        self.connector = connector
        self.pool_size = pool_size
        self.max_overflow = max_overflow
        self.pool_timeout = pool_timeout
        self.pool_recycle = pool_recycle
        self.pool_pre_ping = pool_pre_ping
        self.reset_on_return = reset_on_return
        self._reset = _RESETS[reset_on_return]
        self.echo_pool = echo_pool
        self._debug = echo_pool == "debug"
        self.dispatch = dispatch if dispatch is not None else Dispatch()
        self._idle: collections.deque[Connection] = collections.deque()
        self._checked_out: set[Connection] = set()
        #: checkouts that may still start (pool_size + max_overflow minus those running)
        self._free = pool_size + max_overflow
        self._waiters: collections.deque[asyncio.Future] = collections.deque()
        #: check-ins running in the background after their caller was cancelled
        self._checkins: set[asyncio.Task] = set()
        self._opened = 0
        self._generation = 0
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
        """Connections open beyond ``pool_size`` (negative while fewer are open)."""
        return self._opened - self.pool_size

    def status(self) -> str:
        return (f"Pool size: {self.pool_size}  Connections in pool: {self.checkedin()} "
                f"Current Overflow: {self.overflow()} "
                f"Current Checked out connections: {self.checkedout()}")

    # --- slots: how many checkouts may run at once
    async def _take_slot(self) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        self._waiters.append(waiter)
        timer = (loop.call_later(self.pool_timeout, self._expire, waiter)
                 if self.pool_timeout is not None else None)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._give_slot()  # handed a slot just as we were cancelled: pass it on
            else:
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    pass
            raise
        finally:
            if timer is not None:
                timer.cancel()

    def _expire(self, waiter: asyncio.Future) -> None:
        if not waiter.done():
            waiter.set_exception(PoolTimeout(
                f"no connection free after {self.pool_timeout}s: pool_size={self.pool_size}, "
                f"max_overflow={self.max_overflow}, all {self.checkedout()} checked out"))

    def _give_slot(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1

    # --- checkout / checkin
    async def acquire(self) -> Connection:
        if self._closed:
            raise InvalidRequestError("the pool is closed")
        await self._take_slot()
        try:
            conn = await self._checkout()
        except BaseException:
            self._give_slot()
            raise
        if self.dispatch.pool:
            try:
                await self.dispatch.fire("checkout", conn)
            except BaseException:
                self._checked_out.add(conn)
                conn.broken = True  # a listener refused it: SQLAlchemy's DisconnectionError
                await self.release(conn)
                raise
        self._checked_out.add(conn)
        if self._debug:
            log.debug("connection %r checked out", conn)
        return conn

    async def _checkout(self) -> Connection:
        while self._idle:
            conn = self._idle.pop()
            recycle = self.pool_recycle
            if recycle is not None and time.monotonic() - conn.created > recycle:
                self._log("recycling connection %r", conn)
                await self._discard(conn)
                continue
            if self.pool_pre_ping:
                try:
                    await conn.ping()
                except BaseException as e:
                    self._log("pre-ping failed, replacing connection %r: %r", conn, e)
                    await self._discard(conn)
                    if not isinstance(e, Exception):
                        raise
                    continue
            return conn
        conn = await self.connector.open()
        self._opened += 1
        self.dispatch.attach(conn)
        conn.generation = self._generation
        self._log("opened connection %r (%d open)", conn, self._opened)
        if self.dispatch.pool:
            try:
                await self.dispatch.fire("connect", conn)
            except BaseException:
                await self._discard(conn)
                raise
        return conn

    async def _discard(self, conn: Connection) -> None:
        """Close ``conn`` for good; runs to the end even if the caller is cancelled."""
        self._opened -= 1
        self._log("closing connection %r (%d open)", conn, self._opened)
        await asyncio.shield(_close_quietly(conn))

    async def release(self, conn: Connection) -> None:
        """Return a connection; safe to call from a cancelled task, and only once per checkout."""
        try:
            self._checked_out.remove(conn)
        except KeyError:
            return
        if not conn.in_transaction and not conn.broken:
            # a transaction left open behind the session's back (an interrupted BEGIN, say):
            # the driver knows best, and the reset below ends it before anyone reuses it
            try:
                conn.in_transaction = conn.driver_in_transaction()
            except Exception:  # noqa: BLE001 - a connection that cannot say is not reused
                conn.broken = True
        if (not conn.in_transaction and not conn.broken and not self._closed
                and not self.dispatch.pool and conn.generation == self._generation
                and len(self._idle) < self.pool_size):
            self._idle.append(conn)  # nothing to reset: no I/O, nothing to cancel
            self._give_slot()
            if self._debug:
                log.debug("connection %r checked in", conn)
            return
        # the reset runs to the end even if the caller is cancelled meanwhile
        task = asyncio.ensure_future(self._checkin(conn))
        self._checkins.add(task)
        task.add_done_callback(self._checkins.discard)
        await asyncio.shield(task)

    async def _checkin(self, conn: Connection) -> None:
        try:
            reuse = (not conn.broken and not self._closed and conn.generation == self._generation
                     and len(self._idle) < self.pool_size)
            if reuse and conn.in_transaction:
                reuse = await self._reset_connection(conn)
            if reuse and self.dispatch.pool:
                try:
                    await self.dispatch.fire("checkin", conn)
                except Exception:
                    log.exception("checkin listener failed; closing connection %r", conn)
                    reuse = False
            if reuse:
                self._idle.append(conn)
                if self._debug:
                    log.debug("connection %r checked in", conn)
            else:
                await self._discard(conn)
        finally:
            self._give_slot()

    async def _reset_connection(self, conn: Connection) -> bool:
        """Whether ``conn`` is clean after ending the transaction its user left open."""
        if self._reset is None:
            self._log("closing connection %r: returned in a transaction", conn)
            return False
        try:
            if self._reset == "commit":
                await conn.commit()
            else:
                await conn.reset()
        except Exception as e:  # noqa: BLE001 - whatever it was, the connection is not reused
            self._log("reset failed, closing connection %r: %r", conn, e)
            return False
        return not conn.broken

    def connect(self) -> "_Checkout":
        """``async with pool.connect() as conn:``"""
        return _Checkout(self)

    async def dispose(self) -> None:
        """Close the idle connections; checked-out ones are closed when they come back."""
        self._generation += 1
        while self._idle:
            await self._discard(self._idle.pop())

    async def close(self) -> None:
        """Dispose and refuse further checkouts; waits for background check-ins."""
        self._closed = True
        await self.dispose()
        if self._checkins:
            await asyncio.gather(*self._checkins, return_exceptions=True)
        await self.connector.shutdown()

    def reopen(self) -> None:
        """Take checkouts again after ``close()`` (the connections then open in whatever
        event loop asks for them)."""
        self._closed = False

    def recreate(self) -> "Pool":
        """A new, empty pool with the same settings and listeners."""
        return Pool(self.connector, pool_size=self.pool_size, max_overflow=self.max_overflow,
                    pool_timeout=self.pool_timeout, pool_recycle=self.pool_recycle,
                    pool_pre_ping=self.pool_pre_ping, reset_on_return=self.reset_on_return,
                    echo_pool=self.echo_pool, dispatch=self.dispatch)


async def _close_quietly(conn: Connection) -> None:
    try:
        await conn.close()
    except BaseException:  # noqa: BLE001 - a dead connection may fail to close
        pass


class _Checkout:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.conn: Connection | None = None

    async def __aenter__(self) -> Connection:
        self.conn = await self.pool.acquire()
        return self.conn

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None and not isinstance(exc, Exception):
            self.conn.broken = True  # cancelled while using it: its state is unknown
        await self.pool.release(self.conn)
