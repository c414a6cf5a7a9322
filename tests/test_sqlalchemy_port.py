"""examples/sqlalchemy_port.py is a SQLAlchemy 2.x asyncio program with its imports changed to
asyncqlio: run as it is and with ``sqlalchemy`` put back in its imports, it prints the same
lines, on SQLite and on PostgreSQL."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from conftest import PG_DSN

pytest.importorskip("sqlalchemy.ext.asyncio")

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "sqlalchemy_port.py"
TABLES = ("port_tag", "port_post", "port_author")


def _as_sqlalchemy(source: str) -> str:
    """The program as SQLAlchemy's: each ``asyncqlio`` of its imports made ``sqlalchemy``."""
    return re.sub(r"^from asyncqlio", "from sqlalchemy", source, flags=re.M)


def _run(script: Path, url: str) -> list[str]:
    done = subprocess.run([sys.executable, str(script), url], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


async def _url(backend: str, dsn: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'blog.db'}"
    # the default schema (SQLAlchemy's asyncpg URLs take no search_path), emptied after
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute("DROP TABLE IF EXISTS " + ", ".join(TABLES))
    finally:
        await conn.close()
    return "postgresql+asyncpg://" + PG_DSN.partition("://")[2].partition("?")[0]


async def test_the_port_prints_what_sqlalchemy_prints(backend, dsn, tmp_path):
    url = await _url(backend, dsn, tmp_path)
    original = tmp_path / "sqlalchemy_original.py"
    original.write_text(_as_sqlalchemy(EXAMPLE.read_text()))
    assert "from asyncqlio" not in original.read_text()
    try:
        ours = _run(EXAMPLE, url)
        theirs = _run(original, url)
    finally:
        if backend == "postgresql":
            await _url(backend, dsn, tmp_path)
    assert ours == theirs
    # and it did the work: the object graph, the bulk insert, the savepoint, run_sync
    assert ours[0] == "ada [('Notes on the engine', ['math']), ('Bernoulli numbers', [])]"
    assert "{'ada': 2, 'grace': 4}" in ours
    assert "a second ada was rolled back to the savepoint" in ours
    assert "total views 319" in ours
    assert sum(line.startswith("streamed") for line in ours) == 6
