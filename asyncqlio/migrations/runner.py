"""Applying and reverting migrations, one transaction each, recording versions in a table."""
from __future__ import annotations

import time
from typing import Any, Callable

from asyncqlio._speedups._compile_cy import quote
from asyncqlio.exc import DatabaseException
from asyncqlio.migrations.scripts import Migration, ScriptDirectory
from asyncqlio.orm.schema import Column
from asyncqlio.orm.types import String, Text, Timestamp

VERSION_TABLE = "asyncqlio_migrations"
_TABLE = quote(VERSION_TABLE)
#: the advisory lock migrations take on PostgreSQL (any constant; this one spells "aqlmigr")
_LOCK_KEY = 0x61716C6D696772

Report = Callable[[str], None]


class MigrationError(DatabaseException):
    """A migration failed; its transaction was rolled back and its version not recorded."""

    def __init__(self, migration: Migration, direction: str, error: BaseException) -> None:
        super().__init__(f"{direction} of migration {migration.label} failed and was rolled "
                         f"back: {type(error).__name__}: {error}")
        self.migration = migration
        self.error = error


class Migrator:
    """Runs the migrations of one folder against one database."""

    def __init__(self, db: Any, directory: str | ScriptDirectory = "migrations",
                 report: Report | None = None) -> None:
        self.db = db
        self.scripts = directory if isinstance(directory, ScriptDirectory) \
            else ScriptDirectory(directory)
        self.report = report or (lambda line: None)

    async def ensure_version_table(self) -> None:
        async with self.db.get_ddl_session() as sess:
            await sess.create_table(
                VERSION_TABLE, Column.with_name("version", String(255), primary_key=True),
                Column.with_name("name", Text),
                Column.with_name("applied_at", Timestamp, server_default="CURRENT_TIMESTAMP"),
                if_not_exists=True)

    async def applied(self) -> list[str]:
        """The recorded versions, oldest first."""
        await self.ensure_version_table()
        async with self.db.get_ddl_session() as sess:
            rows = await sess.fetch_all(f'SELECT "version" FROM {_TABLE}')
        return sorted((r["version"] for r in rows), key=int)

    async def status(self) -> list[tuple[Migration, bool]]:
        done = set(await self.applied())
        return [(m, m.revision in done) for m in self.scripts.migrations()]

    async def up(self, target: str | None = None) -> list[Migration]:
        """Apply the pending migrations up to ``target`` (inclusive; default all)."""
        done = set(await self.applied())
        pending = [m for m in self.scripts.migrations() if m.revision not in done
                   and (target is None or int(m.revision) <= int(target))]
        for i, m in enumerate(pending, 1):
            await self._run(m, "upgrade", f"[{i}/{len(pending)}]")
        return pending

    async def down(self, target: str | None = None, steps: int = 1) -> list[Migration]:
        """Revert applied migrations: down to (not including) ``target``, or the last
        ``steps`` of them."""
        done = await self.applied()
        by_rev = {m.revision: m for m in self.scripts.migrations()}
        if target is not None:
            undo = [v for v in done if int(v) > int(target)]
        else:
            undo = done[len(done) - steps:] if steps > 0 else []
        undo.reverse()
        missing = [v for v in undo if v not in by_rev]
        if missing:
            raise DatabaseException(f"applied migrations {missing} have no file in "
                                    f"{self.scripts.path}")
        ran = []
        for i, version in enumerate(undo, 1):
            await self._run(by_rev[version], "downgrade", f"[{i}/{len(undo)}]")
            ran.append(by_rev[version])
        return ran

    async def _still_to_do(self, sess: Any, m: Migration, direction: str) -> bool:
        """Two deployments migrating at once: on PostgreSQL the second waits on a lock held
        until the first one's transaction ends, then sees the version it recorded."""
        if sess.dialect.name == "postgresql":
            await sess.execute("SELECT pg_advisory_xact_lock({key})", {"key": _LOCK_KEY})
        row = await sess.fetch(f'SELECT 1 AS "one" FROM {_TABLE} WHERE "version" = {{version}}',
                               {"version": m.revision})
        return (row is None) == (direction == "upgrade")

    async def _run(self, m: Migration, direction: str, progress: str) -> None:
        """One migration in one transaction, with its version row."""
        verb = "applying" if direction == "upgrade" else "reverting"
        started = time.perf_counter()
        self.report(f"{progress} {verb} {m.label} ...")
        try:
            fn = getattr(m.module, direction)
            async with self.db.get_ddl_session() as sess:
                if not await self._still_to_do(sess, m, direction):
                    self.report(f"{progress} {m.label} was done meanwhile by another process")
                    return
                await fn(sess)
                if direction == "upgrade":
                    await sess.execute(f'INSERT INTO {_TABLE} ("version", "name") '
                                       "VALUES ({version}, {name})",
                                       {"version": m.revision, "name": m.name})
                else:
                    await sess.execute(f'DELETE FROM {_TABLE} WHERE "version" = {{version}}',
                                       {"version": m.revision})
        except Exception as e:
            self.report(f"{progress} {verb} {m.label} FAILED, rolled back")
            raise MigrationError(m, direction, e) from e
        self.report(f"{progress} {verb} {m.label} done "
                    f"({(time.perf_counter() - started) * 1e3:.0f} ms)")
