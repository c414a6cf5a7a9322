"""The DDL session: schema changes inside one transaction, on both backends.

``async with db.get_ddl_session() as ddl:`` commits every change together (or none). SQLite
cannot ALTER a column's type, add a foreign key, or drop a column that a key, index or
constraint uses, so there the table is rebuilt (new table, rows copied, old one dropped, new
one renamed, indexes recreated), as SQLite's documentation prescribes. For that the session
runs with ``PRAGMA foreign_keys = OFF`` (dropping the old table must not cascade into its
children) and checks every foreign key with ``PRAGMA foreign_key_check`` before it commits.
"""
from __future__ import annotations

from typing import Any, Sequence

from asyncqlio._speedups._compile_cy import quote
from asyncqlio.exc import IntegrityError, SchemaError
from asyncqlio.orm import ddl
from asyncqlio.orm.inspection import (ColumnInfo, ForeignKeyInfo, IndexInfo, Inspector,
                                      TableSchema)
from asyncqlio.orm.schema import Column
from asyncqlio.orm.session import Session, SessionState
from asyncqlio.orm.types import POSTGRESQL, ColumnType

_REBUILD_PREFIX = "_asyncqlio_new_"


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

    async def get_columns(self, table: str) -> list[ColumnInfo]:
        return await self.inspector.get_columns(table)

    async def get_indexes(self, table: str) -> list[IndexInfo]:
        return await self.inspector.get_indexes(table)

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
    async def create_table(self, name: str, *columns: Column, if_not_exists: bool = False) -> None:
        """CREATE TABLE from ``Column.with_name(...)`` columns (and their ``index=True``)."""
        if not columns:
            raise SchemaError(f"table {name!r} needs columns")
        for sql in ddl.free_table(name, columns, self.dialect.name, if_not_exists=if_not_exists):
            await self._ddl(sql)

    async def drop_table(self, name: str, *, cascade: bool = False,
                         if_exists: bool = False) -> None:
        await self._ddl(ddl.drop_table(name, self.dialect.name, cascade=cascade,
                                       if_exists=if_exists))

    async def rename_table(self, old: str, new: str) -> None:
        """Foreign keys of other tables follow the rename on both backends."""
        await self._ddl(f"ALTER TABLE {quote(old)} RENAME TO {quote(new)}")

    # --- columns
    async def add_column(self, table: str, column: Column) -> None:
        if column.primary_key:
            raise SchemaError("a primary key column cannot be added to an existing table")
        definition = ddl.column_definition(column, self.dialect.name, inline_pk=False,
                                           autoincrement=False)
        if self._is_pg or not (column.unique or (not column.nullable
                                                  and column.server_default is None)):
            await self._ddl(f"ALTER TABLE {quote(table)} ADD COLUMN {definition}")
        else:
            # SQLite's ADD COLUMN takes neither UNIQUE nor NOT NULL without a default
            schema = await self._existing(table)
            schema.columns.append(ColumnInfo(column.name, column.type,
                                             column.type.ddl(self.dialect.name),
                                             column.nullable, column.server_default,
                                             unique=column.unique))
            if column.foreign_key is not None:
                schema.foreign_keys.append(_fk_of(column))
            await self._rebuild(schema, {c.name: quote(c.name) for c in schema.columns[:-1]})
        if column.index:
            await self._ddl(ddl.index_sql(table, ddl._index_name(table, (column,)),
                                          [column.name]))

    async def drop_column(self, table: str, name: str) -> None:
        """Indexes on the column go with it, on both backends."""
        if self._is_pg:
            await self._ddl(f"ALTER TABLE {quote(table)} DROP COLUMN {quote(name)}")
            return
        schema = await self._existing(table)
        column = schema.column(name)
        used = (column.primary_key or column.unique
                or any(name in fk.columns for fk in schema.foreign_keys)
                or any(name in cols for cols in schema.unique_constraints)
                or any(name in ix.columns for ix in schema.indexes))
        if not used:
            await self._ddl(f"ALTER TABLE {quote(table)} DROP COLUMN {quote(name)}")
            return
        if column.primary_key:
            raise SchemaError(f"cannot drop {name!r}: it is in the primary key of {table!r}")
        schema.columns.remove(column)
        schema.foreign_keys = [fk for fk in schema.foreign_keys if name not in fk.columns]
        schema.unique_constraints = [u for u in schema.unique_constraints if name not in u]
        schema.indexes = [ix for ix in schema.indexes if name not in ix.columns]
        await self._rebuild(schema, {c.name: quote(c.name) for c in schema.columns})

    async def alter_column_type(self, table: str, name: str, new_type: ColumnType | type,
                                *, using: str | None = None) -> None:
        """Change a column's type, converting the stored values (PostgreSQL: ``USING``, by
        default a cast; SQLite: the new column's affinity)."""
        ctype = ColumnType.create(new_type)
        sql_type = ctype.ddl(self.dialect.name)
        if self._is_pg:
            expr = using if using is not None else f"{quote(name)}::{sql_type}"
            column = (await self._existing(table)).column(name)
            alter = f"ALTER TABLE {quote(table)} ALTER COLUMN {quote(name)} "
            if column.default is not None:
                # PostgreSQL will not convert a default itself: drop it, then cast it back
                await self._ddl(alter + "DROP DEFAULT")
            await self._ddl(alter + f"TYPE {sql_type} USING {expr}")
            if column.default is not None:
                await self._ddl(alter + f"SET DEFAULT ({column.default})::{sql_type}")
            return
        schema = await self._existing(table)
        column = schema.column(name)
        column.type, column.sql_type = ctype, sql_type
        exprs = {c.name: quote(c.name) for c in schema.columns}
        if using is not None:
            exprs[name] = using
        await self._rebuild(schema, exprs)

    async def rename_column(self, table: str, old: str, new: str) -> None:
        await self._ddl(f"ALTER TABLE {quote(table)} RENAME COLUMN {quote(old)} TO {quote(new)}")

    # --- indexes and keys
    async def create_index(self, table: str, name: str, *columns: str, unique: bool = False,
                           if_not_exists: bool = False) -> None:
        if not columns:
            raise SchemaError("an index needs at least one column")
        await self._ddl(ddl.index_sql(table, name, columns, unique=unique,
                                      if_not_exists=if_not_exists))

    async def drop_index(self, name: str, *, if_exists: bool = False) -> None:
        await self._ddl("DROP INDEX " + ("IF EXISTS " if if_exists else "") + quote(name))

    async def add_foreign_key(self, table: str, columns: str | Sequence[str], target_table: str,
                              target_columns: str | Sequence[str], *, name: str | None = None,
                              on_delete: str | None = None,
                              on_update: str | None = None) -> None:
        """A FOREIGN KEY constraint; existing rows must satisfy it (checked at once on
        PostgreSQL, at commit on SQLite)."""
        cols = [columns] if isinstance(columns, str) else list(columns)
        tcols = [target_columns] if isinstance(target_columns, str) else list(target_columns)
        if len(cols) != len(tcols):
            raise SchemaError("a foreign key needs as many target columns as columns")
        fk = ForeignKeyInfo(name, cols, target_table, tcols,
                            on_delete.upper() if on_delete else None,
                            on_update.upper() if on_update else None)
        if self._is_pg:
            cname = name or f"fk_{table}_{'_'.join(cols)}"[:63]
            await self._ddl(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(cname)} "
                            + ddl.foreign_key_sql(cols, target_table, tcols, fk.on_delete,
                                                  fk.on_update))
            return
        schema = await self._existing(table)
        schema.foreign_keys.append(fk)
        await self._rebuild(schema, {c.name: quote(c.name) for c in schema.columns})

    # --- SQLite rebuild
    async def _rebuild(self, schema: TableSchema, exprs: dict[str, str]) -> None:
        """Replace ``schema.name`` by a table built from ``schema``, copying each new column
        from ``exprs[column]`` (columns missing there take their default)."""
        table = schema.name
        temp = _REBUILD_PREFIX + table
        # indexes and triggers are recreated from their own SQL, so partial and expression
        # indexes survive as they were; those of dropped columns are gone from ``schema``
        kept = {ix.name for ix in schema.indexes}
        extras = [r["sql"] for r in await self.fetch_all(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
            "AND type IN ('index', 'trigger') ORDER BY type, name", (table,))
            if r["type"] == "trigger" or r["name"] in kept]
        await self._ddl(ddl.sqlite_table_from_schema(schema, temp))
        copied = [c.name for c in schema.columns if c.name in exprs]
        if copied:
            await self._ddl(f"INSERT INTO {quote(temp)} ({', '.join(quote(c) for c in copied)}) "
                            f"SELECT {', '.join(exprs[c] for c in copied)} FROM {quote(table)}")
        await self._ddl(f"DROP TABLE {quote(table)}")
        await self._ddl(f"ALTER TABLE {quote(temp)} RENAME TO {quote(table)}")
        for sql in extras:
            await self._ddl(sql)


def _fk_of(column: Column) -> ForeignKeyInfo:
    fk = column.foreign_key
    if isinstance(fk.target, str) and column.table is None:
        table, _, target = fk.target.rpartition(".")
    else:
        resolved = fk.resolve()
        table, target = resolved.table_name, resolved.name
    return ForeignKeyInfo(None, [column.name], table, [target], fk.on_delete, fk.on_update)
