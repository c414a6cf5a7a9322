"""Query builders, as the original asyncqlio named them: ``sess.select(T)``
(:class:`SelectQuery`, whose rows an :class:`ResultGenerator` hands out), and, from
:mod:`asyncqlio.orm.writes`, the inserting, updating and deleting ones. Builder methods
change the query and return it; each query compiles to ``(sql, params)`` without I/O
(``compile()``, or the original's ``generate_sql()``)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generator, Generic, TypeVar

from asyncqlio._speedups import _compile, _row
from asyncqlio.exc import ArgumentError, InvalidRequestError
from asyncqlio.orm import loading
from asyncqlio.orm.alias import AliasedColumn, AliasedTable, model_of
from asyncqlio.orm.expressions import (BaseQuery, Subquery, condition, conjunction, entity_key,
                                       from_item, holds, join_on, labelled,
                                       relationship_join, row_count,
                                       sources_of, table_class)
from asyncqlio.orm.results import Result, Row, row_class, table_rows, typed_rows
from asyncqlio.orm.schema import TableBase
from asyncqlio.orm.schema import relationship as relationships
from asyncqlio.orm.writes import (BulkDeleteQuery, BulkQuery, BulkUpdateQuery, InsertQuery,
                                  RowDeleteQuery, RowUpdateQuery, UpsertQuery)

if TYPE_CHECKING:
    from asyncqlio.orm.session import Session

T = TypeVar("T", bound=TableBase)

Node = _compile.Node


class ResultGenerator(Generic[T]):
    """The rows of a select, iterated with ``async for`` or collected with ``flatten()``."""

    def __init__(self, rows: list[T]) -> None:
        self._rows = rows
        self._pos = 0

    def __aiter__(self) -> "ResultGenerator[T]":
        return self

    async def __anext__(self) -> T:
        row = await self.next()
        if row is None:
            raise StopAsyncIteration
        return row

    async def next(self) -> T | None:
        if self._pos >= len(self._rows):
            return None
        row = self._rows[self._pos]
        self._pos += 1
        return row

    async def flatten(self) -> list[T]:
        """The rows not iterated yet, as a list."""
        rest = self._rows[self._pos:]
        self._pos = len(self._rows)
        return rest

    def __len__(self) -> int:
        return len(self._rows)


class SelectQuery(BaseQuery, Generic[T]):
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
    #: some of ``entities`` are tables (``select(User, Address)``): rows of objects
    _entity_tables = False
    #: loader options given (``options()``); the load kinds they give the table's
    #: relationships, and what they load below those (see :func:`loading.plan`)
    _load_options: tuple = ()
    _load_kinds: dict = {}
    _load_nested: dict = {}
    #: the session's objects of the rows loaded take the values read (SQLAlchemy's
    #: ``populate_existing``); such a query never takes the one-table fast path
    _populate = False

    def __init__(self, session: "Session") -> None:
        self.session = session
        self.table: type | None = None
        self.conditions: list[Node] = []
        self.orders: list[Node] = []
        self._limit: int | None = None
        self._offset: int | None = None
        self._for_update = False

    @property
    def row_limit(self) -> int | None:
        return self._limit

    @property
    def row_offset(self) -> int | None:
        return self._offset

    def set_table(self, tbl: Any) -> "SelectQuery":
        return self.from_(tbl)

    def add_condition(self, condition: Any) -> "SelectQuery":
        return self.where(condition)

    def __call__(self, *entities: Any) -> "SelectQuery":
        if len(entities) == 1:
            if isinstance(entities[0], type):
                self.table = table_class(entities[0])
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
        tables = False
        for e in entities:
            if isinstance(e, AliasedTable) or (isinstance(e, type) and table_class(e)):
                tables = True  # select(User, Address): a row of objects
            elif not isinstance(e, Node) or isinstance(e, _compile.OrderExpr):
                raise ArgumentError(f"select() takes tables, columns and SQL expressions, "
                                    f"not {e!r}")
            elif type(e) is AliasedColumn:
                of_alias = True
        self.entities = list(entities)
        self._plain = False
        self._entity_tables = tables
        self._select_list = [e if isinstance(e, (type, AliasedTable)) else labelled(e, i)
                             for i, e in enumerate(entities)] if of_alias else None
        return self

    def from_(self, tbl: Any) -> "SelectQuery":
        """The table, alias (rows of its table) or ``query.subquery()`` to select from."""
        if isinstance(tbl, _compile.Alias):
            self._froms = [*self._froms, tbl]
            self._plain = False
        elif isinstance(tbl, AliasedTable):
            self._select_alias(tbl)
        else:
            self.table = table_class(tbl)
        return self

    select_from = from_

    def join(self, target: Any, on: Any = None) -> "SelectQuery":
        """``JOIN target ON on``; without ``on`` the foreign key between the tables."""
        return self._join("JOIN", target, on)

    def outerjoin(self, target: Any, on: Any = None) -> "SelectQuery":
        """``LEFT OUTER JOIN target ON on``."""
        return self._join("LEFT OUTER JOIN", target, on)

    def _join(self, kind: str, target: Any, on: Any) -> "SelectQuery":
        target, on = relationship_join(target, on)
        if isinstance(target, _compile.Alias):
            if on is None:
                raise ArgumentError("joining a subquery needs on=")
            sql: Any = target
        elif isinstance(target, AliasedTable):
            if on is None:
                on = join_on(self._sources(), target)
            sql = target.__alias__.from_sql
        else:
            target = table_class(target)
            sql = target.__table__.quoted
            if (target is self.table and self._alias is None) or \
                    (self._joins and holds([t for _, t, _ in self._joins], sql)):
                raise ArgumentError(
                    f"{target.__table__.name} is already in this query; join an alias "
                    f"of it: aliased({target.__name__}, 'name')")
            if on is None:
                on = join_on(self._sources(), target)
        self._joins = [*self._joins, (kind, sql, condition(on))]
        self._plain = False
        return self

    def where(self, *conditions: Any) -> "SelectQuery":
        self.conditions.extend(condition(c) for c in conditions)
        return self

    def options(self, *options: Any) -> "SelectQuery":
        """SQLAlchemy's loader options: ``.options(selectinload(User.addresses))`` loads
        those relationships as the options say for this query, instead of as declared."""
        if self.entities is not None:
            raise ArgumentError("loader options apply to a select of rows, not of columns")
        self._load_options = (*self._load_options, *options)
        self._load_kinds, self._load_nested = loading.plan(self._from(), self._load_options)
        return self

    def order_by(self, *columns: Any, sort_order: str = "asc") -> "SelectQuery":
        """Columns or expressions, ``.desc()`` for descending (or ``sort_order="desc"`` for
        the plain columns given); never SQL text."""
        desc = sort_order != "asc"
        if desc and sort_order != "desc":
            raise ArgumentError(f"sort_order is 'asc' or 'desc', not {sort_order!r}")
        orders = self.orders
        for c in columns:
            if isinstance(c, _compile.OrderExpr):
                orders.append(c)
            elif isinstance(c, Node):
                orders.append(c.desc() if desc else c.asc())
            elif isinstance(c, tuple):  # the original's AscSorter(a, b): a tuple of them
                self.order_by(*c, sort_order=sort_order)
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
        self._having = [*self._having, *(condition(c) for c in conditions)]
        self._plain = False
        return self

    def distinct(self) -> "SelectQuery":
        """``SELECT DISTINCT``."""
        self._distinct = True
        self._plain = False
        return self

    def limit(self, row_limit: int | None) -> "SelectQuery":
        self._limit = row_count(row_limit, "limit")
        return self

    def offset(self, offset: int | None) -> "SelectQuery":
        self._offset = row_count(offset, "offset")
        return self

    def for_update(self) -> "SelectQuery":
        """``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite locks the whole database on write."""
        self._for_update = True
        return self

    def subquery(self, name: str = "anon") -> Subquery:
        """This query as a table in another's FROM: ``sub = q.subquery("t")``; ``sub.c.x``."""
        stmt = self._statement(None, named=True)
        if self.entities is None:
            keys = [(c.name, c.type) for c in self._from().__table__.columns]
        else:
            keys = [(entity_key(e, i), getattr(e, "type", None))
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
            sources_of(e, out)
        joined = [target for _, target, _ in self._joins]
        # none at all is a select without FROM: ``select(func.now())``, ``select(q.exists())``
        return [s for s in out
                if not holds(joined, s.__table__.quoted if isinstance(s, type) else from_item(s))]

    def _statement(self, limit: int | None, named: bool = False) -> Any:
        if self.entities is None:
            columns: list = [self._alias.__alias__.select_sql if self._alias is not None
                             else self._from().__table__.select_sql]
        elif self._select_list is not None:
            columns = self._select_list
        elif named:
            if self._entity_tables:
                raise NotImplementedError("a subquery of whole rows of several tables is not "
                                          "implemented in asyncqlio: select their columns")
            columns = [labelled(e, i) for i, e in enumerate(self.entities)]
        else:
            columns = list(self.entities)
        if self._entity_tables:  # a table's columns where the table is selected
            columns = [_table_sql(e) for e in columns]
        froms = [s.__table__.quoted if isinstance(s, type) else from_item(s)
                 for s in self._sources()]
        return _compile.Select(columns, froms, self._joins, conjunction(self.conditions),
                               self._group, conjunction(self._having), self.orders,
                               self._limit if limit is None else limit, self._offset,
                               self._distinct, self._for_update)

    def _alias_alone(self) -> bool:
        """Rows of an alias and nothing the one-table select cannot say (so it can take
        that select's cached path, the alias's SQL in place of the table's)."""
        return self._alias is not None and not (self._joins or self._froms or self._group
                                                or self._having or self._distinct)

    def _compiled(self, limit: int | None,
                  eager: bool = True) -> tuple[tuple[str, list], list]:
        """``((sql, params), joined relationships)``; without ``eager`` no relationship is
        joined (rows below a session, which has the objects to fill)."""
        d = self.session.dialect
        joined: list = []
        if self.entities is None:
            table = self._from()
            rels = relationships.of_table(table) if eager else ()
            if rels:
                kinds = self._load_kinds
                joined = [r for r in rels if kinds.get(r, r.load_kind) == "joined"]
            if not joined and (self._plain or self._alias_alone()):
                if self._alias is None:
                    info = table.__table__
                    select_sql, from_sql = info.select_sql, info.quoted
                else:
                    alias = self._alias.__alias__
                    select_sql, from_sql = alias.select_sql, alias.from_sql
                return _compile.select_cached(
                    _compile.Compiler(d.name, d.numeric), select_sql, from_sql,
                    conjunction(self.conditions), self.orders,
                    self._limit if limit is None else limit, self._offset,
                    self._for_update), joined
        stmt = self._statement(limit)
        if joined:
            stmt = loading.joined_statement(self._alias or self.table, joined, stmt)
        return _compile.statement_cached(_compile.Compiler(d.name, d.numeric), stmt), joined

    def compile(self, limit: int | None = None) -> tuple[str, list]:
        table = self.table
        if self._plain and table is not None and table not in relationships._by_table:
            info = table.__table__
            d = self.session.dialect
            return _compile.select_cached(
                _compile.Compiler(d.name, d.numeric), info.select_sql, info.quoted,
                conjunction(self.conditions), self.orders,
                self._limit if limit is None else limit, self._offset, self._for_update)
        return self._compiled(limit)[0]

    # --- running
    async def _rows(self, limit: int | None = None) -> list:
        table = self.table
        if self._plain and table is not None and table not in relationships._by_table:
            sql, params = SelectQuery.compile(self, limit)  # not a subclass's public one
            return self.session._hydrate(table, await self.session._select(sql, params))
        return await self._rows_related(limit)

    async def _rows_related(self, limit: int | None) -> list:
        """Rows of a query with columns, joins or relationships to load."""
        (sql, params), joined = self._compiled(limit)
        return await self._loaded(await self.session._select(sql, params), joined)

    async def _loaded(self, records: list, joined: list) -> list:
        """What the query gives for these records: tuples, or the session's objects with
        the relationships ``joined`` read from them and the others loaded as asked."""
        if self.entities is not None:
            return self._tuples(records)
        table = self.table
        if self._populate:
            self._populate_existing(table, records)
        if joined:
            rows = loading.hydrate_joined(self.session, table, joined, records)
        else:
            rows = self.session._hydrate(table, records)
        rels = relationships.of_table(table)
        if rels and rows:
            kinds = self._load_kinds
            for rel in rels:
                if kinds.get(rel, rel.load_kind) == "select":
                    await loading.load_select(self.session, rel, rows)
            if self._load_nested:
                await loading.load_nested(self.session, rows, self._load_nested)
        return rows

    def _tuples(self, records: list) -> list[Row]:
        """Rows of the selected columns from records (objects where tables are selected)."""
        entities = self.entities
        keys = tuple(entity_key(e, i) for i, e in enumerate(entities))
        if self._entity_tables:
            return self._entity_rows(row_class(keys), records)
        return typed_rows(self.session.dialect.name, keys,
                           [getattr(e, "type", None) for e in entities], records)

    def _entity_rows(self, cls: type, records: list) -> list[Row]:
        """``select(User, Address.email, ...)``: each table's columns of the records made
        the session's objects (None where an outer join found no row), the other values
        loaded."""
        hydrate = self.session._hydrate
        dialect = self.session.dialect.name
        columns: list[list] = []
        pos = 0
        for e in self.entities:
            if isinstance(e, (type, AliasedTable)):
                table = model_of(e)
                info = table.__table__
                end = pos + len(info.columns)
                keys = [pos + i for i in info.pk_indexes] or list(range(pos, end))
                present = [r for r in records if any(r[k] is not None for k in keys)]
                parts = [r[pos:end] for r in present]
                if self._populate:
                    self._populate_existing(table, parts)
                made = iter(hydrate(table, parts))
                found = {id(r) for r in present}
                columns.append([next(made) if id(r) in found else None for r in records])
                pos = end
                continue
            typ = getattr(e, "type", None)
            proc = typ.result_processor(dialect) if typ is not None else None
            i = pos
            columns.append([r[i] if proc is None or r[i] is None else proc(r[i])
                            for r in records])
            pos += 1
        return [cls(values) for values in zip(*columns)] if columns else []

    def _populate_existing(self, table: type, records: list) -> None:
        """The session's objects of these records (the table's columns first) take the
        values read, their unflushed changes dropped; a rollback to a savepoint takes the
        old values back."""
        sess = self.session
        info = table.__table__
        if not info.pk_indexes:
            return
        n = len(info.columns)
        loaders = info.loaders_for(sess.dialect.name)
        journal = sess._journal if sess._journaling else None
        for record in records:
            values = _row.load_values(record[:n], loaders)
            row = sess.identity_map.get((table, tuple(values[i] for i in info.pk_indexes)))
            if row is not None:
                if journal is not None:
                    _row.journal((row,), journal)
                _row.load_into(row, values, (), sess)
                sess._dirty.pop(id(row), None)

    def _connection_rows(self, records: list, dialect: str) -> tuple[list[Row], list[str]]:
        """Rows and keys as a connection gives them, below any identity map: a selected
        table is its columns (keyed by attribute name), as in SQLAlchemy's Core rows."""
        if self.entities is None:
            return table_rows(self.table, dialect, records)
        keys: list[str] = []
        types: list = []
        for i, e in enumerate(self.entities):
            if isinstance(e, (type, AliasedTable)):
                columns = model_of(e).__table__.columns
                keys += [c.attr_name for c in columns]
                types += [c.type for c in columns]
            else:
                keys.append(entity_key(e, i))
                types.append(getattr(e, "type", None))
        return typed_rows(dialect, tuple(keys), types, records), keys

    def generate_sql(self) -> tuple[str, list]:
        """The original asyncqlio's name for :meth:`compile`."""
        return self.compile()

    async def run(self) -> "ResultGenerator":
        return await self.all()

    async def _execute_on_connection(self, conn: Any) -> Any:
        """What ``conn.execute(query)`` below the session gives: a Result of ``Row`` tuples
        (a selected table is its columns keyed by attribute name; no identity map there)."""
        sql, params = self._compiled(None, eager=False)[0]
        records = await conn.connection.fetch(sql, params)
        return Result(*self._connection_rows(records, conn.db.dialect.name))

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
                conjunction(self.conditions), None, self._limit, self._offset, False)
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


def _table_sql(entity: Any) -> Any:
    """A selected entity as the select list has it: a table's or alias's columns."""
    if isinstance(entity, type):
        return entity.__table__.select_sql
    if isinstance(entity, AliasedTable):
        return entity.__alias__.select_sql
    return entity


async def _aiter_rows(query: "SelectQuery") -> Any:
    for row in await query._rows():
        yield row


__all__ = ["BaseQuery", "BulkDeleteQuery", "BulkQuery", "BulkUpdateQuery", "InsertQuery",
           "ResultGenerator", "RowDeleteQuery", "RowUpdateQuery", "SelectQuery", "UpsertQuery"]
