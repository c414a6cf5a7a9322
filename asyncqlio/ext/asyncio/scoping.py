"""SQLAlchemy's ``async_scoped_session``: one AsyncSession per scope, the scope given by
``scopefunc`` (``asyncio.current_task`` is the usual one)."""
from __future__ import annotations

from typing import Any, Callable, Hashable

from asyncqlio.ext.asyncio.session import AsyncSession, close_all_sessions
from asyncqlio.orm.sessionmaker import scoped_session


class async_scoped_session(scoped_session):  # noqa: N801 - SQLAlchemy's name
    """``Session = async_scoped_session(async_sessionmaker(engine), scopefunc=current_task)``;
    ``Session()`` (or ``Session.add(...)``, any session method) is the current scope's
    session; ``await Session.remove()`` closes it and forgets it."""

    def __init__(self, session_factory: Callable[..., AsyncSession],
                 scopefunc: Callable[[], Hashable]) -> None:
        super().__init__(session_factory, scopefunc)

    @property
    def session_factory(self) -> Callable[..., AsyncSession]:
        return self.factory

    def configure(self, **kwargs: Any) -> None:
        """Reconfigure the factory (an ``async_sessionmaker``) for sessions made from now."""
        self.factory.configure(**kwargs)

    async def close_all(self) -> None:
        await close_all_sessions()

    def identity_key(self, *args: Any, **kwargs: Any) -> tuple:
        return AsyncSession.identity_key(*args, **kwargs)

    def object_session(self, instance: Any) -> Any:
        return AsyncSession.object_session(instance)


__all__ = ["async_scoped_session"]
