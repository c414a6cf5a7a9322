"""The live schema read back as objects: tables, columns, keys, indexes, foreign keys.

PostgreSQL is read from ``pg_catalog`` in ``current_schema()`` (so a ``search_path`` DSN
option is honoured); SQLite from its table-valued PRAGMA functions. Column types are mapped
back to asyncqlio types; where SQLite stores two types alike (``Interval`` and ``Integer``,
``JSON`` and ``Text``) the simpler one is given.
"""
from __future__ import annotations

import dataclasses
import keyword
import re
from typing import Any, Iterator, Protocol, Sequence

from asyncqlio.backends.reflection import ColumnInfo, ForeignKeyInfo, IndexInfo, TableSchema
from asyncqlio.backends.sqlite3.ddltext import SQLiteTable
from asyncqlio.backends.base import BaseDialect
from asyncqlio.exc import SchemaError
from asyncqlio.orm.schema.column import Column
from asyncqlio.orm.schema.index import Index
from asyncqlio.orm.schema import table as _table
from asyncqlio.orm.schema import types as _types
from asyncqlio.orm.schema.types import POSTGRESQL


class _Fetcher(Protocol):
    dialect: Any

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...


# --- type names back to asyncqlio types
_SIMPLE = {
    "integer": _types.Integer, "int": _types.Integer, "int4": _types.Integer,
    "smallint": _types.SmallInt, "int2": _types.SmallInt,
    "bigint": _types.BigInt, "int8": _types.BigInt,
    "double precision": _types.Real, "real": _types.Real, "float": _types.Real,
    "float8": _types.Real, "double": _types.Real,
    "text": _types.Text, "boolean": _types.Boolean, "bool": _types.Boolean,
    "timestamp": _types.Timestamp, "timestamp without time zone": _types.Timestamp,
    "date": _types.Date, "time": _types.Time, "time without time zone": _types.Time,
    "interval": _types.Interval, "bytea": _types.Bytea, "blob": _types.Bytea,
    "uuid": _types.UUID, "jsonb": _types.JSON, "json": _types.JSON,
}
_SERIALS = {"integer": _types.Serial, "bigint": _types.BigSerial, "smallint": _types.SmallSerial}
_ARGS = re.compile(r"^([a-z ]+?)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)$")


def type_from_sql(sql_type: str) -> _types.ColumnType:
    """The asyncqlio type for a database type name; unknown names become ``Text``."""
    return known_type(sql_type) or _types.Text()


def known_type(sql_type: str) -> _types.ColumnType | None:
    """The asyncqlio type for a database type name, or None for a name it has no type for
    (so a migration knows it cannot write that type back)."""
    name = " ".join(sql_type.lower().split())
    if name in _SIMPLE:
        return _SIMPLE[name]()
    if name in ("timestamp with time zone", "timestamptz"):
        return _types.Timestamp(timezone=True)
    if name in ("character varying", "varchar"):
        return _types.String()
    if name == "numeric" or name == "decimal":
        return _types.Numeric(None, None)
    m = _ARGS.match(name)
    if m:
        base, a, b = m.group(1), int(m.group(2)), m.group(3)
        if base in ("character varying", "varchar"):
            return _types.String(a)
        if base in ("numeric", "decimal"):
            return _types.Numeric(a, int(b) if b is not None else 0)
        if base in ("char", "character") and a == 36:
            return _types.UUID()
        if base in ("char", "character"):
            return _types.String(a)
    return None


_CONSTRAINTS = {"p": "PRIMARY KEY", "u": "UNIQUE"}
_PG_ACTIONS = {"a": None, "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


def _action(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.upper()
    return None if value == "NO ACTION" else value


class Inspector:
    """Reads the schema through anything with ``fetch_all`` and ``dialect`` (a DDL session)."""

    def __init__(self, sess: _Fetcher) -> None:
        self.sess = sess
        self.is_pg = sess.dialect.name == POSTGRESQL

    async def _rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        return await self.sess.fetch_all(sql, params)

    async def table_names(self) -> list[str]:
        if self.is_pg:
            rows = await self._rows(
                "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
                "AND c.relkind IN ('r', 'p') ORDER BY c.relname")
        else:
            rows = await self._rows(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
        return [r["name"] for r in rows]

    async def has_table(self, name: str) -> bool:
        return name in await self.table_names()

    async def get_columns(self, table: str, *, temporary: bool = False) -> list[ColumnInfo]:
        """``temporary``: the session's temporary table of that name (autogenerate's probe)."""
        read = self._pg_columns if self.is_pg else self._sqlite_columns
        return await read(table, temporary)

    async def get_indexes(self, table: str, *, constraints: bool = False) -> list[IndexInfo]:
        """The table's indexes; with ``constraints``, on PostgreSQL also those behind its
        primary key and UNIQUE constraints (SQLite's have no SQL of their own, and are not
        listed)."""
        read = self._pg_indexes if self.is_pg else self._sqlite_indexes
        return (await read(table, constraints))[0]

    async def get_foreign_keys(self, table: str) -> list[ForeignKeyInfo]:
        return await (self._pg_fks(table) if self.is_pg else self._sqlite_fks(table))

    async def get_primary_key(self, table: str) -> list[str]:
        return [c.name for c in await self.get_columns(table) if c.primary_key]

    async def get_table(self, table: str) -> TableSchema:
        """Everything about one table; SchemaError-free: a missing table has no columns."""
        columns = await self.get_columns(table)
        if self.is_pg:
            indexes, uniques = await self._pg_indexes(table)
        else:
            indexes, uniques = await self._sqlite_indexes(table)
        multi = []
        for cols in uniques:
            if len(cols) == 1:
                for c in columns:
                    if c.name == cols[0] and not c.primary_key:
                        c.unique = True
            else:
                multi.append(cols)
        return TableSchema(table, columns, indexes, await self.get_foreign_keys(table), multi)

    # --- PostgreSQL
    async def _pg_columns(self, table: str, temporary: bool = False) -> list[ColumnInfo]:
        where = "c.relnamespace = pg_my_temp_schema()" if temporary else \
            "n.nspname = current_schema()"
        rows = await self._rows(
            "SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, "
            "NOT a.attnotnull AS nullable, pg_get_expr(d.adbin, d.adrelid) AS dflt, "
            "a.attidentity::text <> '' AS ident, "
            "EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p' "
            "AND a.attnum = ANY (k.conkey)) AS pk "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            f"WHERE {where} AND c.relname = $1 AND a.attnum > 0 "
            "AND NOT a.attisdropped ORDER BY a.attnum", table)
        out = []
        for r in rows:
            sql_type, default = r["type"], r["dflt"]
            ctype = type_from_sql(sql_type)
            autoinc = bool(r["ident"])
            if default is not None and default.startswith("nextval(") and sql_type in _SERIALS:
                ctype, default, autoinc = _SERIALS[sql_type](), None, True
            out.append(ColumnInfo(r["name"], ctype, sql_type, bool(r["nullable"]), default,
                                  bool(r["pk"]), autoinc and bool(r["pk"]), table_name=table))
        return out

    async def _pg_indexes(self, table: str, constraints: bool = False,
                          ) -> tuple[list[IndexInfo], list[list[str]]]:
        rows = await self._rows(
            "SELECT i.relname AS name, ix.indisunique AS uniq, ix.indpred IS NOT NULL AS part, "
            "ARRAY(SELECT a.attname FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(n, o) "
            "LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.n "
            "ORDER BY k.o) AS cols, "
            "(SELECT k.contype::text FROM pg_constraint k WHERE k.conindid = ix.indexrelid "
            "AND k.conrelid = ix.indrelid AND k.contype IN ('p', 'u') LIMIT 1) AS con "
            "FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid "
            "JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE n.nspname = current_schema() AND t.relname = $1 ORDER BY i.relname", table)
        indexes, uniques = [], []
        for r in rows:
            if r["con"] == "u":
                uniques.append(list(r["cols"]))
            if r["con"] is None or constraints:
                indexes.append(IndexInfo(r["name"], list(r["cols"]), bool(r["uniq"]),
                                         bool(r["part"]), table,
                                         _CONSTRAINTS.get(r["con"])))
        return indexes, uniques

    async def _pg_fks(self, table: str) -> list[ForeignKeyInfo]:
        rows = await self._rows(
            "SELECT k.conname AS name, rt.relname AS target, k.confdeltype::text AS del, "
            "k.confupdtype::text AS upd, "
            "ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY x(n, o) "
            "JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = x.n "
            "ORDER BY x.o) AS cols, "
            "ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY x(n, o) "
            "JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = x.n "
            "ORDER BY x.o) AS tcols "
            "FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            "JOIN pg_class rt ON rt.oid = k.confrelid "
            "WHERE k.contype = 'f' AND n.nspname = current_schema() AND t.relname = $1 "
            "ORDER BY k.conname", table)
        return [ForeignKeyInfo(r["name"], list(r["cols"]), r["target"], list(r["tcols"]),
                               _PG_ACTIONS.get(r["del"]), _PG_ACTIONS.get(r["upd"]))
                for r in rows]

    # --- SQLite
    async def _sqlite_columns(self, table: str, temporary: bool = False) -> list[ColumnInfo]:
        if temporary:
            rows = await self._rows("SELECT * FROM pragma_table_info(?, 'temp') ORDER BY cid",
                                    table)
        else:
            rows = await self._rows("SELECT * FROM pragma_table_info(?) ORDER BY cid", table)
        pk_count = sum(1 for r in rows if r["pk"])
        out = []
        for r in rows:
            sql_type = r["type"] or ""
            # only INTEGER PRIMARY KEY is the rowid, generated by the database
            autoinc = bool(r["pk"]) and pk_count == 1 and sql_type.upper() == "INTEGER"
            out.append(ColumnInfo(r["name"], type_from_sql(sql_type), sql_type,
                                  not r["notnull"] and not autoinc, r["dflt_value"],
                                  bool(r["pk"]), autoinc, table_name=table))
        return out

    async def _sqlite_indexes(self, table: str, constraints: bool = False,
                              ) -> tuple[list[IndexInfo], list[list[str]]]:
        rows = await self._rows("SELECT * FROM pragma_index_list(?) ORDER BY name", table)
        indexes, uniques = [], []
        for r in rows:
            cols = [c["name"] for c in await self._rows(
                "SELECT name FROM pragma_index_info(?) ORDER BY seqno", r["name"])]
            if r["origin"] == "u":
                uniques.append(cols)
            elif r["origin"] == "c":
                indexes.append(IndexInfo(r["name"], cols, bool(r["unique"]),
                                         bool(r["partial"]), table))
        return indexes, uniques

    async def _sqlite_fks(self, table: str) -> list[ForeignKeyInfo]:
        rows = await self._rows("SELECT * FROM pragma_foreign_key_list(?) ORDER BY id, seq", table)
        by_id: dict[int, ForeignKeyInfo] = {}
        for r in rows:
            fk = by_id.get(r["id"])
            if fk is None:
                fk = by_id[r["id"]] = ForeignKeyInfo(
                    None, [], r["table"], [], _action(r["on_delete"]), _action(r["on_update"]))
            fk.columns.append(r["from"])
            fk.target_columns.append(r["to"])
        fks = list(by_id.values())
        if fks:  # PRAGMA foreign_key_list has no names: they are in the CREATE TABLE text
            [row] = await self._rows("SELECT sql FROM sqlite_master WHERE type = 'table' "
                                     "AND name = ? COLLATE NOCASE", table)
            declared = SQLiteTable.parse(row["sql"]).foreign_keys
            # the PRAGMA numbers them from the last declared
            for fk, written in zip(fks, reversed(declared)):
                if _fk_key(fk) == _fk_key(written):
                    fk.name = written.name
        return fks


def _fk_key(fk: ForeignKeyInfo) -> tuple:
    return [c.lower() for c in fk.columns], fk.target_table.lower()


# --- Python source for a live table
#: the migrations' version table (asyncqlio.migrations.runner), not written for "every table"
_VERSION_TABLE = "asyncqlio_migrations"

def _class_name(table: str, taken: set[str]) -> str:
    """A class name for ``table`` that is none of ``taken`` (the base class, the imported
    names and the classes before it, which it would shadow)."""
    name = "".join(p[:1].upper() + p[1:] for p in re.split(r"[^0-9A-Za-z]+", table) if p)
    if not name or not name[0].isalpha():
        name = "T" + name
    if name in taken:
        name += "Table"
    return _unique(name, taken)


def _unique(name: str, taken: set[str]) -> str:
    base, i = name, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    taken.add(name)
    return name


def _attr_name(column: str, taken: set[str]) -> str:
    name = re.sub(r"\W", "_", column)
    if not name or name[0].isdigit() or keyword.iskeyword(name) or name.startswith("__"):
        name = "c_" + name.lstrip("_")
    return _unique(name, taken)


def _reserved_attrs() -> set[str]:
    """What a Table class already has (``metadata``, ``create``...): a column attribute of
    that name would replace it."""
    return {a for a in dir(_table.table_base()) if not a.startswith("__")}


def foreign_key_source(target: str, on_delete: str | None, on_update: str | None) -> str:
    """``foreign_key=ForeignKey(...)`` as written in a Table class (or a migration)."""
    args = [repr(target)]
    if on_delete:
        args.append(f"on_delete={on_delete!r}")
    if on_update:
        args.append(f"on_update={on_update!r}")
    return f"foreign_key=ForeignKey({', '.join(args)})"


def type_source(ctype: _types.ColumnType, names: set[str] | None = None) -> str:
    """Python source that builds ``ctype``; the asyncqlio names it uses (or, for a custom
    type, an ``import module`` line) are added to ``names``."""
    names = set() if names is None else names
    if isinstance(ctype, _types.Enum):
        # stored as the member name: the column is a VARCHAR of the longest name
        ctype = _types.String(max((len(m) for m in ctype.enum_type.__members__), default=1))
    module = type(ctype).__module__
    if module != _types.__name__:
        names.add(f"import {module}")
        return f"{module}.{type(ctype).__qualname__}()"
    cls = type(ctype).__name__
    names.add(cls)
    if isinstance(ctype, _types.String) and not isinstance(ctype, _types.Text):
        return "String" if ctype.size is None or ctype.size < 0 else f"String({ctype.size})"
    if isinstance(ctype, _types.Numeric):
        if ctype.precision is None:
            return "Numeric(None)"
        if not ctype.scale:
            return f"Numeric({ctype.precision})"
        return f"Numeric({ctype.precision}, {ctype.scale})"
    if isinstance(ctype, _types.Timestamp) and ctype.timezone:
        return "Timestamp(timezone=True)"
    return cls


@dataclasses.dataclass
class ColumnSpec:
    """A column as Python source declares it. Built from a model ``Column`` (autogenerate)
    or from a live :class:`ColumnInfo` (``generate_schema``), so that one renderer,
    :func:`column_source`, writes both."""

    name: str
    type: _types.ColumnType
    primary_key: bool = False
    #: written only when set: where the column's own decision would be another
    autoincrement: bool | None = None
    nullable: bool = False
    unique: bool = False
    index: bool = False
    server_default: str | None = None
    #: ("table.column", on_delete, on_update)
    foreign_key: tuple[str, str | None, str | None] | None = None

    @classmethod
    def of_column(cls, column: Any) -> "ColumnSpec":
        """From a model column (its foreign key resolved to the table's name)."""
        fk = column.foreign_key
        target = None
        if fk is not None:
            resolved = fk.resolve()
            target = (f"{resolved.table_name}.{resolved.name}", fk.on_delete, fk.on_update)
        return cls(column.name, column.type, column.primary_key,
                   column.declared_autoincrement if column.primary_key else None, column.nullable,
                   column.unique, column.index, column.server_default, target)

    @classmethod
    def of_live(cls, info: ColumnInfo, schema: TableSchema) -> "ColumnSpec":
        """From a live column: ``autoincrement`` is written where a Table class would decide
        otherwise (an integer key that is not generated, a generated key that is not a lone
        integer one)."""
        autoinc = None
        if info.primary_key:
            integer = info.type.is_integer and not info.type.is_serial
            lone = len(schema.primary_key) == 1
            if integer and lone and not info.autoincrement:
                autoinc = False
            elif info.autoincrement and not (integer and lone) and not info.type.is_serial:
                autoinc = True
        target = next(((f"{fk.target_table}.{fk.target_columns[0]}", fk.on_delete, fk.on_update)
                       for fk in schema.foreign_keys if fk.columns == [info.name]), None)
        return cls(info.name, info.type, info.primary_key, autoinc,
                   info.nullable and not info.primary_key, info.unique, False, info.default,
                   target)


def column_source(spec: ColumnSpec, names: set[str], *, attr: str | None = None) -> str:
    """``Column.with_name('name', Type, ...)`` (a migration's free-standing column) or, for
    the class attribute ``attr``, ``Column(Type, ...)``; the names used go into ``names``."""
    names.add("Column")
    tsrc = type_source(spec.type, names)
    opts = [repr(spec.name), tsrc] if attr is None else [tsrc]
    if attr is not None and attr != spec.name:
        opts.append(f"name={spec.name!r}")
    if spec.primary_key:
        opts.append("primary_key=True")
    if spec.autoincrement is not None:
        opts.append(f"autoincrement={spec.autoincrement!r}")
    if spec.nullable:
        opts.append("nullable=True")
    if spec.unique:
        opts.append("unique=True")
    if spec.index:
        opts.append("index=True")
    if spec.server_default is not None:
        opts.append(f"server_default={spec.server_default!r}")
    if spec.foreign_key is not None:
        names.add("ForeignKey")
        opts.append(foreign_key_source(*spec.foreign_key))
    return f"Column{'.with_name' if attr is None else ''}({', '.join(opts)})"


def table_source(schema: TableSchema, *, base: str = "Table",
                 class_name: str | None = None) -> tuple[str, set[str]]:
    """The class statement for ``schema`` and the asyncqlio names it uses."""
    names: set[str] = set()
    taken = _reserved_attrs()
    lines = [f"class {class_name or _class_name(schema.name, set())}"
             f"({base}, table_name={schema.name!r}):"]
    attrs: dict[str, str] = {}
    for c in schema.columns:
        attr = attrs[c.name] = _attr_name(c.name, taken)
        source = column_source(ColumnSpec.of_live(c, schema), names, attr=attr)
        if known_type(c.sql_type) is None:
            source += f"  # {c.sql_type} in the database"
        lines.append(f"    {attr} = {source}")
    for index in schema.indexes:
        if index.partial or not all(col in attrs for col in index.columns):
            lines.append(f"    # index {index.name!r} (on an expression, or partial) cannot be "
                         "declared on columns")
            continue
        names.add("Index")
        cols = ", ".join(attrs[col] for col in index.columns)
        unique = ", unique=True" if index.unique else ""
        attr = _attr_name(index.name if index.name.startswith("ix") else "ix_" + index.name,
                          taken)
        lines.append(f"    {attr} = Index({cols}{unique}, name={index.name!r})")
    for cols in schema.unique_constraints:
        lines.append(f"    # UNIQUE ({', '.join(cols)}) (a constraint on several columns "
                     "cannot be declared on columns)")
    for fk in schema.foreign_keys:
        if len(fk.columns) > 1:
            lines.append(f"    # foreign key {fk.columns} -> {fk.target_table}{fk.target_columns} "
                         "(compound foreign keys cannot be declared on columns)")
    return "\n".join(lines) + "\n", names


def module_source(schemas: list[TableSchema], *, base: str = "Table") -> str:
    """A module defining a ``table_base()`` and one class per table."""
    bodies, names = [], set()
    # a class must not shadow the base or an imported name (a table "column" or "index")
    taken = {base, "table_base", "Column", "Index", "ForeignKey"} | {
        n for n, v in vars(_types).items() if isinstance(v, type)}
    for s in schemas:
        body, used = table_source(s, base=base, class_name=_class_name(s.name, taken))
        bodies.append(body)
        names |= used
    names.add("table_base")
    head = (f'"""Generated by asyncqlio from the live schema."""\n'
            f"from asyncqlio import {', '.join(sorted(names))}\n\n{base} = table_base()\n")
    return head + "".join("\n\n" + b for b in bodies)


async def generate_schema(db: Any, *tables: str) -> str:
    """Python source (a module) for the named live tables, or all of them."""
    async with db.get_ddl_session() as sess:
        inspector = Inspector(sess)
        names = list(tables) or [t for t in await inspector.table_names()
                                 if t != _VERSION_TABLE]
        schemas = [await inspector.get_table(t) for t in names]
    for s in schemas:
        if not s.columns:
            raise SchemaError(f"no table named {s.name!r} in the database")
    return module_source(schemas)



def get_row_session(row: Any) -> Any:
    """The session a row belongs to, or None."""
    return row._session


def get_pk(row: Any, as_tuple: bool = True) -> Any:
    """A row's primary key: a tuple (or, with ``as_tuple=False``, the value itself for a
    one-column key)."""
    pk = row.primary_key
    if as_tuple and not isinstance(pk, tuple):
        return (pk,)
    return pk


_INDEX_COLUMNS = re.compile(r"\((.*)\)\s*(?:WHERE .*)?$", re.S | re.I)


def _dialect_columns(dialect: BaseDialect, *rows: Any,
                     table_name: str | None = None) -> Iterator[Column]:
    """Rows of ``dialect.get_column_sql()`` as free-standing columns (the original
    asyncqlio's ``transform_rows_to_columns``)."""
    for row in rows:
        if dialect.name == POSTGRESQL:
            name, table, sql_type = row["column_name"], row["table_name"], row["data_type"]
            nullable, default, pk = row["is_nullable"], row["column_default"], row["primary_key"]
        else:
            name, table, sql_type = row["name"], table_name, row["type"]
            nullable, default, pk = not row["notnull"], row["dflt_value"], bool(row["pk"])
        yield Column.with_name(name, type_from_sql(sql_type), table=table,
                               nullable=bool(nullable) and not pk, primary_key=bool(pk),
                               server_default=default)


def _dialect_indexes(dialect: BaseDialect, *rows: Any,
                     table_name: str | None = None) -> Iterator[Index]:
    """Rows of ``dialect.get_index_sql()`` as indexes (``transform_rows_to_indexes``)."""
    for row in rows:
        if dialect.name == POSTGRESQL:
            name, table, sql = row["indexname"], row["tablename"], row["indexdef"]
        else:
            name, table, sql = row["name"], row["tbl_name"], row["sql"]
        m = _INDEX_COLUMNS.search(sql)
        columns = [c.strip().strip('"') for c in m.group(1).split(",")] if m else []
        yield Index.with_name(name, *columns, table=table,
                              unique=sql.upper().startswith("CREATE UNIQUE"))


BaseDialect.transform_rows_to_columns = _dialect_columns  # type: ignore[assignment]
BaseDialect.transform_rows_to_indexes = _dialect_indexes  # type: ignore[assignment]
_table.live_schema_source = generate_schema
