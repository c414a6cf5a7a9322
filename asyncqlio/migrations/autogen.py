"""Autogenerate: the DDL that turns the live schema into the Table classes of a module.

It creates missing tables, adds and drops columns, and creates and drops indexes. It never
drops a table that has no class (that table may belong to something else), and it does not
compare column types (SQLite stores several types alike): write those steps by hand.
"""
from __future__ import annotations

import importlib
import sys
from typing import Any

from asyncqlio.exc import ArgumentError
from asyncqlio.migrations.runner import VERSION_TABLE
from asyncqlio.migrations.scripts import ScriptDirectory
from asyncqlio.orm import types as _types
from asyncqlio.orm.inspection import (ColumnInfo, ForeignKeyInfo, Inspector,
                                      foreign_key_source, type_source)
from asyncqlio.orm.schema import Column

_I = "    "


def load_base(spec: str) -> type:
    """``package.module:Base`` to the ``table_base()`` class (the working directory is on the
    import path, as for ``python -m``)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ArgumentError(f"--models wants 'module:BaseName', not {spec!r}")
    if "" not in sys.path:
        sys.path.insert(0, "")
    base = getattr(importlib.import_module(module_name), attr, None)
    if base is None or not hasattr(base, "metadata"):
        raise ArgumentError(f"{spec} is not a table_base() class")
    return base


def _type_src(ctype: _types.ColumnType, imports: set[str]) -> str:
    if isinstance(ctype, _types.Enum):
        # stored as the member name: the column is a VARCHAR of the longest name
        return f"String({max((len(m) for m in ctype.enum_type.__members__), default=1)})"
    if type(ctype).__module__ != _types.__name__:
        imports.add(f"import {type(ctype).__module__}")
        return f"{type(ctype).__module__}.{type(ctype).__qualname__}()"
    return type_source(ctype)


def _column_src(c: Column, imports: set[str]) -> str:
    opts = [repr(c.name), _type_src(c.type, imports)]
    if c.primary_key:
        opts.append("primary_key=True")
        if c.autoincrement is not None:
            opts.append(f"autoincrement={c.autoincrement!r}")
    if c.nullable:
        opts.append("nullable=True")
    if c.unique:
        opts.append("unique=True")
    if c.index:
        opts.append("index=True")
    if c.server_default is not None:
        opts.append(f"server_default={c.server_default!r}")
    fk = c.foreign_key
    if fk is not None:
        target = fk.resolve()
        opts.append(foreign_key_source(f"{target.table_name}.{target.name}", fk.on_delete,
                                       fk.on_update))
    return f"Column.with_name({', '.join(opts)})"


def _live_column_src(c: ColumnInfo, fks: list[ForeignKeyInfo]) -> str:
    """A dropped column, written back for downgrade (its type as read back)."""
    opts = [repr(c.name), type_source(c.type)]
    if c.nullable:
        opts.append("nullable=True")
    if c.unique:
        opts.append("unique=True")
    if c.default is not None:
        opts.append(f"server_default={c.default!r}")
    for fk in fks:
        if fk.columns == [c.name]:
            opts.append(foreign_key_source(f"{fk.target_table}.{fk.target_columns[0]}",
                                           fk.on_delete, fk.on_update))
    return f"Column.with_name({', '.join(opts)})"


def _ordered(tables: dict[str, type]) -> list[type]:
    """Tables with those they reference first, so CREATE TABLE finds its targets."""
    out: list[type] = []
    seen: set[str] = set()

    def visit(name: str, cls: type) -> None:
        if name in seen:
            return
        seen.add(name)
        for c in cls.__table__.columns:
            if c.foreign_key is not None:
                target = c.foreign_key.resolve().table_name
                if target in tables and target != name:
                    visit(target, tables[target])
        out.append(cls)

    for name, cls in tables.items():
        visit(name, cls)
    return out


async def diff(db: Any, base: type) -> tuple[list[str], list[str], set[str]]:
    """The upgrade and downgrade statements (Python lines) and the extra imports."""
    up: list[str] = []
    down: list[str] = []
    imports: set[str] = set()
    async with db.get_ddl_session() as sess:
        inspector = Inspector(sess)
        live = set(await inspector.table_names()) - {VERSION_TABLE}
        for cls in _ordered(base.metadata.tables):
            info = cls.__table__
            if info.name not in live:
                cols = ",\n".join(f"{_I}{_column_src(c, imports)}" for c in info.columns)
                up.append(f"await sess.create_table(\n{_I}{info.name!r},\n{cols})")
                for ix in info.indexes:
                    if not any(c.index and ix.columns == (c,) for c in info.columns):
                        up.append(_index_src(info.name, ix))
                down.insert(0, f"await sess.drop_table({info.name!r})")
                continue
            schema = await inspector.get_table(info.name)
            have = {c.name: c for c in schema.columns}
            for c in info.columns:
                if c.name not in have:
                    up.append(f"await sess.add_column({info.name!r}, {_column_src(c, imports)})")
                    down.insert(0, f"await sess.drop_column({info.name!r}, {c.name!r})")
            for name, c in have.items():
                if name not in info.by_name:
                    up.append(f"await sess.drop_column({info.name!r}, {name!r})")
                    restored = _live_column_src(c, schema.foreign_keys)
                    down.insert(0, f"await sess.add_column({info.name!r}, {restored})")
            live_ix = {ix.name: ix for ix in schema.indexes}
            for ix in info.indexes:
                if ix.name not in live_ix:
                    up.append(_index_src(info.name, ix))
                    down.insert(0, f"await sess.drop_index({ix.name!r})")
            wanted = {ix.name for ix in info.indexes}
            for name, ix in live_ix.items():
                if name not in wanted and all(c in info.by_name for c in ix.columns):
                    up.append(f"await sess.drop_index({name!r})")
                    cols = ", ".join(repr(c) for c in ix.columns)
                    uniq = ", unique=True" if ix.unique else ""
                    down.insert(0, f"await sess.create_index({info.name!r}, {name!r}, "
                                   f"{cols}{uniq})")
    return up, down, imports


def _index_src(table: str, ix: Any) -> str:
    cols = ", ".join(repr(c.name) for c in ix.columns)
    uniq = ", unique=True" if ix.unique else ""
    return f"await sess.create_index({table!r}, {ix.name!r}, {cols}{uniq})"


def _body(lines: list[str]) -> str:
    if not lines:
        return f"{_I}pass"
    return "\n".join(_I + line.replace("\n", "\n" + _I) for line in lines)


async def autogenerate(db: Any, base: type, directory: str | ScriptDirectory,
                       message: str) -> tuple[Any, int]:
    """Write a migration from the difference; its path and the number of changes (no file
    is written when there is nothing to do: the path is None)."""
    scripts = directory if isinstance(directory, ScriptDirectory) else ScriptDirectory(directory)
    up, down, imports = await diff(db, base)
    if not up:
        return None, 0
    body_up = _body(up)
    if imports:
        body_up = "\n".join(f"{_I}{i}" for i in sorted(imports)) + "\n" + body_up
        down_imports = "\n".join(f"{_I}{i}" for i in sorted(imports)) + "\n"
    else:
        down_imports = ""
    path = scripts.write(message, body_up, down_imports + _body(down))
    return path, len(up)
