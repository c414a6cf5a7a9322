"""Foreign keys, and relationships between tables: which rows of another table belong to a
row, without I/O hidden behind attribute access.

A relationship loads with the query of its table (see :mod:`asyncqlio.orm.loading`):
``load="joined"`` adds a LEFT OUTER JOIN to that query, ``load="select"`` runs one more query
for all the rows at once, ``load="explicit"`` only when asked (``await
Parent.children.load(rows)``). Reading a relationship that was not loaded raises
:class:`NotLoadedError`; it never queries.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Generator, Iterable

from asyncqlio._speedups import _compile, _row
from asyncqlio.exc import ArgumentError, InvalidRequestError, NotLoadedError, SchemaError
from asyncqlio.orm.schema.column import Column

if TYPE_CHECKING:
    from asyncqlio.orm.session import Session

quote = _compile.quote

LOADS = ("select", "joined", "explicit")
FK_ACTIONS = frozenset(("CASCADE", "RESTRICT", "NO ACTION", "SET NULL", "SET DEFAULT"))

#: table class -> its relationships, in definition order
_by_table: dict[type, list["Relationship"]] = {}
#: relationships whose backref is still to be made (its target class may not exist yet)
_pending_backrefs: list["Relationship"] = []
#: table class -> its insert_rank()
_ranks: dict[type, int] = {}
#: the classes of rows that were ever given a link (see _refer): only they need looking at
linked_classes: set[type] = set()


def _spec_source(spec: Any) -> str:
    """A column reference as the source of a table class writes it: ``"Class.column"``."""
    if isinstance(spec, str):
        return spec
    return f"{spec.table.__name__}.{spec.name}"


class ForeignKey:
    """A reference to another table's column, created as a real constraint.

    ``foreign_column`` is a Column or a string ``"Class_or_table.column"``, resolved when it
    is first needed (the target table need not exist yet when this is written).
    ``on_delete``/``on_update`` are the constraint's actions (``"CASCADE"``, ``"SET NULL"``...);
    ``ondelete``/``onupdate`` are SQLAlchemy's spellings of them, so its models port as written.
    """

    def __init__(self, foreign_column: "Column | str", *, on_delete: str | None = None,
                 on_update: str | None = None, ondelete: str | None = None,
                 onupdate: str | None = None) -> None:
        on_delete = _either(on_delete, ondelete, "on_delete", "ondelete")
        on_update = _either(on_update, onupdate, "on_update", "onupdate")
        for action in (on_delete, on_update):
            if action is not None and action.upper() not in FK_ACTIONS:
                raise SchemaError(f"unknown foreign key action {action!r}; "
                                  f"one of {sorted(FK_ACTIONS)}")
        self.target = foreign_column
        self.on_delete = on_delete.upper() if on_delete else None
        self.on_update = on_update.upper() if on_update else None
        #: the column holding this key
        self.column: Column | None = None

    def resolve(self) -> Column:
        """The referenced column; SchemaError if its table or column is not defined."""
        if isinstance(self.target, Column):
            return self.target
        table_name, _, column_name = self.target.rpartition(".")
        if not table_name:
            raise SchemaError(f"foreign key target {self.target!r} must be 'table.column'")
        owner = self.column.table if self.column is not None else None
        table = owner.metadata.get_table(table_name) if owner is not None else None
        if table is None:
            raise SchemaError(f"foreign key target table {table_name!r} is not defined")
        column = table.get_column(column_name)
        if column is None:
            raise SchemaError(f"foreign key target table {table_name!r} has no column "
                              f"{column_name!r}")
        return column

    @property
    def foreign_column(self) -> Column | None:
        """The referenced column, or None while its table is not defined."""
        try:
            return self.resolve()
        except SchemaError:
            return None

    def references_sql(self) -> str:
        """``REFERENCES "table" ("column") [ON DELETE ...] [ON UPDATE ...]``."""
        if isinstance(self.target, str) and (self.column is None or self.column.table is None):
            # a free column (DDL session): the target is named "table.column"
            table_name, _, column_name = self.target.rpartition(".")
            if not table_name:
                raise SchemaError(f"foreign key target {self.target!r} must be 'table.column'")
        else:
            target = self.resolve()
            table_name, column_name = target.table_name, target.name
        sql = f"REFERENCES {quote(table_name)} ({quote(column_name)})"
        if self.on_delete:
            sql += f" ON DELETE {self.on_delete}"
        if self.on_update:
            sql += f" ON UPDATE {self.on_update}"
        return sql

    def get_ddl_sql(self, name: str | None = None) -> str:
        """The key as a table constraint: ``CONSTRAINT name FOREIGN KEY (col) REFERENCES ...``
        (named ``fk_<table>_<column>`` unless ``name`` is given)."""
        column = self.column
        name = name or f"fk_{column.table_name}_{column.name}"
        return f"CONSTRAINT {quote(name)} FOREIGN KEY ({quote(column.name)}) " + \
            self.references_sql()

    def generate_schema(self, fp: Any = None) -> str:
        """``ForeignKey("Class.column")`` as the source of a table class writes it."""
        opts = [f'"{_spec_source(self.target)}"']
        if self.on_delete:
            opts.append(f'on_delete="{self.on_delete}"')
        if self.on_update:
            opts.append(f'on_update="{self.on_update}"')
        text = f"{type(self).__name__}({', '.join(opts)})"
        if fp is None:
            return text
        fp.write(text)
        return ""

    def __repr__(self) -> str:
        return f"ForeignKey({self.target!r})"


def _either(value: Any, alias: Any, name: str, alias_name: str) -> Any:
    if value is not None and alias is not None:
        raise ArgumentError(f"give {name} or {alias_name} (SQLAlchemy's name), not both")
    return alias if value is None else value


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
    ``parent = Relationship(parent_id, "Parent.id")`` on the child: two columns (Columns or
    ``"Class_or_table.column"`` strings, resolved at first use), the foreign key and the
    column it references, in either order (the original asyncqlio's ``left``/``right``).

    On the table holding the foreign key it is many-to-one (a row or None); on the other
    table one-to-many (a :class:`RelatedList`), or one-to-one with ``uselist=False``
    (``use_iter=False``). A relationship of a table to itself is many-to-one unless
    ``uselist=True``. ``back_populates`` names the relationship on the other side, filled in
    as rows load; ``backref`` (``back_ref``) creates that other side, loaded only when asked.
    ``table_alias`` names the alias a ``load="joined"`` relationship joins its table under.
    ``viewonly=True`` only reads: assigning it or changing its collection is refused, so two
    relationships over one foreign key cannot both write it.
    """

    def __init__(self, left: "Column | str", right: "Column | str", *,
                 load: str = "select", uselist: bool | None = None,
                 back_populates: str | None = None, backref: str | None = None,
                 order_by: Any = None, use_iter: bool | None = None,
                 back_ref: str | None = None, table_alias: str | None = None,
                 viewonly: bool = False) -> None:
        if load not in LOADS:
            raise ArgumentError(f"load must be one of {LOADS}, not {load!r}")
        self._use_iter_given = use_iter
        if use_iter is not None:
            if uselist is not None:
                raise ArgumentError("give uselist or use_iter (its original name), not both")
            uselist = use_iter
            if not use_iter:
                load = "joined"  # the original loads a one-row relationship by a join
        if back_ref is not None:
            if backref is not None:
                raise ArgumentError("give backref or back_ref (its original name), not both")
            backref = back_ref.rpartition(".")[2]  # the original wrote "Table.name"
        if back_populates is not None and backref is not None:
            raise ArgumentError("give back_populates or backref, not both")
        self._fk_spec = left
        self._target_spec = right
        self.load_kind = load
        self._uselist = uselist
        self.back_populates = back_populates or backref
        self.backref = backref
        self._back_ref_given = back_ref
        self._order_by = order_by
        self.table_alias = table_alias
        self.viewonly = viewonly
        self.owner: type | None = None
        self.name: str | None = None
        self._resolved = False
        #: name of the table or alias it is joined from -> the alias it joins (load="joined")
        self._join_aliases: dict[str, Any] = {}

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
    def _column(self, spec: Any) -> Column:
        if isinstance(spec, Column):
            return spec
        if not isinstance(spec, str) or "." not in spec:
            raise SchemaError(f"{self!r}: {spec!r} is not a column or 'Table.column'")
        table_name, _, column_name = spec.rpartition(".")
        table = self.owner.metadata.get_table(table_name)
        if table is None:
            raise SchemaError(f"{self!r}: table {table_name!r} is not defined")
        column = table.get_column(column_name)
        if column is None:
            raise SchemaError(f"{self!r}: table {table_name!r} has no column {column_name!r}")
        return column

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

    # --- the original asyncqlio's names for the resolved ends
    @property
    def left_column(self) -> Column:
        """The first column given, resolved."""
        return self._column(self._fk_spec)

    @property
    def right_column(self) -> Column:
        """The second column given, resolved."""
        return self._column(self._target_spec)

    @property
    def our_column(self) -> Column:
        """The owner's column of the join."""
        return self.resolve().local

    @property
    def foreign_column(self) -> Column:
        """The related table's column of the join."""
        return self.resolve().remote

    @property
    def foreign_table(self) -> type:
        return self.resolve().related

    @property
    def owner_table(self) -> type | None:
        return self.owner

    @property
    def load_type(self) -> str:
        return self.load_kind

    @property
    def use_iter(self) -> bool:
        return self.resolve().uselist

    @property
    def back_reference(self) -> str | None:
        return self.backref

    @property
    def join_columns(self) -> tuple[Column, Column]:
        """``(the owner's column, the related table's column)``."""
        self.resolve()
        return self.local, self.remote

    def get_instance(self, row: Any, session: Any = None) -> Any:
        """The relationship's value on ``row`` (what reading the attribute gives)."""
        return self.__get__(row, type(row))

    def generate_schema(self, fp: Any = None) -> str:
        """This relationship as a line of a table class, its columns as they were given."""
        opts = [f'left="{_spec_source(self._fk_spec)}"',
                f'right="{_spec_source(self._target_spec)}"']
        if self.load_kind != "select":
            opts.append(f'load="{self.load_kind}"')
        if self._use_iter_given is not None:
            opts.append(f"use_iter={self._use_iter_given!r}")
        elif self._uselist is not None:
            opts.append(f"uselist={self._uselist!r}")
        if self._back_ref_given is not None:
            opts.append(f'back_ref="{self._back_ref_given}"')
        elif self.backref is not None:
            opts.append(f'backref="{self.backref}"')
        elif self.back_populates is not None:
            opts.append(f'back_populates="{self.back_populates}"')
        if self.table_alias is not None:
            opts.append(f'table_alias="{self.table_alias}"')
        if self.viewonly:
            opts.append("viewonly=True")
        text = f"{self.name} = {self._source_class or type(self).__name__}({', '.join(opts)})"
        if fp is None:
            return text
        fp.write(text)
        return ""

    #: the class a table's source writes this relationship as (None: its own)
    _source_class: str | None = None

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
        name = f"{type(obj).__name__}.{self.name}"
        raise NotLoadedError(
            f"{name} is not loaded, and asyncqlio never loads on attribute access: load it "
            f"with the query (.options(selectinload({name}))), give the relationship "
            f"load='select' or load='joined' (lazy='selectin' or 'joined' in a declarative "
            f"class), or `await {name}.load(rows)` first")

    def _writable(self) -> None:
        if self.viewonly:
            raise InvalidRequestError(f"{self!r} is viewonly: set the foreign key column, or "
                                      f"use the relationship that writes it")

    def __set__(self, obj: Any, value: Any) -> None:
        self._writable()
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
            _refer(obj, self.local.attr_name, value, self.remote.attr_name)
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
            await sess.load_relationship(self.resolve(), items)
        if single:
            return rows.__dict__[self.name]
        return rows


#: where a row keeps the rows its foreign keys are to be taken from at the next flush
LINKS = "__links__"


def _refer(row: Any, fk_attr: str, parent: Any, key_attr: str) -> None:
    """Set ``row``'s foreign key ``fk_attr`` to ``parent``'s ``key_attr``; where the parent
    has no key yet (a new row), the flush sets it once the parent is written."""
    links = row.__dict__.get(LINKS)
    if links is not None:
        links.pop(fk_attr, None)
    key = None if parent is None else getattr(parent, key_attr)
    if parent is not None and key is None:
        row.__dict__.setdefault(LINKS, {})[fk_attr] = (parent, key_attr)
        linked_classes.add(type(row))
        sess = row._session
        if sess is not None and row._state == _row.PERSISTENT:
            sess._dirty[id(row)] = row  # so the flush writes the key it will take
        return
    setattr(row, fk_attr, key)


def _link(rel: Relationship, parent: Any, child: Any) -> None:
    """Point ``child`` (of the one-to-many or one-to-one side) at ``parent``."""
    _refer(child, rel.remote.attr_name, parent, rel.local.attr_name)
    back = rel.back()
    if back is not None:
        child.__dict__[back.name] = parent


def linked_parents(row: Any) -> list[Any]:
    """The new rows whose keys ``row`` waits for (see :func:`_refer`)."""
    links = row.__dict__.get(LINKS)
    return [parent for parent, _ in links.values()] if links else []


def fill_links(rows: Iterable[Any]) -> None:
    """Before the rows are written: their foreign keys from the parents written since
    they were linked."""
    for row in rows:
        links = row.__dict__.get(LINKS)
        if links:
            for fk_attr, (parent, key_attr) in links.items():
                key = getattr(parent, key_attr)
                if key is None:
                    raise InvalidRequestError(
                        f"{row!r} refers to {parent!r}, which has no "
                        f"{key_attr} yet: add it to the session so the flush writes it first")
                setattr(row, fk_attr, key)


def forget_links(rows: Iterable[Any]) -> None:
    """After the rows were written: their links are done."""
    for row in rows:
        row.__dict__.pop(LINKS, None)


def insert_rank(cls: type) -> int:
    """0 for a table whose foreign keys refer to no other table; else one more than the
    highest rank of the tables they refer to: rows inserted in rank order are written
    after the rows they refer to."""
    rank = _ranks.get(cls)
    if rank is None:
        _ranks[cls] = 0  # a cycle of tables stops here
        parents = {c.foreign_key.resolve().table for c in cls.__table__.columns
                   if c.foreign_key is not None}
        parents.discard(cls)
        rank = _ranks[cls] = 1 + max(map(insert_rank, parents), default=-1)
    return rank



def related_rows(row: Any) -> list[Any]:
    """The rows ``row`` holds in its loaded relationships, and those it waits for."""
    out = linked_parents(row)
    d = row.__dict__
    for rel in _by_table.get(type(row), ()):
        value = d.get(rel.name)
        if value is None:
            continue
        if isinstance(value, list):
            out.extend(value)
        else:
            out.append(value)
    return out


def assign_keywords(row: Any, keywords: dict[str, Any]) -> None:
    """The constructor keywords that are not columns: relationships
    (``Author(name="a", posts=[Post(...)])``), assigned as ``row.posts = [...]`` would."""
    cls = type(row)
    rels = {r.name: r for r in of_table(cls)}
    for name, value in keywords.items():
        rel = rels.get(name)
        if rel is None:
            raise TypeError(f"{cls.__qualname__}.__init__() got an unexpected keyword "
                            f"argument {name!r}")
        rel.__set__(row, value)


class RelatedList(list):
    """The rows of a one-to-many relationship. ``add``/``remove`` set the child's foreign
    key and register the child with the parent's session (written at the next flush, or
    now if the returned awaitable is awaited).

    As the original asyncqlio's relationship objects were, it is ``async for``-able and
    awaitable (both give the loaded rows, with no I/O), has ``await first()``, and
    ``query``, a select of the related rows to refine (``rel.query.order_by(...)``)."""

    def __init__(self, parent: Any, rel: Relationship, items: Iterable[Any]) -> None:
        super().__init__(items)
        self._parent = parent
        self._rel = rel

    def add(self, child: Any) -> Awaitable[Any]:
        rel = self._rel
        rel._writable()
        if not isinstance(child, rel.related):
            raise TypeError(f"{rel!r} holds {rel.related.__name__} rows, not {child!r}")
        _link(rel, self._parent, child)
        if not any(c is child for c in self):
            list.append(self, child)
        return _register(self._parent, child)

    def append(self, child: Any) -> None:
        """As ``add()``, for code that treats the collection as a list (SQLAlchemy's)."""
        self.add(child)

    def extend(self, children: Iterable[Any]) -> None:
        for child in children:
            self.add(child)

    def remove(self, child: Any) -> Awaitable[Any]:  # type: ignore[override]
        rel = self._rel
        rel._writable()
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

    @property
    def query(self) -> Any:
        """A select of the related rows in the parent's session."""
        rel = self._rel
        sess = self._parent._session
        if sess is None:
            raise InvalidRequestError(f"{self._parent!r} belongs to no session")
        return sess.select(rel.related).where(
            rel.remote == getattr(self._parent, rel.local.attr_name))

    async def first(self) -> Any:
        return self[0] if self else None

    async def flatten(self) -> list[Any]:
        return list(self)

    def __aiter__(self) -> Any:
        return _aiter(list(self))

    def __await__(self) -> Generator[Any, None, "RelatedList"]:
        return self
        yield  # pragma: no cover


#: the original asyncqlio's classes of a loaded relationship: asyncqlio loads a collection
#: into a RelatedList (a one-row relationship gives the row itself)
BaseLoadedRelationship = SelectLoadedRelationship = JoinLoadedOTMRelationship = RelatedList


async def _aiter(items: list[Any]) -> Any:
    for item in items:
        yield item


def _register(parent: Any, child: Any) -> Awaitable[Any]:
    sess = parent._session
    if sess is None:
        return _Done(child)
    return sess.add(child)


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
