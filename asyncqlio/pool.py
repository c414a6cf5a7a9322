"""Connection pools over any backend connector, as SQLAlchemy names them (``sqlalchemy.pool``):

- :class:`AsyncAdaptedQueuePool` (also ``QueuePool`` and ``Pool``), the default:
  ``pool_size`` connections kept, up to ``max_overflow`` more opened under load and closed
  on return; waiters are served first come, first served and give up after
  ``pool_timeout`` with :class:`~asyncqlio.exc.PoolTimeout`.
- :class:`NullPool`: no pooling; each checkout opens a connection and its check-in closes it.
- :class:`StaticPool`: exactly one connection, lent to every checkout.

For every class, check-in is shielded from cancellation, ends what the user left open
(``reset_on_return``), and closes rather than reuses a connection whose state is unknown:
interrupted, lost, failed to reset, or opened before the last ``dispose()``.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import Any, ClassVar, Coroutine, Self

from asyncqlio.backends.connection import Connection
from asyncqlio.events import Dispatch
from asyncqlio.exc import ArgumentError, InvalidRequestError, PoolTimeout

log = logging.getLogger("asyncqlio.pool")

_RESETS = {True: "rollback", "rollback": "rollback", "commit": "commit", False: None, None: None}


class BasePool:
    """What every pool class shares: opening (with the ``connect`` event), lending (the
    ``checkout`` event, and the listeners of the interface that asks), the shielded check-in
    with its reset, and closing what cannot be reused."""

    #: the ``DatabaseInterface`` options this class takes (as its keyword arguments)
    options: ClassVar[tuple[str, ...]] = ("pool_recycle", "pool_pre_ping", "reset_on_return",
                                          "echo_pool")

    def __init__(self, connector: Any, *, pool_recycle: float | None = None,
                 pool_pre_ping: bool = False, reset_on_return: bool | str | None = True,
                 echo_pool: bool | str = False, dispatch: Dispatch | None = None) -> None:
        if reset_on_return not in _RESETS:
            raise ArgumentError("reset_on_return is True/'rollback', 'commit' or False/None, "
                                f"not {reset_on_return!r}")
        self.connector = connector
        self.pool_recycle = pool_recycle
        self.pool_pre_ping = pool_pre_ping
        self._check_idle = pool_recycle is not None or pool_pre_ping
        self.reset_on_return = reset_on_return
        self._reset = _RESETS[reset_on_return]
        self.echo_pool = echo_pool
        self._debug = echo_pool == "debug"
        #: the pool events, and the listeners a checkout carries when no interface asks
        self.dispatch = dispatch if dispatch is not None else Dispatch()
        #: check-ins running in the background after their caller was cancelled
        self._checkins: set[asyncio.Task] = set()
        self._opened = 0
        self._generation = 0
        self._closed = False

    def _arguments(self) -> dict[str, Any]:
        """The keyword arguments that make this pool again."""
        return {"pool_recycle": self.pool_recycle, "pool_pre_ping": self.pool_pre_ping,
                "reset_on_return": self.reset_on_return, "echo_pool": self.echo_pool,
                "dispatch": self.dispatch}

    def recreate(self) -> Self:
        """A new, empty pool of this class with the same settings and listeners."""
        return type(self)(self.connector, **self._arguments())

    def _log(self, msg: str, *args: Any) -> None:
        if self.echo_pool:
            log.info(msg, *args)

    # --- counters (SQLAlchemy's names)
    def size(self) -> int:
        """How many connections the pool keeps."""
        raise NotImplementedError

    def checkedin(self) -> int:
        raise NotImplementedError

    def checkedout(self) -> int:
        raise NotImplementedError

    def overflow(self) -> int:
        """Connections open beyond ``size()`` (negative while fewer are open)."""
        return self._opened - self.size()

    def status(self) -> str:
        return (f"Pool size: {self.size()}  Connections in pool: {self.checkedin()} "
                f"Current Overflow: {self.overflow()} "
                f"Current Checked out connections: {self.checkedout()}")

    # --- checkout
    async def acquire(self, events: Dispatch | None = None) -> Connection:
        """A connection whose statements and transactions fire the listeners of ``events``
        (the dispatch of the interface asking; by default the pool's own)."""
        if self._closed:
            raise InvalidRequestError("the pool is closed")
        conn = await self._get()
        if events is None:
            events = self.dispatch
        if conn.events is not events:
            events.attach(conn)
        if self.dispatch.pool:
            try:
                await self.dispatch.fire("checkout", conn)
            except BaseException:
                conn.broken = True  # a listener refused it: SQLAlchemy's DisconnectionError
                await self.release(conn)
                raise
        if self._debug:
            log.debug("connection %r checked out", conn)
        return conn

    async def _get(self) -> Connection:
        """A connection, counted as checked out."""
        raise NotImplementedError

    async def _open(self) -> Connection:
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

    async def _usable(self, conn: Connection) -> bool:
        """Whether an idle connection may be lent as it is (``pool_recycle``,
        ``pool_pre_ping``); if not, it is closed."""
        recycle = self.pool_recycle
        if recycle is not None and time.monotonic() - conn.created > recycle:
            self._log("recycling connection %r", conn)
            await self._discard(conn)
            return False
        if self.pool_pre_ping:
            try:
                await conn.ping()
            except BaseException as e:
                self._log("pre-ping failed, replacing connection %r: %r", conn, e)
                await self._discard(conn)
                if not isinstance(e, Exception):
                    raise
                return False
        return True

    async def _discard(self, conn: Connection) -> None:
        """Close ``conn`` for good; runs to the end even if the caller is cancelled."""
        self._opened -= 1
        self._log("closing connection %r (%d open)", conn, self._opened)
        await asyncio.shield(_close_quietly(conn))

    # --- check-in
    async def release(self, conn: Connection) -> None:
        """Return a connection; safe to call from a cancelled task, and only once per checkout."""
        raise NotImplementedError

    @staticmethod
    def _see_transaction(conn: Connection) -> None:
        """A transaction left open behind the session's back (an interrupted BEGIN, say):
        the driver knows best, and the reset ends it before anyone reuses the connection."""
        if not conn.in_transaction and not conn.broken:
            try:
                conn.in_transaction = conn.driver_in_transaction()
            except Exception:  # noqa: BLE001 - a connection that cannot say is not reused
                conn.broken = True

    async def _shielded(self, checkin: Coroutine[Any, Any, Any]) -> None:
        """Run a check-in to its end even if the caller is cancelled meanwhile."""
        task = asyncio.ensure_future(checkin)
        self._checkins.add(task)
        task.add_done_callback(self._checkins.discard)
        await asyncio.shield(task)

    async def _give_back(self, conn: Connection) -> bool:
        """Whether ``conn`` came back clean: what its user left open ended, the checkin
        listeners told."""
        if conn.broken:
            return False
        if conn.in_transaction and not await self._reset_connection(conn):
            return False
        return await self._checked_in(conn)

    async def _checked_in(self, conn: Connection) -> bool:
        """Tell the checkin listeners; False if one failed (the connection is not reused)."""
        if self.dispatch.pool:
            try:
                await self.dispatch.fire("checkin", conn)
            except Exception:
                log.exception("checkin listener failed; closing connection %r", conn)
                return False
        return True

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


class AsyncAdaptedQueuePool(BasePool):
    """SQLAlchemy's QueuePool for asyncio, the default: ``pool_size`` connections kept,
    ``max_overflow`` more opened under load, ``pool_timeout`` seconds to wait for one."""

    options = BasePool.options + ("pool_size", "max_overflow", "pool_timeout")

    def __init__(self, connector: Any, *, pool_size: int = 5, max_overflow: int = 10,
                 pool_timeout: float | None = 30.0, **options: Any) -> None:
        if pool_size < 1 or max_overflow < 0:
            raise ArgumentError("pool_size must be >= 1 and max_overflow >= 0")
        super().__init__(connector, **options)
        self.pool_size = pool_size
        self.max_overflow = max_overflow
        self.pool_timeout = pool_timeout
        self._idle: collections.deque[Connection] = collections.deque()
        self._checked_out: set[Connection] = set()
        #: checkouts that may still start (pool_size + max_overflow minus those running)
        self._free = pool_size + max_overflow
        self._waiters: collections.deque[asyncio.Future] = collections.deque()

    def _arguments(self) -> dict[str, Any]:
        return {**super()._arguments(), "pool_size": self.pool_size,
                "max_overflow": self.max_overflow, "pool_timeout": self.pool_timeout}

    def size(self) -> int:
        return self.pool_size

    def checkedout(self) -> int:
        return len(self._checked_out)

    def checkedin(self) -> int:
        return len(self._idle)

    # --- slots: how many checkouts may run at once
    async def _wait_for_slot(self) -> None:
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
    async def _get(self) -> Connection:
        if self._free > 0 and not self._waiters:
            self._free -= 1
        else:
            await self._wait_for_slot()
        try:
            while self._idle:
                conn = self._idle.pop()
                if not self._check_idle or await self._usable(conn):
                    break
            else:
                conn = await self._open()
        except BaseException:
            self._give_slot()
            raise
        self._checked_out.add(conn)
        return conn

    async def release(self, conn: Connection) -> None:
        try:
            self._checked_out.remove(conn)
        except KeyError:
            return
        self._see_transaction(conn)
        if (not conn.in_transaction and not conn.broken and not self._closed
                and not self.dispatch.pool and conn.generation == self._generation
                and len(self._idle) < self.pool_size):
            self._idle.append(conn)  # nothing to reset: no I/O, nothing to cancel
            self._give_slot()
            if self._debug:
                log.debug("connection %r checked in", conn)
            return
        await self._shielded(self._checkin(conn))

    async def _checkin(self, conn: Connection) -> None:
        try:
            if (await self._give_back(conn) and not self._closed
                    and conn.generation == self._generation
                    and len(self._idle) < self.pool_size):
                self._idle.append(conn)
                if self._debug:
                    log.debug("connection %r checked in", conn)
            else:
                await self._discard(conn)
        finally:
            self._give_slot()

    async def dispose(self) -> None:
        await super().dispose()
        while self._idle:
            await self._discard(self._idle.pop())


#: SQLAlchemy's names of the queue pool: ``QueuePool`` (its synchronous one) and asyncqlio's
#: own ``Pool``
QueuePool = Pool = AsyncAdaptedQueuePool


class NullPool(BasePool):
    """No pooling: each checkout opens a connection, and its check-in closes it, after the
    reset (``reset_on_return="commit"`` still commits). For a pooler in front (pgbouncer),
    short-lived processes, or tests that must leave nothing open. ``pool_recycle`` and
    ``pool_pre_ping`` are taken, as SQLAlchemy takes them, and have nothing to do."""

    def __init__(self, connector: Any, **options: Any) -> None:
        super().__init__(connector, **options)
        self._checked_out: set[Connection] = set()

    def size(self) -> int:
        return 0

    def checkedin(self) -> int:
        return 0

    def checkedout(self) -> int:
        return len(self._checked_out)

    async def _get(self) -> Connection:
        conn = await self._open()
        self._checked_out.add(conn)
        return conn

    async def release(self, conn: Connection) -> None:
        try:
            self._checked_out.remove(conn)
        except KeyError:
            return
        self._see_transaction(conn)
        await self._shielded(self._checkin(conn))

    async def _checkin(self, conn: Connection) -> None:
        try:
            await self._give_back(conn)
        finally:
            await self._discard(conn)


class StaticPool(BasePool):
    """Exactly one connection, lent to every checkout (SQLAlchemy's choice for SQLite
    ``:memory:``). Users at the same time share it, and with it its transaction: what one
    commits or rolls back, it does for all; on PostgreSQL two statements at once fail
    (asyncpg runs one at a time). It is reset only when the last of them returns it. A
    connection that breaks is replaced for the next checkout and closed once its users have
    returned it."""

    def __init__(self, connector: Any, **options: Any) -> None:
        super().__init__(connector, **options)
        #: the connection the next checkout gets, once open
        self._conn: Connection | None = None
        #: checkouts not yet returned, per connection (the replaced one's too)
        self._lent: dict[Connection, int] = {}
        self._lock = asyncio.Lock()

    def size(self) -> int:
        return 1

    def checkedin(self) -> int:
        return int(self._conn is not None and self._conn not in self._lent)

    def checkedout(self) -> int:
        return sum(self._lent.values())

    async def _get(self) -> Connection:
        async with self._lock:  # one opening at a time; the others get what it opened
            if self._checkins:  # a reset still running finishes before the next user
                await asyncio.wait(set(self._checkins))
            conn = self._conn
            if conn is not None and conn.broken:
                conn = None  # closed when its last user returns it
            elif (conn is not None and conn not in self._lent and self._check_idle
                  and not await self._usable(conn)):
                conn = None
            if conn is None:
                self._conn = None  # if opening fails, the next checkout tries again
                conn = self._conn = await self._open()
            self._lent[conn] = self._lent.get(conn, 0) + 1
            return conn

    async def release(self, conn: Connection) -> None:
        users = self._lent.get(conn)
        if not users:
            return
        if users > 1:  # still lent: the others' transaction is not ours to end
            self._lent[conn] = users - 1
            if self.dispatch.pool:
                await self._shielded(self._checked_in(conn))
            return
        del self._lent[conn]
        self._see_transaction(conn)
        if (conn is self._conn and not conn.in_transaction and not conn.broken
                and not self._closed and not self.dispatch.pool):
            return
        await self._shielded(self._checkin(conn))

    async def _checkin(self, conn: Connection) -> None:
        if await self._give_back(conn) and conn is self._conn and not self._closed:
            if self._debug:
                log.debug("connection %r checked in", conn)
            return
        if conn is self._conn:
            self._conn = None
        await self._discard(conn)

    async def dispose(self) -> None:
        await super().dispose()
        conn, self._conn = self._conn, None
        if conn is not None and conn not in self._lent:
            await self._discard(conn)

    def reopen(self) -> None:
        super().reopen()
        self._lock = asyncio.Lock()  # the next event loop's


async def _close_quietly(conn: Connection) -> None:
    try:
        await conn.close()
    except BaseException:  # noqa: BLE001 - a dead connection may fail to close
        pass


class _Checkout:
    def __init__(self, pool: BasePool) -> None:
        self.pool = pool
        self.conn: Connection | None = None

    async def __aenter__(self) -> Connection:
        self.conn = await self.pool.acquire()
        return self.conn

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None and not isinstance(exc, Exception):
            self.conn.broken = True  # cancelled while using it: its state is unknown
        await self.pool.release(self.conn)
