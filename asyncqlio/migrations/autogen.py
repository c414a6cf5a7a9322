"""Autogenerate: the DDL that turns the live schema into the Table classes of a module.

It creates missing tables; adds and drops columns; changes the type, nullability and server
default of columns both have; adds and drops single-column foreign keys; creates and drops
indexes. It never drops a table that has no class (that table may belong to something else),
nor a compound foreign key (a Table class cannot declare one).

Columns are compared as the database itself would have the model's: those are created in a
temporary table inside a checkpoint that is rolled back, and read back like the live ones, so
aliases (``int4`` and ``INTEGER``, ``character varying(50)`` and ``VARCHAR(50)``, a default's
``'a'::text``) never look like changes. On SQLite a type counts as changed only when its type
affinity (or whether an INTEGER PRIMARY KEY is the rowid) changes, since that is all SQLite
distinguishes.
"""
from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from asyncqlio._speedups._compile_cy import quote
from asyncqlio.exc import ArgumentError, DatabaseException, SchemaError
from asyncqlio.migrations.runner import VERSION_TABLE, Migrator
from asyncqlio.migrations.scripts import ScriptDirectory
from asyncqlio.backends.sqlite3.ddltext import sqlite_affinity, sqlite_normal
from asyncqlio.orm.inspection import (ColumnInfo, ColumnSpec, ForeignKeyInfo, IndexInfo,
                                      Inspector, TableSchema, column_source, known_type,
                                      type_source)
from asyncqlio.orm.schema import Column, TableInfo
from asyncqlio.orm.schema.column import column_definition
from asyncqlio.orm.schema.index import index_name
from asyncqlio.orm.schema.types import POSTGRESQL

_I = "    "
#: the temporary table the model's columns are created in, to be read back
_PROBE = "_asyncqlio_probe"

#: one change: its upgrade line and the downgrade line that undoes it
_Step = tuple[str, str]


def load_base(spec: str) -> type:
    """``package.module:Base`` to the ``table_base()`` class (the working directory is on the
    import path, as for ``python -m``)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ArgumentError(f"--models wants 'module:BaseName', not {spec!r}")
    if "" not in sys.path:
        sys.path.insert(0, "")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name is None or not (module_name + ".").startswith(e.name + "."):
            raise  # the models module imports something missing: its own traceback
        raise ArgumentError(f"--models {spec}: no module named {e.name!r} (looked in "
                            f"{os.getcwd()} and on the import path)") from None
    base = getattr(module, attr, None)
    if base is None or not hasattr(base, "metadata"):
        raise ArgumentError(f"{spec} is not a table_base() class")
    return base


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


async def _probe(sess: Any, inspector: Inspector, info: TableInfo) -> dict[str, ColumnInfo]:
    """The model's columns as this database has them: created in a temporary table inside a
    checkpoint that is rolled back, and read back as the live ones are."""
    dialect = sess.dialect.name
    cols = ", ".join(column_definition(c, dialect, inline_pk=False, keys=False)
                     for c in info.columns)
    await sess.checkpoint(_PROBE)
    try:
        await sess.execute(f"CREATE TEMPORARY TABLE {quote(_PROBE)} ({cols})")
        probed = await inspector.get_columns(_PROBE, temporary=True)
    except DatabaseException as e:
        raise SchemaError(f"autogenerate cannot compare table {info.name!r}: the database "
                          f"refuses its columns ({e})") from e
    finally:
        await sess.rollback(_PROBE)
        await sess.release_checkpoint(_PROBE)
    return {c.name: c for c in probed}


def _same_type(dialect: str, live: ColumnInfo, model: ColumnInfo, lone_key: bool) -> bool:
    if dialect == POSTGRESQL:
        return live.sql_type == model.sql_type  # both as format_type() writes them
    if lone_key and live.primary_key and \
            (live.sql_type.upper() == "INTEGER") != (model.sql_type.upper() == "INTEGER"):
        return False  # only a column declared INTEGER PRIMARY KEY is the rowid
    return sqlite_affinity(live.sql_type) == sqlite_affinity(model.sql_type)


def _default_key(dialect: str, default: str | None) -> str | None:
    """PostgreSQL writes both defaults itself (``pg_get_expr``); SQLite keeps them as typed."""
    if default is None or dialect == POSTGRESQL:
        return default
    return sqlite_normal(default)


def _restore_type(live: ColumnInfo, names: set[str]) -> str | None:
    """Source of the live column's type, or None where asyncqlio has no type for it."""
    if known_type(live.sql_type) is None:
        return None
    return type_source(live.type, names)


def _cannot(what: str) -> str:
    return f"raise NotImplementedError({what!r})"


def _column_steps(table: str, c: Column, live: ColumnInfo, model: ColumnInfo, dialect: str,
                  lone_key: bool, names: set[str]) -> list[_Step]:
    """Type, nullability and server default of a column both sides have."""
    steps = []
    retyped = not _same_type(dialect, live, model, lone_key)
    if retyped:
        old = _restore_type(live, names)
        down = (f"await sess.alter_column_type({table!r}, {c.name!r}, {old})" if old else
                _cannot(f"cannot restore the type {live.sql_type!r} of {table}.{c.name}"))
        steps.append((f"await sess.alter_column_type({table!r}, {c.name!r}, "
                      f"{type_source(c.type, names)})", down))
    new_opts, old_opts = [], []
    if live.nullable != model.nullable and not c.primary_key:
        new_opts.append(f"nullable={model.nullable!r}")
        old_opts.append(f"nullable={live.nullable!r}")
    # PostgreSQL writes a default with its type ('x'::character varying): after a type
    # change the default is set again, so that it reads as the model's would
    if (_default_key(dialect, live.default) != _default_key(dialect, model.default)
            or (retyped and dialect == POSTGRESQL and live.default is not None)):
        new_opts.append(f"server_default={c.server_default!r}")
        old_opts.append(f"server_default={live.default!r}")
    if new_opts:
        head = f"await sess.alter_column({table!r}, {c.name!r}, "
        steps.append((head + ", ".join(new_opts) + ")", head + ", ".join(old_opts) + ")"))
    return steps


def _model_fk(c: Column) -> ForeignKeyInfo:
    """A model column's foreign key as inspection reads one back (``NO ACTION`` is None)."""
    target = c.foreign_key.resolve()
    actions = [a if a != "NO ACTION" else None
               for a in (c.foreign_key.on_delete, c.foreign_key.on_update)]
    return ForeignKeyInfo(None, [c.name], target.table_name, [target.name], *actions)


def _fk_key(fk: ForeignKeyInfo) -> tuple:
    return fk.target_table, fk.target_columns[0], fk.on_delete, fk.on_update


def _add_fk(table: str, fk: ForeignKeyInfo) -> str:
    opts = [repr(table), repr(fk.columns[0]), repr(fk.target_table), repr(fk.target_columns[0])]
    for option in ("name", "on_delete", "on_update"):
        if getattr(fk, option):
            opts.append(f"{option}={getattr(fk, option)!r}")
    return f"await sess.add_foreign_key({', '.join(opts)})"


async def _foreign_key_steps(inspector: Inspector, info: TableInfo, schema: TableSchema
                             ) -> tuple[list[_Step], list[_Step]]:
    """Drops and adds of the single-column foreign keys of columns both sides have."""
    have = {c.name for c in schema.columns}
    wanted: dict[str, ForeignKeyInfo] = {}
    for c in info.columns:
        if c.foreign_key is not None and c.name in have:
            wanted[c.name] = _model_fk(c)
    live: dict[str, list[ForeignKeyInfo]] = {}
    for fk in schema.foreign_keys:
        if len(fk.columns) == 1 and fk.columns[0] in info.by_name:
            if fk.target_columns[0] is None:  # REFERENCES parent: its primary key
                fk.target_columns = await inspector.get_primary_key(fk.target_table) or [None]
            live.setdefault(fk.columns[0], []).append(fk)
    drops, adds = [], []
    table = info.name
    for column in sorted(set(wanted) | set(live), key=list(info.by_name).index):
        want, found = wanted.get(column), live.get(column, [])
        kept = [fk for fk in found if want is not None and _fk_key(fk) == _fk_key(want)][:1]
        for fk in found:
            if fk in kept:
                continue
            named = f", name={fk.name!r}" if len(found) > 1 and fk.name else ""
            drops.append((f"await sess.drop_foreign_key({table!r}, [{column!r}]{named})",
                          _add_fk(table, fk)))
        if want is not None and not kept:
            adds.append((_add_fk(table, want),
                         f"await sess.drop_foreign_key({table!r}, [{column!r}])"))
    return drops, adds


def _index_src(table: str, name: str, columns: Any, unique: bool) -> str:
    cols = ", ".join(repr(c) for c in columns)
    uniq = ", unique=True" if unique else ""
    return f"await sess.create_index({table!r}, {name!r}, {cols}{uniq})"


def _model_index_src(table: str, ix: Any) -> str:
    return _index_src(table, ix.name, [c.name for c in ix.columns], ix.unique)


def _own_index(ix: Any, have: Any = ()) -> bool:
    """Whether ``ix`` is the index of an ``index=True`` column that create_table or
    add_column makes along with the column (one not in ``have``, the live columns)."""
    column = ix.columns[0]
    return (len(ix.columns) == 1 and column.index and column.name not in have
            and ix.name == index_name(column.table_name, (column,)))


def _create_steps(info: TableInfo, names: set[str], later: set[str]
                  ) -> tuple[list[_Step], list[_Step]]:
    """The table and its indexes; and the foreign keys to the ``later`` tables (created
    after it: two new tables that reference each other), to be added once those exist."""
    specs, adds = [], []
    for c in info.columns:
        spec = ColumnSpec.of_column(c)
        fk = _model_fk(c) if c.foreign_key is not None else None
        if fk is not None and fk.target_table in later:
            spec.foreign_key = None
            adds.append((_add_fk(info.name, fk),
                         f"await sess.drop_foreign_key({info.name!r}, [{c.name!r}])"))
        specs.append(spec)
    cols = ",\n".join(f"{_I}{column_source(spec, names)}" for spec in specs)
    steps = [(f"await sess.create_table(\n{_I}{info.name!r},\n{cols})",
              f"await sess.drop_table({info.name!r})")]
    for ix in info.indexes:
        if not _own_index(ix):
            steps.append((_model_index_src(info.name, ix),
                          f"await sess.drop_index({ix.name!r})"))
    return steps, adds


async def _table_steps(sess: Any, inspector: Inspector, info: TableInfo, schema: TableSchema,
                       names: set[str]) -> list[_Step]:
    """Columns and indexes of a table both sides have."""
    table, dialect = info.name, sess.dialect.name
    steps: list[_Step] = []
    have = {c.name: c for c in schema.columns}
    probed = await _probe(sess, inspector, info)
    lone_key = len(info.primary_key) == 1
    for c in info.columns:
        if c.name not in have:
            steps.append((f"await sess.add_column({table!r}, "
                          f"{column_source(ColumnSpec.of_column(c), names)})",
                          f"await sess.drop_column({table!r}, {c.name!r})"))
        else:
            steps += _column_steps(table, c, have[c.name], probed[c.name], dialect, lone_key,
                                   names)
    dropped = [name for name in have if name not in info.by_name]
    for name in dropped:
        c = have[name]
        up = f"await sess.drop_column({table!r}, {name!r})"
        if known_type(c.sql_type) is None:
            steps.append((up, _cannot(f"cannot restore the column {table}.{name} of type "
                                      f"{c.sql_type!r}")))
            continue
        restored = [f"await sess.add_column({table!r}, "
                    f"{column_source(ColumnSpec.of_live(c, schema), names)})"]
        # the indexes that went with the column come back once all of their columns are:
        # with the first of them dropped, as the downgrade runs these steps last to first
        restored += [_index_src(table, ix.name, ix.columns, ix.unique) for ix in schema.indexes
                     if _writable(ix) and name in ix.columns
                     and name == next(n for n in dropped if n in ix.columns)]
        steps.append((up, "\n".join(restored)))
    live_ix = {ix.name: ix for ix in schema.indexes}
    for ix in info.indexes:
        # an added ``index=True`` column brings its own index (add_column creates it)
        if ix.name not in live_ix and not _own_index(ix, have):
            steps.append((_model_index_src(table, ix), f"await sess.drop_index({ix.name!r})"))
    wanted = {ix.name for ix in info.indexes}
    for name, ix in live_ix.items():
        # expression and partial indexes cannot be written back: they are left alone
        if name not in wanted and _writable(ix) and all(c in info.by_name for c in ix.columns):
            steps.append((f"await sess.drop_index({name!r})",
                          _index_src(table, name, ix.columns, ix.unique)))
    return steps


def _writable(ix: IndexInfo) -> bool:
    """Whether ``create_index`` can make a live index again (not on an expression, no WHERE)."""
    return not ix.partial and None not in ix.columns


async def diff(db: Any, base: type) -> tuple[list[str], list[str], set[str]]:
    """The upgrade and downgrade statements (Python lines) and the extra imports. Foreign
    keys are dropped first and added last, so that column changes and new tables come
    between; the downgrade undoes every step in the opposite order."""
    drops: list[_Step] = []
    steps: list[_Step] = []
    adds: list[_Step] = []
    names: set[str] = set()
    async with db.get_ddl_session() as sess:
        inspector = Inspector(sess)
        live = set(await inspector.table_names()) - {VERSION_TABLE}
        ordered = _ordered(base.metadata.tables)
        # new tables not created yet, as each comes: a key to one of them is added last
        later = {cls.__table__.name for cls in ordered} - live
        for cls in ordered:
            info = cls.__table__
            if info.name not in live:
                later.discard(info.name)
                created, deferred = _create_steps(info, names, later)
                steps += created
                adds += deferred
                continue
            schema = await inspector.get_table(info.name)
            steps += await _table_steps(sess, inspector, info, schema, names)
            dropped, added = await _foreign_key_steps(inspector, info, schema)
            drops += dropped
            adds += added
    everything = drops + steps + adds
    imports = {n for n in names if n.startswith("import ")}
    return [up for up, _ in everything], [down for _, down in reversed(everything)], imports


def _body(lines: list[str]) -> str:
    if not lines:
        return f"{_I}pass"
    return "\n".join(_I + line.replace("\n", "\n" + _I) for line in lines)


async def autogenerate(db: Any, base: type, directory: str | ScriptDirectory,
                       message: str) -> tuple[Any, int]:
    """Write a migration from the difference; its path and the number of changes (no file
    is written when there is nothing to do: the path is None)."""
    scripts = directory if isinstance(directory, ScriptDirectory) else ScriptDirectory(directory)
    pending = [m.label for m, applied in await Migrator(db, scripts).status() if not applied]
    if pending:
        # the live schema is not yet what those make it: the new file would repeat them
        raise ArgumentError(f"{len(pending)} migration(s) not applied yet ({', '.join(pending)})"
                            ": run `asyncqlio migrate up` first, autogenerate compares the "
                            "Table classes with the live schema")
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
