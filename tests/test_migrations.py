"""Migrations: files applied in order in their own transactions, versions recorded, a failed
one rolled back, autogenerate from Table classes, and the command line."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from asyncqlio import Column, Integer, Text
from asyncqlio.exc import ArgumentError
from asyncqlio.migrations import MigrationError, Migrator, ScriptDirectory, autogenerate
from asyncqlio.migrations.autogen import load_base

CREATE = """
    await sess.create_table("note", Column.with_name("id", Integer, primary_key=True),
                            Column.with_name("body", Text))
    await sess.execute("INSERT INTO note (body) VALUES ('kept')")
"""
ADD = """
    await sess.add_column("note", Column.with_name("stars", Integer, server_default="0"))
    await sess.create_index("note", "ix_note_stars", "stars")
"""
BROKEN = """
    await sess.add_column("note", Column.with_name("half", Integer, nullable=True))
    await sess.execute("UPDATE note SET half = 1")
    await sess.execute("INSERT INTO no_such_table VALUES (1)")
"""


def _write(scripts: ScriptDirectory, message: str, up: str, down: str) -> Path:
    return scripts.write(message, textwrap.indent(textwrap.dedent(up).strip(), "    "),
                         textwrap.indent(textwrap.dedent(down).strip(), "    "))


async def _columns(db, table: str) -> list[str]:
    async with db.get_ddl_session() as sess:
        return [c.name for c in await sess.get_columns(table)]


async def test_up_down_status(db, tmp_path):
    scripts = ScriptDirectory(tmp_path / "migrations")
    assert scripts.init() and not scripts.init()
    _write(scripts, "create notes", CREATE, 'await sess.drop_table("note")')
    _write(scripts, "add stars", ADD,
           'await sess.drop_index("ix_note_stars")\nawait sess.drop_column("note", "stars")')
    lines: list[str] = []
    migrator = Migrator(db, scripts, lines.append)
    assert [applied for _, applied in await migrator.status()] == [False, False]

    ran = await migrator.up("0001")
    assert [m.revision for m in ran] == ["0001"] and await migrator.applied() == ["0001"]
    assert await _columns(db, "note") == ["id", "body"]
    await migrator.up()
    assert await migrator.applied() == ["0001", "0002"]
    assert await _columns(db, "note") == ["id", "body", "stars"]
    assert any("applying 0002 add stars" in line and "done" in line for line in lines)
    assert await migrator.up() == []

    await migrator.down()
    assert await migrator.applied() == ["0001"]
    assert await _columns(db, "note") == ["id", "body"]
    async with db.get_ddl_session() as sess:
        assert (await sess.fetch_all("SELECT body FROM note")) == [{"body": "kept"}]
    await migrator.up()
    await migrator.down("0")
    assert await migrator.applied() == []
    async with db.get_ddl_session() as sess:
        assert await sess.table_names() == ["asyncqlio_migrations"]


async def test_failed_migration_is_rolled_back(db, tmp_path):
    scripts = ScriptDirectory(tmp_path / "migrations")
    scripts.init()
    _write(scripts, "create notes", CREATE, 'await sess.drop_table("note")')
    _write(scripts, "broken", BROKEN, "pass")
    _write(scripts, "never reached", ADD, "pass")
    lines: list[str] = []
    migrator = Migrator(db, scripts, lines.append)
    with pytest.raises(MigrationError, match="0002 broken") as info:
        await migrator.up()
    assert info.value.migration.revision == "0002"
    assert any("FAILED" in line for line in lines)
    assert await migrator.applied() == ["0001"]            # the version is unchanged
    assert await _columns(db, "note") == ["id", "body"]    # and so is the schema
    async with db.get_ddl_session() as sess:
        assert (await sess.fetch_all("SELECT * FROM note")) == [{"id": 1, "body": "kept"}]


MODELS_V1 = """
from asyncqlio import Column, ForeignKey, Index, Integer, String, Text, table_base

Table = table_base()


class Team(Table, table_name="team"):
    id = Column(Integer, primary_key=True)
    name = Column(String(32), unique=True)


class Member(Table, table_name="member"):
    id = Column(Integer, primary_key=True)
    name = Column(String(64), index=True)
    team_id = Column(Integer, nullable=True,
                     foreign_key=ForeignKey("team.id", on_delete="SET NULL"))
"""
MODELS_V2 = """
from asyncqlio import Column, ForeignKey, Index, Integer, String, Text, table_base

Table = table_base()


class Team(Table, table_name="team"):
    id = Column(Integer, primary_key=True)
    name = Column(String(32), unique=True)
    motto = Column(Text, nullable=True)


class Member(Table, table_name="member"):
    id = Column(Integer, primary_key=True)
    name = Column(String(64))
    by_name = Index(name, unique=True, name="uq_member_name")
"""


async def test_autogenerate(db, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    scripts = ScriptDirectory(tmp_path / "migrations")
    scripts.init()
    migrator = Migrator(db, scripts)
    for version, source in (("v1", MODELS_V1), ("v2", MODELS_V2)):
        (tmp_path / f"models_{version}_{os.getpid()}.py").write_text(source)
    base1 = load_base(f"models_v1_{os.getpid()}:Table")
    base2 = load_base(f"models_v2_{os.getpid()}:Table")

    path, changes = await autogenerate(db, base1, scripts, "first")
    assert changes == 2 and "create_table" in path.read_text()
    await migrator.up()
    async with db.get_ddl_session() as sess:
        assert await sess.table_names() == ["asyncqlio_migrations", "member", "team"]
        member = await sess.get_table("member")
        await sess.execute("INSERT INTO team (name) VALUES ('red')")
        await sess.execute("INSERT INTO member (name, team_id) VALUES ('ann', 1)")
    assert [i.name for i in member.indexes] == ["ix_member_name"]
    assert member.foreign_keys[0].on_delete == "SET NULL"
    assert await autogenerate(db, base1, scripts, "nothing") == (None, 0)

    path, changes = await autogenerate(db, base2, scripts, "second")
    text = path.read_text()
    assert "add_column('team'" in text and "drop_column('member', 'team_id')" in text
    assert "create_index('member', 'uq_member_name', 'name', unique=True)" in text
    assert "drop_index('ix_member_name')" in text
    await migrator.up()
    async with db.get_ddl_session() as sess:
        assert await sess.get_table("team") and "motto" in await _names(sess, "team")
        member = await sess.get_table("member")
        assert (await sess.fetch_all("SELECT name FROM member")) == [{"name": "ann"}]
    assert [c.name for c in member.columns] == ["id", "name"]
    assert [(i.name, i.unique) for i in member.indexes] == [("uq_member_name", True)]
    assert await autogenerate(db, base2, scripts, "nothing") == (None, 0)

    await migrator.down()                       # the generated downgrade undoes it
    assert await _columns(db, "member") == ["id", "name", "team_id"]
    assert "motto" not in await _columns(db, "team")


async def _names(sess, table: str) -> list[str]:
    return [c.name for c in await sess.get_columns(table)]


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m asyncqlio migrate ...`` in ``tmp_path``, on the SQLite file app.db there."""
    env = dict(os.environ, ASYNCQLIO_DSN=f"sqlite:///{tmp_path / 'app.db'}")
    return subprocess.run([sys.executable, "-m", "asyncqlio", "migrate", *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)


def _cli_ok(tmp_path: Path, *args: str) -> str:
    done = _cli(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_command_line(tmp_path):
    """init / new / up / status / down through ``python -m asyncqlio`` on a SQLite file."""
    def run(*args: str) -> str:
        return _cli_ok(tmp_path, *args)

    assert "created migrations" in run("init")
    out = run("new", "create notes")
    path = tmp_path / "migrations" / "0001_create_notes.py"
    assert str(Path("migrations") / path.name) in out
    source = path.read_text()
    source = source.replace("async def upgrade(sess):\n    pass",
                            "async def upgrade(sess):" + textwrap.indent(CREATE, "    "))
    source = source.replace("async def downgrade(sess):\n    pass",
                            'async def downgrade(sess):\n    await sess.drop_table("note")')
    path.write_text(source)
    out = run("up")
    assert "[1/1] applying 0001 create notes" in out and "applied 1 migration(s)" in out
    assert "[x] 0001 create notes" in run("status")
    assert "reverted 1 migration(s)" in run("down")
    assert "[ ] 0001 create notes" in run("status", "--dir", "migrations")
    failed = _cli(tmp_path, "up", "--dir", "elsewhere")
    assert failed.returncode == 1 and "migrate init" in failed.stderr


async def test_two_deployments_at_once(db, tmp_path, backend):
    """On PostgreSQL a second migrator waits for the first and skips what it applied."""
    if backend != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's")
    scripts = ScriptDirectory(tmp_path / "migrations")
    scripts.init()
    _write(scripts, "create notes", CREATE, 'await sess.drop_table("note")')
    _write(scripts, "add stars", ADD, "pass")
    first, second = Migrator(db, scripts), Migrator(db, scripts)
    await first.ensure_version_table()
    await asyncio.gather(first.up(), second.up())
    assert await first.applied() == ["0001", "0002"]
    async with db.get_ddl_session() as sess:
        assert len(await sess.fetch_all("SELECT * FROM note")) == 1


async def test_unknown_revisions_are_refused(db, tmp_path):
    """Regression: ``up abc`` died with a ValueError traceback, and ``up 99`` / ``down 77``
    (no such migration) silently applied everything or did nothing."""
    scripts = ScriptDirectory(tmp_path / "migrations")
    scripts.init()
    _write(scripts, "create notes", CREATE, 'await sess.drop_table("note")')
    _write(scripts, "add stars", ADD, 'await sess.drop_column("note", "stars")')
    migrator = Migrator(db, scripts)
    for call in (migrator.up("abc"), migrator.up("99"), migrator.down("77"),
                 migrator.down("x")):
        with pytest.raises(ArgumentError, match="unknown revision .* are 0001, 0002"):
            await call
    assert await migrator.applied() == []
    await migrator.up("1")                       # the number, without its zeros, is enough
    assert await migrator.applied() == ["0001"]
    await migrator.down("0")                     # 0: before the first
    assert await migrator.applied() == []


NULLABLE_NOTE = """
    await sess.create_table("note", Column.with_name("id", Integer, primary_key=True),
                            Column.with_name("body", Text, nullable=True))
    await sess.execute("INSERT INTO note (body) VALUES (NULL)")
"""
FAILS_AFTER_DDL = """
    await sess.add_column("note", Column.with_name("half", Integer, nullable=True))
    raise RuntimeError("boom")
"""
NOT_NULL = """
    await sess.alter_column("note", "body", nullable=False)
"""


async def test_failure_messages(db, tmp_path, backend):
    """Regression: the error did not say where in the migration it failed, a driver error's
    class was named twice ("IntegrityError: IntegrityError: ..."), and on SQLite a rebuild's
    error named its temporary table ``_asyncqlio_new_note``."""
    scripts = ScriptDirectory(tmp_path / "migrations")
    scripts.init()
    _write(scripts, "create notes", NULLABLE_NOTE, "pass")
    path = _write(scripts, "fails", FAILS_AFTER_DDL, "pass")
    migrator = Migrator(db, scripts)
    with pytest.raises(MigrationError) as info:
        await migrator.up()
    line = path.read_text().splitlines().index('    raise RuntimeError("boom")') + 1
    assert str(info.value).endswith("failed and was rolled back: RuntimeError: boom "
                                    f"(0002_fails.py, line {line})")
    assert await migrator.applied() == ["0001"]
    assert await _columns(db, "note") == ["id", "body"]
    (tmp_path / "migrations" / "0002_fails.py").unlink()
    path = _write(scripts, "not null", NOT_NULL, "pass")
    with pytest.raises(MigrationError) as info:
        await migrator.up()
    message = str(info.value)
    line = path.read_text().splitlines().index(textwrap.dedent(NOT_NULL).strip()
                                               .join(["    ", ""])) + 1
    assert "rolled back: IntegrityError: " in message and "Error: IntegrityError" not in message
    assert "_asyncqlio_new_" not in message and f"0002_not_null.py, line {line})" in message
    async with db.get_ddl_session() as sess:
        assert (await sess.get_table("note")).column("body").nullable


def test_a_message_with_backslashes_and_quotes(tmp_path):
    """Regression: ``new 'C:\\new \\N'`` wrote a docstring Python refuses to read."""
    scripts = ScriptDirectory(tmp_path / "migrations")
    scripts.init()
    message = 'fix C:\\new \\N{x} \\x "quoted" """ end\\'
    path = scripts.write(message)
    migration = scripts.migrations()[0]
    assert migration.module.message == message
    assert migration.module.__doc__.startswith(message.replace('"""', "'''") + "\n")
    assert path.name == "0001_fix_c_new_n_x_x_quoted_end.py"


def test_command_line_errors(tmp_path):
    """What a user sees for a wrong revision, a missing folder and a bad DSN: one line on
    stderr and status 1, never a traceback."""
    _cli_ok(tmp_path, "init")
    _cli_ok(tmp_path, "new", "first")
    for args, expected in ((("up", "abc"), "unknown revision 'abc'"),
                           (("up", "7"), "unknown revision '7'"),
                           (("down", "7"), "unknown revision '7'"),
                           (("status", "--dir", "nope"), "migrate init"),
                           (("status", "--dsn", "nope://x"), "unknown DSN scheme")):
        done = _cli(tmp_path, *args)
        assert done.returncode == 1 and expected in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr, (args, done.stderr)


async def test_autogenerate_waits_for_pending_migrations(db, tmp_path, monkeypatch):
    """Regression: with a migration written but not applied, autogenerate compared with the
    old live schema and wrote the same changes again (the second one then failed)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / f"models_pending_{os.getpid()}.py").write_text(MODELS_V1)
    base = load_base(f"models_pending_{os.getpid()}:Table")
    scripts = ScriptDirectory(tmp_path / "migrations")
    scripts.init()
    path, _ = await autogenerate(db, base, scripts, "first")
    with pytest.raises(ArgumentError, match=r"not applied yet \(0001 first\).*migrate up"):
        await autogenerate(db, base, scripts, "again")
    assert [p.name for p in (tmp_path / "migrations").glob("0*.py")] == [path.name]
    await Migrator(db, scripts).up()
    assert await autogenerate(db, base, scripts, "again") == (None, 0)
    with pytest.raises(ArgumentError, match="no module named 'no_such_models_module'"):
        load_base("no_such_models_module:Table")


def test_status_names_applied_versions_without_a_file(tmp_path):
    """Regression: a recorded version whose file was deleted was not shown at all."""
    for args in (["init"], ["new", "one"], ["new", "two"], ["up"]):
        _cli_ok(tmp_path, *args)
    (tmp_path / "migrations" / "0002_two.py").unlink()
    out = _cli_ok(tmp_path, "status")
    assert "[x] 0001 one" in out and "applied but with no file in migrations: 0002" in out


async def test_create_table_if_not_exists_twice_with_an_index(db):
    """Regression: ``create_table(..., if_not_exists=True)`` made the index of an
    ``index=True`` column without IF NOT EXISTS, so a second run failed on the index."""
    for _ in range(2):
        async with db.get_ddl_session() as sess:
            await sess.create_table("tag", Column.with_name("id", Integer, primary_key=True),
                                    Column.with_name("name", Text, index=True),
                                    if_not_exists=True)
    async with db.get_ddl_session() as sess:
        assert [i.name for i in await sess.inspector.get_indexes("tag")] == ["ix_tag_name"]


async def test_two_deployments_on_a_fresh_database(db, tmp_path, backend):
    """Regression: two migrators starting at once on PostgreSQL both created the version
    table, and the second failed (duplicate key in pg_type): the lock came too late."""
    if backend != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's")
    scripts = ScriptDirectory(tmp_path / "migrations")
    scripts.init()
    _write(scripts, "create notes", CREATE, 'await sess.drop_table("note")')
    for _ in range(3):
        await asyncio.gather(*(Migrator(db, scripts).up() for _ in range(3)))
        assert await Migrator(db, scripts).applied() == ["0001"]
        await Migrator(db, scripts).down()
        async with db.get_ddl_session() as sess:
            await sess.drop_table("asyncqlio_migrations")


def test_a_misnamed_migration_file_is_an_error(tmp_path):
    """Regression: ``0002_add-teams.py`` (a hyphen) was skipped without a word, so it never
    ran and ``status`` did not list it."""
    scripts = ScriptDirectory(tmp_path / "migrations")
    scripts.init()
    scripts.write("first")
    (tmp_path / "migrations" / "0002_add-teams.py").write_text("")
    (tmp_path / "migrations" / "helpers.py").write_text("")   # not numbered: not a migration
    with pytest.raises(ArgumentError, match="0002_add-teams.py is not a migration name"):
        scripts.migrations()


async def test_an_index_on_a_missing_column(db):
    """Regression: on SQLite ``create_index`` with a column name that is not a column made
    an index on the string "name" (SQLite reads an unknown quoted name as a string)."""
    async with db.get_ddl_session() as sess:
        await sess.create_table("tag", Column.with_name("id", Integer, primary_key=True))
    with pytest.raises(Exception, match="no column|does not exist"):
        async with db.get_ddl_session() as sess:
            await sess.create_index("tag", "ix_tag_nope", "id", "nope")
    async with db.get_ddl_session() as sess:
        assert await sess.inspector.get_indexes("tag") == []
