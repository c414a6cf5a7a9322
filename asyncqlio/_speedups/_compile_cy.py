"""The SQL expression tree and its compiler: nodes -> (SQL text, bound parameters).

Every value becomes a bound parameter (``$n`` for asyncpg, ``?`` for sqlite) and every
identifier is double-quoted with embedded quotes doubled; nothing the user passes is ever
pasted into SQL text.
"""
from decimal import Decimal

try:
    import cython
except ModuleNotFoundError:  # running uncompiled without Cython installed
    from asyncqlio._speedups import _cython_shim as cython

K_COLUMN = 1
K_PARAM = 2
K_BINARY = 3
K_BOOL = 4
K_NOT = 5
K_IN = 6
K_BETWEEN = 7
K_NULL = 8
K_LIKE = 9
K_ORDER = 10
K_FUNC = 11
K_STAR = 12
K_SUBQUERY = 13
K_LABEL = 14
K_ALIAS = 15
K_EXISTS = 16


def _is_compiled() -> bool:
    return cython.compiled


def quote(name: str) -> str:
    """Quote an identifier: ``a"b`` -> ``"a""b"``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"an identifier must be a non-empty string, not {name!r}")
    if "\x00" in name:
        raise ValueError(f"an identifier cannot contain a NUL character: {name!r}")
    return '"' + name.replace('"', '""') + '"'


def escape_like(value: str) -> str:
    """Make a literal string match itself in a LIKE pattern (``\\`` is the escape)."""
    if not isinstance(value, str):
        raise TypeError(f"a LIKE pattern must be a string, not {type(value).__name__}")
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@cython.cfunc
def _values(args: tuple, name: str) -> object:
    """The values of ``IN``: one list (tuple, set...) or select (a :class:`Select`, or
    anything with ``__clause__()`` such as a query builder), or the values themselves
    (``in_(1, 2, 3)``, the original asyncqlio's form; a lone string is one value)."""
    if len(args) != 1:
        return list(args)
    values = args[0]
    if isinstance(values, Select):
        return values
    clause = getattr(values, "__clause__", None)
    if clause is not None:
        values = clause()
        if not isinstance(values, Select):
            raise TypeError(f"{name}() takes a select, not {values!r}")
        return values
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        return [values]
    return list(values)


@cython.cclass
class Node:
    """An SQL expression: columns and everything built from them.

    Comparisons and arithmetic build new expressions (``== None`` is ``IS NULL``); ``&``,
    ``|`` and ``~`` combine conditions.
    """

    kind = cython.declare(cython.int, visibility="public")
    #: the column type values beside this expression are bound with (None: as given)
    type = cython.declare(object, visibility="public")

    def __hash__(self):
        return object.__hash__(self)

    # --- comparisons
    def __eq__(self, other):
        if other is None:
            return NullExpr(self)
        return BinaryExpr("=", self, _operand(self, other))

    def __ne__(self, other):
        if other is None:
            return NullExpr(self, True)
        return BinaryExpr("<>", self, _operand(self, other))

    def __lt__(self, other):
        return BinaryExpr("<", self, _operand(self, other))

    def __le__(self, other):
        return BinaryExpr("<=", self, _operand(self, other))

    def __gt__(self, other):
        return BinaryExpr(">", self, _operand(self, other))

    def __ge__(self, other):
        return BinaryExpr(">=", self, _operand(self, other))

    # --- arithmetic
    def __add__(self, other):
        return _arith("+", self, _operand(self, other))

    def __radd__(self, other):
        return _arith("+", _operand(self, other), self)

    def __sub__(self, other):
        return _arith("-", self, _operand(self, other))

    def __rsub__(self, other):
        return _arith("-", _operand(self, other), self)

    def __mul__(self, other):
        return _arith("*", self, _operand(self, other))

    def __rmul__(self, other):
        return _arith("*", _operand(self, other), self)

    def __truediv__(self, other):
        return _arith("/", self, _operand(self, other))

    def __rtruediv__(self, other):
        return _arith("/", _operand(self, other), self)

    def __mod__(self, other):
        return _arith("%", self, _operand(self, other))

    def __rmod__(self, other):
        return _arith("%", _operand(self, other), self)

    def concat(self, other):
        return _arith("||", self, _operand(self, other))

    # --- conditions
    def __and__(self, other):
        return BoolExpr("AND", [self, other])

    def __rand__(self, other):
        return BoolExpr("AND", [other, self])

    def __or__(self, other):
        return BoolExpr("OR", [self, other])

    def __ror__(self, other):
        return BoolExpr("OR", [other, self])

    def __invert__(self):
        return NotExpr(self)

    def in_(self, *values):
        """``IN``: ``in_([1, 2])``, ``in_(1, 2)`` or ``in_(query)``; an empty list matches
        no row."""
        return InExpr(self, _values(values, "in_"))

    def not_in(self, *values):
        """``NOT IN``; an empty list matches every row."""
        return InExpr(self, _values(values, "not_in"), True)

    def like(self, pattern):
        """``LIKE``, case-sensitive on every backend; ``\\`` escapes ``%`` and ``_``."""
        return LikeExpr(self, Param(pattern))

    def not_like(self, pattern):
        return LikeExpr(self, Param(pattern), False, True)

    def ilike(self, pattern):
        """Case-insensitive ``LIKE`` (``lower() LIKE lower()`` where there is no ILIKE)."""
        return LikeExpr(self, Param(pattern), True)

    def startswith(self, prefix):
        return LikeExpr(self, Param(escape_like(prefix) + "%"))

    def endswith(self, suffix):
        return LikeExpr(self, Param("%" + escape_like(suffix)))

    def contains(self, part):
        return LikeExpr(self, Param("%" + escape_like(part) + "%"))

    def between(self, low, high):
        return BetweenExpr(self, _operand(self, low), _operand(self, high))

    def is_(self, other):
        if other is not None:
            raise TypeError("is_() compares with None; use == for values")
        return NullExpr(self)

    def is_not(self, other):
        if other is not None:
            raise TypeError("is_not() compares with None; use != for values")
        return NullExpr(self, True)

    def isnot(self, other):
        return self.is_not(other)

    # --- ordering
    def asc(self):
        return OrderExpr(self, False)

    def desc(self):
        return OrderExpr(self, True)

    def label(self, name: str):
        """``expr AS "name"`` in a column list; the key of the value in result rows."""
        return Label(self, name)


@cython.cfunc
def _operand(node: Node, other) -> object:
    """A plain value beside an expression is bound as a parameter of that expression's type,
    so it is converted the way the column's own values are."""
    if isinstance(other, Node):
        return other
    return Param(other, node.type)


@cython.cfunc
def _arith(op: str, left: Node, right: Node) -> object:
    """Arithmetic keeps its column's type, so values compared with the result bind alike."""
    return BinaryExpr(op, left, right, left.type if left.type is not None else right.type)


@cython.cclass
class ColumnNode(Node):
    """A column reference; :class:`asyncqlio.orm.schema.Column` adds the schema."""

    name = cython.declare(object, visibility="public")
    table_name = cython.declare(object, visibility="public")
    sql = cython.declare(object, visibility="public")

    def __init__(self, name, type):
        self.kind = K_COLUMN
        self.name = name
        self.type = type
        self.table_name = None
        self.sql = None


@cython.cclass
class Param(Node):
    """A bound value, converted by ``type`` for the dialect when the type needs it."""

    value = cython.declare(object, visibility="public")

    def __init__(self, value, type=None):
        self.kind = K_PARAM
        self.value = value
        self.type = type

    def __repr__(self):
        return f"Param({self.value!r})"


@cython.cclass
class BinaryExpr(Node):
    op = cython.declare(str, visibility="public")
    left = cython.declare(object, visibility="public")
    right = cython.declare(object, visibility="public")

    def __init__(self, op: str, left, right, type=None):
        self.kind = K_BINARY
        self.op = op
        self.left = left
        self.right = right
        self.type = type

    def __bool__(self):
        # `col_a == col_b` is identity, so `column in [columns]` works (as in SQLAlchemy);
        # any other expression is true, as an object is (the original asyncqlio's rule)
        if self.op == "=" and isinstance(self.left, ColumnNode) and isinstance(self.right, ColumnNode):
            return self.left is self.right
        if self.op == "<>" and isinstance(self.left, ColumnNode) and isinstance(self.right, ColumnNode):
            return self.left is not self.right
        return True

    def __repr__(self):
        return f"BinaryExpr({self.op!r}, {self.left!r}, {self.right!r})"


@cython.cclass
class BoolExpr(Node):
    op = cython.declare(str, visibility="public")
    items = cython.declare(list, visibility="public")

    def __init__(self, op: str, items):
        self.kind = K_BOOL
        self.op = op
        flat = []
        for item in items:
            if isinstance(item, BoolExpr) and (cython.cast(BoolExpr, item)).op == op:
                flat.extend((cython.cast(BoolExpr, item)).items)
            else:
                flat.append(item)
        self.items = flat


@cython.cclass
class NotExpr(Node):
    item = cython.declare(object, visibility="public")

    def __init__(self, item):
        self.kind = K_NOT
        self.item = item


@cython.cclass
class InExpr(Node):
    left = cython.declare(object, visibility="public")
    values = cython.declare(object, visibility="public")
    negate = cython.declare(cython.bint, visibility="public")

    def __init__(self, left, values, negate=False):
        self.kind = K_IN
        self.left = left
        self.values = values
        self.negate = negate


@cython.cclass
class BetweenExpr(Node):
    left = cython.declare(object, visibility="public")
    low = cython.declare(object, visibility="public")
    high = cython.declare(object, visibility="public")

    def __init__(self, left, low, high):
        self.kind = K_BETWEEN
        self.left = left
        self.low = low
        self.high = high


@cython.cclass
class NullExpr(Node):
    left = cython.declare(object, visibility="public")
    negate = cython.declare(cython.bint, visibility="public")

    def __init__(self, left, negate=False):
        self.kind = K_NULL
        self.left = left
        self.negate = negate


@cython.cclass
class LikeExpr(Node):
    """``LIKE``/``ILIKE`` with ``\\`` as the escape character on every backend (PostgreSQL's
    default, ``ESCAPE '\\'`` on SQLite). ILIKE is ``lower() LIKE lower()`` on SQLite."""

    left = cython.declare(object, visibility="public")
    pattern = cython.declare(object, visibility="public")
    insensitive = cython.declare(cython.bint, visibility="public")
    negate = cython.declare(cython.bint, visibility="public")

    def __init__(self, left, pattern, insensitive=False, negate=False):
        self.kind = K_LIKE
        self.left = left
        self.pattern = pattern
        self.insensitive = insensitive
        self.negate = negate


@cython.cclass
class OrderExpr(Node):
    item = cython.declare(object, visibility="public")
    desc = cython.declare(cython.bint, visibility="public")

    def __init__(self, item, desc=False):
        self.kind = K_ORDER
        self.item = item
        self.desc = desc


@cython.cclass
class FuncExpr(Node):
    """An SQL function call; the name is checked to be a plain identifier."""

    name = cython.declare(str, visibility="public")
    args = cython.declare(tuple, visibility="public")

    def __init__(self, name: str, args, type=None):
        if not name.replace("_", "a").isalnum() or not name.isascii() or name[0].isdigit():
            raise ValueError(f"not an SQL function name: {name!r}")
        self.kind = K_FUNC
        self.name = name
        self.args = tuple(args)
        self.type = type


@cython.cclass
class Star(Node):
    def __init__(self):
        self.kind = K_STAR


@cython.cclass
class Label(Node):
    """``item AS "name"`` where columns are listed; just ``item`` anywhere else."""

    item = cython.declare(object, visibility="public")
    name = cython.declare(str, visibility="public")

    def __init__(self, item, name: str):
        quote(name)
        self.kind = K_LABEL
        self.item = item
        self.name = name
        self.type = getattr(item, "type", None)


@cython.cclass
class Select(Node):
    """A whole SELECT statement as a node: compiled on its own, or in parentheses where it
    is used as a value (``IN``, a scalar subquery).

    ``columns`` holds nodes (Label for ``AS``) or ready SQL text (a table's column list);
    ``froms`` quoted table names or :class:`Alias` nodes; ``joins`` ``(join SQL keyword,
    target, on)`` triples with the same kinds of target."""

    columns = cython.declare(list, visibility="public")
    froms = cython.declare(list, visibility="public")
    joins = cython.declare(list, visibility="public")
    where = cython.declare(object, visibility="public")
    group_by = cython.declare(list, visibility="public")
    having = cython.declare(object, visibility="public")
    order_by = cython.declare(list, visibility="public")
    limit = cython.declare(object, visibility="public")
    offset = cython.declare(object, visibility="public")
    distinct = cython.declare(cython.bint, visibility="public")
    for_update = cython.declare(cython.bint, visibility="public")

    def __init__(self, columns, froms, joins=None, where=None, group_by=None, having=None,
                 order_by=None, limit=None, offset=None, distinct=False, for_update=False):
        self.kind = K_SUBQUERY
        self.columns = list(columns)
        self.froms = list(froms)
        self.joins = list(joins) if joins else []
        self.where = where
        self.group_by = list(group_by) if group_by else []
        self.having = having
        self.order_by = list(order_by) if order_by else []
        self.limit = limit
        self.offset = offset
        self.distinct = distinct
        self.for_update = for_update
        if len(self.columns) == 1:
            self.type = getattr(self.columns[0], "type", None)


@cython.cclass
class Alias(Node):
    """A select in FROM: ``(SELECT ...) AS "name"``; its columns are ``alias.c.<name>``."""

    select = cython.declare(object, visibility="public")
    name = cython.declare(str, visibility="public")
    sql = cython.declare(str, visibility="public")

    def __init__(self, select, name: str):
        self.kind = K_ALIAS
        self.select = select
        self.name = name
        self.sql = quote(name)


@cython.cclass
class ExistsExpr(Node):
    """``EXISTS (SELECT ...)``."""

    select = cython.declare(object, visibility="public")

    def __init__(self, select):
        self.kind = K_EXISTS
        self.select = select


@cython.final
@cython.cclass
class Compiler:
    """Accumulates SQL text and parameters for one statement in one dialect."""

    dialect = cython.declare(str, visibility="public")
    numeric = cython.declare(cython.bint, visibility="public")
    parts = cython.declare(list, visibility="public")
    params = cython.declare(list, visibility="public")
    key = cython.declare(list, visibility="public")
    procs = cython.declare(dict)

    def __init__(self, dialect: str, numeric: cython.bint):
        self.dialect = dialect
        self.numeric = numeric
        self.parts = []
        self.params = []
        self.key = []
        procs = _bind_procs.get(dialect)
        if procs is None:
            procs = _bind_procs[dialect] = {}
        self.procs = procs

    def result(self):
        return "".join(self.parts), self.params

    @cython.ccall
    def bind_value(self, value, coltype) -> cython.int:
        """Add one parameter, converted for the dialect by ``coltype``; its cast code (see
        ``_cast``)."""
        if coltype is not None and value is not None:
            try:
                proc = self.procs[coltype]
            except KeyError:
                proc = self.procs[coltype] = coltype.bind_processor(self.dialect)
            if proc is not None:
                value = proc(value)
        self.params.append(value)
        if self.numeric:
            return _cast(value)
        return 0

    @cython.ccall
    def bind(self, value, coltype) -> str:
        """Add one parameter and return its placeholder."""
        cast: cython.int = self.bind_value(value, coltype)
        if not self.numeric:
            return "?"
        mark = "$" + str(len(self.params))
        if cast == 1:
            return mark + "::float8"
        if cast == 2:
            return mark + "::numeric"
        return mark

    @cython.ccall
    def shape(self, node) -> cython.int:
        """Bind the values of ``node`` as ``visit`` would, in the same order, but record its
        shape in ``key`` instead of writing SQL: equal keys compile to the same SQL."""
        key: list = self.key
        kind: cython.int
        if not isinstance(node, Node):
            key.append(K_PARAM)  # compiles as a Param does
            key.append(self.bind_value(node, None))
            return 0
        kind = (cython.cast(Node, node)).kind
        key.append(kind)
        if kind == K_COLUMN:
            key.append((cython.cast(ColumnNode, node)).sql)
        elif kind == K_PARAM:
            p: Param = cython.cast(Param, node)
            key.append(self.bind_value(p.value, p.type))
        elif kind == K_BINARY:
            b: BinaryExpr = cython.cast(BinaryExpr, node)
            key.append(b.op)
            self.shape(b.left)
            self.shape(b.right)
        elif kind == K_BOOL:
            bo: BoolExpr = cython.cast(BoolExpr, node)
            key.append(bo.op)
            key.append(len(bo.items))
            for item in bo.items:
                self.shape(item)
        elif kind == K_NOT:
            self.shape((cython.cast(NotExpr, node)).item)
        elif kind == K_IN:
            i: InExpr = cython.cast(InExpr, node)
            key.append(i.negate)
            if isinstance(i.values, Select):
                self.shape(i.left)
                self.shape(i.values)
                return 0
            key.append(len(i.values))
            if i.values:
                self.shape(i.left)
            typ = getattr(i.left, "type", None)
            for v in i.values:
                if isinstance(v, Node):
                    self.shape(v)
                else:
                    key.append(K_PARAM)
                    key.append(self.bind_value(v, typ))
        elif kind == K_BETWEEN:
            bt: BetweenExpr = cython.cast(BetweenExpr, node)
            self.shape(bt.left)
            self.shape(bt.low)
            self.shape(bt.high)
        elif kind == K_NULL:
            nu: NullExpr = cython.cast(NullExpr, node)
            key.append(nu.negate)
            self.shape(nu.left)
        elif kind == K_LIKE:
            lk: LikeExpr = cython.cast(LikeExpr, node)
            key.append(lk.insensitive)
            key.append(lk.negate)
            self.shape(lk.left)
            self.shape(lk.pattern)
        elif kind == K_ORDER:
            o: OrderExpr = cython.cast(OrderExpr, node)
            key.append(o.desc)
            self.shape(o.item)
        elif kind == K_FUNC:
            f: FuncExpr = cython.cast(FuncExpr, node)
            key.append(f.name)
            key.append(len(f.args))
            for arg in f.args:
                self.shape(arg)
        elif kind == K_LABEL:
            self.shape((cython.cast(Label, node)).item)
        elif kind == K_SUBQUERY:
            self.shape_select(cython.cast(Select, node))
        elif kind == K_ALIAS:
            al: Alias = cython.cast(Alias, node)
            key.append(al.sql)
            self.shape_select(cython.cast(Select, al.select))
        elif kind == K_EXISTS:
            self.shape_select(cython.cast(Select, (cython.cast(ExistsExpr, node)).select))
        elif kind != K_STAR:
            raise TypeError(f"cannot compile {node!r}")
        return 0

    @cython.ccall
    def shape_select(self, sel: Select) -> cython.int:
        """``shape`` of a whole select, in the order ``visit_select`` binds."""
        key: list = self.key
        key.append(sel.distinct)
        key.append(sel.for_update)
        for item in sel.columns:
            if isinstance(item, str):
                key.append(item)
            else:
                self.shape(item)
                if isinstance(item, Label):
                    key.append((cython.cast(Label, item)).name)
        key.append(-1)
        for item in sel.froms:
            if isinstance(item, str):
                key.append(item)
            else:
                self.shape(item)
        key.append(-1)
        for join_kind, target, on in sel.joins:
            key.append(join_kind)
            if isinstance(target, str):
                key.append(target)
            else:
                self.shape(target)
            self.shape(on)
        key.append(-1)
        if sel.where is not None:
            self.shape(sel.where)
        key.append(-1)
        for item in sel.group_by:
            self.shape(item)
        key.append(-1)
        if sel.having is not None:
            self.shape(sel.having)
        key.append(-1)
        for item in sel.order_by:
            self.shape(item)
        key.append(-1)
        if sel.limit is not None:
            self.bind_value(sel.limit, None)
            key.append(1)
        if sel.offset is not None:
            self.bind_value(sel.offset, None)
            key.append(2)
        key.append(-2)
        return 0

    @cython.ccall
    def visit(self, node) -> cython.int:
        parts: list = self.parts
        kind: cython.int
        if not isinstance(node, Node):
            parts.append(self.bind(node, None))
            return 0
        kind = (cython.cast(Node, node)).kind
        if kind == K_COLUMN:
            sql = (cython.cast(ColumnNode, node)).sql
            if sql is None:
                raise ValueError(f"column {(cython.cast(ColumnNode, node)).name!r} "
                                 "belongs to no table")
            parts.append(sql)
        elif kind == K_PARAM:
            p: Param = cython.cast(Param, node)
            parts.append(self.bind(p.value, p.type))
        elif kind == K_BINARY:
            b: BinaryExpr = cython.cast(BinaryExpr, node)
            parts.append("(")
            self.visit(b.left)
            parts.append(" " + b.op + " ")
            self.visit(b.right)
            parts.append(")")
        elif kind == K_BOOL:
            bo: BoolExpr = cython.cast(BoolExpr, node)
            parts.append("(")
            first: cython.bint = True
            for item in bo.items:
                if not first:
                    parts.append(" " + bo.op + " ")
                first = False
                self.visit(item)
            parts.append(")")
        elif kind == K_NOT:
            parts.append("(NOT ")
            self.visit((cython.cast(NotExpr, node)).item)
            parts.append(")")
        elif kind == K_IN:
            self.visit_in(cython.cast(InExpr, node))
        elif kind == K_BETWEEN:
            bt: BetweenExpr = cython.cast(BetweenExpr, node)
            parts.append("(")
            self.visit(bt.left)
            parts.append(" BETWEEN ")
            self.visit(bt.low)
            parts.append(" AND ")
            self.visit(bt.high)
            parts.append(")")
        elif kind == K_NULL:
            nu: NullExpr = cython.cast(NullExpr, node)
            parts.append("(")
            self.visit(nu.left)
            parts.append(" IS NOT NULL)" if nu.negate else " IS NULL)")
        elif kind == K_LIKE:
            self.visit_like(cython.cast(LikeExpr, node))
        elif kind == K_ORDER:
            o: OrderExpr = cython.cast(OrderExpr, node)
            self.visit(o.item)
            parts.append(" DESC" if o.desc else " ASC")
        elif kind == K_FUNC:
            f: FuncExpr = cython.cast(FuncExpr, node)
            parts.append(f.name + "(")
            first = True
            for arg in f.args:
                if not first:
                    parts.append(", ")
                first = False
                self.visit(arg)
            parts.append(")")
        elif kind == K_STAR:
            parts.append("*")
        elif kind == K_LABEL:
            self.visit((cython.cast(Label, node)).item)
        elif kind == K_SUBQUERY:
            parts.append("(")
            self.visit_select(cython.cast(Select, node))
            parts.append(")")
        elif kind == K_ALIAS:
            al: Alias = cython.cast(Alias, node)
            parts.append("(")
            self.visit_select(cython.cast(Select, al.select))
            parts.append(") AS ")
            parts.append(al.sql)
        elif kind == K_EXISTS:
            parts.append("EXISTS (")
            self.visit_select(cython.cast(Select, (cython.cast(ExistsExpr, node)).select))
            parts.append(")")
        else:
            raise TypeError(f"cannot compile {node!r}")
        return 0

    @cython.ccall
    def visit_select(self, sel: Select) -> cython.int:
        """The SELECT statement, without parentheses."""
        parts: list = self.parts
        parts.append("SELECT DISTINCT " if sel.distinct else "SELECT ")
        first: cython.bint = True
        for item in sel.columns:
            if not first:
                parts.append(", ")
            first = False
            if isinstance(item, str):
                parts.append(item)
            else:
                self.visit(item)
                if isinstance(item, Label):
                    parts.append(" AS " + quote((cython.cast(Label, item)).name))
        if sel.froms:
            parts.append(" FROM ")
            first = True
            for item in sel.froms:
                if not first:
                    parts.append(", ")
                first = False
                if isinstance(item, str):
                    parts.append(item)
                else:
                    self.visit(item)
        for join_kind, target, on in sel.joins:
            parts.append(" " + join_kind + " ")
            if isinstance(target, str):
                parts.append(target)
            else:
                self.visit(target)
            parts.append(" ON ")
            self.visit(on)
        self.where(sel.where)
        if sel.group_by:
            parts.append(" GROUP BY ")
            self.comma_list(sel.group_by)
        if sel.having is not None:
            parts.append(" HAVING ")
            self.visit(sel.having)
        if sel.order_by:
            parts.append(" ORDER BY ")
            self.comma_list(sel.order_by)
        if sel.limit is not None:
            parts.append(" LIMIT " + self.bind(sel.limit, None))
        if sel.offset is not None:
            if sel.limit is None and self.dialect == "sqlite":
                parts.append(" LIMIT -1")
            parts.append(" OFFSET " + self.bind(sel.offset, None))
        if sel.for_update and self.dialect == "postgresql":
            parts.append(" FOR UPDATE")
        return 0

    @cython.cfunc
    def visit_in(self, node: InExpr) -> cython.int:
        parts: list = self.parts
        values = node.values
        if isinstance(values, Select):
            parts.append("(")
            self.visit(node.left)
            parts.append(" NOT IN " if node.negate else " IN ")
            self.visit(values)
            parts.append(")")
            return 0
        if not values:
            # x IN () is not valid SQL; it is never true (and NOT IN () always is)
            parts.append("(1 = 1)" if node.negate else "(1 = 0)")
            return 0
        typ = getattr(node.left, "type", None)
        parts.append("(")
        self.visit(node.left)
        parts.append(" NOT IN (" if node.negate else " IN (")
        first: cython.bint = True
        for v in values:
            if not first:
                parts.append(", ")
            first = False
            if isinstance(v, Node):
                self.visit(v)
            else:
                parts.append(self.bind(v, typ))
        parts.append("))")
        return 0

    @cython.cfunc
    def visit_like(self, node: LikeExpr) -> cython.int:
        parts: list = self.parts
        lower: cython.bint = node.insensitive and self.dialect != "postgresql"
        parts.append("(")
        if lower:
            parts.append("lower(")
        self.visit(node.left)
        if lower:
            parts.append(")")
        if node.negate:
            parts.append(" NOT")
        if node.insensitive and not lower:
            parts.append(" ILIKE ")
        else:
            parts.append(" LIKE ")
        if lower:
            parts.append("lower(")
        self.visit(node.pattern)
        if lower:
            parts.append(")")
        if self.dialect != "postgresql":
            parts.append(" ESCAPE '\\'")
        parts.append(")")
        return 0

    @cython.ccall
    def where(self, condition) -> cython.int:
        if condition is not None:
            self.parts.append(" WHERE ")
            self.visit(condition)
        return 0

    @cython.ccall
    def comma_list(self, items) -> cython.int:
        first: cython.bint = True
        for item in items:
            if not first:
                self.parts.append(", ")
            first = False
            self.visit(item)
        return 0


@cython.cfunc
@cython.inline
def _cast(value) -> cython.int:
    """asyncpg would truncate a float or Decimal sent for an integer parameter (score >= 0.5
    matching 0), so on PostgreSQL they are cast to their own type: 1 float8, 2 numeric."""
    if type(value) is float:
        return 1
    if type(value) is Decimal:
        return 2
    return 0


#: dialect -> {column type: its bind processor or None}, so binding a value costs a lookup
_bind_procs: dict = {}

#: SQL of the select statements compiled so far, by shape (see ``Compiler.shape``)
_select_cache: dict = {}
SELECT_CACHE_SIZE = 2000


@cython.ccall
def select_cached(compiler: Compiler, columns_sql: str, from_sql: str, where, order_by,
                  limit, offset, for_update: cython.bint):
    """``compile_select`` for a repeated query shape at the cost of one walk that binds the
    values and one dict lookup; the SQL text is built only the first time."""
    key: list = compiler.key
    key.append(compiler.dialect)
    key.append(columns_sql)
    key.append(from_sql)
    key.append(for_update)
    if where is not None:
        compiler.shape(where)
    key.append(-1)
    if order_by:
        for item in order_by:
            compiler.shape(item)
    key.append(-1)
    if limit is not None:
        compiler.bind_value(limit, None)
        key.append(1)
    if offset is not None:
        compiler.bind_value(offset, None)
        key.append(2)
    shape = tuple(key)
    sql = _select_cache.get(shape)
    if sql is not None:
        return sql, compiler.params
    fresh = Compiler(compiler.dialect, compiler.numeric)
    sql, params = compile_select(fresh, columns_sql, from_sql, where, order_by, limit, offset,
                                 for_update)
    if len(_select_cache) >= SELECT_CACHE_SIZE:
        _select_cache.clear()
    _select_cache[shape] = sql
    return sql, params


@cython.ccall
def compile_statement(compiler: Compiler, sel: Select):
    """A :class:`Select` node compiled as a statement."""
    compiler.visit_select(sel)
    return compiler.result()


@cython.ccall
def statement_cached(compiler: Compiler, sel: Select):
    """``compile_statement`` through the shape cache that ``select_cached`` uses."""
    key: list = compiler.key
    key.append(compiler.dialect)
    key.append(K_SUBQUERY)
    compiler.shape_select(sel)
    shape = tuple(key)
    sql = _select_cache.get(shape)
    if sql is not None:
        return sql, compiler.params
    fresh = Compiler(compiler.dialect, compiler.numeric)
    sql, params = compile_statement(fresh, sel)
    if len(_select_cache) >= SELECT_CACHE_SIZE:
        _select_cache.clear()
    _select_cache[shape] = sql
    return sql, params


@cython.ccall
def compile_select(compiler: Compiler, columns_sql: str, from_sql: str, where, order_by,
                   limit, offset, for_update: cython.bint):
    parts: list = compiler.parts
    parts.append("SELECT ")
    parts.append(columns_sql)
    parts.append(" FROM ")
    parts.append(from_sql)
    compiler.where(where)
    if order_by:
        parts.append(" ORDER BY ")
        compiler.comma_list(order_by)
    if limit is not None:
        parts.append(" LIMIT " + compiler.bind(limit, None))
    if offset is not None:
        if limit is None and compiler.dialect == "sqlite":
            parts.append(" LIMIT -1")
        parts.append(" OFFSET " + compiler.bind(offset, None))
    if for_update and compiler.dialect == "postgresql":
        parts.append(" FOR UPDATE")
    return compiler.result()


@cython.ccall
def compile_insert(compiler: Compiler, table_sql: str, columns: list, rows: list,
                   conflict_sql, returning_sql):
    """``rows`` is a list of value lists, in the order of ``columns``."""
    parts: list = compiler.parts
    ncols: cython.Py_ssize_t = len(columns)
    i: cython.Py_ssize_t
    types = [c.type for c in columns]
    parts.append("INSERT INTO ")
    parts.append(table_sql)
    if ncols:
        parts.append(" (")
        parts.append(", ".join([quote(c.name) for c in columns]))
        parts.append(") VALUES ")
        first: cython.bint = True
        for values in rows:
            parts.append("(" if first else ", (")
            first = False
            for i in range(ncols):
                if i:
                    parts.append(", ")
                v = values[i]
                if isinstance(v, Node):
                    compiler.visit(v)
                else:
                    parts.append(compiler.bind(v, types[i]))
            parts.append(")")
    else:
        if len(rows) != 1:
            raise ValueError("INSERT ... DEFAULT VALUES writes one row; "
                             f"got {len(rows)} rows with no column set")
        parts.append(" DEFAULT VALUES")
    if conflict_sql is not None:
        parts.append(conflict_sql)
    if returning_sql is not None:
        parts.append(" RETURNING ")
        parts.append(returning_sql)
    return compiler.result()


@cython.ccall
def compile_update(compiler: Compiler, table_sql: str, assignments: list, where,
                   returning_sql):
    """``assignments`` is a list of ``(column, value_or_expression)``."""
    parts: list = compiler.parts
    parts.append("UPDATE ")
    parts.append(table_sql)
    parts.append(" SET ")
    first: cython.bint = True
    for column, value in assignments:
        if not first:
            parts.append(", ")
        first = False
        parts.append(quote(column.name))
        parts.append(" = ")
        if isinstance(value, Node):
            compiler.visit(value)
        else:
            parts.append(compiler.bind(value, column.type))
    compiler.where(where)
    if returning_sql is not None:
        parts.append(" RETURNING ")
        parts.append(returning_sql)
    return compiler.result()


@cython.ccall
def compile_delete(compiler: Compiler, table_sql: str, where):
    compiler.parts.append("DELETE FROM ")
    compiler.parts.append(table_sql)
    compiler.where(where)
    return compiler.result()
