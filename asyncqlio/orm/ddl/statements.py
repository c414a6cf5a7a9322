"""DDL text for tables and foreign keys, per dialect (a column's own definition is
:func:`asyncqlio.orm.schema.column.column_definition`, an index's
:func:`asyncqlio.orm.schema.index.index_sql`)."""
from __future__ import annotations

from typing import Any, Sequence

from asyncqlio._speedups._compile_cy import quote
from asyncqlio.exc import SchemaError
from asyncqlio.orm.schema.column import Column, column_definition
from asyncqlio.orm.schema.index import Index, index_name, index_sql
from asyncqlio.orm.schema.relationship import FK_ACTIONS
from asyncqlio.orm.schema.types import POSTGRESQL


def create_table(name: str, items: Sequence[Any], dialect: str, *,
                 if_not_exists: bool = False) -> list[str]:
    """CREATE TABLE from columns (a table class's, or free-standing ones made with
    ``Column.with_name``) and :class:`Index` objects, then the indexes: those given and
    those of ``index=True`` columns. A lone integer key autoincrements, as on a table class."""
    columns = [i for i in items if isinstance(i, Column)]
    indexes = [i for i in items if isinstance(i, Index)]
    other = [i for i in items if not isinstance(i, (Column, Index))]
    if other:
        raise SchemaError(f"cannot create a table with {other[0]!r}: give columns and indexes")
    if not columns:
        raise SchemaError(f"table {name!r} needs columns")
    pk = [c for c in columns if c.primary_key]
    if not pk:
        raise SchemaError(f"table {name!r} has no primary key")
    lines = []
    for c in columns:
        autoinc = c.declared_autoincrement
        if autoinc is None:
            autoinc = c.primary_key and (c.type.is_serial or (
                c.type.is_integer and len(pk) == 1 and not c.has_default
                and c.server_default is None))
        lines.append(column_definition(c, dialect, inline_pk=len(pk) == 1 and c.primary_key,
                                       autoincrement=autoinc))
    if len(pk) > 1:
        lines.append("PRIMARY KEY (" + ", ".join(quote(c.name) for c in pk) + ")")
    exists = "IF NOT EXISTS " if if_not_exists else ""
    statements = [f"CREATE TABLE {exists}{quote(name)} (\n    " + ",\n    ".join(lines) + "\n)"]
    for index in indexes:
        statements.append(index_sql(name, index.name, list(index.get_column_names()),
                                    unique=index.unique, if_not_exists=if_not_exists))
    for c in columns:
        if c.index:
            statements.append(index_sql(name, index_name(name, (c,)), [c.name],
                                        if_not_exists=if_not_exists))
    return statements


def drop_table(name: str, dialect: str, *, cascade: bool = False, if_exists: bool = False) -> str:
    sql = "DROP TABLE " + ("IF EXISTS " if if_exists else "") + quote(name)
    if cascade and dialect == POSTGRESQL:
        sql += " CASCADE"
    return sql


def foreign_key_sql(columns: Sequence[str], target_table: str, target_columns: Sequence[str],
                    on_delete: str | None = None, on_update: str | None = None) -> str:
    sql = (f"FOREIGN KEY ({', '.join(quote(c) for c in columns)}) REFERENCES "
           f"{quote(target_table)} ({', '.join(quote(c) for c in target_columns)})")
    if on_delete:
        sql += f" ON DELETE {_fk_action(on_delete)}"
    if on_update:
        sql += f" ON UPDATE {_fk_action(on_update)}"
    return sql


def _fk_action(action: str) -> str:
    action = action.upper()
    if action not in FK_ACTIONS:
        raise SchemaError(f"unknown foreign key action {action!r}")
    return action
