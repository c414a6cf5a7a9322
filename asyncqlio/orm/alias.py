"""Table aliases: ``Manager = aliased(Employee, "m")`` is the employee table under another
name, so one query can use a table twice (self-joins, a table joined on two foreign keys).

An alias is only SQL text: ``"employee" AS "m"`` where it is listed, ``"m"."name"`` for its
columns. Those strings are what the compiler's shape cache keys on, so two aliases never
share cached SQL and the compiler needs nothing of its own for them.
"""
from __future__ import annotations

import hashlib
import itertools
from typing import Any

from asyncqlio._speedups import _compile
from asyncqlio.exc import ArgumentError

#: numbers the aliases made without a name (``employee_1``, ``employee_2``, ...)
_anonymous = itertools.count(1)

#: PostgreSQL cuts identifiers at 63 bytes; a longer generated name is shortened with a hash
_MAX_NAME = 63


class AliasedColumn(_compile.ColumnNode):
    """A column of a table alias: ``"m"."name"`` in SQL. In result rows it is keyed
    ``<alias>_<attribute>`` (``m_name``), so it never clashes with the table's own column."""

    def __init__(self, alias: "AliasedTable", column: Any, quoted_alias: str, name: str) -> None:
        super().__init__(column.name, column.type)
        self.sql = quoted_alias + "." + _compile.quote(column.name)
        self.table_name = name
        self.attr_name = column.attr_name
        self.key = name + "_" + column.attr_name
        #: the table's own Column, and the alias this one belongs to
        self.column = column
        self.alias = alias

    def __repr__(self) -> str:
        return f"<AliasedColumn {self.table_name}.{self.name}>"


class AliasInfo:
    """What the query builder needs of an alias, kept apart from the alias object so no
    column attribute name can hide it."""

    __slots__ = ("table", "name", "quoted", "from_sql", "select_sql", "columns")

    def __init__(self, table: type, name: str) -> None:
        info = table.__table__
        self.table = table
        self.name = name
        self.quoted = quote_alias(name)
        #: ``"employee" AS "m"``: the alias in FROM and JOIN (one string object, compared
        #: by identity when the query works out its implied FROM)
        self.from_sql = info.quoted + " AS " + self.quoted
        self.columns: dict[str, AliasedColumn] = {}
        self.select_sql = ""


class AliasedTable:
    """A table under another name (see :func:`aliased`): its columns are attributes, as on
    the table class (``Manager.name``); ``sess.select(Manager)`` gives rows of the table,
    the same objects the session holds for those keys."""

    def __init__(self, table: Any, name: Any) -> None:
        if isinstance(table, str):  # the original asyncqlio's AliasedTable(name, table)
            table, name = name, table
        alias = AliasInfo(table, name)
        self.__dict__["__alias__"] = alias
        for column in table.__table__.columns:
            col = AliasedColumn(self, column, alias.quoted, name)
            alias.columns[column.attr_name] = col
            self.__dict__[column.attr_name] = col
        alias.select_sql = ", ".join(c.sql for c in alias.columns.values())

    def __getattr__(self, name: str) -> Any:
        alias = self.__dict__.get("__alias__")
        if alias is None or name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(f"alias {alias.name!r} of {alias.table.__name__} has no column "
                             f"{name!r} (an alias has the table's columns, not its "
                             "relationships)")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("an alias cannot be changed; make another with aliased()")

    def __repr__(self) -> str:
        alias = self.__dict__["__alias__"]
        return f"<aliased {alias.table.__name__} AS {alias.name!r}>"


def quote_alias(name: Any) -> str:
    """The quoted alias name, or ArgumentError saying why it cannot be one."""
    if not isinstance(name, str):
        raise ArgumentError(f"an alias name is a string, not {name!r}")
    try:
        return _compile.quote(name)
    except ValueError as e:
        raise ArgumentError(f"invalid alias name: {e}") from None


def aliased(table: Any, name: str | None = None) -> AliasedTable:
    """``Manager = aliased(Employee, "m")``: the table under another name, for using it twice
    in one query (``join(Manager, Employee.manager_id == Manager.id)``). Without a name it
    is ``<table>_<n>``, a new name each call: name aliases made per query, so their SQL is
    compiled once. ``aliased(alias)`` makes another alias of the same table."""
    if isinstance(table, AliasedTable):
        table = table.__alias__.table
    if not (isinstance(table, type) and hasattr(table, "__table__")):
        raise ArgumentError(f"aliased() takes a table class, not {table!r}")
    if name is None:
        name = generated_name(f"{table.__table__.name}_{next(_anonymous)}")
    return AliasedTable(table, name)


def generated_name(name: str) -> str:
    """``name``, or a shortened one ending in a hash of it where PostgreSQL would cut it."""
    raw = name.encode()
    if len(raw) <= _MAX_NAME:
        return name
    return raw[:52].decode(errors="ignore") + "_" + hashlib.sha1(raw).hexdigest()[:10]


def model_of(entity: Any) -> type:
    """The table class of a table or an alias."""
    if isinstance(entity, AliasedTable):
        return entity.__alias__.table
    return entity


def column_of(entity: Any, column: Any) -> Any:
    """``column`` (of the entity's table) as the entity refers to it."""
    if isinstance(entity, AliasedTable):
        return entity.__alias__.columns[column.attr_name]
    return column


def adapt(node: Any, entity: Any) -> Any:
    """``node`` with the columns of the entity's table referring to the entity instead
    (a relationship's ``order_by`` used on an aliased join)."""
    if not isinstance(entity, AliasedTable):
        return node
    table = entity.__alias__.table
    if isinstance(node, _compile.ColumnNode):
        # a table's Column (an alias's or a subquery's column has no ``table``)
        if getattr(node, "table", None) is table:
            return column_of(entity, node)
        return node
    if isinstance(node, _compile.OrderExpr):
        return _compile.OrderExpr(adapt(node.item, entity), node.desc)
    if isinstance(node, _compile.FuncExpr):
        return _compile.FuncExpr(node.name, [adapt(a, entity) for a in node.args], node.type)
    if isinstance(node, _compile.BinaryExpr):
        return _compile.BinaryExpr(node.op, adapt(node.left, entity), adapt(node.right, entity),
                                   node.type)
    if isinstance(node, _compile.Label):
        return _compile.Label(adapt(node.item, entity), node.name)
    return node
