"""MySQL and MariaDB: :class:`MysqlDialect`. No driver module is built yet: a ``mysql://``
DSN raises NotImplementedError."""
from __future__ import annotations

from asyncqlio.backends.base import BaseDialect, Emitter

DEFAULT_CONNECTOR = "asyncmy"


class MysqlDialect(BaseDialect):
    """The SQL MySQL and MariaDB speak."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("mysql", max_params=65535)

    has_checkpoints = property(lambda self: True)
    has_serial = property(lambda self: True)
    has_default = property(lambda self: True)
    has_truncate = property(lambda self: True)
    has_cascade = property(lambda self: True)

    @property
    def lastval_method(self) -> str:
        return "LAST_INSERT_ID()"

    def get_primary_key_index_name(self, table_name: str) -> str:
        return "PRIMARY"

    def get_unique_column_index_name(self, table_name: str, column_name: str) -> str:
        return column_name

    def get_column_sql(self, table_name: str | None = None, *,
                       emitter: Emitter = lambda name: "{" + name + "}") -> str:
        sql = "SELECT * FROM information_schema.columns WHERE table_schema = database()"
        if table_name is not None:
            sql += f" AND table_name = {emitter('table_name')}"
        return sql

    def get_index_sql(self, table_name: str | None = None, *,
                      emitter: Emitter = lambda name: "{" + name + "}") -> str:
        sql = "SELECT * FROM information_schema.statistics WHERE table_schema = database()"
        if table_name is not None:
            sql += f" AND table_name = {emitter('table_name')}"
        return sql

    def get_upsert_sql(self, table_name: str, *,
                       on_conflict_update: bool = True) -> tuple[str, set[str]]:
        if on_conflict_update:
            return (f"INSERT INTO {table_name} {{insert}} ON DUPLICATE KEY UPDATE {{update}}",
                    {"insert", "update"})
        return f"INSERT IGNORE INTO {table_name} {{insert}}", {"insert"}
