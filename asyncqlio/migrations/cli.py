"""``asyncqlio migrate init|new|up|down|status|autogenerate``: the command line."""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Sequence

from asyncqlio.exc import DatabaseException


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dsn", default=None,
                        help="database DSN (default: the ASYNCQLIO_DSN environment variable)")
    common.add_argument("--dir", default="migrations",
                        help="migrations folder (default: ./migrations)")
    parser = argparse.ArgumentParser(prog="asyncqlio", description="asyncqlio tools")
    top = parser.add_subparsers(dest="command", required=True)
    migrate = top.add_parser("migrate", help="schema migrations")
    sub = migrate.add_subparsers(dest="action", required=True)
    sub.add_parser("init", parents=[common], help="create the migrations folder (and the "
                   "version table, given a DSN)")
    new = sub.add_parser("new", parents=[common], help="write an empty migration")
    new.add_argument("message")
    new.add_argument("--autogenerate", action="store_true",
                     help="fill it from the difference with --models")
    new.add_argument("--models", help="module:BaseName of the Table classes")
    up = sub.add_parser("up", parents=[common], help="apply pending migrations")
    up.add_argument("target", nargs="?", help="stop after this revision")
    down = sub.add_parser("down", parents=[common], help="revert applied migrations")
    down.add_argument("target", nargs="?", help="revert down to (not including) this revision")
    down.add_argument("--steps", type=int, default=1, help="how many to revert (default 1)")
    sub.add_parser("status", parents=[common], help="list migrations, applied or not")
    auto = sub.add_parser("autogenerate", parents=[common],
                          help="write a migration from the Table classes vs the live schema")
    auto.add_argument("message")
    auto.add_argument("--models", required=True, help="module:BaseName of the Table classes")
    return parser


def _dsn(args: argparse.Namespace) -> str:
    dsn = args.dsn or os.environ.get("ASYNCQLIO_DSN")
    if not dsn:
        raise SystemExit("asyncqlio: no database; pass --dsn or set ASYNCQLIO_DSN")
    return dsn


async def _run(args: argparse.Namespace) -> int:
    from asyncqlio.db import DatabaseInterface
    from asyncqlio.migrations.autogen import autogenerate, load_base
    from asyncqlio.migrations.runner import Migrator
    from asyncqlio.migrations.scripts import ScriptDirectory

    scripts = ScriptDirectory(args.dir)
    action = args.action
    if action == "init":
        made = scripts.init()
        print(f"{'created' if made else 'using existing'} {scripts.path}")
        if not (args.dsn or os.environ.get("ASYNCQLIO_DSN")):
            return 0
    if action == "new" and not args.autogenerate:
        print(f"wrote {scripts.write(args.message)}")
        return 0
    report = lambda line: print(line, flush=True)  # noqa: E731
    async with DatabaseInterface(_dsn(args)) as db:
        migrator = Migrator(db, scripts, report)
        if action == "init":
            await migrator.ensure_version_table()
            print("version table ready")
        elif action in ("autogenerate", "new"):
            if not args.models:
                raise SystemExit("asyncqlio: --autogenerate needs --models module:BaseName")
            path, changes = await autogenerate(db, load_base(args.models), scripts, args.message)
            print(f"wrote {path} ({changes} change(s))" if path else "no changes; nothing written")
        elif action == "up":
            ran = await migrator.up(args.target)
            print(f"applied {len(ran)} migration(s)" if ran else "already up to date")
        elif action == "down":
            ran = await migrator.down(args.target, args.steps)
            print(f"reverted {len(ran)} migration(s)" if ran else "nothing to revert")
        elif action == "status":
            rows = await migrator.status()
            for m, applied in rows:
                print(f"[{'x' if applied else ' '}] {m.label}")
            pending = sum(1 for _, a in rows if not a)
            print(f"{len(rows) - pending} applied, {pending} pending")
            files = {m.revision for m, _ in rows}
            orphans = [v for v in await migrator.applied() if v not in files]
            if orphans:
                print(f"applied but with no file in {scripts.path}: {', '.join(orphans)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except DatabaseException as e:
        print(f"asyncqlio: {e}", file=sys.stderr)
        return 1
