"""The original asyncqlio's operator names, as the Python face of asyncqlio's compiled
expression nodes.

``User.id == 1`` builds a :class:`~asyncqlio._speedups._compile_cy.BinaryExpr` in C; there is
no class per operator. The names here build the same nodes (``Eq(User.id, 1)`` is
``User.id == 1``) and test for them (``isinstance(cond, Eq)``), so code written against the
original's operator classes keeps working while the hot path stays one C node type. The
setters are the one-argument forms of a bulk update: ``sess.update(T).set(T.n.incr(1))``.
"""
from __future__ import annotations

from typing import Any

from asyncqlio._speedups import _compile
from asyncqlio.exc import ArgumentError

#: every expression: columns, comparisons, conditions, functions
BaseOperator = _compile.Node

_COMPARISONS = frozenset(("=", "<>", "<", ">", "<=", ">="))


class _NodeTest(type):
    """``isinstance(node, Eq)``: whether the node is what ``Eq(...)`` builds."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return cls._built(obj)


class _Comparison(metaclass=_NodeTest):
    op = ""

    def __new__(cls, column: Any, value: Any) -> Any:  # type: ignore[misc]
        return _compile.BinaryExpr(cls.op, column, value if isinstance(value, _compile.Node)
                                   else _compile.Param(value, column.type))

    @classmethod
    def _built(cls, obj: Any) -> bool:
        return isinstance(obj, _compile.BinaryExpr) and obj.op == cls.op


class ComparisonOp(_Comparison):
    """Any comparison of two operands (``=``, ``<>``, ``<``, ``>``, ``<=``, ``>=``, LIKE,
    IS NULL)."""

    @classmethod
    def _built(cls, obj: Any) -> bool:
        return (isinstance(obj, _compile.BinaryExpr) and obj.op in _COMPARISONS) or \
            isinstance(obj, (_compile.NullExpr, _compile.LikeExpr))


class Eq(_Comparison):
    """``column = value``; ``IS NULL`` for None."""

    op = "="

    def __new__(cls, column: Any, value: Any) -> Any:  # type: ignore[misc]
        return _compile.NullExpr(column) if value is None else super().__new__(cls, column, value)

    @classmethod
    def _built(cls, obj: Any) -> bool:
        return super()._built(obj) or (isinstance(obj, _compile.NullExpr) and not obj.negate)


class NEq(_Comparison):
    """``column <> value``; ``IS NOT NULL`` for None."""

    op = "<>"

    def __new__(cls, column: Any, value: Any) -> Any:  # type: ignore[misc]
        if value is None:
            return _compile.NullExpr(column, True)
        return super().__new__(cls, column, value)

    @classmethod
    def _built(cls, obj: Any) -> bool:
        return super()._built(obj) or (isinstance(obj, _compile.NullExpr) and bool(obj.negate))


class Lt(_Comparison):
    op = "<"


class Gt(_Comparison):
    op = ">"


class Lte(_Comparison):
    op = "<="


class Gte(_Comparison):
    op = ">="


class Like(metaclass=_NodeTest):
    """``column LIKE pattern`` (case-sensitive on every backend)."""

    def __new__(cls, column: Any, pattern: Any) -> Any:  # type: ignore[misc]
        return column.like(pattern)

    @classmethod
    def _built(cls, obj: Any) -> bool:
        return isinstance(obj, _compile.LikeExpr) and not obj.insensitive


class ILike(metaclass=_NodeTest):
    """Case-insensitive LIKE: ``ILIKE`` on PostgreSQL, ``lower(x) LIKE lower(p)`` elsewhere
    (the original's ``HackyILike``)."""

    def __new__(cls, column: Any, pattern: Any) -> Any:  # type: ignore[misc]
        return column.ilike(pattern)

    @classmethod
    def _built(cls, obj: Any) -> bool:
        return isinstance(obj, _compile.LikeExpr) and bool(obj.insensitive)


HackyILike = ILike


class In(metaclass=_NodeTest):
    """``column IN (values...)``."""

    def __new__(cls, column: Any, values: Any) -> Any:  # type: ignore[misc]
        return column.in_(values)

    @classmethod
    def _built(cls, obj: Any) -> bool:
        return isinstance(obj, _compile.InExpr) and not obj.negate


class _Junction(metaclass=_NodeTest):
    op = ""

    def __new__(cls, *conditions: Any) -> Any:  # type: ignore[misc]
        return _compile.BoolExpr(cls.op, list(conditions))

    @classmethod
    def _built(cls, obj: Any) -> bool:
        return isinstance(obj, _compile.BoolExpr) and obj.op == cls.op


class And(_Junction):
    op = "AND"


class Or(_Junction):
    op = "OR"


def _clause(cond: Any, what: str) -> Any:
    if not isinstance(cond, _compile.Node) or isinstance(cond, _compile.OrderExpr):
        raise ArgumentError(f"{what}() takes SQL conditions such as Table.col == 1, not {cond!r}")
    return cond


def _junction(op: str, clauses: tuple, what: str) -> Any:
    """``op`` of the conditions; a Python bool among them is SQLAlchemy's constant: the
    one that changes nothing is left out (``and_(True, *conds)`` builds a filter up), the
    other decides the whole (as a bound value)."""
    if not clauses:
        raise ArgumentError(f"{what}() needs at least one condition: "
                            f"{what}({op == 'AND'}, *conditions) where there may be none")
    neutral = op == "AND"
    items = []
    decided = False
    for c in clauses:
        if c is True or c is False:
            decided = decided or c is not neutral
        else:
            items.append(_clause(c, what))
    if decided or not items:
        return _compile.Param(decided is not neutral)
    return items[0] if len(items) == 1 else _compile.BoolExpr(op, items)


def and_(*clauses: Any) -> Any:
    """SQLAlchemy's ``and_(a, b, ...)``: ``And(a, b, ...)``; one condition is itself."""
    return _junction("AND", clauses, "and_")


def or_(*clauses: Any) -> Any:
    """SQLAlchemy's ``or_(a, b, ...)``: ``Or(a, b, ...)``; one condition is itself."""
    return _junction("OR", clauses, "or_")


def not_(clause: Any) -> Any:
    """``NOT (clause)``, as ``~clause``."""
    return _compile.NotExpr(_clause(clause, "not_"))


def asc(column: Any) -> Any:
    return column.asc()


def desc(column: Any) -> Any:
    return column.desc()


class Sorter(metaclass=_NodeTest):
    """An ORDER BY item: ``AscSorter(User.id)`` is ``User.id.asc()``; given several columns,
    a tuple of them, which ``order_by`` takes as they are."""

    desc = False

    def __new__(cls, *columns: Any) -> Any:  # type: ignore[misc]
        items = tuple(_compile.OrderExpr(c, cls.desc) for c in columns)
        return items[0] if len(items) == 1 else items

    @classmethod
    def _built(cls, obj: Any) -> bool:
        return isinstance(obj, _compile.OrderExpr) and (cls is Sorter or bool(obj.desc) == cls.desc)


class AscSorter(Sorter):
    desc = False


class DescSorter(Sorter):
    desc = True


class BasicSetter:
    """One assignment of a bulk update, as the original's setters were built
    (``col.set(v)``, ``col.incr(v)``, ``col.decr(v)``)."""

    #: the operator applied to the column's current value ("=" replaces it)
    set_operator = "="

    def __init__(self, column: Any, value: Any) -> None:
        self.column = column
        self.value = value

    def assignment(self) -> tuple[Any, Any]:
        """``(column, new value or expression)`` for ``BulkUpdateQuery``."""
        if self.set_operator == "+":
            return self.column, self.column + self.value
        if self.set_operator == "-":
            return self.column, self.column - self.value
        return self.column, self.value

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.column!r} {self.set_operator} {self.value!r}>"


class ValueSetter(BasicSetter):
    """``col = value``."""


class IncrementSetter(BasicSetter):
    """``col = col + value``."""

    set_operator = "+"


class DecrementSetter(BasicSetter):
    """``col = col - value``."""

    set_operator = "-"
