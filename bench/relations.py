"""``python -m bench.relations``: load 1,000 parents with their 10 children each (10,000
rows) as objects with the collection filled in: asyncqlio ``load="select"`` against
SQLAlchemy's ``selectinload`` and Tortoise's ``prefetch_related``, on SQLite and PostgreSQL.

Each contender runs the load in a fresh session/transaction; the rows are seeded once with
the raw driver. Printed: median of the runs in ms, and the ratio to asyncqlio.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

from bench.store import DEFAULT_PG_DSN, Target

PARENTS = 1000
CHILDREN = 10
PARENT_TABLE = "bench_parent"
CHILD_TABLE = "bench_child"


# --- seeding (raw driver, not timed)


async def seed(target: Target) -> None:
    ddl = [f"DROP TABLE IF EXISTS {CHILD_TABLE}", f"DROP TABLE IF EXISTS {PARENT_TABLE}",
           f"CREATE TABLE {PARENT_TABLE} (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL)",
           f"CREATE TABLE {CHILD_TABLE} (id INTEGER PRIMARY KEY, "
           f"parent_id INTEGER NOT NULL REFERENCES {PARENT_TABLE} (id), "
           f"title VARCHAR(40) NOT NULL)",
           f"CREATE INDEX ix_{CHILD_TABLE}_parent ON {CHILD_TABLE} (parent_id)"]
    parents = [(i, f"parent {i}") for i in range(1, PARENTS + 1)]
    children = [((p - 1) * CHILDREN + j + 1, p, f"child {p}.{j}")
                for p in range(1, PARENTS + 1) for j in range(CHILDREN)]
    if target.backend == "sqlite":
        import aiosqlite
        async with aiosqlite.connect(target.sqlite_path) as conn:
            for sql in ddl:
                await conn.execute(sql)
            await conn.executemany(f"INSERT INTO {PARENT_TABLE} VALUES (?, ?)", parents)
            await conn.executemany(f"INSERT INTO {CHILD_TABLE} VALUES (?, ?, ?)", children)
            await conn.commit()
        return
    import asyncpg
    conn = await asyncpg.connect(target.pg_dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{target.schema}" CASCADE; '
                           f'CREATE SCHEMA "{target.schema}"')
        await conn.execute(f'SET search_path TO "{target.schema}"')
        for sql in ddl:
            await conn.execute(sql)
        await conn.copy_records_to_table(PARENT_TABLE, records=parents)
        await conn.copy_records_to_table(CHILD_TABLE, records=children)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def drop_schema(target: Target) -> None:
    if target.backend == "postgresql":
        import asyncpg
        conn = await asyncpg.connect(target.pg_dsn)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{target.schema}" CASCADE')
        finally:
            await conn.close()


def check(parents: list, children_of: Callable[[Any], list]) -> None:
    assert len(parents) == PARENTS, len(parents)
    assert sum(len(children_of(p)) for p in parents) == PARENTS * CHILDREN


# --- contenders: each returns (load coroutine, close coroutine)


async def asyncqlio_contender(target: Target) -> tuple[Callable[[], Awaitable[None]], Any]:
    from asyncqlio import (Column, DatabaseInterface, ForeignKey, Integer, Relationship,
                           String, table_base)

    Table = table_base()

    class Parent(Table, table_name=PARENT_TABLE):
        id = Column(Integer, primary_key=True)
        name = Column(String(40))
        children = Relationship("Child.parent_id", "Parent.id", load="select")

    class Child(Table, table_name=CHILD_TABLE):
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, foreign_key=ForeignKey(f"{PARENT_TABLE}.id"))
        title = Column(String(40))

    if target.backend == "sqlite":
        dsn = f"sqlite:///{target.sqlite_path}"
    else:
        dsn = f"{target.pg_dsn}?search_path={target.schema}"
    db = DatabaseInterface(dsn)
    await db.connect()
    db.bind_tables(Table)

    async def load() -> None:
        async with db.get_session() as sess:
            parents = await sess.select(Parent)
        check(parents, lambda p: p.children)

    return load, db.close


async def sqlalchemy_contender(target: Target) -> tuple[Callable[[], Awaitable[None]], Any]:
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlalchemy.orm import selectinload

    from bench._relations_sqlalchemy import SParent as Parent
    from bench.contenders.sqlalchemy_ import engine_for

    engine = engine_for(target)
    maker = async_sessionmaker(engine, expire_on_commit=False)

    async def load() -> None:
        async with maker() as sess:
            query = select(Parent).options(selectinload(Parent.children))
            parents = (await sess.scalars(query)).all()
        check(parents, lambda p: p.children)

    return load, engine.dispose


async def tortoise_contender(target: Target) -> tuple[Callable[[], Awaitable[None]], Any]:
    from tortoise import Tortoise

    from bench.contenders.tortoise_ import config

    cfg = config(target)
    cfg["apps"]["bench"]["models"] = ["bench._relations_tortoise"]
    await Tortoise.init(config=cfg)
    from bench._relations_tortoise import TParent

    async def load() -> None:
        parents = await TParent.all().prefetch_related("children")
        check(parents, lambda p: list(p.children))

    return load, Tortoise.close_connections


CONTENDERS = {"asyncqlio": asyncqlio_contender, "SQLAlchemy": sqlalchemy_contender,
              "Tortoise": tortoise_contender}


async def measure(target: Target, runs: int) -> dict[str, float]:
    await seed(target)
    out: dict[str, float] = {}
    try:
        for name, make in CONTENDERS.items():
            try:
                load, close = await make(target)
            except ImportError as e:
                print(f"  {name}: not installed ({e})")
                continue
            try:
                await load()  # warm up: connections, statement caches
                times = []
                for _ in range(runs):
                    started = time.perf_counter()
                    await load()
                    times.append((time.perf_counter() - started) * 1e3)
                out[name] = statistics.median(times)
            finally:
                await close()
    finally:
        await drop_schema(target)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "all"], default="all")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pg-dsn", default=os.environ.get("ASYNCQLIO_BENCH_PG_DSN",
                                                          DEFAULT_PG_DSN))
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "all" else [args.backend]
    print(f"load {PARENTS:,} parents x {CHILDREN} children as objects "
          f"(median of {args.runs} runs, ms; ratio to asyncqlio)\n")
    print("| backend | asyncqlio load=\"select\" | SQLAlchemy selectinload | "
          "Tortoise prefetch_related |")
    print("|---|---:|---:|---:|")
    for backend in backends:
        if backend == "sqlite":
            target = Target("sqlite", sqlite_path=str(
                Path(tempfile.mkdtemp(prefix="asyncqlio-bench-")) / "relations.db"))
        else:
            target = Target("postgresql", pg_dsn=args.pg_dsn, schema=f"bench_rel_{os.getpid()}")
        results = asyncio.run(measure(target, args.runs))
        base = results.get("asyncqlio")
        cells = []
        for name in CONTENDERS:
            ms = results.get(name)
            if ms is None:
                cells.append("n/a")
            else:
                cells.append(f"{ms:,.1f} ({ms / base:.2f}x)" if base else f"{ms:,.1f}")
        print(f"| {target.label} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
