"""The writing query builders: ``sess.insert.rows(...)`` (:class:`InsertQuery`, and
:class:`UpsertQuery` for ``on_conflict``), ``sess.update(T)`` and ``sess.delete(T)``
(:class:`BulkUpdateQuery`, :class:`BulkDeleteQuery`), and the row queries of the session's
``update_now``/``delete_now``. Found under the original asyncqlio's names in
:mod:`asyncqlio.orm.query` too."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generator

from asyncqlio._speedups import _compile, _row
from asyncqlio.exc import ArgumentError, InvalidRequestError
from asyncqlio.orm import operators, persistence
from asyncqlio.orm.expressions import (BaseQuery, column_named, condition, conjunction, holds,
                                       table_class, table_columns)
from asyncqlio.orm.results import Result, row_class, table_rows
from asyncqlio.orm.schema import Column, TableBase
from asyncqlio.orm.unit_of_work import identity_key
from asyncqlio.sentinels import NO_VALUE

if TYPE_CHECKING:
    from asyncqlio.orm.session import Session

Node = _compile.Node


class InsertQuery(BaseQuery):
    """``await sess.insert.rows(User(name="a"), User(name="b"))`` -> the rows, keys filled in."""

    #: `` ON CONFLICT ...`` (an UpsertQuery's), or None
    conflict_sql: str | None = None

    def __init__(self, session: "Session") -> None:
        self.session = session
        self.rows_to_insert: list[TableBase] = []
        self._returning: tuple | None = None

    def rows(self, *rows: TableBase) -> "InsertQuery":
        for row in rows:
            self.add_row(row)
        return self

    def add_row(self, row: TableBase) -> "InsertQuery":
        if not isinstance(row, TableBase):
            raise ArgumentError(f"insert.rows() takes table rows, not {row!r}")
        self.rows_to_insert.append(row)
        return self

    def on_conflict(self, *columns: Column) -> "UpsertQuery":
        """``ON CONFLICT (columns)``: an :class:`UpsertQuery` of these rows, finished by
        ``.update(*cols)`` or ``.nothing()`` (the default)."""
        return UpsertQuery(self.session, *columns, rows=self.rows_to_insert)

    def generate_sql(self) -> list[tuple[str, list]]:
        """The statements the rows are inserted with (one per table and set of columns)."""
        return [(sql, params) for sql, params, _ in persistence.insert_statements(
            self.session.dialect, self.rows_to_insert, self.conflict_sql)]

    def compile(self) -> tuple[str, list]:
        statements = persistence.insert_statements(self.session.dialect, self.rows_to_insert,
                                                   self.conflict_sql)
        if len(statements) != 1:
            raise InvalidRequestError(f"these rows need {len(statements)} INSERT statements "
                                      "(different tables or sets of columns)")
        return statements[0][0], statements[0][1]

    async def _execute_on_connection(self, conn: Any) -> Any:
        """What ``conn.execute(query)`` below the session gives: a Result with
        ``rowcount``, no rows (the session fills in the rows' keys; a connection does not)."""
        sql, params = self.compile()
        return Result([], [], await conn.connection.execute(sql, params), returns_rows=False)

    def returning(self, *entities: Any) -> "InsertQuery":
        """Awaiting gives :class:`Row` tuples of these columns for the rows inserted (with
        ``on_conflict(...).nothing()``, only those really inserted); ``returning(Table)``
        gives the rows. Without it the rows come back too, keys filled in."""
        if not entities:
            raise ArgumentError("returning() needs the table or some of its columns")
        if len(entities) == 1 and isinstance(entities[0], type):
            self._returning = (table_class(entities[0]),)
        else:
            for c in entities:
                if not isinstance(c, Column) or c.table is None:
                    raise ArgumentError(f"returning() takes columns of a table, not {c!r}")
            self._returning = entities
        return self

    async def run(self) -> list[Any]:
        if self._returning is None:
            return await self.session.run_insert_query(self)
        return await self._run_returning()

    async def _run_returning(self) -> list[Any]:
        first = self._returning[0]
        table = first if isinstance(first, type) else first.table
        for row in self.rows_to_insert:
            if type(row) is not table:
                raise InvalidRequestError(f"returning() of {table.__name__} needs rows of "
                                          f"{table.__name__} only, not {row!r}")
        # the usual insert already reads back every column the database sets; a row
        # skipped by ON CONFLICT DO NOTHING is left unwritten, one an upsert wrote over a
        # row the session holds gives that object (which took the stored values)
        sess = self.session
        await sess._autoflush()
        rows = await sess.run_insert_query(self)
        objects = [r if r._state == _row.PERSISTENT else sess.identity_map.get(identity_key(r))
                   for r in rows if r._state in (_row.PERSISTENT, _row.DETACHED)]
        if isinstance(first, type):
            return objects
        cls = row_class(tuple(c.attr_name for c in self._returning))
        return [cls([getattr(o, c.attr_name) for c in self._returning]) for o in objects]

    async def _result(self) -> Any:
        """What ``sess.execute(query)`` gives: a Result whose ``rowcount`` is the rows
        inserted, holding them when ``returning()`` was used."""
        if self._returning is None:
            rows = await self.run()
            count = sum(1 for r in rows if r._state == _row.PERSISTENT)
            return _cursor_result(None, None, count, None)
        rows = await self._run_returning()
        first = self._returning[0]
        if isinstance(first, type):
            return _cursor_result(first, (), len(rows), rows)
        return _cursor_result(first.table, self._returning, len(rows), rows)

    def __await__(self) -> Generator[Any, None, list[Any]]:
        return self.run().__await__()


class UpsertQuery(InsertQuery):
    """``INSERT ... ON CONFLICT (columns)``: ``.update(*cols)`` overwrites those columns of
    the row already there with the new row's values, ``.nothing()`` (the default) leaves it.
    On both backends (SQLite from 3.24)."""

    def __init__(self, session: "Session", *columns: Column, rows: Any = ()) -> None:
        super().__init__(session)
        self._conflict_cols = list(table_columns(columns, "on_conflict"))
        self._update_cols: list[Column] = []
        self.rows_to_insert = list(rows)

    def on_conflict(self, *columns: Column) -> "UpsertQuery":  # type: ignore[override]
        """More columns of the conflict target."""
        self._conflict_cols.extend(table_columns(columns, "on_conflict"))
        return self

    def update(self, *columns: Column) -> "UpsertQuery":
        if not self._conflict_cols:
            raise ArgumentError("on_conflict(...).update() needs the conflicting columns")
        if not columns:
            raise ArgumentError("update() needs the columns to overwrite")
        self._update_cols.extend(table_columns(columns, "update"))
        return self

    def nothing(self) -> "UpsertQuery":
        self._update_cols = []
        return self

    @property  # type: ignore[override]
    def conflict_sql(self) -> str:
        cols = self._conflict_cols
        target = " (" + ", ".join(_compile.quote(c.name) for c in cols) + ")" if cols else ""
        if not self._update_cols:
            return f" ON CONFLICT{target} DO NOTHING"
        sets = ", ".join(f"{_compile.quote(c.name)} = excluded.{_compile.quote(c.name)}"
                         for c in self._update_cols)
        return f" ON CONFLICT{target} DO UPDATE SET {sets}"


class BulkQuery(BaseQuery):
    """What ``sess.update(T)`` and ``sess.delete(T)`` share. Running one keeps the session's
    objects of ``T`` in step with the database (SQLAlchemy's ``synchronize_session="fetch"``):
    when the identity map holds objects of ``T`` the statement returns the keys (and the set
    columns) of the rows it touched, so the session updates or deletes exactly those."""

    #: a DELETE marks the session's objects deleted; an UPDATE loads the set columns
    _deletes = False
    #: keep the session's objects in step (``execution_options(synchronize_session=False)``
    #: of a statement built by ``update()``/``delete()`` leaves them)
    _synchronize = True

    def __init__(self, session: "Session") -> None:
        self.session = session
        self.table_: type | None = None
        self.conditions: list[Node] = []
        self._returning: tuple | None = None

    def __call__(self, table: type) -> Any:
        return self.table(table)

    def table(self, table: type) -> Any:
        self.table_ = table_class(table)
        return self

    set_table = table

    def where(self, *conditions: Any) -> Any:
        self.conditions.extend(condition(c) for c in conditions)
        return self

    def add_condition(self, condition: Any) -> Any:
        return self.where(condition)

    def generate_sql(self) -> tuple[str, list]:
        """The original asyncqlio's name for :meth:`compile`."""
        return self.compile()

    async def _execute_on_connection(self, conn: Any) -> Any:
        """What ``conn.execute(query)`` below the session gives: a Result with
        ``rowcount``, and with ``returning()`` the rows as ``Row`` tuples."""
        sql, params = self.compile()
        if self._returning is None:
            return Result([], [], await conn.connection.execute(sql, params),
                          returns_rows=False)
        records = await conn.connection.fetch(sql, params)
        if self._returning == ():
            return Result(*table_rows(self._target(), conn.db.dialect.name, records))
        q = self.session.select(*self._returning)
        return Result(q._tuples(records), [c.attr_name for c in self._returning])

    def returning(self, *entities: Any) -> Any:
        """``RETURNING``: awaiting gives the changed rows instead of their number: the
        session's objects for ``returning(Table)``, :class:`Row` tuples for
        ``returning(cols...)``. (PostgreSQL, and SQLite from 3.35.)"""
        table = self._target()
        if not entities:
            raise ArgumentError("returning() needs the table or some of its columns")
        if len(entities) == 1 and entities[0] is table:
            self._returning = ()
        else:
            self._returning = tuple(column_named(table, c) for c in entities)
        return self

    def _returning_sql(self) -> str | None:
        if self._returning is None:
            return None
        return _returning_list(self._fetched(False))

    def _target(self) -> type:
        if self.table_ is None:
            raise InvalidRequestError(f"{type(self).__name__} needs a table")
        return self.table_

    def _compiler(self) -> Any:
        d = self.session.dialect
        return _compile.Compiler(d.name, d.numeric)

    def compile(self) -> tuple[str, list]:
        """The statement as built (the RETURNING a run adds to keep the session's objects
        in step depends on what the session holds then)."""
        return self._compile(self._returning_sql())

    def _compile(self, returning_sql: str | None) -> tuple[str, list]:
        raise NotImplementedError

    def _synced(self) -> list[Column]:
        """The columns an UPDATE sets (returned, so the session's objects take them)."""
        return []

    def _fetched(self, sync: bool) -> list[Column]:
        """The columns RETURNING lists: what ``returning()`` asked for (every column for
        ``returning(Table)``), and with ``sync`` the key and set columns too."""
        table = self._target()
        if self._returning == ():
            return list(table.__table__.columns)
        out = list(self._returning or ())
        if sync:
            for c in (*table.__table__.primary_key, *self._synced()):
                if not holds(out, c):
                    out.append(c)
        return out

    def __await__(self) -> Generator[Any, None, Any]:
        return self.run().__await__()

    async def run(self) -> Any:
        """The number of rows changed; with ``returning()``, the rows it gives."""
        count, rows = await self._run()
        return count if rows is None else rows

    async def _run(self) -> tuple[int, list | None]:
        """Autoflush, run, and bring the session's objects in step: ``(rows matched, the
        objects or Rows asked for by returning(), or None)``."""
        sess = self.session
        await sess._autoflush()
        table = self._target()
        info = table.__table__
        sync = self._synchronize and bool(info.pk_indexes) and sess.identity_map.holds(table)
        if self._returning is None and not sync:
            sql, params = self.compile()
            return await sess._execute(sql, params), None
        rekeyed = await self._old_keys() if sync else None
        fetched = self._fetched(sync)
        sql, params = self._compile(_returning_list(fetched))
        records = await sess._fetch(sql, params)
        if rekeyed:  # first, so no object is found by a key another row moved to
            sess._bulk_rekeyed(table, rekeyed)
        objects = sess._bulk_sync(table, fetched, records, self._refreshed(), self._deletes,
                                  sync, self._returning == ())
        if self._returning is None:
            return len(records), None
        if objects is not None:
            return len(records), objects
        n = len(self._returning)
        if len(fetched) > n:
            records = [r[:n] for r in records]
        q = sess.select(*self._returning)
        return len(records), q._tuples(records)

    def _refreshed(self) -> list[Column]:
        """The columns whose returned values the session's objects take."""
        return self._synced()

    async def _old_keys(self) -> list | None:
        """Before an UPDATE of a primary key column: the keys of the rows it will change
        (their objects cannot be found by the new keys RETURNING gives)."""
        return None

    async def _result(self) -> Any:
        """What ``sess.execute(query)`` gives: a :class:`Result` with ``rowcount``, and the
        returned rows when ``returning()`` was used."""
        count, rows = await self._run()
        return _cursor_result(self._target(), self._returning, count, rows)


def _returning_list(columns: list[Column]) -> str:
    return ", ".join(_compile.quote(c.name) for c in columns)


def _cursor_result(table: type | None, returning: tuple | None, count: int, rows: list | None) -> Any:
    """A Result like SQLAlchemy's CursorResult: no rows without ``returning()``; one-element
    rows of objects keyed by the class name for ``returning(Table)``; else Rows."""
    if returning is None:
        return Result([], [], count, returns_rows=False)
    if returning == ():
        return Result(rows, [table.__name__], count, wrap=row_class((table.__name__,)))
    return Result(rows, [c.attr_name for c in returning], count)


class BulkUpdateQuery(BulkQuery):
    """``await sess.update(User).set(User.score, User.score + 1).where(User.id > 10)``
    -> number of rows updated; the session's objects of those rows take the new values."""

    def __init__(self, session: "Session") -> None:
        super().__init__(session)
        self.assignments: list[tuple[Column, Any]] = []

    def set(self, setter: Any, value: Any = NO_VALUE) -> "BulkUpdateQuery":
        """``set(User.score, 0)``, ``set(User.score, User.score + 1)``; or one setter as the
        original asyncqlio wrote them: ``set(User.score + 1)``, ``set(User.score.set(0))``,
        ``set(User.score.incr(1))``."""
        if value is NO_VALUE:
            return self.set_update(setter)
        self.assignments.append((column_named(self._target(), setter), value))
        return self

    def set_update(self, update: Any) -> "BulkUpdateQuery":
        """One assignment from a setter, or from ``column + value`` / ``column - value``."""
        if isinstance(update, operators.BasicSetter):
            column, value = update.assignment()
        elif (isinstance(update, _compile.BinaryExpr) and update.op in ("+", "-", "||")
              and isinstance(update.left, Column)):
            column, value = update.left, update
        else:
            raise ArgumentError(f"set() takes a column and a value, or a setter such as "
                                f"col.set(v), col.incr(v) or col + v, not {update!r}")
        self.assignments.append((column_named(self._target(), column), value))
        return self

    def _synced(self) -> list[Column]:
        out: list[Column] = []
        for column, _ in self.assignments:
            if not holds(out, column):
                out.append(column)
        return out

    def _refreshed(self) -> list[Column]:
        if self._returning == ():
            return list(self._target().__table__.columns)
        return self._synced()

    async def _old_keys(self) -> list | None:
        info = self._target().__table__
        if not any(holds(info.primary_key, c) for c, _ in self.assignments):
            return None
        q = self.session.select(*info.primary_key).where(*self.conditions)
        return [tuple(r) for r in await q._rows()]

    def _compile(self, returning_sql: str | None) -> tuple[str, list]:
        table = self._target()
        if not self.assignments:
            raise InvalidRequestError("update() needs at least one set(column, value)")
        return _compile.compile_update(self._compiler(), table.__table__.quoted,
                                       self.assignments, conjunction(self.conditions),
                                       returning_sql)


class BulkDeleteQuery(BulkQuery):
    """``await sess.delete(User).where(User.id == 1)`` -> number of rows deleted; the
    session's objects of those rows are marked deleted. ``sess.delete(row)`` (a row, not a
    table) marks that row for deletion at the next flush instead (await it to DELETE now)."""

    _deletes = True

    def __call__(self, target: Any) -> Any:
        if isinstance(target, TableBase):
            return self.session._delete_row(target)
        return self.table(target)

    def _refreshed(self) -> list[Column]:
        return list(self._target().__table__.columns) if self._returning == () else []

    def _compile(self, returning_sql: str | None) -> tuple[str, list]:
        table = self._target()
        sql, params = _compile.compile_delete(self._compiler(), table.__table__.quoted,
                                              conjunction(self.conditions))
        if returning_sql is not None:
            sql += " RETURNING " + returning_sql
        return sql, params


class RowUpdateQuery(BaseQuery):
    """UPDATEs of given rows, each of the columns it changed (``sess.update_now(row)``)."""

    def __init__(self, session: "Session") -> None:
        super().__init__(session)
        self.rows_to_update: list[TableBase] = []

    def rows(self, *rows: TableBase) -> "RowUpdateQuery":
        for row in rows:
            self.add_row(row)
        return self

    def add_row(self, row: TableBase) -> "RowUpdateQuery":
        self.rows_to_update.append(row)
        return self

    def generate_sql(self) -> list[tuple[str, list]]:
        """An UPDATE per row that has changed columns."""
        dialect = self.session.dialect
        return [s for s in (persistence.update_statement(dialect, r) for r in self.rows_to_update)
                if s is not None]

    async def run(self) -> list[TableBase]:
        return [await self.session.update_now(row) for row in self.rows_to_update]

    def __await__(self) -> Generator[Any, None, list[TableBase]]:
        return self.run().__await__()


class RowDeleteQuery(BaseQuery):
    """DELETEs of given rows, by primary key (``sess.delete_now(row)``)."""

    def __init__(self, session: "Session") -> None:
        super().__init__(session)
        self.rows_to_delete: list[TableBase] = []

    def rows(self, *rows: TableBase) -> "RowDeleteQuery":
        for row in rows:
            self.add_row(row)
        return self

    def add_row(self, row: TableBase) -> "RowDeleteQuery":
        self.rows_to_delete.append(row)
        return self

    def generate_sql(self) -> list[tuple[str, list]]:
        dialect = self.session.dialect
        return [persistence.delete_statement(dialect, r) for r in self.rows_to_delete]

    async def run(self) -> list[TableBase]:
        return [await self.session.delete_now(row) for row in self.rows_to_delete]

    def __await__(self) -> Generator[Any, None, list[TableBase]]:
        return self.run().__await__()
