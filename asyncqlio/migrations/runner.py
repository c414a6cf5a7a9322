"""Applying and reverting migrations, one transaction each, recording versions in a table."""
from __future__ import annotations

import os
import time
from typing import Any, Callable

from asyncqlio._speedups._compile_cy import quote
from asyncqlio.exc import ArgumentError, DatabaseException
from asyncqlio.migrations.scripts import Migration, ScriptDirectory
from asyncqlio.orm.schema import Column
from asyncqlio.orm.schema.types import String, Text, Timestamp

VERSION_TABLE = "asyncqlio_migrations"
_TABLE = quote(VERSION_TABLE)
#: the advisory lock migrations take on PostgreSQL (any constant; this one spells "aqlmigr")
_LOCK_KEY = 0x61716C6D696772

Report = Callable[[str], None]


class MigrationError(DatabaseException):
    """A migration failed; its transaction was rolled back and its version not recorded."""

    def __init__(self, migration: Migration, direction: str, error: BaseException) -> None:
        detail, kind = str(error), type(error).__name__
        detail = f"{kind}: {detail}" if detail else kind
        super().__init__(f"{direction} of migration {migration.label} failed and was rolled "
                         f"back: {detail}{_where(migration, error)}")
        self.migration = migration
        self.error = error


def _where(migration: Migration, error: BaseException) -> str:
    """`` (0002_x.py, line 12)``: the last line of the migration's own file that ran."""
    line, path = None, os.path.abspath(migration.path)
    tb = error.__traceback__
    while tb is not None:
        if os.path.abspath(tb.tb_frame.f_code.co_filename) == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f" ({migration.path.name}, line {line})" if line is not None else ""


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
            # two deployments creating it at once: PostgreSQL's IF NOT EXISTS is no guard
            # against a concurrent CREATE (a unique violation), the lock is
            await self._lock(sess)
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
        migrations = self.scripts.migrations()
        last = self._revision(target, migrations, done) if target is not None else None
        pending = [m for m in migrations if m.revision not in done
                   and (last is None or int(m.revision) <= last)]
        for i, m in enumerate(pending, 1):
            await self._run(m, "upgrade", f"[{i}/{len(pending)}]")
        return pending

    async def down(self, target: str | None = None, steps: int = 1) -> list[Migration]:
        """Revert applied migrations: down to (not including) ``target``, or the last
        ``steps`` of them."""
        done = await self.applied()
        migrations = self.scripts.migrations()
        by_rev = {m.revision: m for m in migrations}
        if target is not None:
            last = self._revision(target, migrations, done, base_ok=True)
            undo = [v for v in done if int(v) > last]
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

    def _revision(self, target: str, migrations: list[Migration], applied: Any,
                  base_ok: bool = False) -> int:
        """The number of revision ``target`` (``0``: before the first, for ``down``);
        ArgumentError for a revision that is neither a file nor applied."""
        known = {int(m.revision) for m in migrations} | {int(v) for v in applied}
        try:
            number = int(target)
        except ValueError:
            number = None
        if number is None or not (number in known or (base_ok and number == 0)):
            listed = ", ".join(m.revision for m in migrations) or "none"
            base = " (or 0, before the first)" if base_ok else ""
            raise ArgumentError(f"unknown revision {target!r}: the revisions in "
                                f"{self.scripts.path} are {listed}{base}")
        return number

    @staticmethod
    async def _lock(sess: Any) -> None:
        """PostgreSQL: the migrations' advisory lock, held until the transaction ends."""
        if sess.dialect.name == "postgresql":
            await sess.execute("SELECT pg_advisory_xact_lock({key})", {"key": _LOCK_KEY})

    async def _still_to_do(self, sess: Any, m: Migration, direction: str) -> bool:
        """Two deployments migrating at once: on PostgreSQL the second waits on a lock held
        until the first one's transaction ends, then sees the version it recorded."""
        await self._lock(sess)
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
