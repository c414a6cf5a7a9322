"""The live schema as plain records: what an inspector reads back of a table, its
columns, indexes and foreign keys (and what SQLite's own CREATE TABLE text says of them).

Records only, filled in by :mod:`asyncqlio.orm.inspection` and the SQLite DDL reader; a
column's ``type`` is an asyncqlio column type.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from asyncqlio.exc import SchemaError


@dataclasses.dataclass
class ColumnInfo:
    """One column as the database has it."""

    name: str
    type: Any
    #: the type as the database spells it (``character varying(64)``, ``VARCHAR(64)``)
    sql_type: str
    nullable: bool
    #: the server default as SQL text, or None (a SERIAL's sequence is not one)
    default: str | None
    primary_key: bool = False
    autoincrement: bool = False
    unique: bool = False
    #: the table it belongs to (the original asyncqlio's ``Column.table_name``)
    table_name: str | None = None


@dataclasses.dataclass
class IndexInfo:
    """An index. A key that is an expression is ``None`` in ``columns``; ``partial`` is an
    index with a ``WHERE``. ``constraint`` is ``"PRIMARY KEY"`` or ``"UNIQUE"`` for the
    index behind such a constraint (listed by ``DDLSession.get_indexes`` on PostgreSQL, as
    the original asyncqlio did; an inspector's table leaves them out)."""

    name: str
    columns: list[str | None]
    unique: bool
    partial: bool = False
    table_name: str | None = None
    constraint: str | None = None


@dataclasses.dataclass
class ForeignKeyInfo:
    name: str | None
    columns: list[str]
    target_table: str
    target_columns: list[str]
    on_delete: str | None = None
    on_update: str | None = None


@dataclasses.dataclass
class TableSchema:
    name: str
    columns: list[ColumnInfo]
    indexes: list[IndexInfo]
    foreign_keys: list[ForeignKeyInfo]
    #: multi-column UNIQUE constraints (single-column ones are ``ColumnInfo.unique``)
    unique_constraints: list[list[str]] = dataclasses.field(default_factory=list)

    @property
    def primary_key(self) -> list[str]:
        return [c.name for c in self.columns if c.primary_key]

    def column(self, name: str) -> ColumnInfo:
        for c in self.columns:
            if c.name == name:
                return c
        raise SchemaError(f"table {self.name!r} has no column {name!r}")
