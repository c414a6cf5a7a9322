"""The DDL session: schema changes inside one transaction, on both backends.

``async with db.get_ddl_session() as ddl:`` commits every change together (or none). SQLite
cannot ALTER a column's type, nullability or default, add or drop a foreign key, or drop a
column that a key, index or constraint uses, so there the table is rebuilt (new table, rows
copied, old one dropped, new one renamed, indexes and triggers recreated), as SQLite's
documentation prescribes. The new table is written from the old one's own CREATE TABLE
statement, edited, so that CHECK, COLLATE, AUTOINCREMENT (and its counter) survive. For that
the session runs with ``PRAGMA foreign_keys = OFF`` (dropping the old table must not cascade
into its children) and checks every foreign key with ``PRAGMA foreign_key_check`` before it
commits.
"""
from __future__ import annotations

import enum
from typing import Any, Callable, Sequence

from asyncqlio._speedups._compile_cy import quote
from asyncqlio.backends.sqlite3.ddltext import SQLiteTable, sqlite_index_uses, sqlite_names_used
from asyncqlio.exc import DatabaseException, IntegrityError, SchemaError
from asyncqlio.orm.ddl import statements
from asyncqlio.orm.inspection import (ColumnInfo, ForeignKeyInfo, IndexInfo, Inspector,
                                      TableSchema)
from asyncqlio.orm.schema.column import Column, column_definition
from asyncqlio.orm.schema.index import Index, index_name, index_sql
from asyncqlio.orm.schema.types import POSTGRESQL, ColumnType
from asyncqlio.orm.session import Session, SessionState

_REBUILD_PREFIX = "_asyncqlio_new_"
_DEFAULT_CHECKPOINT = "_asyncqlio_default"


class _Keep(enum.Enum):
    KEEP = "KEEP"


#: ``alter_column(..., server_default=KEEP)``: leave the default as it is (``None`` drops it)
KEEP = _Keep.KEEP


class DDLSession(Session):
    """A :class:`Session` with schema operations and inspection."""

    @property
    def _is_pg(self) -> bool:
        return self.dialect.name == POSTGRESQL

    @property
    def inspector(self) -> Inspector:
        return Inspector(self)

    # --- SQLite: foreign keys off while the session holds the connection
    async def start(self) -> "DDLSession":
        fresh = self.conn is None
        await super().start()
        if fresh and not self._is_pg:
            await self.conn.execute("PRAGMA foreign_keys = OFF")
        return self

    async def close(self) -> None:
        conn = self.conn
        if conn is not None and not self._is_pg and not conn.broken:
            try:
                if conn.in_transaction:
                    await conn.rollback()
                await conn.execute("PRAGMA foreign_keys = ON")
            except Exception:  # noqa: BLE001 - the pool discards a broken connection
                conn.broken = True
        await super().close()

    async def commit(self) -> "DDLSession":
        self._check_open()
        await self.flush()  # rows added in this session are checked too
        conn = self.conn
        if (not self._is_pg and conn is not None and conn.in_transaction
                and self.state is SessionState.READY):
            bad = await self.fetch_all("SELECT * FROM pragma_foreign_key_check")
            if bad:
                self.state = SessionState.FAILED
                first = bad[0]
                raise IntegrityError(
                    f"{len(bad)} row(s) break a foreign key after this schema change, e.g. "
                    f"table {first['table']!r} row {first['rowid']} -> {first['parent']!r}")
        await super().commit()
        return self

    # --- reading
    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Every row of a statement (driver placeholders) as mappings."""
        return await self._run("fetch_mappings", sql, params)

    async def table_names(self) -> list[str]:
        return await self.inspector.table_names()

    async def get_columns(self, table_name: str | None = None) -> list[ColumnInfo]:
        """The columns of a table (of every table when None), each with its
        ``table_name``."""
        if table_name is None:
            return [c for t in await self.table_names() for c in await self.get_columns(t)]
        return await self.inspector.get_columns(table_name)

    async def get_indexes(self, table_name: str | None = None) -> list[IndexInfo]:
        """The indexes of a table (of every table when None), each with its
        ``table_name``; on PostgreSQL those behind the primary key and UNIQUE constraints too
        (``constraint`` says which), as the original asyncqlio listed them."""
        if table_name is None:
            return [i for t in await self.table_names() for i in await self.get_indexes(t)]
        return await self.inspector.get_indexes(table_name, constraints=True)

    async def get_foreign_keys(self, table: str) -> list[ForeignKeyInfo]:
        return await self.inspector.get_foreign_keys(table)

    async def get_table(self, table: str) -> TableSchema:
        return await self._existing(table)

    async def _existing(self, table: str) -> TableSchema:
        schema = await self.inspector.get_table(table)
        if not schema.columns:
            raise SchemaError(f"no table named {table!r}")
        return schema

    async def _ddl(self, sql: str) -> None:
        await self._execute(sql)

    # --- tables
    async def create_table(self, table_name: str, *items: Column | Index,
                           if_not_exists: bool = True) -> None:
        """CREATE TABLE (IF NOT EXISTS, unless told otherwise) from columns
        (``Column.with_name(...)``, or a table class's) and :class:`Index` objects, with the
        indexes of ``index=True`` columns."""
        for sql in statements.create_table(table_name, items, self.dialect.name,
                                           if_not_exists=if_not_exists):
            await self._ddl(sql)

    async def drop_table(self, table_name: str, *, cascade: bool = False,
                         if_exists: bool = True) -> None:
        """DROP TABLE (IF EXISTS, unless told otherwise); ``cascade`` drops what depends on
        it on PostgreSQL (SQLite has no CASCADE)."""
        await self._ddl(statements.drop_table(table_name, self.dialect.name, cascade=cascade,
                                              if_exists=if_exists))

    async def rename_table(self, table_name: str, new_name: str) -> None:
        """Foreign keys of other tables follow the rename on both backends."""
        await self._ddl(f"ALTER TABLE {quote(table_name)} RENAME TO {quote(new_name)}")

    # --- columns
    async def add_column(self, table_name: str, column: Column) -> None:
        if column.primary_key:
            raise SchemaError("a primary key column cannot be added to an existing table")
        definition = column_definition(column, self.dialect.name, inline_pk=False,
                                       autoincrement=False)
        if self._is_pg or not (column.unique or (not column.nullable
                                                  and column.server_default is None)):
            await self._ddl(f"ALTER TABLE {quote(table_name)} ADD COLUMN {definition}")
        else:
            # SQLite's ADD COLUMN takes neither UNIQUE nor NOT NULL without a default
            await self._rebuild(table_name, lambda t: t.columns.append(
                SQLiteTable.parse_column(definition)))
        if column.index:
            await self._ddl(index_sql(table_name, index_name(table_name, (column,)),
                                      [column.name]))

    async def drop_column(self, table_name: str, column_name: str) -> None:
        """Indexes and constraints on the column go with it, on both backends."""
        if self._is_pg:
            await self._ddl(f"ALTER TABLE {quote(table_name)} DROP COLUMN {quote(column_name)}")
            return
        parsed = await self._sqlite_table(table_name)
        column = parsed.column(column_name)
        own = {k.kind for k in column.clauses}
        used = (own & {"primary key", "unique", "references"} or parsed.uses(column_name)
                or any(kind == "index" and column_name.lower() in sqlite_index_uses(sql)
                       for kind, sql in await self._sqlite_extras(table_name)))
        if not used:
            await self._ddl(f"ALTER TABLE {quote(table_name)} DROP COLUMN {quote(column_name)}")
            return
        if "primary key" in own:
            raise SchemaError(f"cannot drop {column_name!r}: it is in the primary key of "
                              f"{table_name!r}")
        await self._rebuild(table_name, lambda t: t.drop_column(column_name),
                            dropping=column_name)

    async def alter_column_type(self, table_name: str, column_name: str,
                                new_type: ColumnType | type, *, using: str | None = None) -> None:
        """Change a column's type, converting the stored values (PostgreSQL: ``USING``, by
        default a cast; SQLite: the new column's affinity)."""
        await self.alter_column(table_name, column_name, type_=new_type, using=using)

    async def alter_column(self, table: str, name: str, *, nullable: bool | None = None,
                           server_default: str | None | _Keep = KEEP,
                           type_: ColumnType | type | None = None,
                           using: str | None = None) -> None:
        """Change what is given of a column (as Alembic's ``alter_column``): ``nullable``
        (False adds NOT NULL, refused with IntegrityError while NULLs are stored),
        ``server_default`` (SQL text; None drops it; ``KEEP`` leaves it) and ``type_``
        (converted as :meth:`alter_column_type` does). SQLite rebuilds the table once."""
        ctype = ColumnType.create(type_) if type_ is not None else None
        if using is not None and ctype is None:
            raise SchemaError("alter_column(using=...) needs type_")
        schema = await self._existing(table)
        column = schema.column(name)
        if nullable and column.primary_key:
            raise SchemaError(f"{name!r} is in the primary key of {table!r}: "
                              "it cannot be nullable")
        if not self._is_pg:
            def edit(t: SQLiteTable) -> None:
                if ctype is not None:
                    t.set_type(name, ctype.ddl(self.dialect.name))
                if nullable is not None:
                    t.set_nullable(name, nullable)
                if server_default is not KEEP:
                    t.set_default(name, server_default)
            if ctype is not None or nullable is not None or server_default is not KEEP:
                await self._rebuild(table, edit, using={name: using} if using else None)
            return
        alter = f"ALTER TABLE {quote(table)} ALTER COLUMN {quote(name)} "
        if ctype is not None:
            sql_type = ctype.ddl(self.dialect.name)
            expr = using if using is not None else f"{quote(name)}::{sql_type}"
            if column.default is not None:
                # PostgreSQL will not convert a default itself: drop it, then cast it back
                await self._ddl(alter + "DROP DEFAULT")
            await self._ddl(alter + f"TYPE {sql_type} USING {expr}")
            if column.default is not None and server_default is KEEP:
                await self._restore_default(alter, column.default, sql_type)
        if server_default is not KEEP:
            await self._ddl(alter + ("DROP DEFAULT" if server_default is None
                                     else f"SET DEFAULT {server_default}"))
        if nullable is not None:
            await self._ddl(alter + ("DROP NOT NULL" if nullable else "SET NOT NULL"))

    async def _restore_default(self, alter: str, default: str, sql_type: str) -> None:
        """Set a default again after a type change as PostgreSQL converts one itself (an
        assignment cast, so ``0`` on a new ``double precision`` column stays ``0``, as a
        fresh column's would be), or with an explicit cast where there is no such cast."""
        await self.checkpoint(_DEFAULT_CHECKPOINT)
        try:
            await self._ddl(alter + f"SET DEFAULT {default}")
        except DatabaseException:
            await self.rollback(_DEFAULT_CHECKPOINT)
            await self._ddl(alter + f"SET DEFAULT ({default})::{sql_type}")
        await self.release_checkpoint(_DEFAULT_CHECKPOINT)

    async def rename_column(self, table: str, old: str, new: str) -> None:
        await self._ddl(f"ALTER TABLE {quote(table)} RENAME COLUMN {quote(old)} TO {quote(new)}")

    # --- indexes and keys
    async def create_index(self, table_name: str, name: str, *columns: str, unique: bool = False,
                           if_not_exists: bool = False) -> None:
        if not columns:
            raise SchemaError("an index needs at least one column")
        if not self._is_pg:
            # SQLite would take a "name" that is no column for a string: an index on a constant
            have = {c.name.lower() for c in (await self._existing(table_name)).columns}
            missing = [c for c in columns if c.lower() not in have]
            if missing:
                raise SchemaError(f"table {table_name!r} has no column {missing[0]!r}")
        await self._ddl(index_sql(table_name, name, list(columns), unique=unique,
                                  if_not_exists=if_not_exists))

    async def drop_index(self, name: str, *, if_exists: bool = False) -> None:
        await self._ddl("DROP INDEX " + ("IF EXISTS " if if_exists else "") + quote(name))

    async def add_foreign_key(self, table_name: str, column_name: str | Sequence[str],
                              foreign_table: str, foreign_column: str | Sequence[str], *,
                              name: str | None = None, on_delete: str | None = None,
                              on_update: str | None = None) -> None:
        """A FOREIGN KEY constraint from ``column_name`` (one or a list) to ``foreign_column``
        of ``foreign_table``; existing rows must satisfy it (checked at once on PostgreSQL,
        at commit on SQLite)."""
        cols, tcols = _names(column_name), _names(foreign_column)
        if len(cols) != len(tcols):
            raise SchemaError("a foreign key needs as many target columns as columns")
        sql = statements.foreign_key_sql(cols, foreign_table, tcols, on_delete, on_update)
        if self._is_pg:
            cname = name or f"fk_{table_name}_{'_'.join(cols)}"[:63]
            await self._ddl(f"ALTER TABLE {quote(table_name)} ADD CONSTRAINT {quote(cname)} "
                            f"{sql}")
            return
        if name is not None:
            sql = f"CONSTRAINT {quote(name)} {sql}"
        await self._rebuild(table_name, lambda t: t.constraints.append(
            SQLiteTable.parse_constraint(sql)))

    async def drop_foreign_key(self, table: str, columns: str | Sequence[str] | None = None,
                               *, name: str | None = None) -> None:
        """Drop the foreign key on ``columns`` (or called ``name``; SQLite's keys often have
        no name). SchemaError if there is none, or more than one on those columns."""
        if columns is None and name is None:
            raise SchemaError("drop_foreign_key needs the key's columns or its name")
        cols = [c.lower() for c in _names(columns)] if columns is not None else None

        def matches(fk: ForeignKeyInfo) -> bool:
            return ((cols is None or [c.lower() for c in fk.columns] == cols)
                    and (name is None or fk.name == name))

        found = [fk for fk in await self.get_foreign_keys(table) if matches(fk)]
        what = f"on {columns!r}" if name is None else f"named {name!r}"
        if not found:
            raise SchemaError(f"table {table!r} has no foreign key {what}")
        if len(found) > 1:
            raise SchemaError(f"table {table!r} has {len(found)} foreign keys {what}: "
                              "name the one to drop")
        if self._is_pg:
            await self._ddl(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(found[0].name)}")
        else:
            await self._rebuild(table, lambda t: t.drop_foreign_keys(matches))

    # --- SQLite rebuild
    async def _sqlite_table(self, table: str) -> SQLiteTable:
        rows = await self.fetch_all("SELECT sql FROM sqlite_master WHERE type = 'table' "
                                    "AND name = ? COLLATE NOCASE", (table,))
        if not rows:
            raise SchemaError(f"no table named {table!r}")
        return SQLiteTable.parse(rows[0]["sql"])

    async def _sqlite_extras(self, table: str) -> list[tuple[str, str]]:
        """(type, SQL) of the table's own indexes and triggers (not those of its keys)."""
        rows = await self.fetch_all(
            "SELECT type, sql FROM sqlite_master WHERE tbl_name = ? COLLATE NOCASE "
            "AND sql IS NOT NULL AND type IN ('index', 'trigger') ORDER BY type, name", (table,))
        return [(r["type"], r["sql"]) for r in rows]

    async def _rebuild(self, table: str, edit: Callable[[SQLiteTable], Any], *,
                       using: dict[str, str] | None = None, dropping: str | None = None) -> None:
        """Replace ``table`` by the table its CREATE TABLE describes once ``edit`` changed it,
        copying each column it still has (from ``using[column]``, an expression over the old
        columns, where given). Indexes, triggers and views are recreated from their own SQL,
        but an index on the ``dropping`` column goes with it; the AUTOINCREMENT counter is
        kept."""
        parsed = await self._sqlite_table(table)
        old = {c.name.lower() for c in parsed.columns if not c.generated}
        edit(parsed)
        extras = [sql for kind, sql in await self._sqlite_extras(table)
                  if kind == "trigger" or dropping is None
                  or dropping.lower() not in sqlite_index_uses(sql)]
        counter = None
        if parsed.autoincrement:
            rows = await self.fetch_all("SELECT seq FROM sqlite_sequence WHERE name = ?",
                                        (table,))
            counter = rows[0]["seq"] if rows else None
        # SQLite's RENAME checks every view, and a view of the table would name a missing one
        # while it is being replaced: views (and their triggers) are set aside until the end
        views = await self.fetch_all(
            "SELECT type, name, sql FROM sqlite_master WHERE type = 'view' OR (type = "
            "'trigger' AND tbl_name IN (SELECT name FROM sqlite_master WHERE type = 'view')) "
            "ORDER BY rowid")
        for view in views:
            if view["type"] != "view":
                continue
            used = sqlite_names_used(view["sql"])
            if dropping is not None and {table.lower(), dropping.lower()} <= used:
                # checked here: the view would not fail, it would read "col" as a string
                raise SchemaError(f"cannot drop {dropping!r}: the view {view['name']!r} "
                                  f"uses it; drop or change the view first")
        for view in views:
            if view["type"] == "view":
                await self._ddl(f"DROP VIEW {quote(view['name'])}")
        temp = _REBUILD_PREFIX + table
        await self._ddl(parsed.render(temp))
        copied = [c.name for c in parsed.columns if c.name.lower() in old and not c.generated]
        if copied:
            exprs = [(using or {}).get(c) or quote(c) for c in copied]
            names = ", ".join(quote(c) for c in copied)
            try:
                await self._ddl(f"INSERT INTO {quote(temp)} ({names}) "
                                f"SELECT {', '.join(exprs)} FROM {quote(table)}")
            except IntegrityError as e:  # a stored row breaks the changed table: say which
                detail = str(e).replace(temp, table)
                raise IntegrityError(f"cannot change table {table!r}: {detail}",
                                     getattr(e, "orig", None)) from e
        await self._ddl(f"DROP TABLE {quote(table)}")
        await self._ddl(f"ALTER TABLE {quote(temp)} RENAME TO {quote(table)}")
        for sql in extras + [view["sql"] for view in views]:
            await self._ddl(sql)
        for view in views:
            if view["type"] == "view":  # SQLite takes a view's SQL without checking it
                try:
                    await self.fetch_all(f"SELECT * FROM {quote(view['name'])} LIMIT 0")
                except DatabaseException as e:
                    raise SchemaError(f"cannot change table {table!r}: the view "
                                      f"{view['name']!r} would break ({e})") from e
        if counter is not None:
            await self._execute("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
            await self._execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)",
                                (table, counter))


def _names(names: str | Sequence[str]) -> list[str]:
    return [names] if isinstance(names, str) else list(names)
