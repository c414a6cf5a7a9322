"""SQLite: :class:`Sqlite3Dialect`, and the driver module :mod:`.aiosqlite` (the default,
``sqlite://``, ``sqlite3://``, ``sqlite+aiosqlite://``)."""
from __future__ import annotations

import sqlite3 as _sqlite3

from asyncqlio.backends.base import BaseDialect, Emitter
from asyncqlio.exc import UnsupportedOperationException

DEFAULT_CONNECTOR = "aiosqlite"


class Sqlite3Dialect(BaseDialect):
    """The SQL SQLite speaks (``UPDATE ... FROM`` from 3.33, ``RETURNING`` from 3.35)."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("sqlite", max_params=32766,
                         update_from=_sqlite3.sqlite_version_info >= (3, 33))

    has_checkpoints = property(lambda self: True)
    has_returns = property(lambda self: _sqlite3.sqlite_version_info >= (3, 35))

    @property
    def lastval_method(self) -> str:
        return "last_insert_rowid()"

    def get_column_sql(self, table_name: str | None = None, *,
                       emitter: Emitter = lambda name: "{" + name + "}") -> str:
        if table_name is None:
            raise UnsupportedOperationException("SQLite lists the columns of one table at a "
                                                "time: give table_name")
        return f"SELECT * FROM pragma_table_info({emitter('table_name')})"

    def get_index_sql(self, table_name: str | None = None, *,
                      emitter: Emitter = lambda name: "{" + name + "}") -> str:
        sql = "SELECT * FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        if table_name is not None:
            sql += f" AND tbl_name = {emitter('table_name')}"
        return sql + " ORDER BY tbl_name, name"
