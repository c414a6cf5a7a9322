"""The synchronous face of an :class:`~asyncqlio.ext.asyncio.session.AsyncSession`, which
``session.run_sync(fn)`` hands to ``fn`` (SQLAlchemy's sync ``Session``): each call that
does I/O runs the AsyncSession's coroutine in the caller's event loop, through
:func:`~asyncqlio.ext.asyncio.bridge.await_only`; the others are the AsyncSession's own."""
from __future__ import annotations

import inspect
from typing import Any

from asyncqlio.ext.asyncio.bridge import await_only


class SyncSessionTransaction:
    """A session transaction's synchronous face: ``with session.begin():`` /
    ``with session.begin_nested():`` in the function given to ``run_sync()`` (a
    connection's is :class:`~asyncqlio.ext.asyncio.sync_connection.SyncTransaction`)."""

    __slots__ = ("_async",)

    def __init__(self, transaction: Any) -> None:
        self._async = transaction

    @classmethod
    def started(cls, transaction: Any) -> "SyncSessionTransaction":
        """Begun now: SQLAlchemy's synchronous ``begin()`` does not wait for a ``with``."""
        await_only(transaction.start())
        return cls(transaction)

    def __enter__(self) -> "SyncSessionTransaction":
        await_only(self._async.__aenter__())
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        await_only(self._async.__aexit__(exc_type, exc, tb))

    def commit(self) -> None:
        await_only(self._async.commit())

    def rollback(self) -> None:
        await_only(self._async.rollback())

    @property
    def is_active(self) -> bool:
        return self._async.is_active

    @property
    def nested(self) -> bool:
        return self._async.nested


class SyncSession:
    """What ``run_sync(fn)`` gives ``fn``: ``session.add(x)``, ``session.execute(stmt)``,
    ``session.flush()``, ``with session.begin_nested():``... as SQLAlchemy's Session."""

    def __init__(self, async_session: Any) -> None:
        object.__setattr__(self, "_async", async_session)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._async, name)
        if inspect.iscoroutinefunction(attr):
            def call(*args: Any, **kwargs: Any) -> Any:
                return await_only(attr(*args, **kwargs))
            call.__name__ = name
            return call
        return attr

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._async, name, value)

    def __contains__(self, instance: object) -> bool:
        return instance in self._async

    def __iter__(self) -> Any:
        return iter(self._async)

    def __repr__(self) -> str:
        return f"<sync face of {self._async!r}>"

    @property
    def bind(self) -> Any:
        """The engine below the AsyncEngine, as SQLAlchemy's sync Session has it."""
        return self._async.db

    def begin(self, nested: bool = False) -> SyncSessionTransaction:
        """Begin now, as SQLAlchemy's Session does (``with session.begin():`` ends it);
        ``begin(nested=True)`` is :meth:`begin_nested`."""
        if nested:
            return self.begin_nested()
        return SyncSessionTransaction.started(self._async.begin())

    def begin_nested(self) -> SyncSessionTransaction:
        """A SAVEPOINT, now."""
        return SyncSessionTransaction.started(self._async.begin_nested())

    def get_transaction(self) -> SyncSessionTransaction | None:
        tx = self._async.get_transaction()
        return None if tx is None else SyncSessionTransaction(tx)

    def get_nested_transaction(self) -> SyncSessionTransaction | None:
        tx = self._async.get_nested_transaction()
        return None if tx is None else SyncSessionTransaction(tx)

    def connection(self, **kwargs: Any) -> Any:
        return await_only(self._async.connection(**kwargs)).sync_connection

    def stream(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("stream() is the AsyncSession's; in run_sync() use "
                                  "execute(), whose result is buffered")

    def query(self, *entities: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("Session.query() (SQLAlchemy's legacy Query API) is not "
                                  "implemented in asyncqlio: use execute(select(...))")
