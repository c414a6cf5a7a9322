"""The pieces query builders put together: their base class, table and condition checks,
SQL functions (``func.count()``), ``exists()``, subqueries in FROM, the key a selected
expression is read by, and the FROM and JOIN a query's columns imply."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

from asyncqlio._speedups import _compile
from asyncqlio.exc import ArgumentError, SchemaError
from asyncqlio.orm.alias import AliasedColumn, AliasedTable, column_of, model_of
from asyncqlio.orm.schema import Column, Relationship, Table

if TYPE_CHECKING:
    from asyncqlio.orm.session import Session

Node = _compile.Node


class BaseQuery:
    """What every query has: the session it runs in, ``compile()`` (``generate_sql()``) and
    ``await query.run()``."""

    def __init__(self, session: "Session") -> None:
        self.session = session

    def generate_sql(self) -> Any:
        raise NotImplementedError

    async def run(self) -> Any:
        raise NotImplementedError


def table_class(table: Any) -> type:
    if not (isinstance(table, type) and issubclass(table, Table) and hasattr(table, "__table__")):
        raise ArgumentError(f"expected a table class, got {table!r}")
    return table


def condition(cond: Any) -> Node:
    if not isinstance(cond, Node) or isinstance(cond, _compile.OrderExpr):
        raise ArgumentError(f"where() takes SQL conditions such as Table.col == 1, not {cond!r}")
    return cond


def conjunction(conditions: list) -> Node | None:
    if not conditions:
        return None
    if len(conditions) == 1:
        return conditions[0]
    return _compile.BoolExpr("AND", conditions)


def row_count(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{what} must not be negative, got {value}")
    return value


def column_named(table: type, column: Any) -> Column:
    """A column of ``table``, given as itself or by name."""
    if isinstance(column, str):
        found = table.get_column(column)
        if found is None:
            raise SchemaError(f"table {table.__table__.name!r} has no column {column!r}")
        return found
    if not isinstance(column, Column) or column.table is not table:
        raise ArgumentError(f"{column!r} is not a column of {table.__table__.name}")
    return column


class _Func:
    """``func.count()`` (``count(*)``), ``func.sum(User.score)``, ``func.lower(User.name)``:
    any SQL function by name. Plain values among the arguments are bound parameters."""

    #: functions whose result has the type of their first argument (so its values load
    #: the way the column's do: bool on SQLite, Decimal for Numeric, ...)
    SAME_TYPE = frozenset(("min", "max", "sum", "coalesce", "lower", "upper", "trim", "abs"))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)

        def call(*args: Any, type: Any = None) -> Any:
            if name.lower() == "count" and not args:
                args = (_compile.Star(),)
            if type is None and args and name.lower() in self.SAME_TYPE:
                type = getattr(args[0], "type", None)
            return _compile.FuncExpr(name, args, type)

        call.__name__ = name
        return call


func = _Func()


def exists(query: Any) -> Node:
    """``EXISTS (subquery)`` as a condition: ``where(exists(sess.select(...).where(...)))``."""
    return _compile.ExistsExpr(select_node(query))


def select_node(query: Any) -> Any:
    if isinstance(query, _compile.Select):
        return query
    clause = getattr(query, "__clause__", None)
    if clause is None:
        raise ArgumentError(f"expected a select query, not {query!r}")
    return clause()


class AliasColumn(_compile.ColumnNode):
    """A column of a subquery in FROM: ``sub.c.name``."""

    def __init__(self, alias: "Subquery", name: str, type: Any) -> None:
        super().__init__(name, type)
        self.sql = alias.sql + "." + _compile.quote(name)
        self.alias = alias

    def __repr__(self) -> str:
        return f"<AliasColumn {self.alias.name}.{self.name}>"


class _ColumnsOf:
    """``sub.c``: the columns of a subquery, by attribute or by key."""

    def __init__(self, columns: dict[str, AliasColumn]) -> None:
        self.__dict__.update(columns)

    def __getitem__(self, name: str) -> AliasColumn:
        return self.__dict__[name]

    def __iter__(self) -> Iterator[AliasColumn]:
        return iter(self.__dict__.values())


class Subquery(_compile.Alias):
    """A select used in FROM (``query.subquery("name")``); its columns are ``.c.<key>``."""

    def __init__(self, select: Any, name: str, keys: list[tuple[str, Any]]) -> None:
        super().__init__(select, name)
        self.c = _ColumnsOf({k: AliasColumn(self, k, t) for k, t in keys})


def entity_key(entity: Any, i: int) -> str:
    if isinstance(entity, type):
        return entity.__name__
    if isinstance(entity, AliasedTable):
        return entity.__alias__.name
    if isinstance(entity, _compile.Label):
        return entity.name
    if isinstance(entity, Column):
        return entity.attr_name or entity.name
    if isinstance(entity, AliasedColumn):
        return entity.key
    if isinstance(entity, _compile.ColumnNode):
        return entity.name
    if isinstance(entity, _compile.FuncExpr):
        return entity.name.lower()
    return f"expr_{i}"


def sources_of(node: Any, out: list) -> None:
    """The tables and subqueries the columns in ``node`` come from, for an implied FROM."""
    if isinstance(node, type) or isinstance(node, AliasedTable):
        if not holds(out, node):
            out.append(node)
    elif isinstance(node, Column):
        if node.table is not None and not holds(out, node.table):
            out.append(node.table)
    elif isinstance(node, (AliasColumn, AliasedColumn)):
        if not holds(out, node.alias):
            out.append(node.alias)
    elif isinstance(node, (_compile.Label, _compile.OrderExpr)):
        sources_of(node.item, out)
    elif isinstance(node, _compile.FuncExpr):
        for arg in node.args:
            sources_of(arg, out)
    elif isinstance(node, _compile.BinaryExpr):
        sources_of(node.left, out)
        sources_of(node.right, out)


def holds(items: list, item: Any) -> bool:
    """``item in items`` by identity (``==`` on SQL nodes builds an expression)."""
    return any(x is item for x in items)


def from_item(source: Any) -> Any:
    """What FROM or JOIN lists for a source: a table's quoted name, an alias's
    ``"table" AS "name"`` (both strings kept on the table or alias, so the same object each
    time), or a subquery node."""
    if isinstance(source, type):
        return source.__table__.quoted
    if isinstance(source, AliasedTable):
        return source.__alias__.from_sql
    return source


def join_on(sources: list, target: Any) -> Node:
    """The condition joining ``target`` (a table or an alias) to a table or alias already in
    the query, from a foreign key. A table joined to itself needs ``on``: the one foreign
    key could be read either way round."""
    model = model_of(target)
    itself = False
    for source in sources:
        if isinstance(source, _compile.Alias):
            continue  # a subquery has no foreign keys
        other = model_of(source)
        if other is model:
            itself = True
            continue
        for a, b in ((target, source), (source, target)):
            for column in model_of(a).__table__.columns:
                fk = column.foreign_key
                if fk is not None:
                    referenced = fk.resolve()
                    if referenced.table is model_of(b):
                        return column_of(a, column) == column_of(b, referenced)
    name = model.__table__.name
    if itself:
        raise ArgumentError(f"joining {name} to itself needs the condition, e.g. "
                            "join(Manager, on=Employee.manager_id == Manager.id)")
    raise ArgumentError(f"no foreign key joins {name} to this query; "
                        "give the condition: join(Table, on=...)")


def relationship_join(target: Any, onclause: Any) -> tuple[Any, Any]:
    """``join(User.addresses)`` and ``join(Address, User.addresses)``: the target and the
    condition a relationship gives."""
    rel = onclause if isinstance(onclause, Relationship) else None
    if isinstance(target, Relationship):
        rel, target = target, None
    if rel is None:
        return target, onclause
    rel.resolve()
    if target is None:
        target = rel.related
    return target, rel.local == column_of(target, rel.remote)


def labelled(entity: Any, i: int) -> Any:
    """A selected expression named by its key, so a query around this one can refer to it."""
    if isinstance(entity, _compile.Label):
        return entity
    key = entity_key(entity, i)
    if isinstance(entity, _compile.ColumnNode) and entity.name == key:
        return entity
    return _compile.Label(entity, key)


def table_columns(columns: tuple, what: str) -> tuple:
    """Conflict targets and overwritten columns are rendered by name, so they must be columns."""
    for c in columns:
        if not isinstance(c, Column) or c.table is None:
            raise ArgumentError(f"{what}() takes columns of a table, not {c!r}")
    return columns


