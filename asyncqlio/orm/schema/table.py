"""Table classes: ``Table = table_base()``, ``class User(Table, table_name="users"): ...``.

A model class keeps one :class:`TableInfo` in ``__table__``; each column attribute on the
class is a :class:`~asyncqlio._speedups._row_cy.ColumnAttr` descriptor that gives the
:class:`Column` on the class (for queries) and the value on an instance (tracking writes).
Table classes are plain ``type`` instances (a metaclass of their own would cost the C
constructor on Python 3.11); :class:`TableMeta` answers ``isinstance(User, TableMeta)`` as the
original asyncqlio's metaclass did.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, ClassVar, Generator, Iterator

from asyncqlio._speedups import _compile, _row
from asyncqlio.exc import SchemaError, UnboundError
from asyncqlio.meta import typeproperty
from asyncqlio.orm import alias as _alias
from asyncqlio.orm.alias import AliasedTable  # noqa: F401  (the original's home of the name)
from asyncqlio.orm.schema import relationship as _relationships
from asyncqlio.orm.schema.column import Column
from asyncqlio.orm.schema.history import ValueChange
from asyncqlio.orm.schema.index import Index, column_index
from asyncqlio.orm.schema.relationship import Relationship

NO_VALUE = _row.NO_VALUE
quote = _compile.quote

#: what ``await Table.generate_schema()`` reads the live schema with: set by
#: :mod:`asyncqlio.orm.inspection` (which imports this module, not the other way round)
live_schema_source: Callable[..., Any] | None = None


class TableMetadata:
    """The registry of the tables of one ``table_base()`` and the interface they are bound to."""

    def __init__(self) -> None:
        self.tables: dict[str, type] = {}
        self._bind: Any = None

    @property
    def bind(self) -> Any:
        """The DatabaseInterface the tables are bound to (``UnboundError`` before
        ``db.bind_tables(Table)``)."""
        if self._bind is None:
            raise UnboundError("these tables are not bound to a database; "
                               "call db.bind_tables(Table) first")
        return self._bind

    @bind.setter
    def bind(self, db: Any) -> None:
        self._bind = db

    def register_table(self, tbl: type, *, autosetup_tables: bool = False) -> type:
        name = tbl.__tablename__
        if self.tables.get(name, tbl) is not tbl:
            raise SchemaError(f"a table named {name!r} is already defined")
        self.tables[name] = tbl
        tbl.metadata = self
        if autosetup_tables:
            self.setup_tables()
        return tbl

    def get_table(self, table_name: str) -> type | None:
        """A table by its name or its class name, or None."""
        table = self.tables.get(table_name)
        if table is not None:
            return table
        for t in self.tables.values():
            if t.__name__ == table_name:
                return t
        return None

    lookup = get_table

    def setup_tables(self) -> None:
        """Resolve every foreign key and relationship now (at ``bind_tables``), so a name
        that matches no table or column fails there, with a SchemaError."""
        for table in self.tables.values():
            for column in table.__table__.columns:
                if column.foreign_key is not None:
                    column.foreign_key.resolve()
            for rel in _relationships.of_table(table):
                rel.resolve()


Metadata = TableMetadata


class TableInfo:
    """Everything derived once from a model class's definition."""

    __slots__ = ("name", "quoted", "columns", "attrs", "primary_key", "pk_indexes",
                 "indexes", "explicit_indexes", "select_sql", "returning_sql", "loaders",
                 "by_name", "init_plan", "bulk_plans", "update_plans", "atomic")

    def __init__(self, name: str, columns: list[Column], attrs: dict[str, Any]) -> None:
        self.name = name
        self.quoted = quote(name)
        self.columns = tuple(columns)
        self.attrs = attrs
        self.by_name = {c.name: c for c in columns}
        self.primary_key = tuple(c for c in columns if c.primary_key)
        self.pk_indexes = tuple(i for i, c in enumerate(columns) if c.primary_key)
        self.init_plan = _row.InitPlan(
            tuple(attrs[c.attr_name] for c in columns),
            tuple((c.default, callable(c.default)) if c.has_default else None for c in columns),
            _relationships.assign_keywords)
        #: every index: those of the class body (``explicit_indexes``), then the columns'
        self.indexes: list[Index] = []
        self.explicit_indexes: list[Index] = []
        #: every column's driver values are atomic (see ColumnType.atomic)
        self.atomic = all(c.type.atomic for c in columns)
        self.select_sql = ", ".join(c.sql for c in columns)
        self.returning_sql = ", ".join(quote(c.name) for c in columns)
        #: dialect -> ((index, result processor), ...)
        self.loaders: dict[str, tuple] = {}
        #: (dialect, column indexes) -> the statements a flush writes many rows with
        self.bulk_plans: dict[tuple, Any] = {}
        self.update_plans: dict[tuple, Any] = {}

    def loaders_for(self, dialect: str) -> tuple:
        try:
            return self.loaders[dialect]
        except KeyError:
            procs = tuple((i, p) for i, c in enumerate(self.columns)
                          if (p := c.type.result_processor(dialect)) is not None)
            self.loaders[dialect] = procs
            return procs


def _signature(info: "TableInfo") -> inspect.Signature:
    """What ``help()`` and editors show for ``User(...)``: the columns, by keyword (the
    constructor itself is in C and takes any keywords; see ``_row._construct``)."""
    return inspect.Signature([inspect.Parameter(c.attr_name, inspect.Parameter.KEYWORD_ONLY,
                                                default=None) for c in info.columns])


class PrimaryKey(tuple):
    """``User.primary_key``: the key columns, in table order (a tuple; ``.columns`` is the
    original asyncqlio's list of them)."""

    table: Any = None
    #: the name the database gives the key's index, where it has one (PostgreSQL)
    index_name: str | None = None

    def __new__(cls, *columns: Column) -> "PrimaryKey":
        return super().__new__(cls, columns)

    @property
    def columns(self) -> list[Column]:
        return list(self)

    def __repr__(self) -> str:
        return f"<PrimaryKey table={self.table!r} columns={list(self)!r}>"


class _PrimaryKeyAttr:
    """``User.primary_key`` is the :class:`PrimaryKey`; ``row.primary_key`` its value (one
    value, or a tuple for a compound key), as in the original asyncqlio."""

    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return getattr(owner, "__primary_key__", None)
        values = obj.primary_key_values()
        values = tuple(None if v is NO_VALUE else v for v in values)
        return values[0] if len(values) == 1 else values


class _TableCheck(type):
    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, type) and issubclass(obj, Table)


class TableMeta(metaclass=_TableCheck):
    """``isinstance(User, TableMeta)``: whether ``User`` is a table class."""


class _HookedColumn(_row.ColumnAttr):
    """The attribute of a column whose type has the original asyncqlio's hooks: a write
    calls ``type.on_set(row, value)`` (which stores with ``row.store_column_value``), a read
    ``type.on_get(row)``."""

    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return self.column
        return self.column.type.on_get(obj)

    def __set__(self, obj: Any, value: Any) -> None:
        self.column.type.on_set(obj, value)


class SchemaSource(str):
    """The source of a table class (``User.generate_schema()``). Awaiting it reads the
    table as the database has it instead (asyncqlio 0.2's ``await User.generate_schema()``,
    deprecated: use ``asyncqlio.orm.inspection.generate_schema(db, *tables)``)."""

    def __new__(cls, text: str, table: type, tables: tuple[str, ...]) -> "SchemaSource":
        obj = super().__new__(cls, text)
        obj._table = table
        obj._tables = tables
        return obj

    def __await__(self) -> Generator[Any, None, str]:
        import warnings
        warnings.warn("await Table.generate_schema() is deprecated: it returns the class "
                      "source now; read the live schema with "
                      "asyncqlio.orm.inspection.generate_schema(db, *tables)",
                      DeprecationWarning, stacklevel=2)
        table = self._table
        tables = self._tables
        if not tables and "__table__" in vars(table):
            tables = (table.__tablename__,)
        return live_schema_source(table._bound(), *tables).__await__()


class RowDict(dict):
    """``row.to_dict()``: values by attribute name; a Column works as a key too (the
    original asyncqlio keyed it by Column)."""

    def __missing__(self, key: Any) -> Any:
        if isinstance(key, Column) and key.attr_name in self:
            return self[key.attr_name]
        raise KeyError(key)

    def __contains__(self, key: Any) -> bool:
        if isinstance(key, Column):
            key = key.attr_name
        return dict.__contains__(self, key)


class Table(_row.RowBase):
    """Base of the classes returned by :func:`table_base`."""

    primary_key = _PrimaryKeyAttr()

    metadata: ClassVar[TableMetadata]
    __table__: ClassVar[TableInfo]
    __tablename__: ClassVar[str]

    def __init_subclass__(cls, table_name: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        columns: list[Column] = []
        indexes: list[Index] = []
        for attr, value in list(vars(cls).items()):
            if isinstance(value, Column):
                columns.append(value)
                if value.attr_name is not None:
                    raise SchemaError(f"column {value!r} already belongs to a table")
                value.attr_name = attr
                if value.name is None:
                    value.name = attr
            elif isinstance(value, Index):
                indexes.append(value)
        if not columns:
            if table_name is not None:
                raise SchemaError(f"table {table_name!r} has no columns")
            return  # an abstract base or mixin
        name = cls.__name__.lower() if table_name is None else table_name
        quoted = _identifier(name, "table")
        attrs = {}
        seen: set[str] = set()
        for i, column in enumerate(columns):
            _identifier(column.name, "column")
            if column.name in seen:
                raise SchemaError(f"table {name!r} has two columns named {column.name!r}")
            seen.add(column.name)
            column.table = cls
            column.table_name = name
            column.sql = quoted + "." + quote(column.name)
            ctype = column.type
            kind = _HookedColumn if ctype.row_hooks else _row.ColumnAttr
            attr = kind(column, i, ctype.setter(), ctype.fast_type, ctype.fast_naive)
            attrs[column.attr_name] = attr
            setattr(cls, column.attr_name, attr)
        cls.__tablename__ = name
        info = cls.__table__ = TableInfo(name, columns, attrs)
        if not info.primary_key:
            raise SchemaError(f"table {name!r} has no primary key")
        key = PrimaryKey(*info.primary_key)
        key.table = cls
        cls.__primary_key__ = key
        for index in indexes:
            index._bind(cls)
        info.explicit_indexes = indexes
        info.indexes = indexes + [column_index(cls, c) for c in columns if c.index]
        _row.install_constructor(cls)
        # a class with an __init__ of its own shows that one's signature
        cls.__signature__ = _signature(info) if cls.__init__ is _row.RowBase.__init__ else None
        cls.metadata.register_table(cls)
        if _relationships._pending_backrefs:
            _relationships.configure()  # a backref's other table may exist now

    # --- class-level API
    @typeproperty
    def columns(cls) -> list[Column]:
        return list(cls.__table__.columns)

    @typeproperty
    def __quoted_name__(cls) -> str:
        return cls.__table__.quoted

    @classmethod
    def iter_columns(cls) -> Iterator[Column]:
        return iter(cls.__table__.columns)

    @classmethod
    def iter_relationships(cls) -> Iterator[Relationship]:
        return iter(_relationships._by_table.get(cls, ()))

    @classmethod
    def iter_indexes(cls) -> Iterator[Index]:
        """Every index: the class body's, the columns' (``index=True``), and on PostgreSQL
        those behind the primary key (``<table>_pkey``) and unique columns
        (``<table>_<column>_key``)."""
        yield from cls.__table__.indexes
        yield from cls._constraint_indexes()

    @classmethod
    def explicit_indexes(cls) -> Iterator[Index]:
        """The indexes declared in the class body."""
        return iter(cls.__table__.explicit_indexes)

    @classmethod
    def _constraint_indexes(cls) -> list[Index]:
        """The indexes PostgreSQL names after the constraints that made them."""
        bind = cls.metadata._bind
        if bind is None or bind.dialect.name != "postgresql":
            return []
        info = cls.__table__
        out = [Index.with_name(f"{info.name}_pkey", *info.primary_key, unique=True, table=cls)]
        out += [Index.with_name(f"{info.name}_{c.name}_key", c, unique=True, table=cls)
                for c in info.columns if c.unique and not c.primary_key]
        return out

    @classmethod
    def get_column(cls, column_name: str) -> Column | None:
        """A column by its name, its attribute name, or the original's ``t_<table>_<name>``
        label; None if there is none."""
        info = cls.__table__
        column = info.by_name.get(column_name)
        if column is not None:
            return column
        attr = info.attrs.get(column_name)
        if attr is not None:
            return attr.column
        for c in info.columns:
            if c.alias_name(cls) == column_name:
                return c
        return None

    @classmethod
    def get_relationship(cls, relationship_name: str) -> Relationship | None:
        for rel in _relationships._by_table.get(cls, ()):
            if rel.name == relationship_name:
                return rel
        return None

    @classmethod
    def get_index(cls, index_name: str) -> Index | None:
        for index in cls.iter_indexes():
            if index.name == index_name or index.attr_name == index_name:
                return index
        return None

    @classmethod
    def alias(cls, name: str | None = None) -> Any:
        """This table under another name, for using it twice in one query (``aliased``)."""
        return _alias.aliased(cls, name)

    @classmethod
    def _bound(cls) -> Any:
        return cls.metadata.bind

    @classmethod
    async def create(cls, *, if_not_exists: bool = True) -> None:
        """CREATE TABLE (and its indexes) in the bound database."""
        async with cls._bound().get_ddl_session() as sess:
            await sess.create_table(cls.__tablename__, *cls.iter_columns(),
                                    *cls.explicit_indexes(), if_not_exists=if_not_exists)

    @classmethod
    async def drop(cls, *, cascade: bool = False, if_exists: bool = True) -> None:
        async with cls._bound().get_ddl_session() as sess:
            await sess.drop_table(cls.__tablename__, cascade=cascade, if_exists=if_exists)

    @classmethod
    async def truncate(cls, *, cascade: bool = False) -> None:
        async with cls._bound().get_session() as sess:
            await sess.truncate(cls, cascade=cascade)

    @classmethod
    async def get(cls, *conditions: Any) -> Any:
        """The first row matching ``conditions``, read in a session of its own (so the row
        belongs to no session), or None."""
        async with cls._bound().get_session() as sess:
            return await sess.select(cls).where(*conditions).first()

    @classmethod
    def generate_schema(cls, fp: Any = None, *tables: str) -> SchemaSource:
        """The source of this table class, as the original asyncqlio wrote it: its columns,
        the indexes of its body and its relationships; written to ``fp`` if given."""
        if isinstance(fp, str):  # asyncqlio 0.2's generate_schema("users", ...)
            tables, fp = (fp, *tables), None
        text = _class_source(cls) if "__table__" in vars(cls) else ""
        if fp is not None:
            fp.write(text)
        return SchemaSource(text, cls, tables)

    # --- instance API
    @property
    def table(self) -> type:
        """The row's table class (the original asyncqlio's ``row.table``)."""
        return type(self)

    def primary_key_values(self) -> tuple:
        return tuple(_row.column_value(self, i) for i in type(self).__table__.pk_indexes)

    def _attr(self, column: Column) -> Any:
        attr = type(self).__table__.attrs.get(column.attr_name)
        if attr is None or attr.column is not column:
            raise SchemaError(f"{column!r} is not a column of {type(self).__name__}")
        return attr

    def get_column_value(self, column: Column, return_default: bool = True) -> Any:
        """The column's value as stored in the row (for the original's type hooks); where
        none was set, its default, or with ``return_default=False`` NO_VALUE."""
        attr = self._attr(column)
        if _row.column_value(self, attr.index) is not NO_VALUE:
            return _row.ColumnAttr.__get__(attr, self, type(self))
        if not return_default:
            return NO_VALUE
        if not column.has_default:
            return None
        default = column.default
        return default() if callable(default) else default

    def store_column_value(self, column: Column, value: Any, *,
                           track_history: bool = True) -> "Table":
        """Store ``value`` as an attribute write (recorded for the session to write), or,
        with ``track_history=False``, as a value loaded from the database."""
        attr = self._attr(column)
        if track_history:
            _row.ColumnAttr.__set__(attr, self, value)
        else:
            _row.load_columns(self, [attr.index], [value])
        return self

    @property
    def _history(self) -> dict[Column, ValueChange]:
        """The columns written since the row was loaded (or last written), each with its
        value before and now: the original asyncqlio's change record."""
        out = {}
        columns = type(self).__table__.columns
        for i in _row.written(self):
            change = ValueChange(columns[i])
            before = _row.old_value(self, i)
            change.handle_change(None if before is NO_VALUE else before,
                                 getattr(self, columns[i].attr_name))
            out[columns[i]] = change
        return out

    def get_relationship_instance(self, relation_name: str) -> Any:
        rel = type(self).get_relationship(relation_name)
        if rel is None:
            raise ValueError(f"no such relationship {relation_name!r}")
        return rel.get_instance(self)

    def to_dict(self, *, include_attrs: bool = False) -> RowDict:
        """The values by attribute name (a Column works as a key too)."""
        attrs = type(self).__table__.attrs
        return RowDict((name, getattr(self, name)) for name in attrs)

    def __repr__(self) -> str:
        # read as stored: an expired column shows so rather than raising (error messages
        # name rows by their repr)
        columns = type(self).__table__.columns
        body = " ".join(f"{c.attr_name}=<expired>" if value is _row.EXPIRED else
                        f"{c.attr_name}={getattr(self, c.attr_name)!r}"
                        for c, value in zip(columns, (_row.column_value(self, i)
                                                      for i in range(len(columns)))))
        return f"<{type(self).__name__} {body}>"

    def __eq__(self, other: Any) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        mine = self.primary_key_values()
        if NO_VALUE in mine or None in mine:
            return self is other
        return mine == other.primary_key_values()

    def __hash__(self) -> int:
        pk = self.primary_key_values()
        if NO_VALUE in pk or None in pk:
            return id(self)
        return hash((type(self), pk))


TableBase = Table


def _class_source(cls: type) -> str:
    """``class User(Table): ...`` with a line per column, declared index and relationship."""
    info = cls.__table__
    head = f"class {cls.__name__}(Table"
    if cls.__name__.lower() != info.name:
        head += f', table_name="{info.name}"'
    lines = [head + "):"]
    lines += ["    " + c.generate_schema() for c in info.columns]
    lines += ["    " + i.generate_schema() for i in info.explicit_indexes]
    lines += ["    " + r.generate_schema() for r in _relationships._by_table.get(cls, ())]
    return "\n".join(lines) + "\n"


def _identifier(name: Any, what: str) -> str:
    """``name`` quoted, or a SchemaError saying why it cannot be an identifier."""
    try:
        return quote(name)
    except ValueError as e:
        raise SchemaError(f"invalid {what} name: {e}") from None


def table_base(name: str = "Table", meta: TableMetadata | None = None) -> type:
    """A new base class for model classes, with its own registry of tables."""
    return type(name, (Table,), {"metadata": meta or TableMetadata()})
