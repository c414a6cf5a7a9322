"""``INSERT ... ON CONFLICT``, as PostgreSQL and SQLite write it and SQLAlchemy builds it:
``insert(User).values(...).on_conflict_do_update(index_elements=[User.email],
set_={"name": stmt.excluded.name})`` or ``.on_conflict_do_nothing()``."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from asyncqlio._speedups import _compile
from asyncqlio.exc import ArgumentError
from asyncqlio.orm.expressions import condition
from asyncqlio.orm.schema import Column
from asyncqlio.orm.statements import Insert, mapping_column


class ExcludedColumn(_compile.ColumnNode):
    """A column of the row an upsert tried to insert: ``excluded."name"``."""

    def __init__(self, column: Column) -> None:
        super().__init__(column.name, column.type)
        self.sql = "excluded." + _compile.quote(column.name)
        self.attr_name = column.attr_name

    def __repr__(self) -> str:
        return f"<excluded {self.name}>"


class Excluded:
    """``stmt.excluded``: the columns of the row proposed for insertion, by attribute name
    or by column name (SQLAlchemy's keys)."""

    def __init__(self, table: type) -> None:
        columns = [ExcludedColumn(c) for c in table.__table__.columns]
        self.__dict__["__columns__"] = columns
        self.__dict__.update((c.name, c) for c in columns)
        self.__dict__.update((c.attr_name, c) for c in columns)

    def __getitem__(self, name: str) -> ExcludedColumn:
        return self.__dict__[name]

    def __iter__(self) -> Any:
        return iter(self.__dict__["__columns__"])


class OnConflict:
    """The clause, written after the rows' values so its own values are bound after
    theirs (``write(compiler)``, called by the insert's compilation)."""

    __slots__ = ("target", "index_where", "assignments", "where")

    def __init__(self, target: str, index_where: Any, assignments: list | None,
                 where: Any) -> None:
        self.target = target
        self.index_where = index_where
        #: ``(column, value)`` to set, or None for DO NOTHING
        self.assignments = assignments
        self.where = where

    def write(self, compiler: Any) -> None:
        parts = compiler.parts
        parts.append(" ON CONFLICT" + self.target)
        if self.index_where is not None:
            parts.append(" WHERE ")
            compiler.visit(self.index_where)
        if self.assignments is None:
            parts.append(" DO NOTHING")
            return
        parts.append(" DO UPDATE SET ")
        for i, (column, value) in enumerate(self.assignments):
            if i:
                parts.append(", ")
            parts.append(_compile.quote(column.name) + " = ")
            if isinstance(value, _compile.Node):
                compiler.visit(value)
            else:
                parts.append(compiler.bind(value, column.type))
        if self.where is not None:
            parts.append(" WHERE ")
            compiler.visit(self.where)


class OnConflictInsert(Insert):
    """An :class:`~asyncqlio.orm.statements.Insert` with ``on_conflict_do_update()`` and
    ``on_conflict_do_nothing()``."""

    #: PostgreSQL names a constraint as the target; SQLite cannot
    _constraints = False

    @property
    def excluded(self) -> Excluded:
        return Excluded(self.table)

    def _target(self, constraint: Any, index_elements: Iterable[Any] | None, index_where: Any,
                required: bool) -> str:
        if constraint is not None:
            if not self._constraints:
                raise ArgumentError("SQLite's ON CONFLICT names columns, not a constraint: "
                                    "use index_elements=")
            if index_elements is not None or index_where is not None:
                raise ArgumentError("give constraint= or index_elements= (with index_where=), "
                                    "not both")
            name = constraint if isinstance(constraint, str) else getattr(constraint, "name", None)
            if not isinstance(name, str):
                raise ArgumentError(f"constraint= is a constraint's name, not {constraint!r}")
            return " ON CONSTRAINT " + _compile.quote(name)
        if index_elements is None:
            if required:
                raise ArgumentError("on_conflict_do_update() needs index_elements= "
                                    "(or constraint= on PostgreSQL)")
            if index_where is not None:
                raise ArgumentError("index_where= qualifies index_elements=; give both")
            return ""
        names = [mapping_column(self.table, c).name for c in index_elements]
        if not names:
            raise ArgumentError("index_elements= names at least one column")
        return " (" + ", ".join(_compile.quote(n) for n in names) + ")"

    def on_conflict_do_update(self, constraint: Any = None, index_elements: Iterable[Any] | None = None,
                              index_where: Any = None, set_: Mapping[Any, Any] | None = None,
                              where: Any = None) -> "OnConflictInsert":
        """Where the row conflicts with one there, UPDATE that one: ``set_`` maps columns
        (or their names) to values or expressions (``stmt.excluded.name``, ``User.n + 1``)."""
        if not set_:
            raise ArgumentError("on_conflict_do_update() needs set_= (the columns to update)")
        target = self._target(constraint, index_elements, index_where, True)
        assignments = [(mapping_column(self.table, k), v) for k, v in set_.items()]
        new = self._clone()
        new._conflict = OnConflict(target, _optional(index_where), assignments, _optional(where))
        return new

    def on_conflict_do_nothing(self, constraint: Any = None, index_elements: Iterable[Any] | None = None,
                               index_where: Any = None) -> "OnConflictInsert":
        """Leave out the rows that conflict with one there."""
        new = self._clone()
        new._conflict = OnConflict(self._target(constraint, index_elements, index_where, False),
                                   _optional(index_where), None, None)
        return new


def _optional(cond: Any) -> Any:
    return None if cond is None else condition(cond)
