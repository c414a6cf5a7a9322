"""``python -m bench.stream``: streaming a large table through ``sess.stream()`` (rows/s,
and peak Python memory, which must not grow with the table) against a raw asyncpg cursor,
and one flush of many dirty objects. PostgreSQL, in a schema of its own."""
from __future__ import annotations

import argparse
import asyncio
import os
import time
import tracemalloc

import asyncpg

from asyncqlio import Column, DatabaseInterface, Integer, Real, String, table_base
from bench.store import DEFAULT_PG_DSN

SCHEMA = f"asyncqlio_bench_stream_{os.getpid()}"
Table = table_base("StreamBench")


class Point(Table, table_name="points"):
    id = Column(Integer, primary_key=True)
    name = Column(String(32))
    value = Column(Real)


async def _fill(dsn: str, rows: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE SCHEMA "{SCHEMA}"; SET search_path = "{SCHEMA}"; '
                           "CREATE TABLE points (id integer PRIMARY KEY, name varchar(32), "
                           "value real)")
        await conn.copy_records_to_table(
            "points", schema_name=SCHEMA,
            records=((i, f"p{i}", i * 0.5) for i in range(1, rows + 1)))
    finally:
        await conn.close()


async def _raw(dsn: str) -> int:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": SCHEMA})
    n = 0
    try:
        async with conn.transaction():
            async for _ in conn.cursor("SELECT id, name, value FROM points", prefetch=1000):
                n += 1
    finally:
        await conn.close()
    return n


async def _asyncqlio(db: DatabaseInterface, scalars: bool) -> int:
    n = 0
    async with db.get_session() as sess:
        q = sess.select(Point) if scalars else sess.select(Point.id, Point.name, Point.value)
        result = await sess.stream(q)
        async for part in result.partitions(1000):
            n += len(part)
            if scalars:
                sess.expunge_all()  # a stream of objects keeps only what the reader keeps
    return n


async def _timed(label: str, run, memory: bool) -> None:
    if memory:
        tracemalloc.start()
    start = time.perf_counter()
    n = await run()
    took = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] if memory else 0
    if memory:
        tracemalloc.stop()
        print(f"{label:<38} {n:>9,} rows  peak Python memory {peak / 2**20:7.1f} MiB")
    else:
        print(f"{label:<38} {n:>9,} rows  {took:6.2f} s  {n / took:>11,.0f} rows/s")


async def _flush(db: DatabaseInterface, count: int) -> None:
    async with db.get_session() as sess:
        rows = await sess.select(Point).where(Point.id <= count)
        for row in rows:
            row.value = row.value + 1
        start = time.perf_counter()
        await sess.flush()
        took = time.perf_counter() - start
        await sess.rollback()
    print(f"flush of {len(rows):,} dirty objects{'':<14} {took * 1e3:8.1f} ms")


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--dsn", default=os.environ.get("ASYNCQLIO_BENCH_PG_DSN", DEFAULT_PG_DSN))
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--flush", type=int, default=10_000)
    args = p.parse_args()
    await _fill(args.dsn, args.rows)
    sep = "&" if "?" in args.dsn else "?"
    db = DatabaseInterface(f"{args.dsn}{sep}search_path={SCHEMA}")
    await db.connect()
    db.bind_tables(Table)
    try:
        for memory in (False, True):
            await _timed("raw asyncpg cursor", lambda: _raw(args.dsn), memory)
            await _timed("asyncqlio stream, column rows", lambda: _asyncqlio(db, False), memory)
            await _timed("asyncqlio stream, objects", lambda: _asyncqlio(db, True), memory)
        await _flush(db, args.flush)
    finally:
        await db.close()
        conn = await asyncpg.connect(args.dsn)
        await conn.execute(f'DROP SCHEMA "{SCHEMA}" CASCADE')
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
