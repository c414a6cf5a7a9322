"""SQLAlchemy's declarative mapping over asyncqlio tables, so a SQLAlchemy 2.x model ports by
changing its imports::

    class Base(DeclarativeBase):
        pass

    class User(Base):
        __tablename__ = "user_account"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(30))
        fullname: Mapped[Optional[str]]
        addresses: Mapped[List["Address"]] = relationship(back_populates="user")

A mapped class *is* an asyncqlio table class: when it is defined, each ``mapped_column()``
and bare ``Mapped[...]`` annotation becomes a :class:`Column` and each ``relationship()`` a
:class:`Relationship`, and :class:`~asyncqlio.orm.schema.table.Table` builds it as it builds
any other table (the same column descriptors, the same C constructor and hydration).

Column annotations are read when the class is defined (its columns must exist then); string
annotations (``from __future__ import annotations``) are evaluated in the class's module and
the scope that defines it. A relationship's target and join are worked out at its first use
(at the latest ``db.bind_tables(Base)``), so it may name classes defined later.

What SQLAlchemy does and asyncqlio does not is refused where it is declared
(NotImplementedError naming it): table inheritance, ``secondary=`` (many-to-many),
``__table__``, dataclass mapping, column options without an asyncqlio counterpart.
"""
from __future__ import annotations

import builtins
import collections.abc
import datetime
import decimal
import enum
import re
import sys
import types
import typing
import uuid
from collections import ChainMap
from typing import (TYPE_CHECKING, Any, Callable, ClassVar, Generic, Mapping, TypeVar,
                    overload)

from asyncqlio._speedups import _compile
from asyncqlio.exc import ArgumentError, InvalidRequestError, SchemaError
from asyncqlio.orm.alias import generated_name
from asyncqlio.orm.schema import types as _types
from asyncqlio.orm.schema.column import Column
from asyncqlio.orm.schema.index import Index
from asyncqlio.orm.schema.relationship import ForeignKey, Relationship
from asyncqlio.orm.metadata import MetaData
from asyncqlio.orm.schema.table import Table, TableMetadata
from asyncqlio.sentinels import NO_DEFAULT

_T = TypeVar("_T")

__all__ = ["DeclarativeBase", "Mapped", "MappedColumn", "UniqueConstraint", "declarative_base",
           "declared_attr", "mapped_column", "relationship"]


class Mapped(Generic[_T]):
    """``id: Mapped[int]``: the annotation of a mapped attribute. To a type checker
    ``User.id`` is a column expression and ``user.id`` an ``int``; at run time the class
    attribute is asyncqlio's column descriptor (or the :class:`Relationship`)."""

    __slots__ = ()

    if TYPE_CHECKING:
        @overload
        def __get__(self, instance: None, owner: Any) -> InstrumentedAttribute[_T]: ...

        @overload
        def __get__(self, instance: object, owner: Any) -> _T: ...

        def __get__(self, instance: object | None, owner: Any) -> Any: ...

        def __set__(self, instance: Any, value: _T) -> None: ...


if TYPE_CHECKING:
    class InstrumentedAttribute(Column, Generic[_T]):
        """What ``User.attr`` is to a type checker: a column expression, or a
        relationship with its explicit ``load``."""

        def __eq__(self, other: object) -> Any: ...  # type: ignore[override]

        def __ne__(self, other: object) -> Any: ...  # type: ignore[override]

        async def load(self, rows: Any, session: Any = None) -> Any: ...


# --- columns

#: the Python types of annotations and the asyncqlio types they give (SQLAlchemy's defaults,
#: plus dict and list as JSON); looked up along the annotation's MRO, so bool is not int
_PYTHON_TYPES: dict[type, Callable[[], _types.ColumnType]] = {
    bool: _types.Boolean, int: _types.Integer, float: _types.Real, str: _types.String,
    decimal.Decimal: lambda: _types.Numeric(None), bytes: _types.Bytea,
    datetime.datetime: _types.Timestamp, datetime.date: _types.Date,
    datetime.time: _types.Time, datetime.timedelta: _types.Interval,
    uuid.UUID: _types.UUID, dict: _types.JSON, list: _types.JSON,
}

#: SQLAlchemy's mapped_column() options that asyncqlio has no counterpart for
_UNSUPPORTED_COLUMN_OPTIONS = frozenset((
    "onupdate", "server_onupdate", "deferred", "deferred_group", "deferred_raiseload",
    "active_history", "sort_order", "use_existing_column", "init", "repr", "default_factory",
    "compare", "kw_only", "hash", "key", "system", "quote", "comment", "dataclass_metadata",
))

_SERIAL_BASES = {"INTEGER": _types.Integer, "SMALLINT": _types.SmallInt, "BIGINT": _types.BigInt}


class MappedColumn(Mapped[_T]):
    """What ``mapped_column()`` returns: the column's arguments, made into an asyncqlio
    :class:`Column` when its class is mapped (a mixin's once for each class using it)."""

    __slots__ = ("column_name", "type", "foreign_key", "options", "columns")

    def __init__(self, column_name: str | None, type_: Any, foreign_key: ForeignKey | None,
                 options: dict[str, Any]) -> None:
        self.column_name = column_name
        self.type = type_
        self.foreign_key = foreign_key
        #: the keywords given (absent ones are inferred from the annotation)
        self.options = options
        #: mapped class -> the Column made for it, so ``remote_side=[id]`` finds it
        self.columns: dict[type, Column] = {}

    def merged(self, base: "MappedColumn") -> "MappedColumn":
        """These arguments over ``base``'s (an ``Annotated[int, mapped_column(...)]``)."""
        return MappedColumn(self.column_name or base.column_name, self.type or base.type,
                            self.foreign_key or base.foreign_key,
                            {**base.options, **self.options})

    def __repr__(self) -> str:
        return f"<mapped_column {self.column_name or '?'} {self.type!r}>"


def mapped_column(*args: Any, primary_key: bool = False, nullable: bool | None = None,
                  default: Any = NO_DEFAULT, insert_default: Any = NO_DEFAULT,
                  server_default: Any = None, index: bool | None = None,
                  unique: bool | None = None, autoincrement: bool | str = "auto",
                  name: str | None = None, type_: Any = None, doc: str | None = None,
                  info: Any = None, **unsupported: Any) -> MappedColumn[Any]:
    """A column of a declarative class, as SQLAlchemy's: positionally an optional column
    name, the type (or it comes from the ``Mapped[...]`` annotation) and a
    :class:`ForeignKey`. ``nullable`` comes from the annotation (``Optional[X]``, ``X | None``)
    unless given; a column without an annotation is nullable unless a primary key, as in
    SQLAlchemy (plain asyncqlio columns are NOT NULL unless ``nullable=True``).

    ``server_default`` is SQLAlchemy's: a string is a quoted literal, ``text("...")`` SQL,
    ``func.now()`` ``CURRENT_TIMESTAMP``; a ``default`` that is an SQL function is made a
    server default. ``doc`` and ``info`` are accepted and kept nowhere."""
    for key in unsupported:
        if key in _UNSUPPORTED_COLUMN_OPTIONS:
            raise NotImplementedError(f"mapped_column({key}=...) is not supported by asyncqlio")
        raise TypeError(f"mapped_column() got an unexpected keyword argument {key!r}")
    column_name, foreign_key = name, None
    for arg in args:
        if isinstance(arg, str):
            if column_name is not None:
                raise ArgumentError(f"mapped_column() got two column names: {column_name!r} "
                                    f"and {arg!r}")
            column_name = arg
        elif isinstance(arg, ForeignKey):
            if foreign_key is not None:
                raise NotImplementedError("a column with two foreign keys")
            foreign_key = arg
        elif _is_type(arg):
            if type_ is not None:
                raise ArgumentError(f"mapped_column() got two types: {type_!r} and {arg!r}")
            type_ = arg
        else:
            raise ArgumentError(f"mapped_column() takes a column name, a type and a "
                                f"ForeignKey positionally, not {arg!r}")
    options: dict[str, Any] = {}
    if primary_key:
        options["primary_key"] = True
    if nullable is not None:
        options["nullable"] = bool(nullable)
    if insert_default is not NO_DEFAULT:
        if default is not NO_DEFAULT:
            raise ArgumentError("give default or insert_default, not both")
        default = insert_default
    if isinstance(default, _compile.Node):
        if server_default is not None:
            raise ArgumentError("give an SQL default as default or server_default, not both")
        server_default, default = default, NO_DEFAULT
    if default is not NO_DEFAULT:
        options["default"] = default
    if server_default is not None:
        options["server_default"] = _server_default(server_default)
    if index is not None:
        options["index"] = bool(index)
    if unique is not None:
        options["unique"] = bool(unique)
    if autoincrement not in ("auto", "ignore_fk"):
        options["autoincrement"] = bool(autoincrement)
    return MappedColumn(column_name, type_, foreign_key, options)


def _is_type(value: Any) -> bool:
    return isinstance(value, _types.ColumnType) or (
        isinstance(value, type) and issubclass(value, _types.ColumnType))


def _server_default(value: Any) -> str:
    """SQLAlchemy's server_default as asyncqlio's (SQL text)."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    text = getattr(value, "text", None)
    if isinstance(text, str):  # text("...")
        return text
    if isinstance(value, _compile.FuncExpr):
        if value.args:
            raise NotImplementedError(
                "a server default calling a function with arguments; give it as SQL text: "
                "server_default=text('...')")
        if value.name.lower() in ("now", "current_timestamp"):
            return "CURRENT_TIMESTAMP"  # what SQLAlchemy renders on SQLite, valid on both
        return f"{value.name}()"
    raise ArgumentError(f"server_default is a string, text('...') or func.x(), not {value!r}")


def _column(cls: type, attr: str, spec: MappedColumn, annotation: Any,
            namespace: Mapping[str, Any]) -> Column:
    """The Column ``spec`` and the attribute's annotation (or None) describe."""
    declared = spec
    optional = False
    candidates: list[Any] = []
    if annotation is not None:
        candidates, optional, specs = _unwrap(annotation, namespace, cls, attr)
        for base in specs:  # Annotated[int, mapped_column(primary_key=True)]
            spec = spec.merged(base)
    options = dict(spec.options)
    type_ = spec.type
    if type_ is None and candidates:
        type_ = _annotation_type(cls, attr, candidates)
    if type_ is None and spec.foreign_key is not None:
        type_ = _referenced_type(cls, attr, spec.foreign_key)
    if type_ is None:
        raise ArgumentError(f"{cls.__name__}.{attr}: mapped_column() needs a type: give one "
                            f"(mapped_column(String(30))) or annotate it Mapped[str]")
    if "nullable" not in options:
        primary = options.get("primary_key", False)
        options["nullable"] = not primary and (optional if annotation is not None else True)
    column = Column(type_, foreign_key=spec.foreign_key, name=spec.column_name, **options)
    declared.columns[cls] = column
    return column


def _annotation_type(cls: type, attr: str, candidates: list[Any]) -> _types.ColumnType:
    """The asyncqlio type of an annotation: the class's ``type_annotation_map`` first (for
    the annotation as written and as unwrapped), then the defaults, along the type's MRO."""
    user_map = getattr(cls, "type_annotation_map", None) or {}
    for candidate in candidates:
        try:
            found = user_map.get(candidate)
        except TypeError:  # an unhashable annotation
            found = None
        if found is not None:
            return _types.ColumnType.create(found)
    python_type = candidates[-1]
    python_type = typing.get_origin(python_type) or python_type  # dict[str, Any] -> dict
    if isinstance(python_type, type):
        if issubclass(python_type, enum.Enum):
            return _types.Enum(python_type)
        for base in python_type.__mro__:
            if base in user_map:
                return _types.ColumnType.create(user_map[base])
            if base in _PYTHON_TYPES:
                return _PYTHON_TYPES[base]()
    raise ArgumentError(f"{cls.__name__}.{attr}: no asyncqlio type for the annotation "
                        f"{candidates[-1]!r}; give one: mapped_column(Text)")


def _referenced_type(cls: type, attr: str, fk: ForeignKey) -> _types.ColumnType:
    """A foreign key column without a type takes the referenced column's (an integer one
    for a serial)."""
    target = fk.target
    if not isinstance(target, Column):
        table_name, _, column_name = target.rpartition(".")
        table = cls.metadata.get_table(table_name)
        target = table.get_column(column_name) if table is not None else None
        if target is None:
            raise ArgumentError(f"{cls.__name__}.{attr}: the type of {fk!r} is not known "
                                f"yet; give it (mapped_column(Integer, ...)) or annotate "
                                f"Mapped[int]")
    if target.type.is_serial:
        return _SERIAL_BASES[target.type.cast_sql(_types.POSTGRESQL)]()
    return target.type


# --- annotations

_MAPPED_TEXT = re.compile(r"\s*(?:[\w.]+\.)?Mapped\s*\[")
_NONE = type(None)
_UNIONS = (typing.Union, types.UnionType)
_COLLECTIONS = (list, collections.abc.Sequence, collections.abc.MutableSequence,
                collections.abc.Collection, collections.abc.Iterable)


def _is_mapped(annotation: Any) -> bool:
    """Whether an annotation is ``Mapped[...]`` (a string one by its text, unevaluated)."""
    if isinstance(annotation, str):
        return _MAPPED_TEXT.match(annotation) is not None
    origin = typing.get_origin(annotation)
    return isinstance(origin, type) and issubclass(origin, Mapped)


def _evaluate(annotation: Any, namespace: Mapping[str, Any], cls: type, attr: str,
              error: type[Exception] = ArgumentError) -> Any:
    """A string annotation (or forward reference) evaluated in ``namespace``."""
    if isinstance(annotation, typing.ForwardRef):
        annotation = annotation.__forward_arg__
    if not isinstance(annotation, str):
        return annotation
    try:
        return eval(annotation, {"__builtins__": builtins}, namespace)  # noqa: S307
    except NameError as e:
        raise error(f"{cls.__name__}.{attr}: the annotation {annotation!r} names {e.name!r}, "
                    f"which is not defined where the class is") from None


def _mapped_argument(annotation: Any) -> Any:
    """``X`` of ``Mapped[X]`` (an annotation not wrapped in Mapped is taken as it is)."""
    origin = typing.get_origin(annotation)
    if isinstance(origin, type) and issubclass(origin, Mapped):
        return typing.get_args(annotation)[0]
    return annotation


def _unwrap(annotation: Any, namespace: Mapping[str, Any], cls: type,
            attr: str) -> tuple[list[Any], bool, list[MappedColumn]]:
    """A column annotation's types, outermost first (``Optional`` and ``Annotated`` taken off
    one by one), whether it is optional, and the ``mapped_column()``\\ s in ``Annotated``."""
    current = _mapped_argument(_evaluate(annotation, namespace, cls, attr))
    candidates: list[Any] = []
    optional = False
    specs: list[MappedColumn] = []
    while True:
        current = _evaluate(current, namespace, cls, attr)
        candidates.append(current)
        origin = typing.get_origin(current)
        if origin in _UNIONS:
            args = typing.get_args(current)
            rest = [a for a in args if a is not _NONE]
            if len(rest) != 1:
                raise ArgumentError(f"{cls.__name__}.{attr}: a column holds one type, not "
                                    f"{current!r}")
            optional = optional or len(rest) < len(args)
            current = rest[0]
        elif origin is typing.Annotated:
            specs.extend(m for m in current.__metadata__ if isinstance(m, MappedColumn))
            current = current.__origin__
        else:
            return candidates, optional, specs


def _relationship_target(annotation: Any, namespace: Mapping[str, Any], cls: type,
                         attr: str) -> tuple[Any, bool]:
    """The class (or its name) a relationship annotation names, and whether it is a
    collection: ``Mapped[List["X"]]``, ``Mapped["X"]``, ``Mapped[Optional["X"]]``."""
    current = _mapped_argument(_evaluate(annotation, namespace, cls, attr, SchemaError))
    collection = False
    while True:
        current = _evaluate(current, namespace, cls, attr, SchemaError)
        origin = typing.get_origin(current)
        if origin in _UNIONS:
            rest = [a for a in typing.get_args(current) if a is not _NONE]
            if len(rest) != 1:
                raise ArgumentError(f"{cls.__name__}.{attr}: a relationship relates one "
                                    f"class, not {current!r}")
            current = rest[0]
        elif origin in _COLLECTIONS and not collection:
            collection = True
            current = typing.get_args(current)[0]
        elif origin is not None:
            raise NotImplementedError(
                f"{cls.__name__}.{attr}: a {origin.__name__} collection; asyncqlio "
                f"collections are lists (Mapped[List[...]])")
        else:
            return current, collection


def _defining_namespace() -> Mapping[str, Any]:
    """The names of the scope a class statement runs in, for its annotations: a function's
    locals as they are then (models defined in a function), or the module's globals (also
    those of code run by ``exec``, whose classes name no module)."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_name == "__init_subclass__":
        frame = frame.f_back
    if frame is None:
        return {}
    if frame.f_locals is frame.f_globals:
        return frame.f_globals
    return {**frame.f_globals, **frame.f_locals}


# --- relationships

#: SQLAlchemy's lazy= -> asyncqlio's load=; everything that loads on attribute access in
#: SQLAlchemy is "explicit" (asyncqlio never does I/O on access: reading raises NotLoadedError)
_LAZY = {"selectin": "select", "subquery": "select", "immediate": "select",
         "joined": "joined", False: "joined",
         "select": "explicit", True: "explicit", "raise": "explicit",
         "raise_on_sql": "explicit", "noload": "explicit", None: "explicit",
         "dynamic": "explicit", "write_only": "explicit"}

#: SQLAlchemy's relationship() options that change nothing asyncqlio does
_HARMLESS_RELATIONSHIP_OPTIONS = frozenset((
    "overlaps", "passive_deletes", "passive_updates", "innerjoin", "join_depth", "info",
    "doc", "single_parent", "active_history", "sync_backref", "omit_join",
    "distinct_target_key", "enable_typechecks", "bake_queries", "load_on_pending",
))
_UNSUPPORTED_RELATIONSHIP_OPTIONS = frozenset((
    "secondaryjoin", "post_update", "query_class", "collection_class", "remote_side_fn",
    "primaryjoin_fn", "init", "repr", "default", "default_factory", "compare", "kw_only",
    "hash", "dataclass_metadata",
))


class DeclaredRelationship(Relationship, Mapped[Any]):
    """What ``relationship()`` returns: an asyncqlio :class:`Relationship` whose target,
    direction and columns are worked out from the declaration at its first use."""

    def __init__(self, argument: Any, *, back_populates: str | None, backref: str | None,
                 uselist: bool | None, lazy: Any, order_by: Any, foreign_keys: Any,
                 primaryjoin: Any, remote_side: Any, viewonly: bool) -> None:
        if lazy not in _LAZY:
            raise ArgumentError(f"lazy must be one of {sorted(map(str, _LAZY))}, not {lazy!r}")
        super().__init__(None, None, load=_LAZY[lazy], uselist=uselist,  # type: ignore[arg-type]
                         back_populates=back_populates, backref=backref, viewonly=viewonly)
        self._declared = dict(argument=argument, back_populates=back_populates,
                              backref=backref, uselist=uselist, lazy=lazy, order_by=order_by,
                              foreign_keys=foreign_keys, primaryjoin=primaryjoin,
                              remote_side=remote_side, viewonly=viewonly)
        #: the attribute's annotation and the names to evaluate it with (set when mapped,
        #: dropped once the relationship is resolved)
        self._annotation: Any = None
        self._namespace: Mapping[str, Any] | None = None

    def copy(self) -> "DeclaredRelationship":
        """The same declaration for another class (a mixin's relationship)."""
        return DeclaredRelationship(**self._declared)

    def __set_name__(self, owner: type, name: str) -> None:
        # registered with its table when that class is mapped (a mixin's is copied there)
        self.name = name

    def attach(self, owner: type, name: str, annotation: Any,
               namespace: Mapping[str, Any]) -> None:
        self._annotation = annotation
        self._namespace = namespace
        Relationship.__set_name__(self, owner, name)

    def resolve(self) -> "Relationship":
        if not self._resolved:
            if self.owner is None:
                raise SchemaError(f"relationship {self.name!r} belongs to no mapped class")
            self._declare()
        return super().resolve()

    @property
    def left_column(self) -> Column:
        return self.resolve().local

    @property
    def right_column(self) -> Column:
        return self.resolve().remote

    #: the source of its table writes it as an ordinary Relationship
    _source_class = "Relationship"

    def generate_schema(self, fp: Any = None) -> str:
        self.resolve()
        return super().generate_schema(fp)

    # --- working out the join
    def _names(self) -> Mapping[str, Any]:
        """What strings in the declaration are evaluated with: the mapped classes by name,
        then the names of the class's scope and module."""
        owner = self.owner
        classes = {t.__name__: t for t in owner.metadata.tables.values()}
        helpers = {"desc": lambda c: c.desc(), "asc": lambda c: c.asc()}
        return ChainMap(classes, self._namespace or {}, helpers)

    def _declare(self) -> None:
        owner, decl = self.owner, self._declared
        names = self._names()
        where = f"relationship {owner.__name__}.{self.name}"
        target, collection = decl["argument"], None
        if self._annotation is not None:
            annotated, collection = _relationship_target(self._annotation, names, owner,
                                                         self.name)
            target = annotated if target is None else target
        if target is None:
            raise ArgumentError(f"{where}: give the related class (relationship('Address')) "
                                f"or annotate it (Mapped[List['Address']])")
        related = self._class(target, where)
        if self._uselist is None and collection is not None:
            self._uselist = collection
        foreign_keys = self._columns(decl["foreign_keys"], names, where)
        if decl["primaryjoin"] is not None:
            fk, referenced = self._primaryjoin(decl["primaryjoin"], names, foreign_keys,
                                               related, where)
        else:
            fk, referenced = _foreign_key(owner, related, foreign_keys, where)
        if related is owner:
            self._self_referential(fk, referenced, names, where)
        self._fk_spec, self._target_spec = fk, referenced
        order = decl["order_by"]
        if order is not None:
            self._order_by = self._columns(order, names, where, columns_only=False)
        self._annotation = self._namespace = None

    def _class(self, target: Any, where: str) -> type:
        if callable(target) and not isinstance(target, type):
            target = target()  # relationship(lambda: Address)
        if isinstance(target, typing.ForwardRef):
            target = target.__forward_arg__
        if isinstance(target, str):
            found = self.owner.metadata.get_table(target.rpartition(".")[2])
            if found is None:
                raise SchemaError(f"{where}: no mapped class {target!r}")
            return found
        if isinstance(target, type) and issubclass(target, Table) and "__table__" in vars(target):
            return target
        raise ArgumentError(f"{where}: {target!r} is not a mapped class")

    def _columns(self, value: Any, names: Mapping[str, Any], where: str, *,
                 columns_only: bool = True) -> list:
        """Columns given as SQLAlchemy takes them: a column, a list, a string to evaluate
        (``"Address.user_id"``, ``"[Address.id.desc()]"``), or a callable returning them."""
        if value is None:
            return []
        if isinstance(value, str):
            try:
                value = eval(value, {"__builtins__": builtins}, names)  # noqa: S307
            except NameError as e:
                raise SchemaError(f"{where}: {e.name!r} is not defined") from None
        elif callable(value) and not isinstance(value, (Column, _compile.Node)):
            value = value()
        items = list(value) if isinstance(value, (list, tuple, set)) else [value]
        out = []
        for item in items:
            if isinstance(item, MappedColumn):  # a class body's own column: remote_side=[id]
                item = item.columns.get(self.owner) or next(iter(item.columns.values()), item)
            ok = isinstance(item, Column) or (not columns_only and isinstance(
                item, _compile.OrderExpr))
            if not ok:
                raise ArgumentError(f"{where}: {item!r} is not a column")
            out.append(item)
        return out

    def _primaryjoin(self, value: Any, names: Mapping[str, Any], foreign_keys: list,
                     related: type, where: str) -> tuple[Column, Column]:
        """The two columns of a ``primaryjoin`` that is one equality of columns (all
        asyncqlio relationships are)."""
        if isinstance(value, str):
            try:
                value = eval(value, {"__builtins__": builtins}, names)  # noqa: S307
            except NameError as e:
                raise SchemaError(f"{where}: {e.name!r} is not defined") from None
        elif callable(value) and not isinstance(value, _compile.Node):
            value = value()
        if not (isinstance(value, _compile.BinaryExpr) and value.op == "="
                and isinstance(value.left, Column) and isinstance(value.right, Column)):
            raise NotImplementedError(
                f"{where}: a primaryjoin other than one column equal to another "
                f"(User.id == Address.user_id)")
        a, b = value.left, value.right
        if {a.table, b.table} != {self.owner, related}:
            raise ArgumentError(f"{where}: primaryjoin must join {self.owner.__name__} and "
                                f"{related.__name__}")
        if b in foreign_keys or (a not in foreign_keys and b.foreign_key is not None
                                 and a.foreign_key is None):
            a, b = b, a
        if a not in foreign_keys and a.foreign_key is None:
            raise ArgumentError(f"{where}: neither column of the primaryjoin is a foreign "
                                f"key; name it with foreign_keys=")
        return a, b

    def _self_referential(self, fk: Column, referenced: Column, names: Mapping[str, Any],
                          where: str) -> None:
        """A table related to itself is one-to-many unless ``remote_side`` names the
        referenced column (many-to-one), as in SQLAlchemy."""
        remote = self._columns(self._declared["remote_side"], names, where)
        many_to_one = any(c is referenced for c in remote)
        if many_to_one:
            if self._uselist:
                raise ArgumentError(f"{where}: remote_side makes it many-to-one, which holds "
                                    f"one row, not a list")
            self._uselist = False
        elif self._uselist is False:
            raise NotImplementedError(f"{where}: a one-to-one relationship of a table to "
                                      f"itself; give remote_side for the many-to-one side")
        else:
            self._uselist = True


def _foreign_key(owner: type, related: type, foreign_keys: list,
                 where: str) -> tuple[Column, Column]:
    """The one foreign key between the two tables (among ``foreign_keys`` if given), as
    ``(its column, the column it references)``."""
    found: dict[int, tuple[Column, Column]] = {}
    for table, other in ((owner, related), (related, owner)):
        for column in table.__table__.columns:
            if column.foreign_key is None or (foreign_keys and column not in foreign_keys):
                continue
            referenced = column.foreign_key.resolve()
            if referenced.table is other:
                found[id(column)] = (column, referenced)
    if len(found) == 1:
        return next(iter(found.values()))
    pair = f"{owner.__tablename__} and {related.__tablename__}"
    if not found:
        raise ArgumentError(f"{where}: no foreign key links {pair}; give a column "
                            f"ForeignKey(...), or say which with foreign_keys= or primaryjoin=")
    listed = ", ".join(f"{c.table.__name__}.{c.attr_name}" for c, _ in found.values())
    raise ArgumentError(f"{where}: more than one foreign key links {pair} ({listed}); say "
                        f"which with foreign_keys=[...]")


def relationship(argument: Any = None, secondary: Any = None, *,
                 back_populates: str | None = None, backref: Any = None,
                 uselist: bool | None = None, lazy: Any = "select", order_by: Any = None,
                 foreign_keys: Any = None, primaryjoin: Any = None, remote_side: Any = None,
                 cascade: str | None = None, viewonly: bool | None = None,
                 **options: Any) -> Mapped[Any]:
    """A relationship of a declarative class, as SQLAlchemy's, made an asyncqlio
    :class:`Relationship`: the related class (a class, its name, or a callable returning it)
    or the ``Mapped[List["X"]]`` / ``Mapped["X"]`` annotation (a collection or one row), the
    join from the one foreign key between the tables (or ``foreign_keys=``, or a
    ``primaryjoin`` of one column equal to another), ``remote_side`` for a table related to
    itself.

    ``lazy``: ``"selectin"``, ``"subquery"`` and ``"immediate"`` load with every query of
    the class by one more query (``load="select"``), ``"joined"`` by a join; the others
    (the default ``"select"``, ``"raise"``, ``"noload"``, ``"dynamic"``, ...) load only when
    asked (``load="explicit"``: a loader option, or ``await User.addresses.load(rows)``);
    reading an unloaded relationship raises NotLoadedError, as SQLAlchemy's asyncio
    extension refuses the implicit IO.

    ``cascade`` is accepted; asyncqlio does not cascade in Python: a child goes into the
    session with ``parent.children.add(child)``, and deleting a parent deletes its children
    only by the foreign key's own ``ON DELETE`` (``ForeignKey(..., ondelete="CASCADE")``).
    ``backref="name"`` makes the other side (loaded only when asked). ``viewonly=True``
    refuses writes through the relationship."""
    if secondary is not None:
        raise NotImplementedError("relationship(secondary=...): many-to-many relationships "
                                  "are not supported; map the association table as a class")
    if backref is not None and not isinstance(backref, str):
        raise NotImplementedError("backref(...) with options; give backref='name', or "
                                  "declare both sides with back_populates")
    for key in options:
        if key in _UNSUPPORTED_RELATIONSHIP_OPTIONS:
            raise NotImplementedError(f"relationship({key}=...) is not supported by asyncqlio")
        if key not in _HARMLESS_RELATIONSHIP_OPTIONS:
            raise TypeError(f"relationship() got an unexpected keyword argument {key!r}")
    return DeclaredRelationship(argument, back_populates=back_populates, backref=backref,
                                uselist=uselist, lazy=lazy, order_by=order_by,
                                foreign_keys=foreign_keys, primaryjoin=primaryjoin,
                                remote_side=remote_side, viewonly=bool(viewonly))


# --- table arguments


class UniqueConstraint:
    """``__table_args__ = (UniqueConstraint("a", "b"),)``: made a unique index, named as
    PostgreSQL names an unnamed constraint (``<table>_<columns>_key``) unless ``name``."""

    def __init__(self, *columns: Any, name: str | None = None) -> None:
        if not columns:
            raise SchemaError("a UniqueConstraint needs at least one column")
        self.columns = columns
        self.name = name

    def __repr__(self) -> str:
        return f"UniqueConstraint{self.columns!r}"


def _table_entries(cls: type, table_args: Any) -> list[Any]:
    """The entries of ``__table_args__`` (a tuple, perhaps ending with a dict, or a dict),
    checked before the table is made: Index and UniqueConstraint, and no options."""
    if isinstance(table_args, dict):
        entries, options = [], table_args
    else:
        entries = list(table_args)
        options = entries.pop() if entries and isinstance(entries[-1], dict) else {}
    unsupported = sorted(k for k in options if k != "info")
    if unsupported:
        raise NotImplementedError(f"{cls.__name__}.__table_args__ options {unsupported}")
    for entry in entries:
        if not isinstance(entry, (Index, UniqueConstraint)):
            raise NotImplementedError(f"{cls.__name__}.__table_args__: {type(entry).__name__} "
                                      f"(asyncqlio takes Index and UniqueConstraint there)")
    return entries


def _table_indexes(cls: type, entries: list[Any]) -> list[Index]:
    """The indexes of the ``__table_args__`` entries. An :class:`Index` there takes
    SQLAlchemy's arguments: its name first, then its columns."""
    out = []
    for entry in entries:
        if isinstance(entry, Index):
            columns, name = list(entry.columns), entry.name
            if name is None and columns and isinstance(columns[0], str):
                name = columns.pop(0)
            if not columns:
                raise SchemaError(f"{cls.__name__}.__table_args__: Index {name!r} names no "
                                  f"columns (as in SQLAlchemy, its first argument is its name)")
            out.append(Index(*_own_columns(cls, columns), unique=entry.unique, name=name))
        else:
            columns = _own_columns(cls, entry.columns)
            name = entry.name or generated_name(
                "_".join([cls.__tablename__, *(c.name for c in columns), "key"]))
            out.append(Index(*columns, unique=True, name=name))
    return out


def _own_columns(cls: type, columns: Any) -> list[Column]:
    out = []
    for c in columns:
        if isinstance(c, MappedColumn):
            c = c.columns.get(cls, c)
        elif isinstance(c, str):
            c = cls.get_column(c) or c
        if not isinstance(c, Column) or c.table is not cls:
            raise SchemaError(f"{cls.__name__}.__table_args__: {c!r} is not a column of "
                              f"{cls.__name__}")
        out.append(c)
    return out


# --- the base class


class declared_attr(Generic[_T]):
    """``@declared_attr`` on a mixin: the attribute (``__tablename__``, ``__table_args__``,
    a ``mapped_column()`` or ``relationship()``) is made by calling the function with each
    mapped class."""

    def __init__(self, fget: Callable[[Any], _T]) -> None:
        self.fget = fget

    def __get__(self, instance: Any, owner: type) -> _T:
        return self.fget(owner)

    #: SQLAlchemy's spellings for a declared directive (``@declared_attr.directive``)
    directive: ClassVar[type["declared_attr[Any]"]]
    cascading: ClassVar[type["declared_attr[Any]"]]


declared_attr.directive = declared_attr.cascading = declared_attr


class DeclarativeBase(Table):
    """SQLAlchemy's base class: ``class Base(DeclarativeBase): pass``, a base of model classes
    with a registry of its own (``Base.metadata``, what ``db.bind_tables(Base)`` binds).

    Its subclasses are mapped: each with ``__tablename__`` is an asyncqlio table, one with
    ``__abstract__ = True`` (or a plain mixin class) gives its columns and relationships to
    the classes below it. ``type_annotation_map`` on the base maps Python types to asyncqlio
    types ahead of the defaults. ``__mapper_args__`` may only hold ``eager_defaults``
    (asyncqlio always reads generated values back)."""

    metadata: ClassVar[TableMetadata]
    type_annotation_map: ClassVar[dict[Any, Any]]
    __table_args__: ClassVar[Any]
    __mapper_args__: ClassVar[dict[str, Any]]
    __abstract__: ClassVar[bool]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if DeclarativeBase in cls.__bases__:  # the program's Base
            metadata = vars(cls).get("metadata")
            if metadata is None:
                cls.metadata = MetaData()
            elif not isinstance(metadata, TableMetadata):
                raise ArgumentError(f"{cls.__name__}.metadata must be a TableMetadata, not "
                                    f"{metadata!r}")
            super(Table, cls).__init_subclass__(**kwargs)
            return
        if vars(cls).get("__abstract__"):
            super(Table, cls).__init_subclass__(**kwargs)
            return
        table_name = _map(cls, _defining_namespace())
        entries = _table_entries(cls, getattr(cls, "__table_args__", ()))
        super().__init_subclass__(table_name=table_name, **kwargs)
        info = cls.__table__
        for index in _table_indexes(cls, entries):
            index._bind(cls)
            info.indexes.insert(len(info.explicit_indexes), index)
            info.explicit_indexes.append(index)


def _map(cls: type, scope: Mapping[str, Any]) -> str:
    """Turn the declaration of ``cls`` (and of its mixins and abstract bases) into asyncqlio
    Columns and Relationships on it, before Table builds the table; its table name."""
    for base in cls.__mro__[1:]:
        if "__table__" in vars(base):
            raise NotImplementedError(
                f"{cls.__name__} inherits the mapped class {base.__name__}: table inheritance "
                f"(single or joined) is not supported; share columns with a mixin or an "
                f"__abstract__ base")
    if "__table__" in vars(cls):
        raise NotImplementedError(f"{cls.__name__}.__table__: an imperative table; declare "
                                  f"the columns with mapped_column()")
    mapper_args = getattr(cls, "__mapper_args__", {})
    unsupported = sorted(k for k in mapper_args if k != "eager_defaults")
    if unsupported:
        raise NotImplementedError(f"{cls.__name__}.__mapper_args__ {unsupported}")
    table_name = getattr(cls, "__tablename__", None)
    if not isinstance(table_name, str):
        raise InvalidRequestError(f"{cls.__name__} has no __tablename__: give it one, or make "
                                  f"it a base of mapped classes with __abstract__ = True")
    columns: list[tuple[str, Column]] = []
    seen: set[str] = set()
    for source in _sources(cls):
        module = sys.modules.get(source.__module__)
        names = vars(module) if module is not None else {}
        namespace = ChainMap(scope, names) if source is cls else ChainMap(names, scope)
        annotations = vars(source).get("__annotations__", {})
        own = vars(source)
        for attr in _body_order(list(own), list(annotations)):
            if attr in seen or attr.startswith("__"):
                continue
            value = own.get(attr)
            annotation = annotations.get(attr)
            if isinstance(value, declared_attr):
                annotation = value.fget.__annotations__.get("return", annotation)
                value = value.fget(cls)
            if isinstance(value, DeclaredRelationship):
                seen.add(attr)
                rel = value if source is cls and value.owner is None else value.copy()
                setattr(cls, attr, rel)  # a copy, or what a declared_attr made
                rel.attach(cls, attr, annotation, namespace)
            elif isinstance(value, MappedColumn):
                seen.add(attr)
                columns.append((attr, _column(cls, attr, value, annotation, namespace)))
            elif isinstance(value, Column) and source is cls:
                seen.add(attr)
                columns.append((attr, value))
            elif isinstance(value, Column):
                raise NotImplementedError(f"{source.__name__}.{attr}: an asyncqlio Column on a "
                                          f"mixin; declare it with mapped_column()")
            elif attr not in own and _is_mapped(annotation):
                seen.add(attr)
                columns.append((attr, _column(cls, attr, MappedColumn(None, None, None, {}),
                                              annotation, namespace)))
    # Table reads the columns in the class's order: the body's, then the mixins'
    for attr, _ in columns:
        if attr in vars(cls):
            delattr(cls, attr)
    for attr, column in columns:
        setattr(cls, attr, column)
    return table_name


def _body_order(assigned: list[str], annotated: list[str]) -> list[str]:
    """A class body's names in order, as far as its ``__dict__`` (the names assigned) and
    its ``__annotations__`` can tell (an annotation without a value is in the second
    only), reconciled as SQLAlchemy reconciles them, so columns come in its order: take
    from one list until a name the other also holds, then from the other, the shared name
    written where the second list reaches it; a list that runs out ends with the rest of
    the other."""
    shared = set(assigned) & set(annotated)
    lists = (assigned, annotated)
    at = [0, 0]
    side = 0
    out: list[str] = []
    while at[side] < len(lists[side]):
        name = lists[side][at[side]]
        at[side] += 1
        if name in shared:
            shared.discard(name)
            side = 1 - side
            continue
        out.append(name)
    other = 1 - side
    out.extend(lists[other][at[other]:])
    return out


def _sources(cls: type) -> list[type]:
    """``cls`` and the classes it takes mapped attributes from, in MRO order: its mixins,
    abstract bases and the program's Base (not DeclarativeBase and the classes above it)."""
    return [base for base in cls.__mro__ if not issubclass(DeclarativeBase, base)]


def declarative_base(*, metadata: TableMetadata | None = None, name: str = "Base",
                     cls: type = object,
                     type_annotation_map: dict[Any, Any] | None = None) -> Any:
    """SQLAlchemy's older spelling: ``Base = declarative_base()`` is a
    :class:`DeclarativeBase` subclass (``cls`` its other base, for shared methods)."""
    namespace: dict[str, Any] = {"metadata": metadata or MetaData()}
    if type_annotation_map is not None:
        namespace["type_annotation_map"] = type_annotation_map
    bases = (DeclarativeBase,) if cls is object else (cls, DeclarativeBase)
    return type(name, bases, namespace)
