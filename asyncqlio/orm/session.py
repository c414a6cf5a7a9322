"""Sessions of rows: the unit of work over :class:`~asyncqlio.orm.session_base.SessionBase`
(identity map, change tracking, flush), the query builders of the original asyncqlio
(``sess.select``, ``sess.insert``, ``sess.update``, ``sess.delete``) and SQLAlchemy's results
(``execute``, ``scalars``, ``stream``)."""
from __future__ import annotations

import itertools
from typing import Any, Awaitable, Iterable, Iterator, Mapping, Sequence

from asyncqlio._speedups import _compile, _row
from asyncqlio.exc import (ArgumentError, InvalidRequestError, NoResultFound,
                           ObjectNotExecutableError)
from asyncqlio.orm import loading, persistence
from asyncqlio.orm.expressions import entity_key
from asyncqlio.orm.query import (BulkDeleteQuery, BulkUpdateQuery, InsertQuery,
                                 ResultGenerator, SelectQuery)
from asyncqlio.orm.results import AsyncResult, Result, row_class
from asyncqlio.orm.schema import TableBase
from asyncqlio.orm.schema import relationship as relationships
from asyncqlio.orm.session_base import SessionBase, SessionState
from asyncqlio.orm.unit_of_work import Key, identity_key

__all__ = ["Session", "SessionBase", "SessionState"]


#: SQLAlchemy's keyword arguments of execute() and its kin, accepted: one database, one
#: connection per session, so no bind to choose; execution options are the statement's
_EXECUTE_OPTIONS = frozenset(("execution_options", "bind_arguments"))


def _stored_key(row: TableBase) -> Key:
    """The key the database has for the row: its old key values where they changed."""
    return type(row), tuple(_row.old_value(row, i) for i in type(row).__table__.pk_indexes)


class _NoAutoflush:
    """``with sess.no_autoflush:`` — queries inside do not flush first."""

    __slots__ = ("session",)

    def __init__(self, session: "Session") -> None:
        self.session = session

    def __enter__(self) -> "Session":
        self.session._autoflush_off += 1
        return self.session

    def __exit__(self, *exc_info: Any) -> None:
        self.session._autoflush_off -= 1


def _insert_groups(new: list[TableBase], related: bool) -> list[tuple[type, list[TableBase]]]:
    """The new rows by table, in the order added; where tables refer to each other, the
    rows referred to first (see :func:`relationships.insert_rank`)."""
    if not related:
        return [(cls, list(group)) for cls, group in itertools.groupby(new, type)]
    first = type(new[0]) if new else None
    if all(type(r) is first for r in new):
        return [(first, new)] if new else []
    by_class: dict[type, list[TableBase]] = {}
    for row in new:
        by_class.setdefault(type(row), []).append(row)
    return sorted(by_class.items(), key=lambda item: relationships.insert_rank(item[0]))


def _held_values(row: Any) -> dict[str, Any]:
    """Every column value an object holds, by attribute name (its stored primary key)."""
    info = type(row).__table__
    out = {}
    for i, column in enumerate(info.columns):
        value = _row.old_value(row, i) if i in info.pk_indexes else _row.column_value(row, i)
        if value is not _row.NO_VALUE and value is not _row.EXPIRED:
            out[column.attr_name] = value
    return out


def _batches(group: list[TableBase]) -> list[list[TableBase]]:
    """New rows of one table in the order they can be inserted: a row referring to another
    of them (a tree of rows of one table) comes in a later batch than that one."""
    ids = {id(r) for r in group}
    if not any(id(p) in ids for r in group for p in relationships.linked_parents(r)):
        return [group]
    batches: list[list[TableBase]] = []
    done: set[int] = set()
    rest = group
    while rest:
        ready = [r for r in rest if all(id(p) not in ids or id(p) in done
                                        for p in relationships.linked_parents(r))]
        if not ready:
            raise InvalidRequestError(f"{rest[0]!r} and other new rows refer to each other "
                                      "in a circle; write one of them first")
        batches.append(ready)
        done.update(id(r) for r in ready)
        rest = [r for r in rest if id(r) not in done]
    return batches


def _by_class(rows: list[TableBase]) -> list[tuple[type, list[TableBase]]]:
    groups: dict[type, list[TableBase]] = {}
    for row in rows:
        groups.setdefault(type(row), []).append(row)
    return list(groups.items())


def _result_keys(query: SelectQuery) -> tuple[list[str], type | None]:
    """The keys of a select's Result rows, and for a select of a table the Row class its
    objects are handed out in: one-element rows keyed by the class name (or the alias name
    for ``select(aliased(T, "m"))``), as SQLAlchemy's ``select(User)`` gives them."""
    if query.entities is not None:
        return [entity_key(e, i) for i, e in enumerate(query.entities)], None
    alias = query._alias
    name = query.table.__name__ if alias is None else alias.__alias__.name
    return [name], row_class((name,))


class Session(SessionBase):
    """A window onto the database: ``async with db.get_session() as sess:``.

    On leaving the block the session commits (or rolls back on an exception) and closes.
    Loaded rows are kept in the identity map, one object per primary key; their attribute
    changes are written at the next flush (before a query, at ``flush()`` or ``commit()``).
    """

    #: ``execute("SQL", params)`` runs SQL text (the original asyncqlio's API)
    sql_strings = True


    async def _autoflush(self) -> None:
        if self.autoflush and not self._autoflush_off and (
                self._pending or self._dirty or self._deleted):
            await self.flush()

    def _select(self, sql: str, params: Sequence[Any]) -> Awaitable[list[Any]]:
        """The records of a query, after writing what is pending (autoflush)."""
        if self._pending or self._dirty or self._deleted:
            return self._flushed_fetch(sql, params)
        return self._fetch(sql, params)

    async def _flushed_fetch(self, sql: str, params: Sequence[Any]) -> list[Any]:
        await self._autoflush()
        return await self._fetch(sql, params)

    def _hydrate(self, cls: type, records: Sequence[Any]) -> list[Any]:
        """Records of ``cls`` as objects, one per primary key: a row already in the identity
        map is returned as it is, with any unflushed changes."""
        info = cls.__table__
        loaders = info.loaders_for(self.dialect.name)
        if not info.pk_indexes:
            return _row.hydrate(cls, records, loaders, self)
        # swept before adding, not after: the rows a load just made are all alive
        self.identity_map.sweep(cls)
        return _row.hydrate_identity(cls, records, loaders, self, self.identity_map.of(cls),
                                     info.pk_indexes)

    @property
    def no_autoflush(self) -> _NoAutoflush:
        return _NoAutoflush(self)

    # --- query builders
    @property
    def select(self) -> SelectQuery:
        return SelectQuery(self)

    @property
    def insert(self) -> InsertQuery:
        return InsertQuery(self)

    @property
    def update(self) -> BulkUpdateQuery:
        return BulkUpdateQuery(self)

    @property
    def delete(self) -> BulkDeleteQuery:
        """``sess.delete(row)`` marks a loaded row for deletion at the next flush (await it
        to DELETE now); ``sess.delete(Table).where(...)`` (or ``sess.delete.table(Table)``)
        builds a bulk DELETE."""
        return BulkDeleteQuery(self)

    def _delete_row(self, row: TableBase) -> Any:
        self._mark_deleted(row)
        return _row.Write(self, row, self.delete_now)

    async def run_select_query(self, query: SelectQuery) -> ResultGenerator:
        return await query.all()

    async def run_insert_query(self, query: InsertQuery) -> list[TableBase]:
        self._check_open()
        for row in query.rows_to_insert:
            self._pending.pop(id(row), None)
        rows = await persistence.insert(self, query.rows_to_insert, query.conflict_sql)
        for row in rows:
            if row._state != _row.PERSISTENT:
                continue
            mapped = self.identity_map.get(identity_key(row))
            if mapped is None:
                self._track((row,))
                self._inserted.append(row)
            elif mapped is not row:  # an upsert of a row the session has
                self._written_over(mapped, row)
        return rows

    def _written_over(self, mapped: TableBase, row: TableBase) -> None:
        """``row`` was just written by the key of ``mapped``, the session's object of that
        key (an upsert, a merge): ``mapped`` takes the stored values, ``row`` is left out."""
        _row.load_into(mapped, list(row._values), (), self)
        self._dirty.pop(id(mapped), None)
        row._session = None
        row._state = _row.DETACHED

    async def run_update_query(self, query: BulkUpdateQuery) -> int | list:
        """Rows updated (the returned rows with ``returning()``); the session's objects of
        those rows take the new values."""
        return await query.run()

    async def run_delete_query(self, query: BulkDeleteQuery) -> int | list:
        """Rows deleted (the returned rows with ``returning()``); the session's objects of
        those rows are marked deleted."""
        return await query.run()

    # --- the identity map
    def _track(self, rows: Iterable[TableBase]) -> None:
        """Put written rows into the identity map (under their current key)."""
        for cls in self.identity_map.by_class:
            self.identity_map.sweep(cls)
        conflict = _row.track(rows, self.identity_map.by_class, self)
        if conflict is not None:
            row, key, other = conflict
            raise InvalidRequestError(
                f"another object with the key {key!r} is already in this session's "
                f"identity map: {other!r}")

    def _forget(self, row: TableBase) -> None:
        """Take a row out of the map and the session's lists (its state is kept)."""
        if row._state in (_row.PERSISTENT, _row.DELETED):
            key = identity_key(row) if row._prior is None else _stored_key(row)
            if self.identity_map.get(key) is row:
                self.identity_map.pop(key)
            else:  # its key changed since it was mapped
                self.identity_map.discard(row)
        self._pending.pop(id(row), None)
        self._dirty.pop(id(row), None)
        self._deleted.pop(id(row), None)

    def _rekey(self, rows: list[TableBase]) -> None:
        """Rows whose primary key was just written move to their new key."""
        if not rows:
            return
        for row in rows:
            self._forget(row)
        self._track(rows)

    def __contains__(self, row: object) -> bool:
        return isinstance(row, TableBase) and row._session is self and (
            id(row) in self._pending or self.identity_map.get(identity_key(row)) is row
            or id(row) in self._deleted)

    def __iter__(self) -> Iterator[TableBase]:
        yield from self.identity_map.rows()
        yield from self._pending.values()

    @property
    def new(self) -> list[TableBase]:
        """Rows added and not written yet."""
        return list(self._pending.values())

    @property
    def dirty(self) -> list[TableBase]:
        """Tracked rows with a changed attribute not written yet."""
        return [r for r in self._dirty.values() if _row.changed(r)]

    @property
    def deleted(self) -> list[TableBase]:
        """Rows marked by ``delete(row)`` for the next flush."""
        return list(self._deleted.values())

    def is_modified(self, row: TableBase) -> bool:
        return bool(_row.changed(row))

    def expunge(self, row: TableBase) -> None:
        """Detach one row: the session no longer tracks or writes it."""
        if row._session is not self:
            raise InvalidRequestError(f"{row!r} is not in this session")
        self._forget(row)
        row._session = None
        if row._state == _row.PERSISTENT:
            row._state = _row.DETACHED

    async def get(self, cls: type, pk: Any) -> Any:
        """The row of ``cls`` with primary key ``pk`` (a value, or a tuple for a compound
        key): from the identity map without I/O if it is there, else loaded; None if absent."""
        info = getattr(cls, "__table__", None)
        if info is None or not info.pk_indexes:
            raise ArgumentError(f"get() needs a table class with a primary key, not {cls!r}")
        values = tuple(pk) if isinstance(pk, (tuple, list)) else (pk,)
        if len(values) != len(info.pk_indexes):
            raise ArgumentError(f"{cls.__name__} has a key of {len(info.pk_indexes)} "
                                f"column(s); got {pk!r}")
        row = self.identity_map.get((cls, values))
        if row is not None and not row._expired:
            return None if row._state == _row.DELETED else row
        return await SelectQuery(self).from_(cls).where(
            *[c == v for c, v in zip(info.primary_key, values)]).first()

    async def get_one(self, cls: type, pk: Any) -> Any:
        """:meth:`get`, raising :class:`~asyncqlio.exc.NoResultFound` where there is none."""
        row = await self.get(cls, pk)
        if row is None:
            raise NoResultFound(f"no {cls.__name__} row with primary key {pk!r}")
        return row

    async def refresh(self, row: TableBase) -> TableBase:
        """Load the row's values again from the database (discarding unflushed changes and
        expiry)."""
        self._check_attached(row)
        record = await self._stored_record(row, False)
        _row.load_into(row, record, type(row).__table__.loaders_for(self.dialect.name), self)
        self._dirty.pop(id(row), None)
        return row

    async def _stored_record(self, row: TableBase, for_update: bool) -> Any:
        """The row as the database has it, by its stored key (``FOR UPDATE``: locked)."""
        info = type(row).__table__
        d = self.dialect
        key = _stored_key(row)[1]
        where = [c == v for c, v in zip(info.primary_key, key)]
        sql, params = _compile.compile_select(
            _compile.Compiler(d.name, d.numeric), info.select_sql, info.quoted,
            where[0] if len(where) == 1 else _compile.BoolExpr("AND", where),
            None, None, None, for_update)
        records = await self._fetch(sql, params)
        if not records:
            raise InvalidRequestError(f"could not refresh {type(row).__name__} {key!r}: "
                                      "the database has no such row")
        return records[0]

    def expire(self, row: TableBase, attribute_names: Iterable[str] | None = None) -> None:
        """Forget the row's values (all but the primary key, or the named attributes) and
        their unflushed changes: reading one raises until ``refresh()`` or a query loads the
        row again."""
        self._check_attached(row)
        info = type(row).__table__
        if attribute_names is None:
            indexes = [i for i in range(len(info.columns)) if i not in info.pk_indexes]
        else:
            indexes = [info.attrs[name].index for name in attribute_names]
            if any(i in info.pk_indexes for i in indexes):
                raise ArgumentError(f"{type(row).__name__}'s primary key is its identity in "
                                    "the session and cannot be expired")
        _row.expire(row, indexes)
        if row._prior is None:
            self._dirty.pop(id(row), None)

    def expire_all(self) -> None:
        for row in self.identity_map.rows():
            self.expire(row)

    def _check_attached(self, row: TableBase) -> None:
        if row._session is not self or row._state != _row.PERSISTENT:
            raise InvalidRequestError(f"{row!r} is not a persistent row of this session")

    async def load_relationship(self, rel: Any, rows: list[TableBase]) -> None:
        """Load ``rel`` for ``rows`` with one query (``await Parent.children.load(rows)``)."""
        await loading.load_select(self, rel, rows)

    # --- rows
    add = _row.session_add

    def _add_loaded(self, row: TableBase) -> None:
        """``add()`` of a row that is not new: tracked, and written if it changed."""
        if row._session is not self:
            if row._state == _row.DELETED:
                raise InvalidRequestError(f"{row!r} was deleted")
            self._track((row,))
            row._state = _row.PERSISTENT
            self._dirty[id(row)] = row
        elif row._state == _row.PERSISTENT:
            self._dirty[id(row)] = row

    def add_all(self, rows: Iterable[TableBase]) -> None:
        for row in rows:
            self.add(row)

    def _mark_deleted(self, row: TableBase) -> None:
        if not self._usable:
            self._check_open()
        if id(row) in self._pending:  # never written: just forget it
            self._forget(row)
            row._session = None
            row._state = _row.TRANSIENT
            return
        if row._state != _row.PERSISTENT:
            raise InvalidRequestError(f"{row!r} is not a persistent row; nothing to delete")
        if row._session is not self:
            self._track((row,))
        self._dirty.pop(id(row), None)
        self._deleted[id(row)] = row

    async def _write_now(self, row: TableBase) -> TableBase:
        self._check_open()
        if row._state in (_row.TRANSIENT, _row.PENDING):
            return await self.insert_now(row)
        return await self.update_now(row)

    async def flush(self) -> None:
        """Write what the session tracks: new rows batched into multi-row INSERTs (per
        table, in the order added), changed rows as UPDATEs of their changed columns, rows
        marked for deletion as DELETEs. If a statement fails, the rows keep their
        pending/dirty state and the transaction must be rolled back (nothing half-written
        can be committed); the error's note names the table and row."""
        self._check_open()
        if not (self._pending or self._dirty or self._deleted):
            return
        related = bool(relationships._by_table)
        if related:
            self._cascade()
        new = list(self._pending.values())
        dirty = _row.of_state(self._dirty.values(), _row.PERSISTENT)
        deleted = list(self._deleted.values())
        if self._journaling:
            # what a rollback to the snapshot takes back
            _row.journal(itertools.chain(dirty, deleted), self._journal)
        # for putting the rows back if a statement fails: an INSERT fills values in place,
        # a DELETE sets the state; the changed rows are marked written only at the end
        entries: list[Any] = []
        _row.journal(deleted, entries)
        saved = _row.save_new(new)
        rekey = _row.key_changes(dirty)
        try:
            for cls, group in _insert_groups(new, related):
                for batch in _batches(group) if related else (group,):
                    relationships.fill_links(batch)
                    await self._flush_step("INSERT", cls, batch, persistence.insert(self, batch))
            if related:
                relationships.fill_links(dirty)
            for cls, changed, group in _row.group_by_changes(dirty):
                await self._flush_step("UPDATE", cls, group,
                                       persistence.update_group(self, cls, changed, group))
            for cls, group in _by_class(deleted):
                await self._flush_step("DELETE", cls, group, persistence.delete_many(self, group))
        except BaseException:
            _row.restore_new(new, saved, self)
            _row.rewind(entries, self)
            raise
        _row.mark_written(dirty, self)
        if related:
            relationships.forget_links(itertools.chain(new, dirty))
        self._pending.clear()
        self._dirty.clear()
        self._deleted.clear()
        if new:
            self._track(new)
            self._inserted += new
        self._rekey(rekey)
        for row in deleted:
            self._forget(row)

    def _cascade(self) -> None:
        """Save-update cascade, as SQLAlchemy's: the new rows a row to be written holds in
        its relationships (``Author(posts=[Post(...)])``), or waits for the key of, are
        added too."""
        holders = relationships._by_table
        linked = relationships.linked_classes
        stack = [r for r in itertools.chain(self._pending.values(), self._dirty.values())
                 if type(r) in holders or type(r) in linked]
        while stack:
            for other in relationships.related_rows(stack.pop()):
                if other._state == _row.TRANSIENT and other._session is None:
                    self.add(other)
                    stack.append(other)

    async def _flush_step(self, verb: str, cls: type, rows: list[TableBase],
                          write: Awaitable[Any]) -> None:
        try:
            await write
        except Exception as e:
            which = repr(rows[0]) if len(rows) == 1 else f"{len(rows)} rows, the first {rows[0]!r}"
            e.add_note(f"flush: {verb} into {cls.__table__.name} failed ({which})")
            raise

    async def insert_now(self, row: TableBase) -> TableBase:
        self._check_open()
        self._pending.pop(id(row), None)
        await persistence.insert(self, [row])
        self._track((row,))
        self._inserted.append(row)
        return row

    async def update_now(self, row: TableBase) -> TableBase:
        self._check_open()
        self._dirty.pop(id(row), None)
        if _row.key_changes((row,)):
            self._forget(row)
        await persistence.update(self, row)
        row._prior = None
        self._track((row,))
        return row

    async def delete_now(self, row: TableBase) -> TableBase:
        self._check_open()
        await persistence.delete(self, row)
        self._forget(row)
        return row

    remove = delete_now

    async def merge(self, row: TableBase) -> TableBase:
        """Write a row that was not loaded, by its primary key: its set columns overwrite the
        stored row, or it is inserted if there is none. Returns the session's object for that
        key (the one already in the identity map, updated, or ``row``)."""
        self._check_open()
        self._pending.pop(id(row), None)
        self._dirty.pop(id(row), None)
        await persistence.merge(self, row)
        mapped = self.identity_map.get(identity_key(row))
        if mapped is None or mapped is row:
            self._track((row,))
            return row
        self._written_over(mapped, row)
        return mapped

    # --- bulk writes: batched statements, the rows not tracked by the session
    async def bulk_insert_mappings(self, mapper: type,
                                   mappings: Iterable[Mapping[str, Any]],
                                   return_defaults: bool = False,
                                   render_nulls: bool = False) -> None:
        """INSERT a row per mapping of attribute names to values, batched. A None value
        leaves its column out, so its default applies (rows leaving out different columns
        go in different statements), unless ``render_nulls``: then it is written as NULL.
        ``return_defaults`` puts the primary key the database gave each row into its
        mapping."""
        self._check_open()
        mappings = list(mappings)
        rows = [mapper(**(m if render_nulls else {k: v for k, v in m.items() if v is not None}))
                for m in mappings]
        if rows:
            await persistence.insert(self, rows)
        if return_defaults:
            key = [c.attr_name for c in mapper.__table__.primary_key]
            for m, row in zip(mappings, rows):
                for name in key:
                    m[name] = getattr(row, name)

    async def bulk_save_objects(self, objects: Iterable[Any],
                                return_defaults: bool = False,
                                update_changed_only: bool = True,
                                preserve_order: bool = True) -> None:
        """INSERT the new objects and UPDATE the loaded ones, batched, in the order given
        (``preserve_order=False``: every INSERT first). An UPDATE sets the changed columns,
        or with ``update_changed_only=False`` every column the object holds. The objects
        are not put into the session: a new one ends detached, with the primary key and
        defaults the database gave it (read back always, as the INSERT returns them at no
        cost, so ``return_defaults`` changes nothing); the session's own loaded objects
        stay in it, written."""
        self._check_open()
        rows = list(objects)
        kept = {id(r) for r in rows if r._session is self and r._state == _row.PERSISTENT}

        def is_new(row: Any) -> bool:
            return row._state in (_row.TRANSIENT, _row.PENDING)

        if preserve_order:
            runs = [(new, list(group)) for new, group in itertools.groupby(rows, is_new)]
        else:
            runs = [(True, [r for r in rows if is_new(r)]),
                    (False, [r for r in rows if not is_new(r)])]
        for new, group in runs:
            if not group:
                continue
            if new:
                for row in group:
                    self._pending.pop(id(row), None)
                await persistence.insert(self, group)
            elif update_changed_only:
                await persistence.update_many(self, group)
            else:
                for cls, same in itertools.groupby(group, type):
                    await self.bulk_update_mappings(cls, [_held_values(r) for r in same])
                _row.mark_written(group, self)
        for row in rows:
            if id(row) in kept:
                self._dirty.pop(id(row), None)
            else:
                row._session = None
                row._state = _row.DETACHED

    async def bulk_update_mappings(self, cls: type, mappings: Iterable[Mapping[str, Any]]) -> None:
        """UPDATE rows by primary key from mappings of attribute names to values (each
        giving the key); one statement per set of columns given."""
        self._check_open()
        info = cls.__table__
        key_names = [c.attr_name for c in info.primary_key]
        rows = []
        for m in mappings:
            missing = [k for k in key_names if k not in m]
            if missing:
                raise ArgumentError(f"bulk_update_mappings: {dict(m)!r} has no {missing[0]!r}")
            values = [_row.NO_VALUE] * len(info.columns)
            for k in key_names:
                values[info.attrs[k].index] = m[k]
            row = cls.__new__(cls)
            _row.load_into(row, values, (), None)  # as if loaded: assignments are changes
            for name, value in m.items():
                if name not in key_names:
                    if name not in info.attrs:
                        raise ArgumentError(f"{cls.__name__} has no column {name!r}")
                    setattr(row, name, value)
            rows.append(row)
        if rows:
            await persistence.update_many(self, rows)

    async def execute(self, statement: Any, params: Any = None, **kwargs: Any) -> Any:
        """``execute(query)``: a buffered :class:`Result` (SQLAlchemy's): the rows of a
        select; for an insert, update or delete its ``rowcount``, and the rows it returned
        with ``returning()`` (without, reading rows raises ``ResourceClosedError``).
        Statements built by ``select()``, ``insert()``... and ``text()`` take ``params``:
        a mapping, or a list of mappings for one row each. ``execute(sql, params)`` with
        SQL as a string is the original API: ``{name}`` placeholders, the rows changed."""
        if isinstance(statement, str):
            if not self.sql_strings:
                raise ObjectNotExecutableError(
                    f"SQL text given to execute(): write text({statement!r}) (as SQLAlchemy "
                    "2.x, this session runs SQL strings only through text())")
            if kwargs:
                raise ArgumentError(f"unknown execute() options: {', '.join(kwargs)}")
            return await super().execute(statement, params)
        statement = self._statement(statement, params, kwargs)
        if isinstance(statement, SelectQuery):
            rows = await statement._rows()
            keys, wrap = _result_keys(statement)
            return Result(rows, keys, wrap=wrap)
        result = getattr(statement, "_result", None)
        if result is not None:
            return await result()
        return await statement

    def _statement(self, statement: Any, params: Any, options: Mapping[str, Any]) -> Any:
        """The statement as this session runs it: one built without a session is copied
        onto this one with its parameters."""
        for name in options:
            if name not in _EXECUTE_OPTIONS:
                raise ArgumentError(f"unknown execute() option {name!r}")
        given = options.get("execution_options")
        if given and hasattr(statement, "execution_options"):
            statement = statement.execution_options(**given)
        bind = getattr(statement, "_bind_to", None)
        if bind is not None:
            return bind(self, params)
        if params is not None:
            raise ArgumentError(f"{type(statement).__name__} built by the session takes no "
                                "parameters at execution: its values are in the query")
        return statement

    async def scalar(self, statement: Any, params: Any = None, **kwargs: Any) -> Any:
        """The first column of the first row (the object, for a select of a table)."""
        if isinstance(statement, str):
            raise ArgumentError("scalar() takes a statement; for SQL text use "
                                "text(\"SELECT ...\")")
        return (await self.execute(statement, params, **kwargs)).scalar()

    async def scalars(self, statement: Any, params: Any = None, **kwargs: Any) -> Any:
        if isinstance(statement, str):
            raise ArgumentError("scalars() takes a statement; for SQL text use "
                                "text(\"SELECT ...\")")
        return (await self.execute(statement, params, **kwargs)).scalars()

    async def stream(self, statement: Any, params: Any = None, **kwargs: Any) -> AsyncResult:
        """The rows of a select read as they are used: a server-side cursor on PostgreSQL,
        ``fetchmany`` on SQLite, 1,000 rows a round trip (``yield_per(n)`` on the result,
        or the statement's ``execution_options(yield_per=n)``, changes it). Objects go
        through the identity map, their relationships loaded per chunk as the query says
        (a joined collection cannot be: its rows may span two chunks)."""
        query = self._statement(statement, params, kwargs)
        if not isinstance(query, SelectQuery):
            raise ArgumentError(f"stream() takes a select, not {statement!r}")
        await self._autoflush()
        (sql, params), joined = query._compiled(None)
        if any(rel.uselist for rel in joined):
            raise InvalidRequestError("a collection loaded by a join cannot be streamed (a "
                                      "parent's rows may span two chunks): use selectinload")
        conn = await self._ready()
        keys, wrap = _result_keys(query)
        chunks = conn.chunks(sql, params)

        async def fetch(n: int) -> list:
            try:
                records = await chunks.read(n)
            except BaseException as e:
                self._fail(e)
                raise
            return await query._loaded(records, joined) if records else []

        size = getattr(query, "execution_opts", {}).get("yield_per") or 1000
        return AsyncResult(fetch, keys, chunks.close, size, wrap)

    async def stream_scalars(self, statement: Any, params: Any = None, **kwargs: Any) -> Any:
        return (await self.stream(statement, params, **kwargs)).scalars()

    # --- keeping objects in step with bulk UPDATE and DELETE (SQLAlchemy's "fetch")
    def _bulk_sync(self, table: type, fetched: list, records: list, refreshed: list,
                   delete: bool, sync: bool, entity: bool) -> list | None:
        """The session's objects of the rows a bulk statement returned (``fetched``: the
        columns of each record) take the ``refreshed`` columns' new values; a DELETE marks
        them deleted. With ``entity`` (``returning(Table)``), the objects of every record,
        in order: new ones of an UPDATE go into the identity map, a DELETE's are deleted."""
        if not records or not (sync or entity):
            return [] if entity else None
        info = table.__table__
        loaders = info.loaders_for(self.dialect.name)
        by_index = dict(loaders)
        at = {info.attrs[c.attr_name].index: pos for pos, c in enumerate(fetched)}
        key_at = [(at[i], by_index.get(i)) for i in info.pk_indexes]
        load = [(i, at[i], by_index.get(i))
                for i in (info.attrs[c.attr_name].index for c in refreshed)]
        journal = self._journaling
        identity_map = self.identity_map
        found: list = []
        for record in records:
            row = None
            if sync:
                key = tuple(self._loaded(record[pos], fn) for pos, fn in key_at)
                row = identity_map.get((table, key))
            if row is not None:
                if load:
                    self._bulk_load(row, record, load, journal)
                if delete:
                    self._bulk_delete(row, journal)
            found.append(row)
        if not entity:
            return None
        missing = [record for record, row in zip(records, found) if row is None]
        if missing:
            if delete:  # gone from the database: deleted objects, never in the map
                new = _row.hydrate(table, missing, loaders, self)
                for row in new:
                    if journal:
                        _row.journal((row,), self._journal)
                    row._state = _row.DELETED
            else:
                new = self._hydrate(table, missing)
            rest = iter(new)
            found = [row if row is not None else next(rest) for row in found]
        return found

    def _bulk_load(self, row: TableBase, record: Any, load: list, journal: bool) -> None:
        """Columns ``load`` (``(index, record position, loader)``) of a returned record into
        an object; its other columns and their unflushed changes are kept. The values
        replaced go into the journal, so a rollback takes them back."""
        indexes = [i for i, _, _ in load]
        if journal:
            _row.journal_columns(row, indexes, self._journal)
        _row.load_columns(row, indexes, [self._loaded(record[pos], fn) for _, pos, fn in load])
        if not _row.forget_changes(row, indexes):
            self._dirty.pop(id(row), None)

    def _bulk_delete(self, row: TableBase, journal: bool) -> None:
        """An object whose row a bulk DELETE removed: deleted, as after a flush of
        ``delete(row)``; a rollback brings it back."""
        if journal:
            _row.journal((row,), self._journal)
        row._state = _row.DELETED
        self._forget(row)

    def _bulk_rekeyed(self, table: type, keys: list) -> None:
        """An UPDATE set the primary key of these rows: their objects cannot follow them
        to their new keys, so they leave the session (a savepoint rollback brings back
        those loaded before it)."""
        for key in keys:
            row = self.identity_map.get((table, key))
            if row is not None:
                self.expunge(row)

    @staticmethod
    def _loaded(value: Any, loader: Any) -> Any:
        """A driver value as the column holds it (what hydration's loaders make of it)."""
        return value if loader is None or value is None else loader(value)
