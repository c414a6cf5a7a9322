"""Query builders: ``sess.select(T)``, ``sess.insert.rows(...)``, ``sess.update(T)``,
``sess.delete(T)``. Builder methods change the query and return it, as in the original
asyncqlio; each query compiles to ``(sql, params)`` without I/O."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generator, Generic, Iterator, TypeVar

from asyncqlio._speedups import _compile, _row
from asyncqlio.exc import ArgumentError, InvalidRequestError
from asyncqlio.orm import relationships
from asyncqlio.orm.alias import AliasedColumn, AliasedTable, column_of, model_of
from asyncqlio.orm.alias import aliased  # noqa: F401  (a query helper beside func, exists)
from asyncqlio.orm.results import ResultGenerator, Row, row_class
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
    return _compile.ExistsExpr(_select_node(query))


def _select_node(query: Any) -> Any:
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


def _entity_key(entity: Any, i: int) -> str:
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


def _sources(node: Any, out: list) -> None:
    """The tables and subqueries the columns in ``node`` come from, for an implied FROM."""
    if isinstance(node, Column):
        if node.table is not None and not _holds(out, node.table):
            out.append(node.table)
    elif isinstance(node, (AliasColumn, AliasedColumn)):
        if not _holds(out, node.alias):
            out.append(node.alias)
    elif isinstance(node, (_compile.Label, _compile.OrderExpr)):
        _sources(node.item, out)
    elif isinstance(node, _compile.FuncExpr):
        for arg in node.args:
            _sources(arg, out)
    elif isinstance(node, _compile.BinaryExpr):
        _sources(node.left, out)
        _sources(node.right, out)


def _holds(items: list, item: Any) -> bool:
    """``item in items`` by identity (``==`` on SQL nodes builds an expression)."""
    return any(x is item for x in items)


def _from_item(source: Any) -> Any:
    """What FROM or JOIN lists for a source: a table's quoted name, an alias's
    ``"table" AS "name"`` (both strings kept on the table or alias, so the same object each
    time), or a subquery node."""
    if isinstance(source, type):
        return source.__table__.quoted
    if isinstance(source, AliasedTable):
        return source.__alias__.from_sql
    return source


def _join_on(sources: list, target: Any) -> Node:
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


class SelectQuery(Generic[T]):
    """``await sess.select(User).where(User.id > 1).order_by(User.id).limit(10)`` -> rows of
    User; ``await sess.select(User.name, func.count())...`` -> :class:`Row` tuples."""

    #: what is selected when not whole rows of ``table``
    entities: list[Node] | None = None
    #: no join, group, having, distinct or subquery: the one-table fast path applies
    _plain = True
    _distinct = False
    # empty until used (class-level so a plain select does not build them)
    _joins: list[tuple[str, Any, Node]] = []
    _froms: list[Any] = []
    _group: list[Node] = []
    _having: list[Node] = []
    #: the alias whose rows are selected (``sess.select(aliased(T))``); ``table`` is then T
    _alias: AliasedTable | None = None
    #: when a selected column is an alias's, the select list with every column named by
    #: its key, so result columns are told apart by name too (``"m"."name" AS "m_name"``)
    _select_list: list | None = None

    def __init__(self, session: "Session") -> None:
        self.session = session
        self.table: type | None = None
        self.conditions: list[Node] = []
        self.orders: list[Node] = []
        self._limit: int | None = None
        self._offset: int | None = None
        self._for_update = False

    def __call__(self, *entities: Any) -> "SelectQuery":
        if len(entities) == 1:
            if isinstance(entities[0], type):
                self.table = _table(entities[0])
                return self
            if isinstance(entities[0], AliasedTable):
                return self._select_alias(entities[0])
        return self.columns(*entities)

    def _select_alias(self, alias: AliasedTable) -> "SelectQuery":
        """Rows of the alias's table, read from ``"table" AS "alias"`` (so conditions on the
        alias's columns apply); not the one-table fast path, whose SQL names the table."""
        self.table = alias.__alias__.table
        self._alias = alias
        self._plain = False
        return self

    def columns(self, *entities: Any) -> "SelectQuery":
        """Select these columns and expressions instead of whole rows (result: Rows)."""
        if not entities:
            raise ArgumentError("select() needs a table or some columns")
        of_alias = False
        for e in entities:
            if not isinstance(e, Node) or isinstance(e, _compile.OrderExpr):
                if isinstance(e, (type, AliasedTable)):
                    raise ArgumentError("select a table alone (rows) or columns and "
                                        f"expressions (tuples), not both: {e!r}")
                raise ArgumentError(f"select() takes columns and SQL expressions, not {e!r}")
            if type(e) is AliasedColumn:
                of_alias = True
        self.entities = list(entities)
        self._plain = False
        self._select_list = [_labelled(e, i) for i, e in enumerate(entities)] \
            if of_alias else None
        return self

    def from_(self, table: Any) -> "SelectQuery":
        """The table, alias (rows of its table) or ``query.subquery()`` to select from."""
        if isinstance(table, _compile.Alias):
            self._froms = [*self._froms, table]
            self._plain = False
        elif isinstance(table, AliasedTable):
            self._select_alias(table)
        else:
            self.table = _table(table)
        return self

    select_from = from_

    def join(self, target: Any, on: Any = None) -> "SelectQuery":
        """``JOIN target ON on``; without ``on`` the foreign key between the tables."""
        return self._join("JOIN", target, on)

    def outerjoin(self, target: Any, on: Any = None) -> "SelectQuery":
        """``LEFT OUTER JOIN target ON on``."""
        return self._join("LEFT OUTER JOIN", target, on)

    def _join(self, kind: str, target: Any, on: Any) -> "SelectQuery":
        if isinstance(target, _compile.Alias):
            if on is None:
                raise ArgumentError("joining a subquery needs on=")
            sql: Any = target
        elif isinstance(target, AliasedTable):
            if on is None:
                on = _join_on(self._sources(), target)
            sql = target.__alias__.from_sql
        else:
            target = _table(target)
            sql = target.__table__.quoted
            if (target is self.table and self._alias is None) or \
                    (self._joins and _holds([t for _, t, _ in self._joins], sql)):
                raise ArgumentError(
                    f"{target.__table__.name} is already in this query; join an alias "
                    f"of it: aliased({target.__name__}, 'name')")
            if on is None:
                on = _join_on(self._sources(), target)
        self._joins = [*self._joins, (kind, sql, _condition(on))]
        self._plain = False
        return self

    def where(self, *conditions: Any) -> "SelectQuery":
        self.conditions.extend(_condition(c) for c in conditions)
        return self

    def order_by(self, *columns: Any) -> "SelectQuery":
        """Columns or expressions, ``.desc()`` for descending; never SQL text."""
        for c in columns:
            if isinstance(c, _compile.OrderExpr):
                self.orders.append(c)
            elif isinstance(c, Node):
                self.orders.append(c.asc())
            else:
                raise ArgumentError(f"order_by() takes columns or col.asc()/col.desc(), not {c!r}")
        return self

    def group_by(self, *columns: Any) -> "SelectQuery":
        """Columns or expressions; never SQL text."""
        for c in columns:
            if not isinstance(c, Node) or isinstance(c, _compile.OrderExpr):
                raise ArgumentError(f"group_by() takes columns or expressions, not {c!r}")
        self._group = [*self._group, *columns]
        self._plain = False
        return self

    def having(self, *conditions: Any) -> "SelectQuery":
        self._having = [*self._having, *(_condition(c) for c in conditions)]
        self._plain = False
        return self

    def distinct(self) -> "SelectQuery":
        """``SELECT DISTINCT``."""
        self._distinct = True
        self._plain = False
        return self

    def limit(self, n: int | None) -> "SelectQuery":
        self._limit = _count(n, "limit")
        return self

    def offset(self, n: int | None) -> "SelectQuery":
        self._offset = _count(n, "offset")
        return self

    def for_update(self) -> "SelectQuery":
        """``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite locks the whole database on write."""
        self._for_update = True
        return self

    def subquery(self, name: str = "anon") -> Subquery:
        """This query as a table in another's FROM: ``sub = q.subquery("t")``; ``sub.c.x``."""
        stmt = self._statement(None, labelled=True)
        if self.entities is None:
            keys = [(c.name, c.type) for c in self._from().__table__.columns]
        else:
            keys = [(_entity_key(e, i), getattr(e, "type", None))
                    for i, e in enumerate(self.entities)]
        return Subquery(stmt, name, keys)

    def __clause__(self) -> Any:
        """The statement as a node, for ``col.in_(query)`` and ``exists(query)``."""
        return self._statement(None)

    # --- compiling
    def _from(self) -> type:
        if self.table is None:
            raise InvalidRequestError("select() needs a table: sess.select(Table)")
        return self.table

    def _sources(self) -> list:
        """The tables and subqueries of FROM: given, or implied by the selected columns."""
        if self.table is not None:
            return [self._alias or self.table, *self._froms]
        if self._froms:
            return list(self._froms)
        out: list = []
        for e in self.entities or ():
            _sources(e, out)
        joined = [target for _, target, _ in self._joins]
        out = [s for s in out
               if not _holds(joined, s.__table__.quoted if isinstance(s, type) else _from_item(s))]
        if not out and not self._joins:
            raise InvalidRequestError("select() of expressions needs a table: .from_(Table)")
        return out

    def _statement(self, limit: int | None, labelled: bool = False) -> Any:
        if self.entities is None:
            columns: list = [self._alias.__alias__.select_sql if self._alias is not None
                             else self._from().__table__.select_sql]
        elif self._select_list is not None:
            columns = self._select_list
        elif labelled:
            columns = [_labelled(e, i) for i, e in enumerate(self.entities)]
        else:
            columns = list(self.entities)
        froms = [s.__table__.quoted if isinstance(s, type) else _from_item(s)
                 for s in self._sources()]
        return _compile.Select(columns, froms, self._joins, _conjunction(self.conditions),
                               self._group, _conjunction(self._having), self.orders,
                               self._limit if limit is None else limit, self._offset,
                               self._distinct, self._for_update)

    def _alias_alone(self) -> bool:
        """Rows of an alias and nothing the one-table select cannot say (so it can take
        that select's cached path, the alias's SQL in place of the table's)."""
        return self._alias is not None and not (self._joins or self._froms or self._group
                                                or self._having or self._distinct)

    def _compiled(self, limit: int | None) -> tuple[tuple[str, list], list]:
        """``((sql, params), joined relationships)``."""
        d = self.session.dialect
        joined: list = []
        if self.entities is None:
            table = self._from()
            rels = relationships.of_table(table)
            if rels:
                joined = [r for r in rels if r.load_kind == "joined"]
            if not joined and (self._plain or self._alias_alone()):
                if self._alias is None:
                    info = table.__table__
                    select_sql, from_sql = info.select_sql, info.quoted
                else:
                    alias = self._alias.__alias__
                    select_sql, from_sql = alias.select_sql, alias.from_sql
                return _compile.select_cached(
                    _compile.Compiler(d.name, d.numeric), select_sql, from_sql,
                    _conjunction(self.conditions), self.orders,
                    self._limit if limit is None else limit, self._offset,
                    self._for_update), joined
        stmt = self._statement(limit)
        if joined:
            stmt = relationships.joined_statement(self._alias or self.table, joined, stmt)
        return _compile.statement_cached(_compile.Compiler(d.name, d.numeric), stmt), joined

    def compile(self, limit: int | None = None) -> tuple[str, list]:
        table = self.table
        if self._plain and table is not None and table not in relationships._by_table:
            info = table.__table__
            d = self.session.dialect
            return _compile.select_cached(
                _compile.Compiler(d.name, d.numeric), info.select_sql, info.quoted,
                _conjunction(self.conditions), self.orders,
                self._limit if limit is None else limit, self._offset, self._for_update)
        return self._compiled(limit)[0]

    # --- running
    async def _rows(self, limit: int | None = None) -> list:
        table = self.table
        if self._plain and table is not None and table not in relationships._by_table:
            sql, params = self.compile(limit)
            return self.session._hydrate(table, await self.session._select(sql, params))
        return await self._rows_related(limit)

    async def _rows_related(self, limit: int | None) -> list:
        """Rows of a query with columns, joins or relationships to load."""
        (sql, params), joined = self._compiled(limit)
        records = await self.session._select(sql, params)
        if self.entities is not None:
            return self._tuples(records)
        table = self.table
        if joined:
            rows = relationships.hydrate_joined(self.session, table, joined, records)
        else:
            rows = self.session._hydrate(table, records)
        rels = relationships.of_table(table)
        if rels and rows:
            for rel in rels:
                if rel.load_kind == "select":
                    await relationships.load_select(self.session, rel, rows)
        return rows

    def _tuples(self, records: list) -> list[Row]:
        entities = self.entities
        cls = row_class(tuple(_entity_key(e, i) for i, e in enumerate(entities)))
        dialect = self.session.dialect.name
        procs = []
        for i, e in enumerate(entities):
            typ = getattr(e, "type", None)
            proc = typ.result_processor(dialect) if typ is not None else None
            if proc is not None:
                procs.append((i, proc))
        if not procs:
            return [cls(r) for r in records]
        out = []
        for record in records:
            values = list(record)
            for i, proc in procs:
                if values[i] is not None:
                    values[i] = proc(values[i])
            out.append(cls(values))
        return out

    async def first(self) -> Any:
        rows = await self._rows(limit=1 if self._limit is None else min(self._limit, 1))
        return rows[0] if rows else None

    async def all(self) -> ResultGenerator:
        return ResultGenerator(await self._rows())

    async def scalar(self) -> Any:
        """The first column of the first row, or None."""
        row = await self.first()
        if row is None:
            return None
        return row[0] if self.entities is not None else row

    async def scalars(self) -> list:
        """The first column of every row (the rows themselves for a select of a table)."""
        rows = await self._rows()
        if self.entities is None:
            return rows
        return [r[0] for r in rows]

    async def count(self) -> int:
        """The number of rows the query would return (within its limit and offset)."""
        d = self.session.dialect
        compiler = _compile.Compiler(d.name, d.numeric)
        if self._plain and self.entities is None:
            table = self._from()
            window = self._limit is not None or self._offset is not None
            sql, params = _compile.select_cached(
                compiler, "1" if window else "count(*)", table.__table__.quoted,
                _conjunction(self.conditions), None, self._limit, self._offset, False)
            if window:
                sql = f'SELECT count(*) FROM ({sql}) AS "counted"'
        else:
            inner = self._statement(None)
            sql, params = _compile.statement_cached(compiler, _compile.Select(
                [_compile.FuncExpr("count", (_compile.Star(),))],
                [_compile.Alias(inner, "counted")]))
        rows = await self.session._select(sql, params)
        return rows[0][0]

    async def exists(self) -> bool:
        """Whether the query would return any row (``SELECT EXISTS (...)``)."""
        d = self.session.dialect
        sql, params = _compile.statement_cached(
            _compile.Compiler(d.name, d.numeric),
            _compile.Select([_compile.ExistsExpr(self._statement(None))], []))
        rows = await self.session._select(sql, params)
        return bool(rows[0][0])

    def __await__(self) -> Generator[Any, None, list]:
        return self._rows().__await__()

    def __aiter__(self) -> Any:
        return _aiter_rows(self)


def _labelled(entity: Any, i: int) -> Any:
    """A selected expression named by its key, so a query around this one can refer to it."""
    if isinstance(entity, _compile.Label):
        return entity
    key = _entity_key(entity, i)
    if isinstance(entity, _compile.ColumnNode) and entity.name == key:
        return entity
    return _compile.Label(entity, key)


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

    def returning(self, *entities: Any) -> "InsertQuery":
        """Awaiting gives :class:`Row` tuples of these columns for the rows inserted (with
        ``on_conflict(...).nothing()``, only those really inserted); ``returning(Table)``
        gives the rows. Without it the rows come back too, keys filled in."""
        if not entities:
            raise ArgumentError("returning() needs the table or some of its columns")
        if len(entities) == 1 and isinstance(entities[0], type):
            self._returning = (_table(entities[0]),)
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
        # skipped by ON CONFLICT DO NOTHING is left unwritten
        rows = await self.session.run_insert_query(self)
        inserted = [r for r in rows if r._state == _row.PERSISTENT]
        if isinstance(first, type):
            return inserted
        cls = row_class(tuple(c.attr_name for c in self._returning))
        return [cls([getattr(r, c.attr_name) for c in self._returning]) for r in inserted]

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


class _BulkQuery:
    """What ``sess.update(T)`` and ``sess.delete(T)`` share. Running one keeps the session's
    objects of ``T`` in step with the database (SQLAlchemy's ``synchronize_session="fetch"``):
    when the identity map holds objects of ``T`` the statement returns the keys (and the set
    columns) of the rows it touched, so the session updates or deletes exactly those."""

    #: a DELETE marks the session's objects deleted; an UPDATE loads the set columns
    _deletes = False

    def __init__(self, session: "Session") -> None:
        self.session = session
        self.table_: type | None = None
        self.conditions: list[Node] = []
        self._returning: tuple | None = None

    def __call__(self, table: type) -> Any:
        return self.table(table)

    def table(self, table: type) -> Any:
        self.table_ = _table(table)
        return self

    def where(self, *conditions: Any) -> Any:
        self.conditions.extend(_condition(c) for c in conditions)
        return self

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
            self._returning = tuple(_column_of(table, c) for c in entities)
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
                if not _holds(out, c):
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
        sync = bool(info.pk_indexes) and sess.identity_map.holds(table)
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
        q = SelectQuery(sess)
        q.entities = list(self._returning)
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
    from asyncqlio.orm.results import Result
    if returning is None:
        return Result([], [], count, returns_rows=False)
    if returning == ():
        cls = row_class((table.__name__,))
        return Result([cls((obj,)) for obj in rows], [table.__name__], count)
    return Result(rows, [c.attr_name for c in returning], count)


class BulkUpdateQuery(_BulkQuery):
    """``await sess.update(User).set(User.score, User.score + 1).where(User.id > 10)``
    -> number of rows updated; the session's objects of those rows take the new values."""

    def __init__(self, session: "Session") -> None:
        super().__init__(session)
        self.assignments: list[tuple[Column, Any]] = []

    def set(self, column: Column | str, value: Any) -> "BulkUpdateQuery":
        self.assignments.append((_column_of(self._target(), column), value))
        return self

    def _synced(self) -> list[Column]:
        out: list[Column] = []
        for column, _ in self.assignments:
            if not _holds(out, column):
                out.append(column)
        return out

    def _refreshed(self) -> list[Column]:
        if self._returning == ():
            return list(self._target().__table__.columns)
        return self._synced()

    async def _old_keys(self) -> list | None:
        info = self._target().__table__
        if not any(_holds(info.primary_key, c) for c, _ in self.assignments):
            return None
        q = SelectQuery(self.session).columns(*info.primary_key).where(*self.conditions)
        return [tuple(r) for r in await q._rows()]

    def _compile(self, returning_sql: str | None) -> tuple[str, list]:
        table = self._target()
        if not self.assignments:
            raise InvalidRequestError("update() needs at least one set(column, value)")
        return _compile.compile_update(self._compiler(), table.__table__.quoted,
                                       self.assignments, _conjunction(self.conditions),
                                       returning_sql)


class BulkDeleteQuery(_BulkQuery):
    """``await sess.delete(User).where(User.id == 1)`` -> number of rows deleted; the
    session's objects of those rows are marked deleted."""

    _deletes = True

    def _refreshed(self) -> list[Column]:
        return list(self._target().__table__.columns) if self._returning == () else []

    def _compile(self, returning_sql: str | None) -> tuple[str, list]:
        table = self._target()
        sql, params = _compile.compile_delete(self._compiler(), table.__table__.quoted,
                                              _conjunction(self.conditions))
        if returning_sql is not None:
            sql += " RETURNING " + returning_sql
        return sql, params
