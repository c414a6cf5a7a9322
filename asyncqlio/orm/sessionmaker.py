"""Session factories, as SQLAlchemy has them: ``sessionmaker(db, **defaults)`` makes sessions
with the same options; ``scoped_session(factory)`` keeps one session per scope (the current
asyncio task by default), so code deep in a request can reach the request's session."""
from __future__ import annotations

import asyncio
import weakref
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Hashable

from asyncqlio.exc import InvalidRequestError
from asyncqlio.orm.session import Session

if TYPE_CHECKING:
    from asyncqlio.db import DatabaseInterface


class sessionmaker:  # noqa: N801 - SQLAlchemy's name
    """``Session = sessionmaker(db, autoflush=False)``; ``async with Session() as sess:``
    or ``async with Session.begin() as sess:`` (commits at the end, rolls back on error)."""

    def __init__(self, bind: "DatabaseInterface", class_: type[Session] = Session,
                 **defaults: Any) -> None:
        self.bind = bind
        self.class_ = class_
        self.defaults = defaults

    def __call__(self, **options: Any) -> Session:
        return self.class_(self.bind, **{**self.defaults, **options})

    def configure(self, **options: Any) -> None:
        """Change the defaults of the sessions made from now on."""
        self.defaults.update(options)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[Session]:
        """A new session in a transaction: committed on a clean exit, rolled back on an
        exception, closed either way."""
        async with self() as sess:
            async with sess.begin():
                yield sess

    def __repr__(self) -> str:
        return f"<sessionmaker of {self.class_.__name__} on {self.bind!r}>"


def _current_task() -> asyncio.Task:
    task = asyncio.current_task()
    if task is None:
        raise InvalidRequestError("scoped_session needs a running asyncio task")
    return task


class scoped_session:  # noqa: N801 - SQLAlchemy's name
    """One session per scope: ``scoped()`` (or any session attribute on ``scoped``) gives
    the current scope's session, made by ``factory`` on first use; ``await scoped.remove()``
    closes it. The default scope is the current asyncio task, held weakly, so a finished
    task's entry goes away with it (close its session with ``remove()`` first)."""

    def __init__(self, factory: Callable[[], Session],
                 scopefunc: Callable[[], Hashable] | None = None) -> None:
        self.factory = factory
        self.scopefunc = scopefunc or _current_task
        self.registry: Any = weakref.WeakKeyDictionary() if scopefunc is None else {}

    def __call__(self, **options: Any) -> Session:
        scope = self.scopefunc()
        sess = self.registry.get(scope)
        if sess is None:
            sess = self.registry[scope] = self.factory(**options)
        elif options:
            raise InvalidRequestError("this scope has a session already; options apply "
                                      "only when it is made")
        return sess

    def has(self) -> bool:
        return self.scopefunc() in self.registry

    async def remove(self) -> None:
        """Close the current scope's session (rolling back what was not committed) and
        forget it."""
        sess = self.registry.pop(self.scopefunc(), None)
        if sess is not None:
            await sess.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self(), name)
