"""Statements built without a session, as SQLAlchemy writes them: ``select(User)``,
``insert(User)``, ``update(User)``, ``delete(User)``. Each builder method returns a new
statement (the one it was called on is unchanged, so a statement can be kept and reused);
``await session.execute(stmt)`` or ``await conn.execute(stmt)`` runs it.

They are the session's own query builders underneath (:class:`~.query.SelectQuery` and
the writes of :mod:`.writes`): at execution a statement is copied onto the session that
runs it, and from there it is the same compiled, cached path as ``sess.select(User)``.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from asyncqlio._speedups import _compile, _row
from asyncqlio.backends.sqlite3 import Sqlite3Dialect
from asyncqlio.exc import ArgumentError, InvalidRequestError
from asyncqlio.orm import persistence
from asyncqlio.orm.alias import AliasedTable, column_of
from asyncqlio.orm.expressions import column_named, entity_key, select_node, table_class
from asyncqlio.orm.query import SelectQuery
from asyncqlio.orm.results import AsyncResult, Result, row_class, table_rows
from asyncqlio.orm.schema import Column, Relationship, TableBase
from asyncqlio.orm.writes import BulkDeleteQuery, BulkUpdateQuery, InsertQuery


class Unbound:
    """Where a statement is before it runs: it compiles in ``dialect`` (SQLite's unless
    given: ``str(stmt)``), and anything that needs a session says how to run it."""

    __slots__ = ("dialect",)

    def __init__(self, dialect: Any) -> None:
        self.dialect = dialect

    @property
    def select(self) -> SelectQuery:
        return SelectQuery(self)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> Any:
        raise InvalidRequestError("this statement is not bound to a session: run it with "
                                  "`await session.execute(stmt)` or `await conn.execute(stmt)`")


UNBOUND = Unbound(Sqlite3Dialect())


def _copy(stmt: Any, session: Any) -> Any:
    """A copy of ``stmt`` in ``session``, sharing its (unchanged) lists."""
    new = object.__new__(type(stmt))
    new.__dict__.update(stmt.__dict__)
    new.session = session
    return new


def _generative(method: Any) -> Any:
    """The builder ``method`` run on a copy: the statement it is called on is unchanged."""

    def builder(self: Any, *args: Any, **kwargs: Any) -> Any:
        return method(self._clone(), *args, **kwargs)

    builder.__name__ = method.__name__
    builder.__doc__ = method.__doc__
    return builder


def _relationship_join(target: Any, onclause: Any) -> tuple[Any, Any]:
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


class Select(SelectQuery):
    """``select(User).where(User.id > 1).order_by(User.id)``: rows of User;
    ``select(User.name, func.count())``: Row tuples. The SQL is ``str(stmt)``."""

    def __init__(self, *entities: Any) -> None:
        super().__init__(UNBOUND)  # type: ignore[arg-type]
        self._options: list = []
        self.execution_opts: dict[str, Any] = {}
        if entities:
            SelectQuery.__call__(self, *entities)

    def _clone(self) -> "Select":
        new = _copy(self, self.session)
        new.conditions = list(self.conditions)
        new.orders = list(self.orders)
        return new

    def _bind_to(self, session: Any, params: Any = None) -> "Select":
        if params:
            raise ArgumentError("a select() takes no parameters at execution; its values "
                                "are in its conditions (User.id == 5)")
        return _copy(self, session)

    def __str__(self) -> str:
        return self.compile()[0]

    async def _execute_on_connection(self, conn: Any, params: Any = None) -> Result:
        """``conn.execute(select(...))``: Row tuples (whole rows keyed by attribute name;
        there is no identity map below a session)."""
        return await SelectQuery._execute_on_connection(
            self._bind_to(Unbound(conn.db.dialect), params), conn)

    async def _stream_on_connection(self, conn: Any, params: Any = None) -> AsyncResult:
        """``conn.stream(select(...))``: the Row tuples read from a cursor as they are used
        (the connection must be in a transaction)."""
        bound = self._bind_to(Unbound(conn.db.dialect), params)
        sql, args = bound.compile()
        if bound.entities is not None:
            keys = [entity_key(e, i) for i, e in enumerate(bound.entities)]
            rows = bound._tuples
        else:
            keys = [c.attr_name for c in bound.table.__table__.columns]
            dialect = conn.db.dialect.name

            def rows(records: list) -> list:
                return table_rows(bound.table, dialect, records)[0]
        cursor: Any = None

        async def fetch(n: int) -> list:
            nonlocal cursor
            try:
                if cursor is None:
                    cursor = conn.connection.cursor(sql, args, n, mappings=False)
                    records = await anext(cursor, None)
                else:
                    records = await cursor.asend(n)
            except StopAsyncIteration:
                records = None
            return rows(records) if records else []

        async def close() -> None:
            if cursor is not None:
                await cursor.aclose()

        return AsyncResult(fetch, keys, close, self.execution_opts.get("yield_per") or 1000)

    where = _generative(SelectQuery.where)
    filter = where
    group_by = _generative(SelectQuery.group_by)
    having = _generative(SelectQuery.having)
    distinct = _generative(SelectQuery.distinct)
    limit = _generative(SelectQuery.limit)
    offset = _generative(SelectQuery.offset)
    select_from = _generative(SelectQuery.from_)
    from_ = select_from
    options = _generative(SelectQuery.options)

    def filter_by(self, **values: Any) -> "Select":
        """``filter_by(name="a")``: equality on the selected table's attributes."""
        table = self.table
        if table is None:
            table = next((getattr(e, "table", None) for e in self.entities or ()
                          if getattr(e, "table", None) is not None), None)
        if table is None:
            raise InvalidRequestError("filter_by() needs a table in the select")
        entity = self._alias or table
        return self.where(*[column_of(entity, column_named(table, k)) == v
                            for k, v in values.items()])

    def order_by(self, *columns: Any) -> "Select":
        """Columns or ``col.desc()``; ``order_by(None)`` takes the ordering away."""
        new = self._clone()
        if len(columns) == 1 and columns[0] is None:
            new.orders = []
            return new
        return SelectQuery.order_by(new, *columns)

    def join(self, target: Any, onclause: Any = None, *, isouter: bool = False,
             full: bool = False) -> "Select":
        """``join(Address)`` (by the foreign key), ``join(Address, User.id ==
        Address.user_id)``, ``join(User.addresses)`` (a relationship)."""
        if full:
            raise NotImplementedError("FULL OUTER JOIN is not implemented in asyncqlio")
        target, onclause = _relationship_join(target, onclause)
        method = SelectQuery.outerjoin if isouter else SelectQuery.join
        return method(self._clone(), target, onclause)

    def outerjoin(self, target: Any, onclause: Any = None, *, full: bool = False) -> "Select":
        return self.join(target, onclause, isouter=True, full=full)

    def join_from(self, from_: Any, target: Any, onclause: Any = None, *,
                  isouter: bool = False, full: bool = False) -> "Select":
        """A join whose left side is ``from_``, which must already be in the select."""
        return self.join(target, onclause, isouter=isouter, full=full)

    def add_columns(self, *entities: Any) -> "Select":
        if self.entities is None:
            raise NotImplementedError("add_columns() to a select of whole rows is not "
                                      "implemented in asyncqlio: select the columns, "
                                      "select(User.id, User.name, ...)")
        return self.with_only_columns(*self.entities, *entities)

    def with_only_columns(self, *entities: Any) -> "Select":
        """Select these columns instead (FROM stays what it was)."""
        return SelectQuery.columns(self._clone(), *entities)

    def with_for_update(self, *, nowait: bool = False, read: bool = False, of: Any = None,
                        skip_locked: bool = False, key_share: bool = False) -> "Select":
        """``FOR UPDATE``; its variants (NOWAIT, SKIP LOCKED, FOR SHARE, OF) are not
        implemented."""
        if nowait or read or of is not None or skip_locked or key_share:
            raise NotImplementedError("with_for_update() options (nowait, read, of, "
                                      "skip_locked, key_share) are not implemented in asyncqlio")
        return SelectQuery.for_update(self._clone())

    def slice(self, start: int, stop: int) -> "Select":
        return self.offset(start or None).limit(max(stop - start, 0))

    def execution_options(self, **options: Any) -> "Select":
        """Options for running it; ``yield_per`` sets the rows per round trip of a
        ``stream()``, ``populate_existing`` is what asyncqlio always does for the rows a
        query loads; others are kept for listeners to read."""
        new = self._clone()
        new.execution_opts = {**self.execution_opts, **options}
        return new

    def get_execution_options(self) -> dict[str, Any]:
        return dict(self.execution_opts)

    def scalar_subquery(self) -> Any:
        """This select as a value in another: ``select(User.name, select(func.count(...))
        .where(...).scalar_subquery())``."""
        return select_node(self)

    def exists(self) -> Any:  # type: ignore[override]
        """``EXISTS (this select)``, as a condition."""
        return _compile.ExistsExpr(select_node(self))

    @property
    def selected_columns(self) -> list:
        if self.entities is not None:
            return list(self.entities)
        return list(self._from().__table__.columns)

    @property
    def column_descriptions(self) -> list[dict[str, Any]]:
        out = []
        for e in self.entities if self.entities is not None else [self._alias or self.table]:
            table = getattr(e, "table", None) if not isinstance(e, (type, AliasedTable)) else e
            out.append({"name": getattr(e, "attr_name", None) or getattr(e, "name", None)
                        or getattr(e, "__name__", None),
                        "type": getattr(e, "type", None), "entity": table,
                        "expr": e})
        return out


def select(*entities: Any) -> Select:
    """``select(User)``, ``select(User.id, User.name)``, ``select(func.count()).select_from(User)``."""
    return Select(*entities)


def mapping_column(table: type, key: Any) -> Column:
    """The column of ``table`` a key of ``values()`` or ``set_`` names: an attribute name,
    a column name, or the column itself."""
    info = table.__table__
    if isinstance(key, str):
        attr = info.attrs.get(key)
        column = attr.column if attr is not None else info.by_name.get(key)
    else:
        column = key if isinstance(key, Column) and key.table is table else None
    if column is None:
        raise ArgumentError(f"{table.__name__} has no column {key!r}")
    return column


def _mapping_values(table: type, mapping: Mapping[Any, Any]) -> dict[str, Any]:
    """A mapping of attribute names, column names or columns to values, by attribute name."""
    return {mapping_column(table, k).attr_name: v for k, v in mapping.items()}


def _is_mappings(params: Any) -> bool:
    return isinstance(params, Sequence) and not isinstance(params, (str, bytes)) \
        and all(isinstance(p, Mapping) for p in params)


class Insert(InsertQuery):
    """``insert(User).values(name="a")``, ``.values([{...}, {...}])`` (one multi-row
    statement), or ``session.execute(insert(User), [{...}, {...}])`` (as many rows, batched
    as a flush writes them: COPY or arrays on PostgreSQL, executemany on SQLite). Without
    ``returning()`` the rows are written and not kept by the session; ``returning(User)``
    gives the session's objects for them, ``returning(User.id, ...)`` Row tuples."""

    #: an ON CONFLICT clause (``asyncqlio.dialects.postgresql.insert``), or None
    _conflict: Any = None

    def __init__(self, table: Any) -> None:
        super().__init__(UNBOUND)  # type: ignore[arg-type]
        self.table = table_class(table)
        self._values: list[dict[str, Any]] | None = None
        self._params: Any = None

    def _clone(self) -> "Insert":
        return _copy(self, self.session)

    def __str__(self) -> str:
        sql, _ = self._bind_to(UNBOUND).compile()
        return sql

    def values(self, *args: Any, **kwargs: Any) -> "Insert":
        """``values(name="a")``, ``values({"name": "a"})``, ``values([{...}, {...}])``."""
        if args and kwargs:
            raise ArgumentError("values() takes a mapping, a list of mappings, or keyword "
                                "arguments, not both")
        if len(args) > 1:
            raise ArgumentError("values() takes one mapping or one list of mappings")
        given: Any = args[0] if args else kwargs
        if isinstance(given, Mapping):
            rows = [given]
        elif _is_mappings(given) and given:
            rows = list(given)
        else:
            raise ArgumentError(f"values() takes a mapping or a list of mappings, not {given!r}")
        new = self._clone()
        new._values = [*(self._values or ()), *(_mapping_values(self.table, r) for r in rows)]
        return new

    def returning(self, *entities: Any) -> "Insert":  # type: ignore[override]
        return InsertQuery.returning(self._clone(), *entities)

    def _bind_to(self, session: Any, params: Any = None) -> "Insert":
        if params is not None and not (isinstance(params, Mapping) or _is_mappings(params)):
            raise ArgumentError(f"the parameters of an insert are a mapping or a list of "
                                f"mappings, not {params!r}")
        new = _copy(self, session)
        new._params = params
        new.rows_to_insert = new._rows()
        new.conflict_sql = self._conflict
        return new

    def _rows(self) -> list[TableBase]:
        base = self._values or []
        params = self._params
        if params is None or params == []:
            mappings = base or [{}]
        else:
            given = [params] if isinstance(params, Mapping) else list(params)
            extra = [_mapping_values(self.table, p) for p in given]
            if len(base) > 1:
                raise ArgumentError("an insert with several rows in values() takes no "
                                    "parameters at execution")
            common = base[0] if base else {}
            mappings = [{**common, **m} for m in extra]
        cls = self.table
        return [cls(**m) for m in mappings]

    def _expressions(self) -> bool:
        return any(isinstance(v, _compile.Node) for row in self.rows_to_insert
                   for v in row._values)

    async def _result(self) -> Result:
        """Written without the session keeping the rows (SQLAlchemy's ORM bulk insert),
        unless ``returning(User)`` asks for them."""
        if self._returning is not None:
            return await InsertQuery._result(self)
        sess = self.session
        sess._check_open()
        await sess._autoflush()
        rows = self.rows_to_insert
        await persistence.insert(sess, rows, self.conflict_sql, bulk=not self._expressions())
        count = sum(1 for r in rows if r._state == _row.PERSISTENT)
        for row in rows:  # not the session's: as SQLAlchemy's bulk insert leaves them
            row._session = None
            if row._state == _row.PERSISTENT:
                row._state = _row.DETACHED
        return Result([], [], count, returns_rows=False)

    async def _execute_on_connection(self, conn: Any, params: Any = None) -> Result:
        """``conn.execute(insert(T), [...])``: multi-row INSERTs; with ``returning()`` the
        Row tuples of the rows inserted."""
        dialect = conn.db.dialect
        bound = self._bind_to(Unbound(dialect), params)
        statements = persistence.insert_statements(dialect, bound.rows_to_insert,
                                                   bound.conflict_sql)
        if self._returning is None:
            count = 0
            for sql, args, _ in statements:
                count += await conn.connection.execute(sql, args)
            return Result([], [], count, returns_rows=False)
        records: list = []
        for sql, args, _ in statements:
            records += await conn.connection.fetch(sql, args)
        rows, keys = table_rows(self.table, dialect.name, records)
        first = self._returning[0]
        if isinstance(first, type):
            return Result(rows, keys)
        names = [c.attr_name for c in self._returning]
        cls = row_class(tuple(names))
        return Result([cls([getattr(r, n) for n in names]) for r in rows], names)


def insert(table: Any) -> Insert:
    return Insert(table)


class _WriteStatement:
    """What ``update()`` and ``delete()`` share: copies for each builder method, and a copy
    on the session that runs them."""

    def _clone(self) -> Any:
        new = _copy(self, self.session)
        new.conditions = list(self.conditions)
        return new

    def _bind_to(self, session: Any, params: Any = None) -> Any:
        if params:
            raise ArgumentError(f"{type(self).__name__.lower()}() with a WHERE takes no "
                                "parameters at execution; its values are in values() and "
                                "where()")
        return _copy(self, session)

    def __str__(self) -> str:
        return self.compile()[0]

    async def _execute_on_connection(self, conn: Any, params: Any = None) -> Result:
        if params and not isinstance(params, Mapping):
            raise ArgumentError("an update by primary key from a list of mappings runs in "
                                "a session (session.execute(update(T), [...]))")
        bound = self._bind_to(Unbound(conn.db.dialect), params)
        return await super(_WriteStatement, bound)._execute_on_connection(conn)

    def filter_by(self, **values: Any) -> Any:
        table = self._target()
        return self.where(*[column_named(table, k) == v for k, v in values.items()])

    def execution_options(self, **options: Any) -> Any:
        """``synchronize_session``: asyncqlio always keeps the session's objects in step
        (SQLAlchemy's ``"fetch"``); ``False`` leaves them as they are."""
        new = self._clone()
        new._synchronize = options.get("synchronize_session", True) is not False
        return new


class Update(_WriteStatement, BulkUpdateQuery):
    """``update(User).where(User.id == 5).values(name="b")``: the rows matched, and the
    session's objects of them take the new values; ``session.execute(update(User),
    [{"id": 1, "name": "a"}, ...])`` updates each row by its primary key."""

    def __init__(self, table: Any) -> None:
        BulkUpdateQuery.__init__(self, UNBOUND)  # type: ignore[arg-type]
        self.table_ = table_class(table)
        self._params: Any = None

    def _clone(self) -> "Update":
        new = _WriteStatement._clone(self)
        new.assignments = list(self.assignments)
        return new

    def _bind_to(self, session: Any, params: Any = None) -> "Update":
        if params and _is_mappings(params) and not isinstance(params, Mapping):
            if self.conditions or self.assignments:
                raise ArgumentError("an update by primary key from a list of mappings has "
                                    "no where() or values() of its own")
            new = _copy(self, session)
            new._params = list(params)
            return new
        return _WriteStatement._bind_to(self, session, params)

    def values(self, *args: Any, **kwargs: Any) -> "Update":
        """``values(name="b")``, ``values({User.score: User.score + 1})``."""
        if len(args) > 1 or (args and not isinstance(args[0], Mapping)):
            raise ArgumentError("values() takes a mapping or keyword arguments")
        table = self._target()
        new = self._clone()
        for key, value in {**(args[0] if args else {}), **kwargs}.items():
            new.assignments.append((mapping_column(table, key), value))
        return new

    where = _generative(BulkUpdateQuery.where)
    filter = where
    returning = _generative(BulkUpdateQuery.returning)

    async def _result(self) -> Result:
        if self._params is not None:
            await self.session.bulk_update_mappings(self._target(), self._params)
            return Result([], [], len(self._params), returns_rows=False)
        return await BulkUpdateQuery._result(self)


def update(table: Any) -> Update:
    return Update(table)


class Delete(_WriteStatement, BulkDeleteQuery):
    """``delete(User).where(User.id == 5)``: the rows deleted; the session's objects of
    them are deleted too."""

    def __init__(self, table: Any) -> None:
        BulkDeleteQuery.__init__(self, UNBOUND)  # type: ignore[arg-type]
        self.table_ = table_class(table)

    where = _generative(BulkDeleteQuery.where)
    filter = where
    returning = _generative(BulkDeleteQuery.returning)


def delete(table: Any) -> Delete:
    return Delete(table)


__all__ = ["Delete", "Insert", "Select", "Update", "delete", "insert", "select", "update"]
