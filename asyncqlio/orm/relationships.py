"""Relationships between tables: which rows of another table belong to a row, and loading
them without I/O hidden behind attribute access.

A relationship loads with the query of its table: ``load="joined"`` adds a LEFT OUTER JOIN
to that query, ``load="select"`` runs one more query for all the rows at once
(``WHERE child.fk IN (...)``, ``= ANY($1)`` on PostgreSQL), ``load="explicit"`` only when
asked (``await Parent.children.load(rows)``). Reading a relationship that was not loaded
raises :class:`NotLoadedError`; it never queries.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Generator, Iterable

from asyncqlio._speedups import _compile, _row
from asyncqlio.exc import ArgumentError, InvalidRequestError, NotLoadedError, SchemaError
from asyncqlio.orm.alias import AliasedTable, adapt, column_of, generated_name

if TYPE_CHECKING:
    from asyncqlio.orm.schema import Column
    from asyncqlio.orm.session import Session

LOADS = ("select", "joined", "explicit")

#: SQLite refuses more than 32766 bound values in one statement
SQLITE_IN_CHUNK = 30000

#: table class -> its relationships, in definition order
_by_table: dict[type, list["Relationship"]] = {}
#: relationships whose backref is still to be made (its target class may not exist yet)
_pending_backrefs: list["Relationship"] = []


class _Done:
    """An awaitable that does nothing: what a collection change returns without a session."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Generator[Any, None, Any]:
        return self.value
        yield  # pragma: no cover


class Relationship:
    """``children = Relationship("Child.parent_id", "Parent.id")`` on the parent, or
    ``parent = Relationship(parent_id, "Parent.id")`` on the child: the foreign key column
    first, the column it references second (Columns or ``"Class_or_table.column"``
    strings, resolved at first use).

    On the table holding the foreign key it is many-to-one (a row or None); on the other
    table one-to-many (a :class:`RelatedList`), or one-to-one with ``uselist=False``. A
    relationship of a table to itself is many-to-one unless ``uselist=True``.
    ``back_populates`` names the relationship on the other side, filled in as rows load;
    ``backref`` creates that other side (loaded only when asked: ``load="explicit"``).
    """

    def __init__(self, foreign_key: "Column | str", target: "Column | str", *,
                 load: str = "select", uselist: bool | None = None,
                 back_populates: str | None = None, backref: str | None = None,
                 order_by: Any = None) -> None:
        if load not in LOADS:
            raise ArgumentError(f"load must be one of {LOADS}, not {load!r}")
        if back_populates is not None and backref is not None:
            raise ArgumentError("give back_populates or backref, not both")
        self._fk_spec = foreign_key
        self._target_spec = target
        self.load_kind = load
        self._uselist = uselist
        self.back_populates = back_populates or backref
        self.backref = backref
        self._order_by = order_by
        self.owner: type | None = None
        self.name: str | None = None
        self._resolved = False
        #: name of the table or alias it is joined from -> the alias it joins (load="joined")
        self._join_aliases: dict[str, AliasedTable] = {}

    def __set_name__(self, owner: type, name: str) -> None:
        self.owner = owner
        self.name = name
        _by_table.setdefault(owner, []).append(self)
        if self.backref is not None:
            _pending_backrefs.append(self)

    def __repr__(self) -> str:
        owner = self.owner.__name__ if self.owner else "?"
        return f"<Relationship {owner}.{self.name} load={self.load_kind!r}>"

    # --- resolution
    def _column(self, spec: Any) -> "Column":
        from asyncqlio.orm.schema import Column
        if isinstance(spec, Column):
            return spec
        if not isinstance(spec, str) or "." not in spec:
            raise SchemaError(f"{self!r}: {spec!r} is not a column or 'Table.column'")
        table_name, _, column_name = spec.rpartition(".")
        table = self.owner.metadata.lookup(table_name)
        if table is None:
            raise SchemaError(f"{self!r}: table {table_name!r} is not defined")
        return table.get_column(column_name)

    def resolve(self) -> "Relationship":
        """Work out the columns and the direction (once)."""
        if self._resolved:
            return self
        if self.owner is None:
            raise SchemaError("a Relationship must be an attribute of a table class")
        fk = self._column(self._fk_spec)
        target = self._column(self._target_spec)
        if fk.foreign_key is None and target.foreign_key is not None:
            fk, target = target, fk  # written the other way round
        owner = self.owner
        if fk.table is owner and (target.table is not owner or not self._uselist):
            self.many_to_one = True
            self.local, self.remote = fk, target
        elif target.table is owner:
            self.many_to_one = False
            self.local, self.remote = target, fk
        else:
            raise SchemaError(f"{self!r}: neither {fk!r} nor {target!r} is a column of "
                              f"{owner.__name__}")
        self.related = self.remote.table
        self.uselist = (not self.many_to_one) if self._uselist is None else bool(self._uselist)
        if self.many_to_one and self.uselist:
            raise SchemaError(f"{self!r}: the side holding the foreign key has one related row")
        order = self._order_by
        if order is None:
            self.order_by: list = []
        else:
            items = order if isinstance(order, (list, tuple)) else [order]
            self.order_by = [o if isinstance(o, _compile.OrderExpr) else o.asc() for o in items]
        self._resolved = True
        return self

    def back(self) -> "Relationship | None":
        """The relationship on the other side named by back_populates/backref."""
        if self.back_populates is None:
            return None
        self.resolve()
        for rel in _by_table.get(self.related, ()):
            if rel.name == self.back_populates:
                return rel.resolve()
        raise SchemaError(f"{self!r}: {self.related.__name__} has no relationship "
                          f"{self.back_populates!r}")

    # --- attribute access
    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return self
        d = obj.__dict__
        try:
            return d[self.name]
        except KeyError:
            pass
        if obj._state in (_row.TRANSIENT, _row.PENDING):
            # a new row has nothing in the database to load: start empty
            self.resolve()
            value = RelatedList(obj, self, ()) if self.uselist else None
            d[self.name] = value
            return value
        raise NotLoadedError(
            f"{type(obj).__name__}.{self.name} is not loaded, and asyncqlio never loads on "
            f"attribute access: give the relationship load='select' or load='joined', or "
            f"`await {type(obj).__name__}.{self.name}.load(rows)` first")

    def __set__(self, obj: Any, value: Any) -> None:
        self.resolve()
        if self.uselist:
            items = list(value)
            for item in items:
                _link(self, obj, item)
            obj.__dict__[self.name] = RelatedList(obj, self, items)
            return
        if value is not None and not isinstance(value, self.related):
            raise TypeError(f"{type(obj).__name__}.{self.name} takes a "
                            f"{self.related.__name__} or None, not {value!r}")
        if self.many_to_one:
            setattr(obj, self.local.attr_name,
                    None if value is None else getattr(value, self.remote.attr_name))
        elif value is not None:
            _link(self, obj, value)
        obj.__dict__[self.name] = value

    # --- explicit loading
    async def load(self, rows: Any, session: "Session | None" = None) -> Any:
        """Load this relationship for one row (returns its value) or many (one query)."""
        single = not isinstance(rows, (list, tuple))
        items = [rows] if single else list(rows)
        if items:
            sess = session or items[0]._session
            if sess is None:
                raise InvalidRequestError("these rows belong to no session; pass session=")
            await load_select(sess, self.resolve(), items)
        if single:
            return rows.__dict__[self.name]
        return rows


def _link(rel: Relationship, parent: Any, child: Any) -> None:
    """Point ``child`` (of the one-to-many or one-to-one side) at ``parent``."""
    key = getattr(parent, rel.local.attr_name)
    if key is None:
        raise InvalidRequestError(
            f"{type(parent).__name__} has no {rel.local.name} yet; write it first "
            f"(await sess.add(row)) so its children can refer to it")
    setattr(child, rel.remote.attr_name, key)
    back = rel.back()
    if back is not None:
        child.__dict__[back.name] = parent


class RelatedList(list):
    """The rows of a one-to-many relationship. ``add``/``remove`` set the child's foreign
    key and register the child with the parent's session (written at the next flush, or
    now if the returned awaitable is awaited)."""

    def __init__(self, parent: Any, rel: Relationship, items: Iterable[Any]) -> None:
        super().__init__(items)
        self._parent = parent
        self._rel = rel

    def add(self, child: Any) -> Awaitable[Any]:
        rel = self._rel
        if not isinstance(child, rel.related):
            raise TypeError(f"{rel!r} holds {rel.related.__name__} rows, not {child!r}")
        _link(rel, self._parent, child)
        if child not in self:
            self.append(child)
        return _register(self._parent, child)

    def remove(self, child: Any) -> Awaitable[Any]:  # type: ignore[override]
        rel = self._rel
        if rel.remote.nullable is False:
            raise InvalidRequestError(
                f"{rel.remote!r} is NOT NULL, so a {rel.related.__name__} cannot leave its "
                f"parent; delete it (await sess.remove(row)) or move it to another parent")
        super().remove(child)
        setattr(child, rel.remote.attr_name, None)
        back = rel.back()
        if back is not None:
            child.__dict__[back.name] = None
        return _register(self._parent, child)


def _register(parent: Any, child: Any) -> Awaitable[Any]:
    sess = parent._session
    if sess is None:
        return _Done(child)
    return sess.add(child)


# --- loading


def of_table(table: type) -> list[Relationship]:
    """The relationships of ``table``, resolved (backrefs made first)."""
    if _pending_backrefs:
        configure()
    rels = _by_table.get(table)
    if not rels:
        return []
    for rel in rels:
        rel.resolve()
    return rels


def configure() -> None:
    """Create the other side of every ``backref`` whose tables exist now."""
    for rel in list(_pending_backrefs):
        try:
            rel.resolve()
        except SchemaError:
            continue  # the other table is not defined yet
        _pending_backrefs.remove(rel)
        if any(r.name == rel.backref for r in _by_table.get(rel.related, ())):
            continue
        if rel.many_to_one:
            other = Relationship(rel.local, rel.remote, load="explicit", back_populates=rel.name,
                                 uselist=True if rel.related is rel.owner else None)
        else:
            other = Relationship(rel.remote, rel.local, load="explicit", back_populates=rel.name)
            if not rel.uselist:
                other._uselist = False
        setattr(rel.related, rel.backref, other)
        other.__set_name__(rel.related, rel.backref)
        other.back_populates = rel.name


async def load_select(sess: "Session", rel: Relationship, rows: list) -> None:
    """One query (one per 30,000 keys on SQLite) loading ``rel`` for all ``rows``."""
    local_attr = rel.local.attr_name
    keys = list(dict.fromkeys(k for k in (getattr(r, local_attr) for r in rows) if k is not None))
    related = await _fetch_related(sess, rel, keys) if keys else []
    _assign(rel, rows, related)


async def _fetch_related(sess: "Session", rel: Relationship, keys: list) -> list:
    table = rel.related
    info = table.__table__
    d = sess.dialect
    remote = rel.remote
    proc = remote.type.bind_processor(d.name)
    bound = [proc(k) for k in keys] if proc is not None else keys
    out: list = []
    if d.name == "postgresql":
        chunks = [bound]
    else:
        chunks = [bound[i:i + SQLITE_IN_CHUNK] for i in range(0, len(bound), SQLITE_IN_CHUNK)]
    for chunk in chunks:
        if d.name == "postgresql":
            any_of = _compile.FuncExpr("ANY", (_compile.Param(chunk),))
            cond = _compile.BinaryExpr("=", remote, any_of)
        else:
            cond = _compile.InExpr(remote, [_compile.Param(v) for v in chunk])
        stmt = _compile.Select([info.select_sql], [info.quoted], where=cond, order_by=rel.order_by)
        compiler = _compile.Compiler(d.name, d.numeric)
        if d.name == "postgresql":
            sql, params = _compile.statement_cached(compiler, stmt)
        else:
            sql, params = _compile.compile_statement(compiler, stmt)
        out.extend(sess._hydrate(table, await sess._select(sql, params)))
    return out


def _assign(rel: Relationship, rows: list, related: list) -> None:
    """Put the related rows onto ``rows`` (and the back references onto them)."""
    name = rel.name
    remote_attr = rel.remote.attr_name
    local_attr = rel.local.attr_name
    back = rel.back()
    if rel.uselist:
        # one pass over the children fills the collections and the back references
        lists: dict[Any, RelatedList] = {}
        shared: list[tuple[RelatedList, Any]] = []  # parents with the same key
        for row in rows:
            key = getattr(row, local_attr)
            collection = row.__dict__[name] = RelatedList(row, rel, ())
            if key in lists:
                shared.append((collection, key))
            else:
                lists[key] = collection
        back_name = back.name if back is not None and not back.uselist else None
        get = lists.get
        for item in related:
            collection = get(getattr(item, remote_attr))
            if collection is not None:
                collection.append(item)
                if back_name is not None:
                    item.__dict__[back_name] = collection._parent
        for collection, key in shared:
            collection.extend(lists[key])
        return
    by_key = {getattr(item, remote_attr): item for item in related}
    for row in rows:
        item = by_key.get(getattr(row, local_attr))
        row.__dict__[name] = item
        if item is not None and back is not None and not back.uselist:
            item.__dict__[back.name] = row


# --- joined loading: the owner's select with the related tables' columns appended


def _join_alias(rel: Relationship, owner: str) -> AliasedTable:
    """The alias ``rel`` joins its table under from ``owner`` (a table or alias name):
    ``"<owner>.<relationship>"``, so the join never clashes with the query's own use of that
    table (a self-reference, an explicit join, two relationships to one table)."""
    aliases = rel._join_aliases
    alias = aliases.get(owner)
    if alias is None:
        if len(aliases) >= 100:  # many unnamed aliases of the owner: keep this bounded
            aliases.clear()
        alias = aliases[owner] = AliasedTable(rel.related, generated_name(owner + "." + rel.name))
    return alias


def joined_statement(owner: Any, rels: list[Relationship], stmt: Any) -> Any:
    """``stmt`` (a model select of ``owner``, a table or an alias of one) widened with an
    aliased LEFT OUTER JOIN per joined relationship. A one-to-many join multiplies rows, so
    a LIMIT/OFFSET moves into a subquery named as the owner itself (the outer query's column
    references still fit)."""
    if isinstance(owner, AliasedTable):
        name, select_sql = owner.__alias__.name, owner.__alias__.select_sql
    else:
        name, select_sql = owner.__table__.name, owner.__table__.select_sql
    if stmt.for_update:
        raise InvalidRequestError(
            f"for_update() cannot lock the outer join of {rels[0]!r}; select with "
            "load='select' relationships to lock the rows")
    if any(rel.uselist for rel in rels) and (stmt.limit is not None or stmt.offset is not None):
        inner = _compile.Select([select_sql], stmt.froms, stmt.joins, stmt.where,
                                stmt.group_by, stmt.having, stmt.order_by, stmt.limit,
                                stmt.offset, stmt.distinct, False)
        outer = _compile.Select([select_sql], [_compile.Alias(inner, name)],
                                order_by=stmt.order_by, for_update=stmt.for_update)
    else:
        outer = _compile.Select(stmt.columns, stmt.froms, stmt.joins, stmt.where, stmt.group_by,
                                stmt.having, stmt.order_by, stmt.limit, stmt.offset,
                                stmt.distinct, stmt.for_update)
    for rel in rels:
        target = _join_alias(rel, name)
        joined = target.__alias__
        outer.columns.append(joined.select_sql)
        outer.joins.append(("LEFT OUTER JOIN", joined.from_sql,
                            column_of(target, rel.remote) == column_of(owner, rel.local)))
        if rel.uselist and rel.order_by:
            outer.order_by.extend(adapt(o, target) for o in rel.order_by)
    return outer


def hydrate_joined(sess: "Session", table: type, rels: list[Relationship],
                   records: list) -> list:
    """Rows of a :func:`joined_statement` -> the owner's rows (each once, in order) with
    the joined relationships filled in."""
    info = table.__table__
    n = len(info.columns)
    pk = info.pk_indexes
    parents: dict[Any, Any] = {}
    slices = []
    start = n
    for rel in rels:
        rinfo = rel.related.__table__
        width = len(rinfo.columns)
        slices.append((rel, start, start + width, rinfo.pk_indexes, rel.back()))
        start += width
    seen: dict[tuple, Any] = {}
    for record in records:
        values = tuple(record)
        key = tuple(values[i] for i in pk)
        parent = parents.get(key)
        if parent is None:
            parent = sess._hydrate(table, [values[:n]])[0]
            parents[key] = parent
            for rel, *_ in slices:
                parent.__dict__[rel.name] = RelatedList(parent, rel, ()) if rel.uselist else None
        for rel, lo, hi, rpk, back in slices:
            part = values[lo:hi]
            rkey = tuple(part[i] for i in rpk)
            if rkey[0] is None:
                continue  # no related row: the outer join's NULLs
            if rel.uselist:
                # a second one-to-many join repeats these rows: each goes in once
                seen_key = (id(rel), key, rkey)
                if seen_key in seen:
                    continue
                item = seen[seen_key] = sess._hydrate(rel.related, [part])[0]
                list.append(parent.__dict__[rel.name], item)
            else:
                # many rows may share one related row: one object for it
                seen_key = (id(rel), rkey)
                item = seen.get(seen_key)
                if item is None:
                    item = seen[seen_key] = sess._hydrate(rel.related, [part])[0]
                parent.__dict__[rel.name] = item
            if back is not None and not back.uselist:
                item.__dict__[back.name] = parent
    return list(parents.values())
