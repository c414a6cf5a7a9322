"""Event listeners: ``listen(target, name, fn)`` and ``@listens_for(target, name)``.

A target is a ``DatabaseInterface``, its ``Pool``, or the class ``DatabaseInterface`` (every
interface). Listeners may be plain functions or coroutine functions; both are awaited in order,
class-level ones first, and an exception from a listener propagates to the caller.

Names and arguments (``conn`` is the pooled :class:`~asyncqlio.backends.base.Connection`,
``conn.raw`` the driver's):

- ``connect(conn)``: a new connection was opened; ``checkout(conn)`` / ``checkin(conn)``:
  it left or came back to the pool.
- ``before_execute(conn, sql, params)`` / ``after_execute(conn, sql, params)``: around each
  statement, with the SQL and parameters as sent to the driver.
- ``begin(conn)``, ``commit(conn)``, ``rollback(conn)``: the transaction of a session or of
  ``db.begin()`` (not the pool's reset on check-in).

An interface made by ``execution_options()`` hears its parent's listeners (those added later
too), while those added to it fire only for its own statements and transactions, as in
SQLAlchemy. The pool events belong to the pool that the two share: listening for them on
either one listens on the pool.
"""
from __future__ import annotations

import inspect
import weakref
from typing import Any, Callable

from asyncqlio.exc import ArgumentError

NAMES = ("connect", "checkout", "checkin", "before_execute", "after_execute",
         "begin", "commit", "rollback")
#: the events of the pool, shared by every interface over it
POOL_NAMES = ("connect", "checkout", "checkin")

Listener = Callable[..., Any]

#: every Dispatch alive without a parent, so a class-level listener reaches the ones made
#: before it (and, through them, their children)
_roots: "weakref.WeakSet[Dispatch]" = weakref.WeakSet()
_class_level: dict[str, list[Listener]] = {name: [] for name in NAMES}
#: classes whose listeners hear every instance (``listen(DatabaseInterface, ...)``)
_target_classes: list[type] = []


def listen_on_class(cls: type) -> type:
    """Let ``listen(cls, name, fn)`` reach every dispatch (a class decorator)."""
    _target_classes.append(cls)
    return cls


class Dispatch:
    """The listeners of one interface, as tuples ready to run, and flags the pool and the
    transaction paths test. A statement pays nothing while no one listens for execute
    events: only then do the connections carrying this dispatch get the ``_guard`` that fires
    them.

    A child (``Dispatch(parent)``, an ``execution_options()`` interface's) runs its parent's
    listeners, then its own; it is rebuilt whenever either changes. The root of a chain is
    the pool's, and holds the pool events of the whole chain."""

    def __init__(self, parent: "Dispatch | None" = None) -> None:
        self.parent = parent
        self._own: dict[str, list[Listener]] = {name: [] for name in NAMES}
        self.fns: dict[str, tuple[Listener, ...]] = {}
        #: any before_execute / after_execute listener
        self.execute = False
        #: any connect / checkout / checkin listener
        self.pool = False
        #: any begin / commit / rollback listener
        self.transaction = False
        self._conns: weakref.WeakSet[Any] = weakref.WeakSet()
        self._children: weakref.WeakSet[Dispatch] = weakref.WeakSet()
        if parent is None:
            _roots.add(self)
        else:
            parent._children.add(self)
        self._rebuild()

    @property
    def root(self) -> "Dispatch":
        dispatch = self
        while dispatch.parent is not None:
            dispatch = dispatch.parent
        return dispatch

    def attach(self, conn: Any) -> None:
        """Make ``conn`` (a backend Connection) fire this dispatch's events, and no longer
        those of the one it carried before."""
        conn.events._conns.discard(conn)
        conn.events = self
        self._conns.add(conn)
        self._route(conn)

    def _route(self, conn: Any) -> None:
        if self.execute:
            conn._guard = conn._guard_with_events
        else:
            conn.__dict__.pop("_guard", None)

    def _rebuild(self) -> None:
        inherited = _class_level if self.parent is None else self.parent.fns
        own = self._own
        self.fns = fns = {name: (*inherited[name], *own[name]) for name in NAMES}
        self.execute = bool(fns["before_execute"] or fns["after_execute"])
        self.pool = bool(fns["connect"] or fns["checkout"] or fns["checkin"])
        self.transaction = bool(fns["begin"] or fns["commit"] or fns["rollback"])
        for conn in self._conns:
            self._route(conn)
        for child in list(self._children):
            child._rebuild()

    async def fire(self, name: str, *args: Any) -> None:
        for fn in self.fns[name]:
            result = fn(*args)
            if inspect.isawaitable(result):
                await result


def _lists(target: Any, name: str) -> tuple[dict[str, list[Listener]], list[Dispatch]]:
    """The listener lists ``target`` stands for, and the dispatches to rebuild after a change."""
    if name not in NAMES:
        raise ArgumentError(f"unknown event {name!r}; events are {', '.join(NAMES)}")
    if isinstance(target, type) and issubclass(target, tuple(_target_classes)):
        return _class_level, list(_roots)
    dispatch = getattr(target, "dispatch", None)
    if isinstance(dispatch, Dispatch):
        if name in POOL_NAMES:
            dispatch = dispatch.root
        return dispatch._own, [dispatch]
    raise ArgumentError(f"events are listened for on a DatabaseInterface, its pool or the "
                        f"DatabaseInterface class, not {target!r}")


def listen(target: Any, name: str, fn: Listener) -> None:
    """Call ``fn`` on event ``name`` of ``target``."""
    lists, dispatches = _lists(target, name)
    lists[name].append(fn)
    for d in dispatches:
        d._rebuild()


def listens_for(target: Any, name: str) -> Callable[[Listener], Listener]:
    """``@listens_for(db, "checkout")``: the decorator form of :func:`listen`."""
    def decorate(fn: Listener) -> Listener:
        listen(target, name, fn)
        return fn
    return decorate


def remove(target: Any, name: str, fn: Listener) -> None:
    """Stop calling ``fn``; ``ArgumentError`` if it was not listening there."""
    lists, dispatches = _lists(target, name)
    try:
        lists[name].remove(fn)
    except ValueError:
        raise ArgumentError(f"{fn!r} is not listening for {name!r} on {target!r}") from None
    for d in dispatches:
        d._rebuild()


def contains(target: Any, name: str, fn: Listener) -> bool:
    lists, _ = _lists(target, name)
    return fn in lists[name]
