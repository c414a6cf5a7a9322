"""SQLAlchemy 2.x's ``sqlalchemy.ext.asyncio`` over asyncqlio: ``create_async_engine``,
``AsyncEngine``/``AsyncConnection`` (:mod:`.engine`), ``AsyncSession`` and
``async_sessionmaker`` (:mod:`.session`), ``async_scoped_session`` (:mod:`.scoping`), and
the result classes. A SQLAlchemy asyncio program runs after its imports change from
``sqlalchemy`` to ``asyncqlio``; the README's "Coming from SQLAlchemy" lists what differs."""
from asyncqlio.ext.asyncio.engine import (AsyncConnection, AsyncEngine, AsyncTransaction,
                                          async_engine_from_config, create_async_engine)
from asyncqlio.ext.asyncio.scoping import async_scoped_session
from asyncqlio.ext.asyncio.session import (AsyncAttrs, AsyncSession, AsyncSessionTransaction,
                                           async_object_session, async_session,
                                           async_sessionmaker, close_all_sessions)
from asyncqlio.orm.results import (AsyncMappingResult, AsyncResult, AsyncScalarResult,
                                   AsyncTupleResult)

__all__ = ["AsyncAttrs", "AsyncConnection", "AsyncEngine", "AsyncMappingResult", "AsyncResult",
           "AsyncScalarResult", "AsyncSession", "AsyncSessionTransaction", "AsyncTransaction",
           "AsyncTupleResult", "async_engine_from_config", "async_object_session",
           "async_scoped_session", "async_session", "async_sessionmaker", "close_all_sessions",
           "create_async_engine"]
