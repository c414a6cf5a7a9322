"""Query builders: ``sess.select(T)``, ``sess.insert.rows(...)``, ``sess.update(T)``,
``sess.delete(T)``. Builder methods change the query and return it, as in the original
asyncqlio; each query compiles to ``(sql, params)`` without I/O."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generator, Generic, TypeVar

from asyncqlio._speedups import _compile, _row
from asyncqlio.exc import ArgumentError, InvalidRequestError
from asyncqlio.orm.results import ResultGenerator
from asyncqlio.orm.schema import Column, TableBase

if TYPE_CHECKING:
    from asyncqlio.orm.session import Session

T = TypeVar("T", bound=TableBase)

Node = _compile.Node


def _table(table: Any) -> type:
    if not (isinstance(table, type) and issubclass(table, TableBase) and hasattr(table, "__table__")):
        raise ArgumentError(f"expected a table class, got {table!r}")
    return table


def _condition(cond: Any) -> Node:
    if not isinstance(cond, Node) or isinstance(cond, _compile.OrderExpr):
        raise ArgumentError(f"where() takes SQL conditions such as Table.col == 1, not {cond!r}")
    return cond


def _conjunction(conditions: list) -> Node | None:
    if not conditions:
        return None
    if len(conditions) == 1:
        return conditions[0]
    return _compile.BoolExpr("AND", conditions)


def _count(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{what} must not be negative, got {value}")
    return value


def _column_of(table: type, column: Any) -> Column:
    if isinstance(column, str):
        return table.get_column(column)
    if not isinstance(column, Column) or column.table is not table:
        raise ArgumentError(f"{column!r} is not a column of {table.__table__.name}")
    return column


class SelectQuery(Generic[T]):
    """``await sess.select(User).where(User.id > 1).order_by(User.id).limit(10)``"""

    def __init__(self, session: "Session") -> None:
        self.session = session
        self.table: type | None = None
        self.conditions: list[Node] = []
        self.orders: list[Node] = []
        self._limit: int | None = None
        self._offset: int | None = None
        self._for_update = False

    def __call__(self, table: type[T]) -> "SelectQuery[T]":
        return self.from_(table)

    def from_(self, table: type[T]) -> "SelectQuery[T]":
        self.table = _table(table)
        return self

    def where(self, *conditions: Any) -> "SelectQuery[T]":
        self.conditions.extend(_condition(c) for c in conditions)
        return self

    def order_by(self, *columns: Any) -> "SelectQuery[T]":
        """Columns or expressions, ``.desc()`` for descending; never SQL text."""
        for c in columns:
            if isinstance(c, _compile.OrderExpr):
                self.orders.append(c)
            elif isinstance(c, Node):
                self.orders.append(c.asc())
            else:
                raise ArgumentError(f"order_by() takes columns or col.asc()/col.desc(), not {c!r}")
        return self

    def limit(self, n: int | None) -> "SelectQuery[T]":
        self._limit = _count(n, "limit")
        return self

    def offset(self, n: int | None) -> "SelectQuery[T]":
        self._offset = _count(n, "offset")
        return self

    def for_update(self) -> "SelectQuery[T]":
        """``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite locks the whole database on write."""
        self._for_update = True
        return self

    def _from(self) -> type:
        if self.table is None:
            raise InvalidRequestError("select() needs a table: sess.select(Table)")
        return self.table

    def compile(self, limit: int | None = None) -> tuple[str, list]:
        table = self._from()
        info = table.__table__
        d = self.session.dialect
        return _compile.select_cached(
            _compile.Compiler(d.name, d.numeric), info.select_sql, info.quoted,
            _conjunction(self.conditions), self.orders,
            self._limit if limit is None else limit, self._offset, self._for_update)

    async def _rows(self, limit: int | None = None) -> list[T]:
        sql, params = self.compile(limit)
        records = await self.session._fetch(sql, params)
        table = self.table
        return _row.hydrate(table, records, table.__table__.loaders_for(self.session.dialect.name),
                            self.session)

    async def first(self) -> T | None:
        rows = await self._rows(limit=1 if self._limit is None else min(self._limit, 1))
        return rows[0] if rows else None

    async def all(self) -> ResultGenerator[T]:
        return ResultGenerator(await self._rows())

    async def count(self) -> int:
        """The number of rows the query would return (within its limit and offset)."""
        table = self._from()
        d = self.session.dialect
        compiler = _compile.Compiler(d.name, d.numeric)
        window = self._limit is not None or self._offset is not None
        sql, params = _compile.select_cached(
            compiler, "1" if window else "count(*)", table.__table__.quoted,
            _conjunction(self.conditions), None, self._limit, self._offset, False)
        if window:
            sql = f'SELECT count(*) FROM ({sql}) AS "counted"'
        rows = await self.session._fetch(sql, params)
        return rows[0][0]

    def __await__(self) -> Generator[Any, None, list[T]]:
        return self._rows().__await__()

    def __aiter__(self) -> Any:
        return _aiter_rows(self)


async def _aiter_rows(query: SelectQuery) -> Any:
    for row in await query._rows():
        yield row


def _columns(columns: tuple, what: str) -> tuple:
    """Conflict targets and overwritten columns are rendered by name, so they must be columns."""
    for c in columns:
        if not isinstance(c, Column) or c.table is None:
            raise ArgumentError(f"{what}() takes columns of a table, not {c!r}")
    return columns


class _OnConflict:
    def __init__(self, query: "InsertQuery", columns: tuple) -> None:
        self.query = query
        self.columns = columns

    def _target(self) -> str:
        if not self.columns:
            return ""
        return " (" + ", ".join(_compile.quote(c.name) for c in self.columns) + ")"

    def update(self, *columns: Column) -> "InsertQuery":
        if not self.columns:
            raise ArgumentError("on_conflict(...).update() needs the conflicting columns")
        if not columns:
            raise ArgumentError("update() needs the columns to overwrite")
        _columns(columns, "update")
        sets = ", ".join(f"{_compile.quote(c.name)} = excluded.{_compile.quote(c.name)}"
                         for c in columns)
        self.query.conflict_sql = f" ON CONFLICT{self._target()} DO UPDATE SET {sets}"
        return self.query

    def nothing(self) -> "InsertQuery":
        self.query.conflict_sql = f" ON CONFLICT{self._target()} DO NOTHING"
        return self.query


class InsertQuery:
    """``await sess.insert.rows(User(name="a"), User(name="b"))`` -> the rows, keys filled in."""

    def __init__(self, session: "Session") -> None:
        self.session = session
        self.rows_to_insert: list[TableBase] = []
        self.conflict_sql: str | None = None

    def rows(self, *rows: TableBase) -> "InsertQuery":
        for row in rows:
            self.add_row(row)
        return self

    def add_row(self, row: TableBase) -> "InsertQuery":
        if not isinstance(row, TableBase):
            raise ArgumentError(f"insert.rows() takes table rows, not {row!r}")
        self.rows_to_insert.append(row)
        return self

    def on_conflict(self, *columns: Column) -> _OnConflict:
        """``ON CONFLICT (columns)``, finished by ``.update(*cols)`` or ``.nothing()``."""
        return _OnConflict(self, _columns(columns, "on_conflict"))

    def compile(self) -> tuple[str, list]:
        from asyncqlio.orm import persistence
        statements = persistence.insert_statements(self.session.dialect, self.rows_to_insert,
                                                   self.conflict_sql)
        if len(statements) != 1:
            raise InvalidRequestError(f"these rows need {len(statements)} INSERT statements "
                                      "(different tables or sets of columns)")
        return statements[0][0], statements[0][1]

    async def run(self) -> list[TableBase]:
        return await self.session.run_insert_query(self)

    def __await__(self) -> Generator[Any, None, list[TableBase]]:
        return self.run().__await__()


class _BulkQuery:
    def __init__(self, session: "Session") -> None:
        self.session = session
        self.table_: type | None = None
        self.conditions: list[Node] = []

    def __call__(self, table: type) -> Any:
        return self.table(table)

    def table(self, table: type) -> Any:
        self.table_ = _table(table)
        return self

    def where(self, *conditions: Any) -> Any:
        self.conditions.extend(_condition(c) for c in conditions)
        return self

    def _target(self) -> type:
        if self.table_ is None:
            raise InvalidRequestError(f"{type(self).__name__} needs a table")
        return self.table_

    def _compiler(self) -> Any:
        d = self.session.dialect
        return _compile.Compiler(d.name, d.numeric)

    def __await__(self) -> Generator[Any, None, int]:
        return self.run().__await__()

    async def run(self) -> int:
        sql, params = self.compile()
        return await self.session._execute(sql, params)


class BulkUpdateQuery(_BulkQuery):
    """``await sess.update(User).set(User.score, User.score + 1).where(User.id > 10)``
    -> number of rows updated."""

    def __init__(self, session: "Session") -> None:
        super().__init__(session)
        self.assignments: list[tuple[Column, Any]] = []

    def set(self, column: Column | str, value: Any) -> "BulkUpdateQuery":
        self.assignments.append((_column_of(self._target(), column), value))
        return self

    def compile(self) -> tuple[str, list]:
        table = self._target()
        if not self.assignments:
            raise InvalidRequestError("update() needs at least one set(column, value)")
        return _compile.compile_update(self._compiler(), table.__table__.quoted,
                                       self.assignments, _conjunction(self.conditions), None)


class BulkDeleteQuery(_BulkQuery):
    """``await sess.delete(User).where(User.id == 1)`` -> number of rows deleted."""

    def compile(self) -> tuple[str, list]:
        table = self._target()
        return _compile.compile_delete(self._compiler(), table.__table__.quoted,
                                       _conjunction(self.conditions))
