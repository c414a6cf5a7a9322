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


def test_command_line(tmp_path):
    """init / new / up / status / down through ``python -m asyncqlio`` on a SQLite file."""
    env = dict(os.environ, ASYNCQLIO_DSN=f"sqlite:///{tmp_path / 'app.db'}")

    def run(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "asyncqlio", "migrate", *args],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

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
    failed = subprocess.run([sys.executable, "-m", "asyncqlio", "migrate", "up",
                             "--dir", "elsewhere"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
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
