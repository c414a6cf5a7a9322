"""PostgreSQL: :class:`PostgresqlDialect`, and the driver module :mod:`.asyncpg` (the
default, ``postgresql://`` and ``postgresql+asyncpg://``)."""
from __future__ import annotations

from asyncqlio.backends.base import BaseDialect, Emitter

DEFAULT_CONNECTOR = "asyncpg"


class PostgresqlDialect(BaseDialect):
    """The SQL PostgreSQL speaks."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("postgresql", numeric=True, max_params=32767, copy=True,
                         update_from=True)

    has_checkpoints = property(lambda self: True)
    has_serial = property(lambda self: True)
    has_returns = property(lambda self: True)
    has_ilike = property(lambda self: True)
    has_default = property(lambda self: True)
    has_truncate = property(lambda self: True)
    has_cascade = property(lambda self: True)

    @property
    def lastval_method(self) -> str:
        return "LASTVAL()"

    def get_primary_key_index_name(self, table_name: str) -> str:
        return f"{table_name}_pkey"

    def get_unique_column_index_name(self, table_name: str, column_name: str) -> str:
        return f"{table_name}_{column_name}_key"

    def get_column_sql(self, table_name: str | None = None, *,
                       emitter: Emitter = lambda name: "{" + name + "}") -> str:
        sql = ("SELECT c.table_name, c.column_name, c.data_type, c.is_nullable = 'YES' "
               "AS is_nullable, c.column_default, EXISTS (SELECT 1 FROM "
               "information_schema.table_constraints k JOIN "
               "information_schema.key_column_usage u ON u.constraint_name = k.constraint_name "
               "AND u.table_schema = k.table_schema WHERE k.constraint_type = 'PRIMARY KEY' "
               "AND k.table_schema = c.table_schema AND k.table_name = c.table_name "
               "AND u.column_name = c.column_name) AS primary_key "
               "FROM information_schema.columns c WHERE c.table_schema = current_schema()")
        if table_name is not None:
            sql += f" AND c.table_name = {emitter('table_name')}"
        return sql + " ORDER BY c.table_name, c.ordinal_position"

    def get_index_sql(self, table_name: str | None = None, *,
                      emitter: Emitter = lambda name: "{" + name + "}") -> str:
        sql = "SELECT * FROM pg_indexes WHERE schemaname = current_schema()"
        if table_name is not None:
            sql += f" AND tablename = {emitter('table_name')}"
        return sql + " ORDER BY tablename, indexname"
