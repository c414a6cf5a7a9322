"""Indexes: ``name_idx = Index(name)`` in a table class, over columns or column names.

An index in a class body takes its name from its attribute, as in the original asyncqlio:
the attribute itself where it starts with the table's name (``person_name_idx``), else
``<table>_<attribute>``. ``Column(..., index=True)`` makes ``ix_<table>_<column>``.
"""
from __future__ import annotations

from typing import Any, Iterator

from asyncqlio._speedups import _compile
from asyncqlio.exc import SchemaError
from asyncqlio.orm.alias import generated_name

quote = _compile.quote


class Index:
    """An index on one or more columns (Column objects, or column names as strings) of the
    table it is assigned to, or of ``table`` (a name, for a DDL session)."""

    def __init__(self, *columns: Any, unique: bool = False, table: Any = None,
                 name: str | None = None) -> None:
        if not columns:
            raise SchemaError("an Index needs at least one column")
        self.columns: tuple[Any, ...] = columns
        self.unique = unique
        #: the table class, or a table name
        self.table: Any = table
        self.name = name
        #: the attribute it was assigned to in a table class, if any
        self.attr_name: str | None = None

    @classmethod
    def with_name(cls, name: str, *args: Any, **kwargs: Any) -> "Index":
        return cls(*args, name=name, **kwargs)

    def __set_name__(self, owner: type, name: str) -> None:
        self.attr_name = name

    def _bind(self, table: type) -> None:
        """Called by the table class that holds it: column names become its columns, and an
        unnamed index is named from its attribute."""
        self.table = table
        info = table.__table__
        columns = []
        for c in self.columns:
            if isinstance(c, str):
                found = info.by_name.get(c) or getattr(info.attrs.get(c), "column", None)
                if found is None:
                    raise SchemaError(f"index {self.attr_name or self.name!r}: table "
                                      f"{info.name!r} has no column {c!r}")
                c = found
            elif getattr(c, "table", None) is not table:
                raise SchemaError(f"index column {c!r} is not a column of {info.name}")
            columns.append(c)
        self.columns = tuple(columns)
        if self.name is None:
            attr = self.attr_name
            if attr is None:
                self.name = index_name(info.name, self.columns)
            else:
                self.name = attr if attr.startswith(info.name) else f"{info.name}_{attr}"

    @property
    def table_name(self) -> str:
        if isinstance(self.table, str):
            return self.table
        return self.table.__tablename__

    def get_column_names(self) -> Iterator[str]:
        for c in self.columns:
            yield c if isinstance(c, str) else c.name

    @property
    def quoted_name(self) -> str:
        return quote(self.name)

    @property
    def quoted_fullname(self) -> str:
        return quote(self.table_name) + "." + quote(self.name)

    def get_ddl_sql(self, if_not_exists: bool = False) -> str:
        """``CREATE [UNIQUE] INDEX ... ON table (columns)``."""
        return index_sql(self.table_name, self.name, list(self.get_column_names()),
                         unique=self.unique, if_not_exists=if_not_exists)

    def generate_schema(self, fp: Any = None) -> str:
        """This index as a line of a table class (``person_name_idx = Index(name)``)."""
        refs = [c.attr_name or c.name if not isinstance(c, str) else repr(c)
                for c in self.columns]
        if self.unique:
            refs.append("unique=True")
        text = f"{self.attr_name or self.name} = {type(self).__name__}({', '.join(refs)})"
        if fp is None:
            return text
        fp.write(text)
        return ""

    def __repr__(self) -> str:
        return f"<Index {self.name} on {list(self.get_column_names())}>"


def index_name(table_name: str, columns: tuple[Any, ...]) -> str:
    """``ix_<table>_<columns>``. PostgreSQL cuts names at 63 bytes, and two indexes cut alike
    would collide (the second silently skipped by IF NOT EXISTS), so a long name ends with a
    hash of the whole name instead."""
    return generated_name("ix_" + table_name + "_" + "_".join(c.name for c in columns))


def column_index(table: type, column: Any) -> Index:
    """The index of a ``Column(..., index=True)``."""
    index = Index(column, name=index_name(table.__table__.name, (column,)))
    index.table = table
    return index


def index_sql(table: str, name: str, columns: list[str], *, unique: bool = False,
              if_not_exists: bool = False) -> str:
    exists = "IF NOT EXISTS " if if_not_exists else ""
    cols = ", ".join(quote(c) for c in columns)
    return (f"CREATE {'UNIQUE ' if unique else ''}INDEX {exists}{quote(name)} "
            f"ON {quote(table)} ({cols})")
