"""Writing rows: INSERT (batched per table and column set), UPDATE of the changed columns
only, DELETE and upsert-style merge, each by primary key."""
from __future__ import annotations

from itertools import groupby
from typing import TYPE_CHECKING, Any

from asyncqlio._speedups import _compile, _row
from asyncqlio.backends.base import Dialect
from asyncqlio.exc import ArgumentError, StaleDataError
from asyncqlio.orm.schema import TableBase

if TYPE_CHECKING:
    from asyncqlio.orm.session import Session

NO_VALUE = _row.NO_VALUE

#: rows per multi-row INSERT, below the drivers' parameter limits
MAX_ROWS = 1000


def _present(row: TableBase) -> tuple[int, ...]:
    return tuple(i for i, v in enumerate(row._values) if v is not NO_VALUE)


def _group_key(row: TableBase) -> tuple:
    return (id(type(row)), _present(row))


def insert_statements(dialect: Dialect, rows: list[TableBase],
                      conflict_sql: str | None) -> list[tuple[str, list, list[TableBase]]]:
    """``(sql, params, rows)`` per statement: one per table and set of columns given,
    split so no statement exceeds the driver's parameter limit."""
    out = []
    for (_, present), group in groupby(rows, _group_key):
        group = list(group)
        info = type(group[0]).__table__
        columns = [info.columns[i] for i in present]
        # rows with no column set each need their own INSERT ... DEFAULT VALUES
        per_stmt = max(1, min(MAX_ROWS, dialect.max_params // len(columns))) if columns else 1
        for start in range(0, len(group), per_stmt):
            chunk = group[start:start + per_stmt]
            values = [[r._values[i] for i in present] for r in chunk]
            sql, params = _compile.compile_insert(
                _compile.Compiler(dialect.name, dialect.numeric), info.quoted, columns, values,
                conflict_sql, info.returning_sql)
            out.append((sql, params, chunk))
    return out


async def insert(sess: "Session", rows: list[TableBase], conflict_sql: str | None = None) -> list[TableBase]:
    dialect = sess.dialect
    for sql, params, chunk in insert_statements(dialect, rows, conflict_sql):
        records = await sess._fetch(sql, params)
        loaders = type(chunk[0]).__table__.loaders_for(dialect.name)
        if len(records) == len(chunk):
            # PostgreSQL and SQLite return the rows of one INSERT ... VALUES in order
            for row, record in zip(chunk, records):
                _row.load_into(row, record, loaders, sess)
        else:
            # ON CONFLICT DO NOTHING skipped some; the others come back in order, so each
            # returned row belongs to the next row whose given values it carries
            present = _present(chunk[0])
            waiting = iter(chunk)
            for record in records:
                stored = _row.load_values(record, loaders)
                for row in waiting:
                    if all(row._values[i] == stored[i] for i in present):
                        _row.load_into(row, record, loaders, sess)
                        break
    return rows


def _pk_condition(row: TableBase, history: dict | None) -> Any:
    """The WHERE clause matching the row as the database has it (its old key, if changed)."""
    info = type(row).__table__
    conds = []
    for i in info.pk_indexes:
        value = history[i] if history and i in history else row._values[i]
        if value is NO_VALUE or value is None:
            raise ArgumentError(f"{type(row).__name__} row has no primary key value")
        column = info.columns[i]
        conds.append(_compile.BinaryExpr("=", column, _compile.Param(value, column.type)))
    return conds[0] if len(conds) == 1 else _compile.BoolExpr("AND", conds)


def changed_columns(row: TableBase) -> list[tuple[Any, Any]]:
    """``(column, new value)`` for the columns whose value differs from the last one written."""
    history = row._history
    if not history:
        return []
    info = type(row).__table__
    values = row._values
    out = []
    for i in sorted(history):
        new = values[i]
        old = history[i]
        if new is old or (old is not NO_VALUE and type(new) is type(old) and new == old):
            continue
        out.append((info.columns[i], None if new is NO_VALUE else new))
    return out


async def update(sess: "Session", row: TableBase) -> TableBase:
    changes = changed_columns(row)
    if not changes:
        row._history = None
        return row
    d = sess.dialect
    sql, params = _compile.compile_update(_compile.Compiler(d.name, d.numeric),
                                          type(row).__table__.quoted, changes,
                                          _pk_condition(row, row._history), None)
    if await sess._execute(sql, params) == 0:
        raise StaleDataError(f"UPDATE of {row!r} matched no row")
    row._history = None
    return row


async def delete(sess: "Session", row: TableBase) -> TableBase:
    d = sess.dialect
    sql, params = _compile.compile_delete(_compile.Compiler(d.name, d.numeric),
                                          type(row).__table__.quoted,
                                          _pk_condition(row, row._history))
    await sess._execute(sql, params)
    row._state = _row.DELETED
    return row


async def merge(sess: "Session", row: TableBase) -> TableBase:
    """Write a row by its primary key whether or not it exists: UPDATE of the columns that
    were set on it, or INSERT when there is no such row. Not ``INSERT ... ON CONFLICT``: both
    backends check NOT NULL before the conflict, so an upsert of only some columns fails."""
    info = type(row).__table__
    where = _pk_condition(row, None)
    d = sess.dialect
    compiler = _compile.Compiler(d.name, d.numeric)
    sets = [(info.columns[i], row._values[i]) for i in sorted(row._history or ())
            if i not in info.pk_indexes]
    if sets:
        sql, params = _compile.compile_update(compiler, info.quoted, sets, where,
                                              info.returning_sql)
    else:
        sql, params = _compile.compile_select(compiler, info.select_sql, info.quoted, where,
                                              None, None, None, False)
    records = await sess._fetch(sql, params)
    if records:
        _row.load_into(row, records[0], info.loaders_for(d.name), sess)
    else:
        await insert(sess, [row])
    return row
