"""SQLAlchemy's ``MetaData`` over asyncqlio's table registry: the tables of a declarative
base in dependency order, created and dropped together (``create_all``, ``drop_all``).

SQLAlchemy's are synchronous, run as ``await conn.run_sync(Base.metadata.create_all)``;
that works here (the sync connection there writes through the async one). Given an engine,
an AsyncConnection or a DatabaseInterface in async code, they return an awaitable instead:
``await Base.metadata.create_all(engine)``.
"""
from __future__ import annotations

import inspect
from typing import Any, Iterable

from asyncqlio.orm.ddl import statements
from asyncqlio.orm.schema import relationship as relationships
from asyncqlio.orm.schema.table import TableMetadata


class MetaData(TableMetadata):
    """The tables of one declarative base (``Base.metadata``)."""

    @property
    def sorted_tables(self) -> list[type]:
        """The table classes, each after those its foreign keys refer to."""
        tables = list(self.tables.values())
        return sorted(tables, key=relationships.insert_rank)

    def _chosen(self, tables: Iterable[type] | None) -> list[type]:
        if tables is None:
            return self.sorted_tables
        chosen = {id(t) for t in tables}
        return [t for t in self.sorted_tables if id(t) in chosen]

    def create_all(self, bind: Any, tables: Iterable[type] | None = None,
                   checkfirst: bool = True) -> Any:
        """CREATE TABLE (and its indexes) for each table, referred-to tables first;
        ``checkfirst`` leaves the tables that exist (IF NOT EXISTS)."""
        dialect = bind.dialect.name
        sql = [s for t in self._chosen(tables)
               for s in statements.create_table(t.__tablename__,
                                                [*t.iter_columns(), *t.explicit_indexes()],
                                                dialect, if_not_exists=checkfirst)]
        return _run(bind, sql)

    def drop_all(self, bind: Any, tables: Iterable[type] | None = None,
                 checkfirst: bool = True) -> Any:
        """DROP TABLE for each table, referring tables first; ``checkfirst`` skips those
        that do not exist (IF EXISTS)."""
        dialect = bind.dialect.name
        sql = [statements.drop_table(t.__tablename__, dialect, if_exists=checkfirst)
               for t in reversed(self._chosen(tables))]
        return _run(bind, sql)


def _run(bind: Any, sql: list[str]) -> Any:
    """Run the DDL on ``bind``: at once on the sync connection of ``run_sync()``, else as
    the awaitable returned."""
    execute = getattr(bind, "exec_driver_sql", None)
    if execute is not None and not inspect.iscoroutinefunction(execute):
        for statement in sql:
            execute(statement)
        return None
    return _run_async(bind, sql)


async def _run_async(bind: Any, sql: list[str]) -> None:
    if hasattr(bind, "exec_driver_sql"):  # an AsyncConnection: in its transaction
        for statement in sql:
            await bind.exec_driver_sql(statement)
        return
    db = getattr(bind, "sync_engine", bind)
    async with db.begin() as conn:
        for statement in sql:
            await conn.execute(statement)


__all__ = ["MetaData"]
