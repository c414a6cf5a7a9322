"""The contenders: one class per library, each doing every workload its own idiomatic way.

Modules are imported only when asked for, so ``--pure`` can set the environment before
asyncqlio is imported, and a missing optional peer only skips that peer.
"""
from __future__ import annotations

import abc
import importlib
from typing import Any

from bench.dataset import Row
from bench.store import Target


class NotApplicable(Exception):
    """The workload has no meaning for this contender (the raw driver compiles nothing)."""


class Contender(abc.ABC):
    """One library under test, connected to one :class:`Target`."""

    @abc.abstractmethod
    async def open(self, target: Target) -> None:
        """Connect (and warm the pool): nothing of this is timed."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def load_all(self) -> list[Any]:
        """Every row of the table as objects."""

    @abc.abstractmethod
    async def get_by_pk(self, ids: list[int]) -> list[Any]:
        """One query per id, in one session."""

    @abc.abstractmethod
    async def filtered_pages(self, thresholds: list[float], size: int) -> list[list[Any]]:
        """Per threshold: ``active AND score >= threshold ORDER BY id LIMIT size``."""

    @abc.abstractmethod
    async def insert(self, rows: list[Row]) -> None:
        """Make an object of each row and write them all in one transaction."""

    @abc.abstractmethod
    async def update(self, upto: int, bump: float) -> list[Any]:
        """Load the rows with ``id <= upto``, add ``bump`` to each score, commit."""

    def compile(self, thresholds: list[float], size: int) -> list[str]:
        """Build and compile the filtered-page select once per threshold, without I/O;
        the SQL texts."""
        raise NotApplicable

    @abc.abstractmethod
    def values(self, obj: Any) -> tuple:
        """The six column values of one loaded object, in table order."""


#: key -> "module:class" (or one per backend), in display order
REGISTRY: dict[str, str | dict[str, str]] = {
    "raw": {"sqlite": "bench.contenders.raw:RawSQLite",
            "postgresql": "bench.contenders.raw:RawPostgres"},
    "asyncqlio": "bench.contenders.asyncqlio_:Asyncqlio",
    "asyncqlio_sa": "bench.contenders.asyncqlio_sa:AsyncqlioSQLAlchemyAPI",
    "sqlalchemy": "bench.contenders.sqlalchemy_:SQLAlchemy",
    "tortoise": "bench.contenders.tortoise_:Tortoise",
}

LABELS = {"raw": "raw driver", "asyncqlio": "asyncqlio",
          "asyncqlio_sa": "asyncqlio, SQLAlchemy API", "sqlalchemy": "SQLAlchemy",
          "tortoise": "Tortoise"}


def load(key: str, backend: str) -> Contender:
    """A new contender for ``backend``; ImportError when its library is not installed."""
    where = REGISTRY[key]
    if isinstance(where, dict):
        where = where[backend]
    module_name, _, cls_name = where.partition(":")
    return getattr(importlib.import_module(module_name), cls_name)()
