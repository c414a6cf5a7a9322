"""Statements built without a session, as SQLAlchemy writes them: ``select(User)``,
``insert(User)``, ``update(User)``, ``delete(User)``. Each builder method returns a new
statement (the one it was called on is unchanged, so a statement can be kept and reused);
``await session.execute(stmt)`` or ``await conn.execute(stmt)`` runs it.

They are the session's own query builders underneath (:class:`~.query.SelectQuery` and
the writes of :mod:`.writes`): at execution a statement is copied onto the session that
runs it, and from there it is the same compiled, cached path as ``sess.select(User)``.
"""
from __future__ import annotations

import operator
import sys
import types
from typing import Any, Mapping, Sequence

from asyncqlio._speedups import _compile, _row
from asyncqlio.backends.sqlite3 import Sqlite3Dialect
from asyncqlio.exc import ArgumentError, InvalidRequestError
from asyncqlio.orm import persistence
from asyncqlio.orm.alias import AliasedTable, column_of, model_of
from asyncqlio.orm.expressions import (condition, relationship_join, row_count, select_node,
                                       table_class)
from asyncqlio.orm.query import SelectQuery
from asyncqlio.orm.results import AsyncResult, Result, row_class, table_rows
from asyncqlio.orm.schema import Column, TableBase
from asyncqlio.orm.schema.types import Boolean
from asyncqlio.orm.unit_of_work import identity_key
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
#: dialect -> its Unbound, made once
_unbound: dict[Any, Unbound] = {}


def unbound(dialect: Any) -> Unbound:
    """Where a statement compiles in ``dialect`` outside a session."""
    found = _unbound.get(dialect)
    if found is None:
        found = _unbound[dialect] = Unbound(dialect)
    return found


def _copy(stmt: Any, session: Any) -> Any:
    """A copy of ``stmt`` in ``session``, sharing its (unchanged) lists."""
    new = object.__new__(type(stmt))
    new.__dict__ = stmt.__dict__.copy()
    new.session = session
    return new


def _alone_count() -> int:
    """What ``sys.getrefcount(self)`` gives, first thing in a method, for an object that
    only the caller's expression holds (``select(User).where(...)``: the statement
    ``select()`` made, which nothing else can see). A builder given such a statement
    changes it instead of copying it (no one can tell), as CPython's own ``s += t`` does
    for a string no one else holds. 0 where this interpreter does not tell such an object
    from a held one (builders then always copy): measured here on objects held by a local,
    a global, a list, an attribute and a closure."""

    class Probe:
        def count(self) -> int:
            return _getrefcount(self)

    alone = Probe().count()
    local = Probe()
    box = [Probe()]
    holder = types.SimpleNamespace(item=Probe())
    globals()["_probe"] = Probe()
    try:
        held = [local.count(), box[0].count(), holder.item.count(), _probe.count(),  # noqa: F821
                (lambda: local.count())()]
    finally:
        del globals()["_probe"]
    return alone if min(held) > alone else 0


_getrefcount = sys.getrefcount
#: see _alone_count
_ALONE = _alone_count()


def _generative(method: Any) -> Any:
    """The builder ``method`` run on a copy (or on the statement itself where nothing else
    holds it): the statement it is called on is unchanged."""

    def builder(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _getrefcount(self) <= _ALONE:
            return method(self, *args, **kwargs)
        return method(self._clone(), *args, **kwargs)

    builder.__name__ = method.__name__
    builder.__doc__ = method.__doc__
    return builder


class Compiled(tuple):
    """A compiled statement: ``(sql, params)``, whose ``str()`` is the SQL."""

    __slots__ = ()

    string = property(operator.itemgetter(0))
    params = property(operator.itemgetter(1))

    def __str__(self) -> str:
        return self[0]


class Select(SelectQuery):
    """``select(User).where(User.id > 1).order_by(User.id)``: rows of User;
    ``select(User.name, func.count())``: Row tuples. The SQL is ``str(stmt)``."""

    #: the table (or alias) joined last, whose attributes ``filter_by()`` names
    _joined: Any = None
    #: ``execution_options()`` given (a new dict each time, never changed in place)
    execution_opts: dict[str, Any] = {}

    def __init__(self, *entities: Any) -> None:
        super().__init__(UNBOUND)  # type: ignore[arg-type]
        if entities:
            SelectQuery.__call__(self, *entities)

    # the builders every query uses, written out. ``_getrefcount(self) <= _ALONE``: nothing
    # but the caller's expression holds this statement, so it is changed rather than copied
    # (see _alone_count); else the copy shares what the builder leaves as it is
    def where(self, *conditions: Any) -> "Select":
        new = self if _getrefcount(self) <= _ALONE else _copy(self, self.session)
        new.conditions = [*self.conditions, *map(condition, conditions)]
        return new

    filter = where

    def order_by(self, *columns: Any) -> "Select":
        """Columns or ``col.desc()``; ``order_by(None)`` takes the ordering away."""
        new = self if _getrefcount(self) <= _ALONE else _copy(self, self.session)
        if len(columns) == 1 and columns[0] is None:
            new.orders = []
            return new
        new.orders = list(self.orders)
        return SelectQuery.order_by(new, *columns)

    def limit(self, row_limit: int | None) -> "Select":
        new = self if _getrefcount(self) <= _ALONE else _copy(self, self.session)
        new._limit = row_count(row_limit, "limit")
        return new

    def offset(self, offset: int | None) -> "Select":
        new = self if _getrefcount(self) <= _ALONE else _copy(self, self.session)
        new._offset = row_count(offset, "offset")
        return new

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

    def compile(self, limit: int | None = None, *, dialect: Any = None,  # type: ignore[override]
                bind: Any = None, compile_kwargs: Mapping[str, Any] | None = None) -> "Compiled":
        """The SQL and its parameters in ``dialect`` (``engine.dialect``; SQLite's by
        default), as SQLAlchemy's ``stmt.compile(dialect=...)``: ``str()`` of it is the SQL,
        and it unpacks as asyncqlio's ``(sql, params)``."""
        if compile_kwargs:
            raise NotImplementedError("compile_kwargs (literal_binds: values written into "
                                      "the SQL) is not implemented in asyncqlio; values are "
                                      "always bound parameters")
        if dialect is None:
            if bind is None:
                return Compiled(SelectQuery.compile(self, limit))
            dialect = bind.dialect
        if _getrefcount(self) <= _ALONE:  # held by no one: compiled where it is
            self.session = unbound(dialect)
            return Compiled(SelectQuery.compile(self, limit))
        return Compiled(SelectQuery.compile(_copy(self, unbound(dialect)), limit))

    async def _execute_on_connection(self, conn: Any, params: Any = None) -> Result:
        """``conn.execute(select(...))``: Row tuples (a selected table is its columns, keyed
        by attribute name: there is no identity map below a session)."""
        return await SelectQuery._execute_on_connection(
            self._bind_to(unbound(conn.db.dialect), params), conn)

    async def _stream_on_connection(self, conn: Any, params: Any = None) -> AsyncResult:
        """``conn.stream(select(...))``: the Row tuples read from a cursor as they are used
        (the connection must be in a transaction)."""
        bound = self._bind_to(unbound(conn.db.dialect), params)
        sql, args = bound._compiled(None, eager=False)[0]
        dialect = conn.db.dialect.name
        keys = bound._connection_rows([], dialect)[1]
        chunks = conn.connection.chunks(sql, args)

        async def fetch(n: int) -> list:
            records = await chunks.read(n)
            return bound._connection_rows(records, dialect)[0] if records else []

        return AsyncResult(fetch, keys, chunks.close,
                           self.execution_opts.get("yield_per") or 1000)

    group_by = _generative(SelectQuery.group_by)
    having = _generative(SelectQuery.having)
    distinct = _generative(SelectQuery.distinct)
    select_from = _generative(SelectQuery.from_)
    from_ = select_from
    options = _generative(SelectQuery.options)

    def filter_by(self, **values: Any) -> "Select":
        """``filter_by(name="a")``: equality on the attributes of the table joined last, or
        else of the selected one (as SQLAlchemy reads them)."""
        entity = self._joined or self._alias or self.table
        if entity is None:
            entity = next((getattr(e, "table", None) for e in self.entities or ()
                           if getattr(e, "table", None) is not None), None)
        if entity is None:
            raise InvalidRequestError("filter_by() needs a table in the select")
        table = model_of(entity)
        return self.where(*[column_of(entity, mapping_column(table, k)) == v
                            for k, v in values.items()])

    def join(self, target: Any, onclause: Any = None, *, isouter: bool = False,
             full: bool = False) -> "Select":
        """``join(Address)`` (by the foreign key), ``join(Address, User.id ==
        Address.user_id)``, ``join(User.addresses)`` (a relationship)."""
        if full:
            raise NotImplementedError("FULL OUTER JOIN is not implemented in asyncqlio")
        target, onclause = relationship_join(target, onclause)
        method = SelectQuery.outerjoin if isouter else SelectQuery.join
        new = method(self._clone(), target, onclause)
        if isinstance(target, (type, AliasedTable)):
            new._joined = target
        return new

    def outerjoin(self, target: Any, onclause: Any = None, *, full: bool = False) -> "Select":
        return self.join(target, onclause, isouter=True, full=full)

    def join_from(self, from_: Any, target: Any, onclause: Any = None, *,
                  isouter: bool = False, full: bool = False) -> "Select":
        """A join whose left side is ``from_``, which must already be in the select."""
        return self.join(target, onclause, isouter=isouter, full=full)

    def add_columns(self, *entities: Any) -> "Select":
        """More columns (or tables) in each row: ``select(User).add_columns(User.name)``
        gives ``(User, name)`` rows."""
        current = self.entities if self.entities is not None else [self._alias or self.table]
        return self.with_only_columns(*current, *entities)

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
        """Options for running it: ``yield_per`` sets the rows per round trip of a
        ``stream()``; ``populate_existing`` makes the session's objects of the rows read
        take the values read; others are kept for listeners to read."""
        new = self._clone()
        new.execution_opts = {**self.execution_opts, **options}
        if "populate_existing" in options:
            new._populate = bool(options["populate_existing"])
            new._plain = new._plain and not new._populate
        return new

    def get_execution_options(self) -> dict[str, Any]:
        return dict(self.execution_opts)

    def scalar_subquery(self) -> Any:
        """This select as a value in another: ``select(User.name, select(func.count(...))
        .where(...).scalar_subquery())``."""
        return select_node(self)

    def exists(self) -> Any:  # type: ignore[override]
        """``EXISTS (this select)``, as a condition (selected, a bool)."""
        node = _compile.ExistsExpr(select_node(self))
        node.type = Boolean()
        return node

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
    #: values() was given a list of rows (not one row's values)
    _multi = False

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
        """``values(name="a")`` or ``values({"name": "a"})`` (one row: a second call adds
        to its columns), ``values([{...}, {...}])`` (rows: a second call adds rows)."""
        if args and kwargs:
            raise ArgumentError("values() takes a mapping, a list of mappings, or keyword "
                                "arguments, not both")
        if len(args) > 1:
            raise ArgumentError("values() takes one mapping or one list of mappings")
        given: Any = args[0] if args else kwargs
        multi = not isinstance(given, Mapping)
        if multi and not (_is_mappings(given) and given):
            raise ArgumentError(f"values() takes a mapping or a list of mappings, not {given!r}")
        if self._values is not None and multi != self._multi:
            raise ArgumentError("values() of one row and values() of a list of rows cannot "
                                "be mixed in one insert")
        rows = [_mapping_values(self.table, r) for r in (given if multi else [given])]
        new = self._clone()
        new._multi = multi
        if multi:
            new._values = [*(self._values or ()), *rows]
        else:
            new._values = [{**(self._values or [{}])[0], **rows[0]}]
        return new

    def returning(self, *entities: Any) -> "Insert":  # type: ignore[override]
        for e in entities:
            if isinstance(e, Column) and e.table is not self.table:
                raise ArgumentError(f"returning() of an insert into {self.table.__name__} "
                                    f"takes its columns, not {e!r}")
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
        return [self._row(m) for m in mappings]

    def _row(self, values: dict[str, Any]) -> TableBase:
        """A new row of ``values``; SQL expressions among them (``func.lower(...)``) are put
        in as they are, past the columns' type checks, for the INSERT to compile."""
        expressions = {k: v for k, v in values.items() if isinstance(v, _compile.Node)}
        if not expressions:
            return self.table(**values)
        row = self.table(**{k: v for k, v in values.items() if k not in expressions})
        attrs = self.table.__table__.attrs
        _row.load_columns(row, [attrs[k].index for k in expressions], list(expressions.values()))
        return row

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
        count = 0
        for row in rows:  # not the session's: as SQLAlchemy's bulk insert leaves them
            row._session = None
            if row._state == _row.PERSISTENT:
                count += 1
                row._state = _row.DETACHED
                # an upsert of a row the session holds: its object takes the stored values
                mapped = None if self.conflict_sql is None else \
                    sess.identity_map.get(identity_key(row))
                if mapped is not None:
                    sess._written_over(mapped, row)
        return Result([], [], count, returns_rows=False)

    async def _execute_on_connection(self, conn: Any, params: Any = None) -> Result:
        """``conn.execute(insert(T), [...])``: multi-row INSERTs; with ``returning()`` the
        Row tuples of the rows inserted."""
        dialect = conn.db.dialect
        bound = self._bind_to(unbound(dialect), params)
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

    #: why parameters at execution are refused
    _no_params = ""

    def _clone(self) -> Any:
        new = _copy(self, self.session)
        new.conditions = list(self.conditions)
        return new

    def _bind_to(self, session: Any, params: Any = None) -> Any:
        if params:
            raise ArgumentError(self._no_params)
        return _copy(self, session)

    def __str__(self) -> str:
        return self.compile()[0]

    async def _execute_on_connection(self, conn: Any, params: Any = None) -> Result:
        if params:  # an update by primary key keeps the session's objects in step
            raise ArgumentError(f"{self._no_params}; on a connection it takes none")
        bound = self._bind_to(unbound(conn.db.dialect))
        return await super(_WriteStatement, bound)._execute_on_connection(conn)

    def filter_by(self, **values: Any) -> Any:
        table = self._target()
        return self.where(*[mapping_column(table, k) == v for k, v in values.items()])

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

    _no_params = ("update() takes parameters at execution only as a list of mappings, "
                  "each naming the primary key, with no where() or values() of its own "
                  "(session.execute(update(T), [{...}, ...]))")

    def __init__(self, table: Any) -> None:
        BulkUpdateQuery.__init__(self, UNBOUND)  # type: ignore[arg-type]
        self.table_ = table_class(table)
        self._params: Any = None

    def _clone(self) -> "Update":
        new = _WriteStatement._clone(self)
        new.assignments = list(self.assignments)
        return new

    def _bind_to(self, session: Any, params: Any = None) -> "Update":
        if not params or isinstance(params, Mapping) or not _is_mappings(params) \
                or self.conditions or self.assignments:
            return _WriteStatement._bind_to(self, session, params)
        new = _copy(self, session)
        new._params = list(params)
        return new

    def values(self, *args: Any, **kwargs: Any) -> "Update":
        """``values(name="b")``, ``values({User.score: User.score + 1})``; a column given
        again takes the new value."""
        if len(args) > 1 or (args and not isinstance(args[0], Mapping)):
            raise ArgumentError("values() takes a mapping or keyword arguments")
        table = self._target()
        given = {mapping_column(table, k): v
                 for k, v in {**(args[0] if args else {}), **kwargs}.items()}
        new = self._clone()
        new.assignments = [(c, v) for c, v in self.assignments if c not in given]
        new.assignments += given.items()
        return new

    where = _generative(BulkUpdateQuery.where)
    filter = where
    returning = _generative(BulkUpdateQuery.returning)

    async def _result(self) -> Result:
        if self._params is not None:
            await self.session.bulk_update_mappings(self._target(), self._params)
            if self._synchronize:
                self._sync_mappings()
            return Result([], [], len(self._params), returns_rows=False)
        return await BulkUpdateQuery._result(self)

    def _sync_mappings(self) -> None:
        """After an update by primary key: the session's objects of those keys take the
        values given (checked as an assignment would check them), as if loaded."""
        sess = self.session
        table = self._target()
        info = table.__table__
        keys = [c.attr_name for c in info.primary_key]
        journal = sess._journaling
        for m in self._params:
            row = sess.identity_map.get((table, tuple(m[k] for k in keys)))
            if row is None:
                continue
            attrs = [(info.attrs[k], v) for k, v in m.items() if k not in keys]
            values = [v if a.on_set is None or v is None else a.on_set(v) for a, v in attrs]
            sess._bulk_load(row, values, [(a.index, i, None) for i, (a, _) in enumerate(attrs)],
                            journal)


def update(table: Any) -> Update:
    return Update(table)


class Delete(_WriteStatement, BulkDeleteQuery):
    """``delete(User).where(User.id == 5)``: the rows deleted; the session's objects of
    them are deleted too."""

    _no_params = ("delete() takes no parameters at execution: its conditions are in "
                  "where() (a bulk DELETE by primary key is not implemented)")

    def __init__(self, table: Any) -> None:
        BulkDeleteQuery.__init__(self, UNBOUND)  # type: ignore[arg-type]
        self.table_ = table_class(table)

    where = _generative(BulkDeleteQuery.where)
    filter = where
    returning = _generative(BulkDeleteQuery.returning)


def delete(table: Any) -> Delete:
    return Delete(table)


__all__ = ["Delete", "Insert", "Select", "Update", "delete", "insert", "select", "update"]
