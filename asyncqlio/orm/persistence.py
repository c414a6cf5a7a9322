"""Writing rows: INSERT (batched per table and column set), UPDATE of the changed columns
only, DELETE and upsert-style merge, each by primary key."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from asyncqlio._speedups import _compile, _row
from asyncqlio.backends.base import BaseDialect as Dialect
from asyncqlio.exc import ArgumentError, StaleDataError
from asyncqlio.orm.schema import TableBase

if TYPE_CHECKING:
    from asyncqlio.orm.session import Session

NO_VALUE = _row.NO_VALUE

#: rows per multi-row INSERT, below the drivers' parameter limits
MAX_ROWS = 1000
#: rows per SQLite ``UPDATE ... FROM (VALUES ...)``: SQLite builds a table of the VALUES
#: first, and 250 rows ran 15% faster than 1,000 (and than 50)
UPDATE_ROWS = 250
#: from this many rows a flush writes with one array statement (PostgreSQL) or executemany
BULK_ROWS = 2
#: from this many rows PostgreSQL loads them with COPY (two more round trips, far less work)
COPY_ROWS = 100


def _statements(dialect: Dialect, cls: type, present: tuple[int, ...], group: list[TableBase],
                conflict_sql: Any) -> list[tuple[str, list, list[TableBase]]]:
    """Multi-row ``INSERT ... VALUES ... RETURNING`` for rows giving the same columns, split
    so no statement exceeds the driver's parameter limit."""
    info = cls.__table__
    columns = [info.columns[i] for i in present]
    # rows with no column set each need their own INSERT ... DEFAULT VALUES
    per_stmt = max(1, min(MAX_ROWS, dialect.max_params // len(columns))) if columns else 1
    out = []
    for start in range(0, len(group), per_stmt):
        chunk = group[start:start + per_stmt]
        values = [[r._values[i] for i in present] for r in chunk]
        compiler = _compile.Compiler(dialect.name, dialect.numeric)
        if conflict_sql is None or type(conflict_sql) is str:
            sql, params = _compile.compile_insert(compiler, info.quoted, columns, values,
                                                  conflict_sql, info.returning_sql)
        else:  # a clause with values of its own, bound after the rows'
            _compile.compile_insert(compiler, info.quoted, columns, values, None, None)
            conflict_sql.write(compiler)
            if info.returning_sql:
                compiler.parts.append(" RETURNING " + info.returning_sql)
            sql, params = compiler.result()
        out.append((sql, params, chunk))
    return out


def insert_statements(dialect: Dialect, rows: list[TableBase],
                      conflict_sql: Any) -> list[tuple[str, list, list[TableBase]]]:
    """``(sql, params, rows)`` per statement: one per table and set of columns given."""
    return [stmt for cls, present, group in _row.group_by_columns(rows)
            for stmt in _statements(dialect, cls, present, group, conflict_sql)]


async def insert(sess: "Session", rows: list[TableBase], conflict_sql: Any = None,
                 bulk: bool = True) -> list[TableBase]:
    """Insert the rows, their generated values loaded into them. ``conflict_sql`` is an
    ON CONFLICT clause: text, or an object whose ``write(compiler)`` binds values of its
    own; ``bulk`` false keeps to multi-row INSERTs (values that are SQL expressions)."""
    dialect = sess.dialect
    for cls, present, group in _row.group_by_columns(rows):
        if bulk and conflict_sql is None and len(group) >= BULK_ROWS and present \
                and await _bulk_insert(sess, cls, present, group):
            continue
        for sql, params, chunk in _statements(dialect, cls, present, group, conflict_sql):
            await _insert_returning(sess, sql, params, chunk, present)
    return rows


async def _insert_returning(sess: "Session", sql: str, params: list, chunk: list[TableBase],
                            present: tuple[int, ...]) -> None:
    records = await sess._fetch(sql, params)
    loaders = type(chunk[0]).__table__.loaders_for(sess.dialect.name)
    if len(records) == len(chunk):
        # PostgreSQL and SQLite return the rows of one INSERT ... VALUES in order
        for row, record in zip(chunk, records):
            _row.load_into(row, record, loaders, sess)
        return
    # ON CONFLICT DO NOTHING skipped some; the others come back in order, so each
    # returned row belongs to the next row whose given values it carries
    waiting = iter(chunk)
    for record in records:
        stored = _row.load_values(record, loaders)
        for row in waiting:
            if all(row._values[i] == stored[i] for i in present):
                _row.load_into(row, record, loaders, sess)
                break


class _Values:
    """SQLite: a statement over ``VALUES (...), (...)`` of many rows, run as one executemany
    of full chunks and one statement for the rest: about half the work of an executemany of
    a one-row statement."""

    __slots__ = ("head", "marks", "tail", "width", "per_stmt", "sql")

    def __init__(self, head: str, width: int, tail: str, max_params: int,
                 rows: int = MAX_ROWS) -> None:
        self.head = head
        self.marks = "(" + ", ".join("?" * width) + ")"
        self.tail = tail
        self.width = width
        self.per_stmt = max(1, min(rows, max_params // width))
        self.sql = self.sql_for(self.per_stmt)

    def sql_for(self, rows: int) -> str:
        return self.head + ", ".join([self.marks] * rows) + self.tail

    async def run(self, sess: "Session", rows: list[TableBase], indexes: tuple[int, ...],
                  procs: tuple, key_indexes: tuple[int, ...] = ()) -> int:
        """The rows' values at ``indexes`` (then their keys), as parameters; rows changed."""
        chunks = _row.write_flat(rows, indexes, procs, key_indexes, self.per_stmt)
        last = chunks.pop() if len(chunks[-1]) < self.per_stmt * self.width else None
        count = 0
        if chunks:
            count += await sess._executemany(self.sql, chunks)
        if last is not None:
            count += await sess._execute(self.sql_for(len(last) // self.width), last)
        return count


class _BulkPlan:
    """How a flush inserts many rows of one table that give the same columns."""

    __slots__ = ("sql", "procs", "generated", "loaders", "rowid", "copy_columns", "key_name")

    def __init__(self, sql: "str | _Values", procs: tuple, generated: tuple[int, ...],
                 loaders: tuple, rowid: bool = False, copy_columns: list[str] | None = None,
                 key_name: str | None = None) -> None:
        #: the statement (PostgreSQL), or the multi-row one (SQLite)
        self.sql = sql
        self.procs = procs
        #: the column indexes the database fills in, returned by the statement
        self.generated = generated
        self.loaders = loaders
        #: SQLite: the only generated column is the rowid key, worked out after the INSERT
        self.rowid = rowid
        #: PostgreSQL: the columns COPY writes (every column where the key comes from its
        #: sequence), or None where some generated column rules COPY out
        self.copy_columns = copy_columns
        #: PostgreSQL: the autoincrement key whose numbers are taken before a COPY
        self.key_name = key_name


def _autoincrement_key(info: Any, generated: tuple[int, ...]) -> bool:
    return len(generated) == 1 and generated == info.pk_indexes \
        and info.columns[generated[0]].is_autoincrement


def _bulk_plan(dialect: Dialect, cls: type, present: tuple[int, ...]) -> _BulkPlan | None:
    """PostgreSQL: COPY for large batches (the autoincrement key numbered from its sequence
    first), else one ``INSERT ... SELECT * FROM unnest($1::t[], ...)`` with the columns as
    arrays, ``RETURNING`` only what the database generates. SQLite: multi-row ``INSERT ...
    VALUES``; a generated rowid key is worked out from ``last_insert_rowid()``. None where
    the columns do not allow it (custom types on PostgreSQL, other generated columns on
    SQLite)."""
    info = cls.__table__
    columns = [info.columns[i] for i in present]
    generated = tuple(i for i in range(len(info.columns)) if i not in present)
    names = ", ".join(_compile.quote(c.name) for c in columns)
    procs = tuple(c.type.bind_processor(dialect.name) for c in columns)
    if dialect.numeric:
        casts = [c.type.cast_sql(dialect.name) for c in columns]
        if None in casts:
            return None
        arrays = ", ".join(f"${n}::{cast}[]" for n, cast in enumerate(casts, 1))
        sql = f"INSERT INTO {info.quoted} ({names}) SELECT * FROM unnest({arrays})"
        if generated:
            sql += " RETURNING " + ", ".join(_compile.quote(info.columns[i].name)
                                             for i in generated)
        loaders = tuple(info.columns[i].type.result_processor(dialect.name) for i in generated)
        copy_columns = key_name = None
        if dialect.copy and not generated:
            copy_columns = [c.name for c in columns]
        elif dialect.copy and _autoincrement_key(info, generated):
            copy_columns = [c.name for c in info.columns]
            key_name = info.columns[generated[0]].name
        return _BulkPlan(sql, procs, generated, loaders, copy_columns=copy_columns,
                         key_name=key_name)
    rowid = bool(generated)
    if rowid and not _autoincrement_key(info, generated):
        return None
    values = _Values(f"INSERT INTO {info.quoted} ({names}) VALUES ", len(columns), "",
                     dialect.max_params)
    return _BulkPlan(values, procs, generated, (None,) * len(generated), rowid=rowid)


async def _bulk_insert(sess: "Session", cls: type, present: tuple[int, ...],
                       group: list[TableBase]) -> bool:
    dialect = sess.dialect
    info = cls.__table__
    key = (dialect.name, present)
    if key not in info.bulk_plans:
        info.bulk_plans[key] = _bulk_plan(dialect, cls, present)
    plan = info.bulk_plans[key]
    if plan is None:
        return False
    if plan.copy_columns is not None and len(group) >= COPY_ROWS \
            and await _copy_insert(sess, info, plan, present, group):
        pass
    elif dialect.numeric:
        arrays = list(zip(*_row.write_params(group, present, plan.procs, ())))
        if plan.generated:
            _row.fill_generated(group, await sess._fetch(plan.sql, arrays), plan.generated,
                                plan.loaders)
        else:
            await sess._execute(plan.sql, arrays)
    else:
        await plan.sql.run(sess, group, present, plan.procs)
        if plan.rowid:
            # in one transaction SQLite numbers new rowids max + 1, one after the other
            last = (await sess._fetch("SELECT last_insert_rowid()", ()))[0][0]
            first = last - len(group) + 1
            _row.fill_generated(group, [(k,) for k in range(first, last + 1)], plan.generated,
                                plan.loaders)
    _row.mark_written(group, sess)
    return True


async def _copy_insert(sess: "Session", info: Any, plan: _BulkPlan, present: tuple[int, ...],
                       group: list[TableBase]) -> bool:
    """COPY the rows (PostgreSQL); False where the key has no sequence to number them from."""
    indexes = present
    procs = plan.procs
    if plan.key_name is not None:
        keys = await sess._fetch(
            "SELECT nextval(pg_get_serial_sequence($1, $2)) FROM generate_series(1, $3)",
            [info.quoted, plan.key_name, len(group)])
        if not keys or keys[0][0] is None:
            return False
        _row.fill_generated(group, keys, plan.generated, plan.loaders)
        indexes = tuple(range(len(info.columns)))
        procs = tuple(c.type.bind_processor(sess.dialect.name) for c in info.columns)
    await sess._copy(info.name, plan.copy_columns, _row.write_params(group, indexes, procs, ()))
    return True


def _pk_condition(row: TableBase, stored: bool = True) -> Any:
    """The WHERE clause matching the row as the database has it (its old key, if changed),
    or, not ``stored``, by the key it holds now."""
    info = type(row).__table__
    conds = []
    for i in info.pk_indexes:
        value = _row.old_value(row, i) if stored else _row.column_value(row, i)
        if value is NO_VALUE or value is None:
            raise ArgumentError(f"{type(row).__name__} row has no primary key value")
        column = info.columns[i]
        conds.append(_compile.BinaryExpr("=", column, _compile.Param(value, column.type)))
    return conds[0] if len(conds) == 1 else _compile.BoolExpr("AND", conds)


def update_statement(dialect: Dialect, row: TableBase) -> tuple[str, list] | None:
    """The UPDATE of the columns of one row whose value changed since it was last written,
    or None where none did."""
    info = type(row).__table__
    for _, changed, _ in _row.group_by_changes([row]):
        values = row._values
        changes = [(info.columns[i], None if values[i] is NO_VALUE else values[i])
                   for i in changed]
        return _compile.compile_update(_compile.Compiler(dialect.name, dialect.numeric),
                                       info.quoted, changes, _pk_condition(row), None)
    return None


def delete_statement(dialect: Dialect, row: TableBase) -> tuple[str, list]:
    """The DELETE of one row, by the key the database has for it."""
    return _compile.compile_delete(_compile.Compiler(dialect.name, dialect.numeric),
                                   type(row).__table__.quoted, _pk_condition(row))


async def update(sess: "Session", row: TableBase) -> TableBase:
    """UPDATE the columns of one row whose value changed since it was last written. Its
    history stays: the caller marks it written once all its statements succeeded."""
    statement = update_statement(sess.dialect, row)
    if statement is not None and await sess._execute(*statement) == 0:
        raise StaleDataError(f"UPDATE of {row!r} matched no row")
    return row


async def update_many(sess: "Session", rows: list[TableBase]) -> None:
    """UPDATE the changed columns of many rows, one statement per table and set of changed
    columns (:func:`update_group`)."""
    groups = _row.group_by_changes(rows)
    for cls, changed, group in groups:
        await update_group(sess, cls, changed, group)
    for _, _, group in groups:
        _row.mark_written(group, sess)


async def update_group(sess: "Session", cls: type, changed: tuple[int, ...],
                       group: list[TableBase]) -> None:
    """UPDATE rows of ``cls`` whose changed columns are ``changed``: ``UPDATE ... FROM
    unnest(arrays)`` on PostgreSQL, ``UPDATE ... FROM (VALUES ...)`` on SQLite (executemany
    before SQLite 3.33). The rows keep their history: the caller marks them written once
    every statement succeeded, so a failure leaves nothing to put back."""
    if len(group) == 1:
        await update(sess, group[0])
        return
    dialect = sess.dialect
    info = cls.__table__
    key = (dialect.name, changed)
    plan = info.update_plans.get(key)
    if plan is None:
        plan = info.update_plans[key] = _update_plan(dialect, info, changed)
    sql, procs = plan
    if isinstance(sql, _Values):
        count = await sql.run(sess, group, changed, procs, info.pk_indexes)
    else:
        params = _row.write_params(group, changed, procs, info.pk_indexes)
        if dialect.numeric:
            count = await sess._execute(sql, list(zip(*params)))
        else:
            count = await sess._executemany(sql, params)
    if count != len(group):
        raise StaleDataError(f"UPDATE of {len(group)} {cls.__name__} rows matched {count}")


def _update_plan(dialect: Dialect, info: Any,
                 changed: tuple[int, ...]) -> tuple["str | _Values", tuple]:
    columns = [info.columns[i] for i in changed]
    keys = info.primary_key
    # the changed values, then the keys (the parameters write_params makes)
    procs = tuple(c.type.bind_processor(dialect.name) for c in columns + list(keys))
    q = _compile.quote
    if dialect.numeric:
        casts = [c.type.cast_sql(dialect.name) or "text" for c in columns + list(keys)]
        names = [f"c{n}" for n in range(len(columns))] + [f"k{n}" for n in range(len(keys))]
        arrays = ", ".join(f"${n}::{cast}[]" for n, cast in enumerate(casts, 1))
        sets = ", ".join(f"{q(c.name)} = v.{names[n]}" for n, c in enumerate(columns))
        where = " AND ".join(f"{info.quoted}.{q(k.name)} = v.k{n}" for n, k in enumerate(keys))
        sql = (f"UPDATE {info.quoted} SET {sets} FROM unnest({arrays}) "
               f"AS v({', '.join(names)}) WHERE {where}")
    elif dialect.update_from:
        # SQLite names the columns of a VALUES list column1, column2, ...
        sets = ", ".join(f"{q(c.name)} = v.column{n}" for n, c in enumerate(columns, 1))
        where = " AND ".join(f"{info.quoted}.{q(k.name)} = v.column{n}"
                             for n, k in enumerate(keys, len(columns) + 1))
        sql = _Values(f"UPDATE {info.quoted} SET {sets} FROM (VALUES ",
                      len(columns) + len(keys), f") AS v WHERE {where}", dialect.max_params,
                      UPDATE_ROWS)
    else:
        sets = ", ".join(f"{q(c.name)} = ?" for c in columns)
        where = " AND ".join(f"{q(k.name)} = ?" for k in keys)
        sql = f"UPDATE {info.quoted} SET {sets} WHERE {where}"
    return sql, procs


async def delete(sess: "Session", row: TableBase) -> TableBase:
    await _delete_one(sess, row)
    return row


async def delete_many(sess: "Session", rows: list[TableBase]) -> None:
    """DELETE rows of one table: one ``WHERE key IN (...)`` per chunk for a one-column key,
    one statement per row otherwise. A row already gone is stale, as for an UPDATE."""
    info = type(rows[0]).__table__
    if len(info.pk_indexes) != 1 or len(rows) == 1:
        for row in rows:
            if await _delete_one(sess, row) == 0:
                raise StaleDataError(f"DELETE of {row!r} matched no row")
        return
    d = sess.dialect
    column = info.primary_key[0]
    index = info.pk_indexes[0]
    per_stmt = min(MAX_ROWS, d.max_params)
    for start in range(0, len(rows), per_stmt):
        chunk = rows[start:start + per_stmt]
        keys = [_row.old_value(row, index) for row in chunk]
        sql, params = _compile.compile_delete(
            _compile.Compiler(d.name, d.numeric), info.quoted, column.in_(keys))
        count = await sess._execute(sql, params)
        if count != len(chunk):
            raise StaleDataError(f"DELETE of {len(chunk)} {type(rows[0]).__name__} rows "
                                 f"matched {count}")
        for row in chunk:
            row._state = _row.DELETED


async def _delete_one(sess: "Session", row: TableBase) -> int:
    count = await sess._execute(*delete_statement(sess.dialect, row))
    row._state = _row.DELETED
    return count


def _given(row: TableBase) -> Sequence[int]:
    """The columns set on a row: a new row with no history was given every column that
    holds a value (see ``_row._init_values``); otherwise those written."""
    if row._prior is None and row._state in (_row.TRANSIENT, _row.PENDING):
        return _row.present(row._values)
    return _row.written(row)


async def merge(sess: "Session", row: TableBase) -> TableBase:
    """Write a row by its primary key whether or not it exists: UPDATE of the columns that
    were set on it, or INSERT when there is no such row. Not ``INSERT ... ON CONFLICT``: both
    backends check NOT NULL before the conflict, so an upsert of only some columns fails."""
    info = type(row).__table__
    where = _pk_condition(row, stored=False)
    d = sess.dialect
    compiler = _compile.Compiler(d.name, d.numeric)
    sets = [(info.columns[i], row._values[i]) for i in _given(row)
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
