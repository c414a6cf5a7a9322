"""DSNs: every scheme, percent-encoding and options; the password never shows (repr, str,
errors, logs); unreachable servers raise OperationalError; echo; shared ``:memory:``."""
from __future__ import annotations

import asyncio
import logging

import pytest

from asyncqlio import DatabaseInterface, parse_dsn
from asyncqlio.exc import ArgumentError, InvalidDSN, OperationalError, ProgrammingError


@pytest.mark.parametrize("dsn, database", [
    ("sqlite:///app.db", "app.db"),
    ("sqlite3:///data/app.db", "data/app.db"),
    ("sqlite+aiosqlite:///app.db", "app.db"),
    ("sqlite:////var/lib/app.db", "/var/lib/app.db"),
    ("sqlite+aiosqlite:////tmp/x y.db", "/tmp/x y.db"),
    ("sqlite:///my%20app.db", "my app.db"),
    ("sqlite:///:memory:", ":memory:"),
    ("sqlite3:///:memory:", ":memory:"),
    ("sqlite://", ":memory:"),
])
def test_sqlite_dsns(dsn, database):
    url = parse_dsn(dsn)
    assert url.backend == "aiosqlite"
    assert url.scheme == dsn.partition(":")[0]
    assert url.database == database
    assert url.host is None and url.username is None and url.password is None
    assert url.options == {}


def test_sqlite_options():
    url = parse_dsn("sqlite:///app.db?timeout=2&mode=ro")
    assert url.database == "app.db"
    assert url.options == {"timeout": "2", "mode": "ro"}


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+asyncpg", "PostgreSQL"])
def test_postgresql_dsns(scheme):
    url = parse_dsn(f"{scheme}://app%20user:p%40ss%2Fw%3Ard%25@db.example.com:6543/my%20db"
                    "?statement_cache_size=0&application_name=web")
    assert url.scheme == scheme.lower()
    assert url.backend == "asyncpg"
    assert url.username == "app user"
    assert url.password == "p@ss/w:rd%"
    assert url.host == "db.example.com"
    assert url.port == 6543
    assert url.database == "my db"
    assert url.options == {"statement_cache_size": "0", "application_name": "web"}
    assert url.address == "db.example.com:6543"


def test_postgresql_defaults():
    url = parse_dsn("postgres://someone@localhost/test")
    assert (url.username, url.password, url.host, url.port, url.database) == \
        ("someone", None, "localhost", None, "test")
    assert url.address == "localhost:5432"
    bare = parse_dsn("postgresql://")
    assert (bare.username, bare.host, bare.database) == (None, None, None)


def test_ipv6_host():
    url = parse_dsn("postgresql://u:secret@[::1]:5433/test")
    assert url.host == "::1" and url.port == 5433
    assert url.address == "[::1]:5433"
    assert str(url) == "postgresql://u:***@[::1]:5433/test"
    assert parse_dsn(url.render(hide_password=False)) == url


@pytest.mark.parametrize("dsn", [
    "postgresql+psycopg://u@localhost/db",
    "sqlite:/app.db",
    "app.db",
    "",
    "postgresql://u@localhost:notaport/db",
    "postgresql://u@localhost:99999/db",
])
def test_bad_dsns_are_invalid_dsn(dsn):
    with pytest.raises(InvalidDSN) as info:
        parse_dsn(dsn)
    assert isinstance(info.value, ArgumentError) and isinstance(info.value, ValueError)


def test_unknown_scheme_names_the_known_ones():
    with pytest.raises(InvalidDSN, match="mysql.*postgresql.*sqlite"):
        DatabaseInterface("oracle://u:p@localhost/db")


def test_a_backend_not_built_yet_says_so():
    with pytest.raises(NotImplementedError, match="MySQL/MariaDB"):
        DatabaseInterface("mysql+aiomysql://u:p@localhost/db")


def test_non_string_dsn():
    with pytest.raises(InvalidDSN):
        parse_dsn(5432)
    url = parse_dsn("sqlite:///a.db")
    assert parse_dsn(url) is url


@pytest.mark.parametrize("dsn", [
    "postgresql://u:p%40ss%2Fw%3Ard%25@db.example.com:6543/my%20db?application_name=a%26b",
    "postgres://u@localhost/test",
    "sqlite:///rel/app.db?timeout=3",
    "sqlite:////abs/odd%3Fname%25.db",
    "sqlite:///:memory:",
])
def test_render_round_trips(dsn):
    url = parse_dsn(dsn)
    assert parse_dsn(url.render(hide_password=False)) == url
    assert parse_dsn(str(url)).database == url.database


def test_password_never_shown():
    dsn = "postgresql://admin:hunter%402@db.example.com:5432/prod?sslmode=require"
    url = parse_dsn(dsn)
    db = DatabaseInterface(dsn)
    for text in (str(url), repr(url), repr(db), repr(db.get_session()), str(db.url)):
        assert "hunter" not in text
        assert "admin:***@db.example.com:5432/prod" in text
    assert url.password == "hunter@2"
    assert "hunter%402" in url.render(hide_password=False)


# --- connecting

@pytest.mark.parametrize("dsn", [
    "postgresql://postgres:hunter2@127.0.0.1:1/test",
    "postgresql+asyncpg://nobody:wr%40ng%2Fpw@127.0.0.1:1/test",
])
async def test_unreachable_server_is_an_operational_error(dsn):
    db = DatabaseInterface(dsn, connect_timeout=5)
    with pytest.raises(OperationalError) as info:
        await db.connect()
    message = str(info.value)
    assert "127.0.0.1:1" in message
    for secret in ("hunter2", "wr@ng", "wr%40ng"):
        assert secret not in message and secret not in repr(info.value)
    assert isinstance(info.value.__cause__, OSError)
    assert db.pool.checkedout() == 0
    with pytest.raises(OperationalError):  # and again: the failure did not leak a slot
        async with db.get_session() as sess:
            await sess.execute("SELECT 1")
    await db.close()


async def test_server_refusing_the_login_is_an_operational_error(dsn, backend):
    if backend != "postgresql":
        pytest.skip("needs a PostgreSQL server")
    url = parse_dsn(dsn)
    bad = f"postgresql://{url.username}:s3cr3t@{url.address}/no_such_database_here"
    with pytest.raises(OperationalError) as info:
        async with DatabaseInterface(bad):
            pass
    assert url.address in str(info.value)
    assert "s3cr3t" not in str(info.value)


async def test_unopenable_sqlite_file_is_an_operational_error(tmp_path):
    path = tmp_path / "missing" / "dir" / "app.db"
    with pytest.raises(OperationalError, match="missing/dir/app.db"):
        async with DatabaseInterface(f"sqlite:///{path}"):
            pass


async def test_libpq_query_options_reach_the_driver(dsn, backend):
    """``sslmode`` and ``connect_timeout`` are connection options, not server settings."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL DSN options")
    options = "sslmode=disable&connect_timeout=5&application_name=asyncqlio-test"
    async with DatabaseInterface(f"{dsn}&{options}") as db:
        row = await db.fetch("SELECT current_setting('application_name') AS name")
    assert row == {"name": "asyncqlio-test"}


async def test_async_with_interface_connects_and_closes(dsn):
    async with DatabaseInterface(dsn) as db:
        assert db.connected
        assert await db.fetch("SELECT 1 AS one") == {"one": 1}
    assert db.pool.checkedout() == 0


# --- echo

async def test_echo_logs_sql_and_parameters(dsn, caplog):
    caplog.set_level(logging.INFO, logger="asyncqlio.sql")
    async with DatabaseInterface(dsn, echo=True) as db:
        await db.fetch("SELECT CAST({v} AS TEXT) AS v", {"v": "visible-value"})
    sql = [r.getMessage() for r in caplog.records if r.name == "asyncqlio.sql"]
    assert any("SELECT CAST(" in m and "visible-value" in m for m in sql)


async def test_echo_logs_failed_statements_too(dsn, caplog):
    caplog.set_level(logging.INFO, logger="asyncqlio.sql")
    async with DatabaseInterface(dsn, echo=True) as db:
        with pytest.raises(ProgrammingError):
            await db.execute("SELECT * FROM no_such_table WHERE x = {v}", {"v": "shown"})
    assert any("no_such_table" in r.getMessage() and "shown" in r.getMessage()
               for r in caplog.records if r.name == "asyncqlio.sql")


async def test_hide_parameters_hides_values_not_sql(dsn, caplog):
    caplog.set_level(logging.INFO, logger="asyncqlio.sql")
    async with DatabaseInterface(dsn, echo=True, hide_parameters=True) as db:
        await db.fetch("SELECT CAST({v} AS TEXT) AS v", {"v": "hidden-value"})
    sql = [r.getMessage() for r in caplog.records if r.name == "asyncqlio.sql"]
    assert any("SELECT CAST(" in m for m in sql)
    assert "hidden-value" not in caplog.text


async def test_without_echo_nothing_is_logged(dsn, caplog):
    caplog.set_level(logging.DEBUG)
    async with DatabaseInterface(dsn) as db:
        await db.fetch("SELECT 1 AS one")
    assert not [r for r in caplog.records if r.name == "asyncqlio.sql"]


async def test_logs_never_show_the_password(dsn, backend, caplog):
    if backend != "postgresql":
        pytest.skip("needs a DSN with a password (the test server trusts any)")
    caplog.set_level(logging.DEBUG)
    with_password = dsn.replace("://postgres@", "://postgres:topsecret@")
    assert "topsecret" in with_password
    async with DatabaseInterface(with_password, echo=True, echo_pool=True) as db:
        await db.fetch("SELECT 1 AS one")
        assert "topsecret" not in repr(db)
    assert caplog.records and "topsecret" not in caplog.text


# --- :memory:

async def test_memory_database_is_shared_by_the_sessions_of_one_interface():
    async with DatabaseInterface("sqlite:///:memory:") as db:
        async with db.get_session() as sess:
            await sess.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
            await sess.execute("INSERT INTO t (v) VALUES ('x')")
        await db.pool.dispose()  # even with no connection open the data stays
        async with db.get_session() as sess:
            assert await sess.fetch("SELECT v FROM t") == {"v": "x"}
        async with DatabaseInterface("sqlite:///:memory:") as other:
            assert await other.fetch(
                "SELECT name FROM sqlite_master WHERE name = 't'") is None


async def test_memory_database_sessions_wait_for_each_other():
    """Concurrent sessions on ``:memory:`` wait for a writer as on a file (busy timeout),
    rather than failing at once with 'database table is locked'."""
    async with DatabaseInterface("sqlite:///:memory:") as db:
        await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        written = asyncio.Event()

        async def writer() -> None:
            async with db.get_session() as sess:
                await sess.execute("INSERT INTO t (v) VALUES ('x')")
                written.set()
                await asyncio.sleep(0.2)

        async def reader() -> dict:
            await written.wait()
            async with db.get_session() as sess:
                return await sess.fetch("SELECT count(*) AS n FROM t")

        async def other_writer() -> None:
            await written.wait()
            async with db.get_session() as sess:
                await sess.execute("INSERT INTO t (v) VALUES ('y')")

        _, seen, _ = await asyncio.gather(writer(), reader(), other_writer())
        assert seen["n"] in (0, 1, 2)
        assert await db.fetch("SELECT count(*) AS n FROM t") == {"n": 2}
