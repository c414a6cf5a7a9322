"""Running synchronous code that does I/O from a coroutine, for ``run_sync()``: the
function runs in a greenlet, and each awaitable it hands to :func:`await_only` is awaited
by the coroutine that spawned it, on the same thread and event loop (so the connection it
uses is the one the coroutine holds). The sync facades of connections and sessions call
their async methods through :func:`await_only`."""
from __future__ import annotations

import functools
import inspect
from typing import Any, Awaitable, Callable, TypeVar

import greenlet

from asyncqlio.exc import MissingGreenlet

T = TypeVar("T")


class _Worker(greenlet.greenlet):
    """The greenlet a sync function runs in; ``parent`` is the coroutine's greenlet."""


def await_only(awaitable: Awaitable[T]) -> T:
    """The awaitable's result, from synchronous code running under :func:`greenlet_spawn`."""
    current = greenlet.getcurrent()
    if not isinstance(current, _Worker):
        if inspect.iscoroutine(awaitable):
            awaitable.close()
        raise MissingGreenlet("synchronous database I/O outside run_sync(): call this from a "
                              "function given to run_sync(), or use the async API")
    # the spawning coroutine awaits it and switches back with its result (or throws)
    return current.parent.switch(awaitable)


async def greenlet_spawn(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a greenlet, awaiting here what it hands to
    :func:`await_only`; its return value, or its exception."""
    worker = _Worker(fn)
    result = worker.switch(*args, **kwargs)
    while not worker.dead:
        try:
            value = await result
        except BaseException as e:  # the awaited error goes into the sync code, to handle or not
            result = worker.throw(e)
        else:
            result = worker.switch(value)
    return result


def synchronous(method: Callable[..., Awaitable[T]]) -> Callable[..., T]:
    """A sync method calling the async ``method`` of the facade's ``_async`` object."""
    name = method.__name__

    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> T:
        return await_only(getattr(self._async, name)(*args, **kwargs))

    return call
