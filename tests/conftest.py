"""Every database test runs on SQLite (a file in tmp_path) and on PostgreSQL.

PostgreSQL comes from ASYNCQLIO_TEST_PG_DSN (default postgresql://postgres@127.0.0.1:5432/test).
Without a server its tests skip, except under CI=true, where they fail.
"""
from __future__ import annotations

import asyncio
import os

import asyncpg
import pytest

from asyncqlio import DatabaseInterface

PG_DSN = os.environ.get("ASYNCQLIO_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = bool(os.environ.get("CI"))

_pg_status: str | None = None
#: each test process works in its own schema, so parallel runs never see each other's tables
PG_SCHEMA = f"asyncqlio_test_{os.getpid()}"


async def _pg_reachable() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    try:
        conn = await asyncpg.connect(PG_DSN, timeout=5)
    except Exception as e:  # noqa: BLE001
        return f"PostgreSQL not reachable at {PG_DSN}: {type(e).__name__}: {e}"
    await conn.close()
    return None


async def _reset_pg() -> None:
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE; CREATE SCHEMA "{PG_SCHEMA}"')
    finally:
        await conn.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", ["sqlite", "postgresql"])


@pytest.fixture
async def dsn(backend: str, tmp_path) -> str:
    """A DSN for an empty database of the backend under test."""
    global _pg_status
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    if _pg_status is None:
        _pg_status = await _pg_reachable() or ""
    if _pg_status:
        if IN_CI:
            pytest.fail(f"CI requires PostgreSQL: {_pg_status}")
        pytest.skip(_pg_status)
    await _reset_pg()
    sep = "&" if "?" in PG_DSN else "?"
    return f"{PG_DSN}{sep}search_path={PG_SCHEMA}"


@pytest.fixture
async def db(dsn: str):
    """A connected DatabaseInterface on an empty database."""
    interface = DatabaseInterface(dsn)
    await interface.connect()
    try:
        yield interface
    finally:
        await interface.close()


def pytest_sessionfinish(session, exitstatus) -> None:
    if _pg_status == "":
        async def drop() -> None:
            conn = await asyncpg.connect(PG_DSN)
            try:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE')
            finally:
                await conn.close()
        asyncio.run(drop())
