"""``python -m bench.pool_overhead``: what one checkout costs, asyncpg's own pool against ours.

Each row times N sequential checkouts on one event loop, one connection in each pool so both
reuse it: bare acquire/release, then acquire + ``SELECT 1`` + release. asyncpg's pool resets
every connection on release (a round trip) unless ``reset`` is given; ours rolls back only a
connection left in a transaction, so the fair comparison is against asyncpg with the reset
replaced by a no-op. The median of the repeats is printed, in microseconds per checkout.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from typing import Awaitable, Callable

import asyncpg

from asyncqlio import DatabaseInterface

DSN = os.environ.get("ASYNCQLIO_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")

Case = Callable[[], Awaitable[None]]


async def _no_reset(conn: asyncpg.Connection) -> None:
    pass


async def _time(case: Case, n: int, repeat: int) -> float:
    """Median microseconds per call of ``case`` over ``repeat`` runs of ``n``."""
    for _ in range(n // 10):  # warm up
        await case()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(n):
            await case()
        runs.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(runs)


async def main(n: int, repeat: int, dsn: str) -> None:
    raw = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    raw_noreset = await asyncpg.create_pool(dsn, min_size=1, max_size=1, reset=_no_reset)
    ours = await DatabaseInterface(dsn, pool_size=1, max_overflow=0).connect()
    pinged = await DatabaseInterface(dsn, pool_size=1, max_overflow=0,
                                     pool_pre_ping=True).connect()
    sqlite = await DatabaseInterface("sqlite:///:memory:", pool_size=1, max_overflow=0).connect()

    def asyncpg_case(pool: asyncpg.Pool, query: bool) -> Case:
        async def case() -> None:
            async with pool.acquire() as conn:
                if query:
                    await conn.fetchval("SELECT 1")
        return case

    def our_case(db: DatabaseInterface, query: bool) -> Case:
        pool = db.pool

        async def case() -> None:
            conn = await pool.acquire()
            try:
                if query:
                    await conn.fetch("SELECT 1")
            finally:
                await pool.release(conn)
        return case

    rows = [
        ("asyncpg pool (reset on release)", asyncpg_case(raw, False), asyncpg_case(raw, True)),
        ("asyncpg pool (reset: a no-op)", asyncpg_case(raw_noreset, False),
         asyncpg_case(raw_noreset, True)),
        ("asyncqlio pool, PostgreSQL", our_case(ours, False), our_case(ours, True)),
        ("asyncqlio pool, PostgreSQL, pre_ping", our_case(pinged, False), our_case(pinged, True)),
        ("asyncqlio pool, SQLite :memory:", our_case(sqlite, False), our_case(sqlite, True)),
    ]
    print(f"per checkout, median of {repeat} runs of {n}, microseconds")
    print(f"{'pool':40} {'acquire+release':>16} {'+ SELECT 1':>12}")
    try:
        for name, bare, query in rows:
            print(f"{name:40} {await _time(bare, n, repeat):16.2f} "
                  f"{await _time(query, max(n // 10, 1), repeat):12.2f}")
    finally:
        await raw.close()
        await raw_noreset.close()
        for db in (ours, pinged, sqlite):
            await db.close()


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pool_overhead", description=__doc__)
    parser.add_argument("-n", type=int, default=20_000, help="checkouts per run")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dsn", default=DSN)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.repeat, args.dsn))


if __name__ == "__main__":
    cli()
