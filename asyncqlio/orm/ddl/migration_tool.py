"""``asql-migrate``: the original asyncqlio's migration tool, for projects that have its
migrations folder (``env.py``, ``versions/NNN_message.py``, the ``asql_version`` table).

    asql-migrate init [DIRECTORY] [--dsn DSN]   # DIRECTORY/env.py and DIRECTORY/versions/
    asql-migrate new MESSAGE...                 # versions/NNN_message.py, to fill in
    asql-migrate migrate [REVISION]             # head (default), a number, +N or -N

``-m/--migration-dir`` (before the command) names the folder (``migrations``). ``env.py``
defines ``create_database_interface()`` and ``run_migration_online(session, fn)``; each
migration runs in its own DDL session (one transaction) with the new version number.
asyncqlio's own migrations (``asyncqlio migrate``, :mod:`asyncqlio.migrations`) keep their
own folder format and version table; this tool is for the original's.
"""
from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path
from typing import Any, Sequence

from asyncqlio.exc import DatabaseException

VERSION_TABLE = "asql_version"
HEAD = 10 ** 12

env_file = '''"""
Environment file for asql-migrate.
"""
from asyncqlio import DatabaseInterface

# The DSN to connect to the server with.
dsn = {dsn!r}


async def create_database_interface() -> DatabaseInterface:
    """Creates the database interface the migrations run on (bind your tables here too)."""
    if dsn is None:
        raise RuntimeError("No DSN: set it in env.py, or pass --dsn to asql-migrate init.")
    db = DatabaseInterface(dsn)
    await db.connect()
    return db


async def run_migration_online(sess, upgrade):
    """Runs one migration function in the DDL session it is given."""
    await upgrade(sess)
'''

migration_template = '''"""
Migration {revision}: {message}
"""
from asyncqlio import DDLSession

revision = "{revision}"
message = "{message}"


async def upgrade(session: DDLSession):
    """Performs an upgrade."""


async def downgrade(session: DDLSession):
    """Performs a downgrade."""
'''


class MigrationError(DatabaseException):
    """The migrations folder or a revision cannot be used as asked."""


def get_revision(revision: str, current_revision: int) -> int:
    """The absolute revision ``revision`` names: ``head``, a number, or ``+N``/``-N``
    relative to ``current_revision``."""
    if revision.lower() == "head":
        return HEAD
    try:
        if revision[:1] in "+-":
            return current_revision + int(revision)
        return int(revision)
    except ValueError:
        raise MigrationError(f"revision {revision!r} is neither head, a number nor +N/-N") \
            from None


def migration_files(migrations_dir: Path) -> list[Path]:
    """The migration files in number order; a gap in the numbers is an error."""
    versions = migrations_dir / "versions"
    if not versions.is_dir():
        raise MigrationError(f"{versions} does not exist; run asql-migrate init first")
    files = sorted((p for p in versions.iterdir() if re.match(r"\d+.*\.py$", p.name)),
                   key=lambda p: int(re.match(r"\d+", p.name).group()))
    for n, path in enumerate(files, start=1):
        if int(re.match(r"\d+", path.name).group()) != n:
            raise MigrationError(f"migration {n} is missing (found {path.name})")
    return files


def _load(path: Path) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__file__": str(path), "__name__": path.stem}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
    return namespace


async def get_current_version(db: Any) -> int:
    """The revision the database is at (the version table is made, at 0, if missing)."""
    async with db.get_session() as sess:
        await sess.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER)")
        row = await sess.fetch(f"SELECT version FROM {VERSION_TABLE}")
        if row is None:
            await sess.execute(f"INSERT INTO {VERSION_TABLE} VALUES (0)")
            return 0
        return row["version"]


async def migrate(migrations_dir: Path, revision: str = "head", report: Any = print) -> int:
    """Upgrade or downgrade to ``revision``; the revision the database is at after."""
    env = _load(migrations_dir / "env.py")
    files = migration_files(migrations_dir)
    db = await env["create_database_interface"]()
    try:
        current = await get_current_version(db)
        target = min(get_revision(revision, current), len(files))
        if target < 0:
            raise MigrationError(f"cannot downgrade past revision 0 (to {target})")
        if target == current:
            report("Nothing to do.")
            return current
        upgrading = target > current
        steps = range(current + 1, target + 1) if upgrading else range(current, target, -1)
        for number in steps:
            path = files[number - 1]
            migration = _load(path)
            fn = migration.get("upgrade" if upgrading else "downgrade")
            if fn is None:
                raise MigrationError(f"{path.name} has no {'upgrade' if upgrading else 'downgrade'}()")
            report(f"{'Upgrading' if upgrading else 'Downgrading'}: {path.name}")
            async with db.get_ddl_session() as sess:
                await env["run_migration_online"](sess, fn)
                current = number if upgrading else number - 1
                await sess.execute(f"UPDATE {VERSION_TABLE} SET version = {{v}}", {"v": current})
        return current
    finally:
        await db.close()


def init(directory: Path, dsn: str | None = None) -> None:
    """Make ``directory`` with its ``env.py`` and ``versions`` folder."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "env.py").write_text(env_file.format(dsn=dsn), encoding="utf-8")
    (directory / "versions").mkdir(exist_ok=True)


def new(migrations_dir: Path, message: str) -> Path:
    """Write the next migration file; its path."""
    number = len(migration_files(migrations_dir)) + 1
    slug = "".join(c for c in message[:32].lower().replace(" ", "_")
                   if c.isascii() and (c.isalnum() or c == "_"))
    path = migrations_dir / "versions" / f"{number:03d}_{slug}.py"
    path.write_text(migration_template.format(revision=number, message=message),
                    encoding="utf-8")
    return path


def cli(argv: Sequence[str] | None = None) -> int:
    """The ``asql-migrate`` command; its exit status."""
    parser = argparse.ArgumentParser(prog="asql-migrate",
                                     description="The original asyncqlio's migration tool.")
    parser.add_argument("-m", "--migration-dir", default="migrations", type=Path)
    commands = parser.add_subparsers(dest="command", required=True)
    p_init = commands.add_parser("init", help="make a migrations folder")
    p_init.add_argument("directory", nargs="?", type=Path)
    p_init.add_argument("-d", "--dsn")
    p_migrate = commands.add_parser("migrate", help="upgrade or downgrade the database")
    p_migrate.add_argument("revision", nargs="?", default="head")
    p_new = commands.add_parser("new", help="write a new migration file")
    p_new.add_argument("message", nargs="+")
    args = parser.parse_args(argv)
    try:
        if args.command == "init":
            directory = args.directory or args.migration_dir
            init(directory, args.dsn)
            print(f"Made {directory}/env.py and {directory}/versions/")
        elif args.command == "new":
            print(f"Created {new(args.migration_dir, ' '.join(args.message)).name}")
        else:
            print(f"At revision {asyncio.run(migrate(args.migration_dir, args.revision))}")
    except DatabaseException as e:
        print(f"asql-migrate: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(cli())
