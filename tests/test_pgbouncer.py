"""Behind pgbouncer in transaction mode (server connections change between transactions),
``statement_cache_size=0`` keeps asyncpg working; with its default cache it fails."""
from __future__ import annotations

import asyncio
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse

import pytest

from asyncqlio import Column, DatabaseInterface, Integer, String, table_base
from asyncqlio.exc import DBAPIError

from conftest import IN_CI, PG_DSN

Table = table_base()


class Hop(Table, table_name=f"pgbouncer_hops_{os.getpid()}"):
    id = Column(Integer, primary_key=True)
    name = Column(String(20))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def bouncer():
    """A pgbouncer in transaction mode in front of the test server, with two server
    connections for many clients; its DSN."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not os.path.exists(binary):
        if IN_CI:
            pytest.fail("CI requires pgbouncer (.ci/run installs it)")
        pytest.skip("pgbouncer is not installed")
    url = urllib.parse.urlsplit(PG_DSN)
    port = _free_port()
    # a folder the "postgres" user can read too (pgbouncer drops root for it)
    folder = tempfile.TemporaryDirectory()
    tmp_path = pathlib.Path(folder.name)
    users = tmp_path / "users.txt"
    users.write_text(f'"{url.username or "postgres"}" ""\n')
    ini = tmp_path / "pgbouncer.ini"
    ini.write_text(f"""[databases]
{url.path.lstrip('/')} = host={url.hostname} port={url.port or 5432} dbname={url.path.lstrip('/')}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
auth_type = trust
auth_file = {users}
pool_mode = transaction
default_pool_size = 2
max_client_conn = 100
ignore_startup_parameters = extra_float_digits,application_name
unix_socket_dir =
logfile = {tmp_path / 'pgbouncer.log'}
""")
    tmp_path.chmod(0o777)
    for f in (users, ini):
        f.chmod(0o666)
    user = ["-u", "postgres"] if os.geteuid() == 0 else []  # it refuses to run as root
    log = tmp_path / "pgbouncer.log"
    proc = subprocess.Popen([binary, *user, str(ini)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                text = log.read_text() if log.exists() else "no log"
                folder.cleanup()
                pytest.fail(f"pgbouncer did not start: {text}")
            time.sleep(0.05)
    try:
        yield f"postgresql://{url.username or 'postgres'}@127.0.0.1:{port}{url.path}"
    finally:
        proc.terminate()
        proc.wait(10)
        folder.cleanup()


async def _traffic(db: DatabaseInterface) -> int:
    """Eight tasks of twenty transactions each, reading and writing through the ORM."""
    async def task(i: int) -> None:
        for j in range(20):
            async with db.get_session() as sess:
                row = await sess.fetch("SELECT {a}::int + {b}::int AS n", {"a": i, "b": j})
                assert row["n"] == i + j
                await sess.add(Hop(name=f"{i}-{j}"))
                assert await sess.select(Hop).where(Hop.name == f"{i}-{j}").count() == 1
    await asyncio.gather(*(task(i) for i in range(8)))
    async with db.get_session() as sess:
        return await sess.select(Hop).count()


async def test_statement_cache_off_works_behind_pgbouncer(bouncer):
    async with DatabaseInterface(bouncer, statement_cache_size=0, pool_size=5) as db:
        db.bind_tables(Table)
        await Hop.create()
        try:
            assert await _traffic(db) == 160
        finally:
            await Hop.drop()


async def test_default_statement_cache_breaks_behind_pgbouncer(bouncer):
    """The failure the option exists for: prepared statements live on one server connection."""
    async with DatabaseInterface(bouncer, pool_size=5) as db:
        with pytest.raises(DBAPIError) as info:
            for _ in range(5):
                await _traffic_reads(db)
        assert "prepared statement" in str(info.value)


async def _traffic_reads(db: DatabaseInterface) -> None:
    async def task(i: int) -> None:
        for j in range(20):
            async with db.get_session() as sess:
                await sess.fetch("SELECT {a}::int + {b}::int AS n", {"a": i, "b": j})
    await asyncio.gather(*(task(i) for i in range(8)))
