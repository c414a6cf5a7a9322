"""Autogenerate on both backends: no change found between a schema and the Table classes it
was made from (whatever the database calls the types), and every column, nullability,
default and foreign key change written, applied, and undone by the generated downgrade."""
from __future__ import annotations

import enum

import pytest

from asyncqlio import (JSON, UUID, BigInt, Boolean, Bytea, Column, Date, Enum, ForeignKey,
                       Index, Integer, Interval, Numeric, Real, Serial, SmallInt, String, Text,
                       Time, Timestamp, exc, table_base)
from asyncqlio.migrations import Migrator, ScriptDirectory, autogenerate
from asyncqlio.orm import inspection
from asyncqlio.migrations.autogen import diff


class Mood(enum.Enum):
    happy = 1
    grumpy = 2


def everything() -> type:
    """Tables using every type, keys, indexes, foreign keys and server defaults."""
    Table = table_base()

    class Team(Table, table_name="team"):
        id = Column(Integer, primary_key=True)
        name = Column(String(50), unique=True)

    class Player(Table, table_name="player"):
        id = Column(BigInt, primary_key=True)
        small = Column(SmallInt, server_default="-1")
        name = Column(String(64), index=True, server_default="'anon'")
        free = Column(String, nullable=True)
        bio = Column(Text, nullable=True, server_default="''")
        score = Column(Real, server_default="1.5")
        price = Column(Numeric(10, 2), nullable=True, server_default="0")
        active = Column(Boolean, server_default="TRUE")
        born = Column(Date, nullable=True)
        at = Column(Time, nullable=True)
        seen = Column(Timestamp, server_default="CURRENT_TIMESTAMP")
        seen_tz = Column(Timestamp(timezone=True), nullable=True)
        span = Column(Interval, nullable=True)
        blob = Column(Bytea, nullable=True)
        token = Column(UUID, nullable=True)
        data = Column(JSON, nullable=True)
        mood = Column(Enum(Mood), nullable=True)
        doubled = Column(Integer, server_default="(1 + 1)")
        team_id = Column(Integer, nullable=True, foreign_key=ForeignKey(
            "team.id", on_delete="CASCADE", on_update="SET NULL"))
        by_team = Index(team_id, name, unique=True, name="by_team")

    class Pair(Table, table_name="pair"):
        a = Column(Integer, primary_key=True)
        b = Column(String(8), primary_key=True)
        team_id = Column(Integer, foreign_key=ForeignKey("team.id", on_delete="NO ACTION"))

    class Counter(Table, table_name="counter"):
        id = Column(Serial, primary_key=True)

    return Table


async def test_nothing_to_do_after_create(db):
    base = everything()
    db.bind_tables(base)
    for table in base.metadata.tables.values():
        await table.create()
    assert await diff(db, base) == ([], [], set())


async def test_nothing_to_do_after_its_own_migration(db, tmp_path):
    base = everything()
    scripts = ScriptDirectory(tmp_path / "migrations")
    scripts.init()
    path, changes = await autogenerate(db, base, scripts, "all")
    assert changes == 5       # four tables and the index by_team
    await Migrator(db, scripts).up()
    assert await autogenerate(db, base, scripts, "again") == (None, 0)


def aliased() -> type:
    Table = table_base()

    class Alias(Table, table_name="alias"):
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        big = Column(BigInt, nullable=True)
        ratio = Column(Real, server_default="0.5")
        flag = Column(Boolean, server_default="FALSE")
        label = Column(String(20), server_default="'x'")
        at = Column(Timestamp(timezone=True), nullable=True)

    return Table


ALIASED = {
    "postgresql": "CREATE TABLE alias (id serial PRIMARY KEY, name character varying(50) NOT "
                  "NULL, big int8, ratio float8 NOT NULL DEFAULT 0.5, flag bool NOT NULL "
                  "DEFAULT false, label varchar(20) NOT NULL DEFAULT 'x', at timestamptz)",
    "sqlite": "CREATE TABLE alias (id INTEGER PRIMARY KEY, name NVARCHAR(50) NOT NULL, "
              "big BIGINT, ratio DOUBLE NOT NULL DEFAULT 0.5, flag BOOL NOT NULL "
              "DEFAULT false, label VARCHAR(20) NOT NULL DEFAULT  'x', at TIMESTAMPTZ)",
}


async def test_aliases_are_not_changes(db, backend):
    """A table written by hand with the database's other names for the same types."""
    async with db.get_ddl_session() as sess:
        await sess.execute(ALIASED[backend])
    assert await diff(db, aliased()) == ([], [], set())


def version(n: int) -> type:
    Table = table_base()

    class Team(Table, table_name="team"):
        id = Column(Integer, primary_key=True)
        name = Column(String(32))

    if n == 1:
        class Member(Table, table_name="member"):
            id = Column(Integer, primary_key=True)
            name = Column(String(64))
            score = Column(Integer, nullable=True)
            nick = Column(String(20), nullable=True)
            level = Column(Integer, server_default="1")
            rank = Column(Integer, server_default="0")
            team_id = Column(Integer, nullable=True,
                             foreign_key=ForeignKey("team.id", on_delete="CASCADE"))
            buddy_id = Column(Integer, nullable=True)
            club_id = Column(Integer, nullable=True, foreign_key=ForeignKey("team.id"))
    else:
        class Member(Table, table_name="member"):  # noqa: F811
            id = Column(Integer, primary_key=True)
            name = Column(Text)
            score = Column(Real, nullable=True)
            nick = Column(String(20), server_default="'?'")
            level = Column(Integer, server_default="2")
            rank = Column(Integer, nullable=True)
            team_id = Column(Integer, nullable=True)
            buddy_id = Column(Integer, nullable=True,
                              foreign_key=ForeignKey("member.id", on_delete="SET NULL"))
            club_id = Column(Integer, nullable=True,
                             foreign_key=ForeignKey("team.id", on_delete="SET NULL"))
    return Table


async def _rows(db, sql: str) -> list[dict]:
    async with db.get_ddl_session() as sess:
        return await sess.fetch_all(sql)


async def test_column_and_foreign_key_changes(db, backend, tmp_path):
    v1, v2 = version(1), version(2)
    db.bind_tables(v1)
    for table in v1.metadata.tables.values():
        await table.create()
    async with db.get_session() as sess:
        await sess.execute("INSERT INTO team (name) VALUES ('red'), ('blue')")
        await sess.execute("INSERT INTO member (name, score, nick, team_id, buddy_id, club_id) "
                           "VALUES ('ann', 7, 'a', 1, NULL, 2), ('bob', 8, 'b', 1, 1, 1)")
    scripts = ScriptDirectory(tmp_path / "migrations")
    scripts.init()
    migrator = Migrator(db, scripts)
    path, changes = await autogenerate(db, v2, scripts, "v2")
    text = path.read_text()
    for line in ("await sess.alter_column_type('member', 'score', Real)",
                 "await sess.alter_column('member', 'nick', nullable=False, "
                 "server_default=\"'?'\")",
                 "await sess.alter_column('member', 'level', server_default='2')",
                 "await sess.alter_column('member', 'rank', nullable=True, server_default=None)",
                 "await sess.drop_foreign_key('member', ['team_id'])",
                 "await sess.add_foreign_key('member', 'buddy_id', 'member', 'id', "
                 "on_delete='SET NULL')",
                 "await sess.drop_foreign_key('member', ['club_id'])",
                 "await sess.add_foreign_key('member', 'club_id', 'team', 'id', "
                 "on_delete='SET NULL')"):
        assert line in text
    # String(64) -> Text is a change on PostgreSQL; SQLite stores both as TEXT
    name_change = "alter_column_type('member', 'name', Text)" in text
    assert name_change == (backend == "postgresql")
    assert changes == 8 + name_change
    # foreign keys are dropped before and added after the column changes
    assert text.index("drop_foreign_key('member', ['club_id'])") < text.index("alter_column") \
        < text.index("add_foreign_key('member', 'buddy_id'")

    await migrator.up()
    async with db.get_ddl_session() as sess:
        member = await sess.get_table("member")
        await sess.execute("INSERT INTO member (name) VALUES ('cy')")
    cols = {c.name: c for c in member.columns}
    assert isinstance(cols["score"].type, Real)
    assert not cols["nick"].nullable and cols["rank"].nullable and cols["rank"].default is None
    assert {(fk.columns[0], fk.target_table, fk.on_delete) for fk in member.foreign_keys} == \
        {("buddy_id", "member", "SET NULL"), ("club_id", "team", "SET NULL")}
    assert await autogenerate(db, v2, scripts, "nothing") == (None, 0)
    async with db.get_session() as sess:
        await sess.execute("DELETE FROM team WHERE id = 1")   # no cascade any more; SET NULL
    rows = await _rows(db, "SELECT name, score, nick, level, team_id, buddy_id, club_id "
                           "FROM member ORDER BY id")
    assert rows == [
        {"name": "ann", "score": 7.0, "nick": "a", "level": 1, "team_id": 1, "buddy_id": None,
         "club_id": 2},
        {"name": "bob", "score": 8.0, "nick": "b", "level": 1, "team_id": 1, "buddy_id": 1,
         "club_id": None},
        {"name": "cy", "score": None, "nick": "?", "level": 2, "team_id": None,
         "buddy_id": None, "club_id": None}]

    async with db.get_session() as sess:   # what v1's keys need, for the way back
        await sess.execute("DELETE FROM member WHERE name = 'cy'")
        await sess.execute("INSERT INTO team (id, name) VALUES (1, 'red')")
    await migrator.down()
    assert await diff(db, v1) == ([], [], set())     # the downgrade restored v1 exactly
    assert await _rows(db, "SELECT name FROM member ORDER BY id") == \
        [{"name": "ann"}, {"name": "bob"}]


async def test_types_it_cannot_write_back(db, backend, tmp_path):
    """A downgrade that would need a type asyncqlio has no class for raises, naming it."""
    odd = "timestamp(3)" if backend == "postgresql" else "WEIRDTYPE"
    async with db.get_ddl_session() as sess:
        await sess.execute(f'CREATE TABLE "odd" ("id" INTEGER PRIMARY KEY, "v" {odd}, '
                           f'"w" {odd})')
    Table = table_base()

    class Odd(Table, table_name="odd"):
        id = Column(Integer, primary_key=True)
        v = Column(Text, nullable=True)

    up, down, _ = await diff(db, Table)
    assert up == ["await sess.alter_column_type('odd', 'v', Text)",
                  "await sess.drop_column('odd', 'w')"]
    assert all(line.startswith("raise NotImplementedError(") for line in down)
    assert odd in down[0] and "odd.w" in down[0] and "odd.v" in down[1]


async def test_a_model_the_database_refuses(db):
    Table = table_base()

    class Team(Table, table_name="team"):
        id = Column(Integer, primary_key=True)
        name = Column(Text, server_default="1 +")

    async with db.get_ddl_session() as sess:
        await sess.execute('CREATE TABLE "team" ("id" INTEGER PRIMARY KEY, "name" TEXT)')
    with pytest.raises(exc.SchemaError, match="'team'"):
        await diff(db, Table)


async def test_compound_foreign_keys_are_left_alone(db):
    """A Table class cannot declare one, so its absence there is no reason to drop it."""
    async with db.get_ddl_session() as sess:
        await sess.execute('CREATE TABLE "parent" ("a" INTEGER NOT NULL, "b" INTEGER NOT NULL, '
                           'PRIMARY KEY ("a", "b"))')
        await sess.execute('CREATE TABLE "child" ("id" INTEGER PRIMARY KEY, "a" INTEGER, '
                           '"b" INTEGER, FOREIGN KEY ("a", "b") REFERENCES "parent" ("a", "b"))')
    Table = table_base()

    class Parent(Table, table_name="parent"):
        a = Column(Integer, primary_key=True)
        b = Column(Integer, primary_key=True)

    class Child(Table, table_name="child"):
        id = Column(Integer, primary_key=True)
        a = Column(Integer, nullable=True)
        b = Column(Integer, nullable=True)

    assert await diff(db, Table) == ([], [], set())


async def _migrated_to(db, base: type, tmp_path) -> tuple[ScriptDirectory, Migrator]:
    """A migrations folder with base's tables autogenerated, and applied."""
    scripts = ScriptDirectory(tmp_path / "migrations")
    scripts.init()
    migrator = Migrator(db, scripts)
    await autogenerate(db, base, scripts, "first")
    await migrator.up()
    return scripts, migrator


def retyped(n: int) -> type:
    Table = table_base()

    class Item(Table, table_name="item"):
        id = Column(Integer, primary_key=True)
        if n == 1:
            qty = Column(Integer, server_default="0")
            label = Column(String(10), server_default="'x'")
        else:
            qty = Column(Real, server_default="0")
            label = Column(Text, server_default="'x'")

    return Table


async def test_type_change_of_a_column_with_a_default(db, backend, tmp_path):
    """Regression: on PostgreSQL a type change wrote the default back as
    ``(0)::double precision``, which autogenerate then took for a change (and each way back
    added a cast: ``0::double precision::integer``)."""
    v1, v2 = retyped(1), retyped(2)
    scripts, migrator = await _migrated_to(db, v1, tmp_path)
    path, changes = await autogenerate(db, v2, scripts, "v2")
    assert "alter_column_type('item', 'qty', Real)" in path.read_text()
    await migrator.up()
    assert await diff(db, v2) == ([], [], set())
    async with db.get_ddl_session() as sess:
        assert (await sess.get_table("item")).column("qty").default == "0"
        await sess.execute("INSERT INTO item DEFAULT VALUES")
    assert await _rows(db, "SELECT qty, label FROM item") == [{"qty": 0.0, "label": "x"}]
    await migrator.down()
    assert await diff(db, v1) == ([], [], set())
    async with db.get_ddl_session() as sess:   # by hand too: the default stays as written
        await sess.alter_column_type("item", "qty", Real)
        assert (await sess.get_table("item")).column("qty").default == "0"


def grown(n: int) -> type:
    Table = table_base()

    class Note(Table, table_name="note"):
        id = Column(Integer, primary_key=True)
        if n == 1:
            tag = Column(String(10), nullable=True, index=True)
            a = Column(Integer, nullable=True)
            b = Column(Integer, nullable=True)
            by_ba = Index(b, a, name="ix_note_ba")   # b comes back first, a last
        else:
            topic = Column(String(10), nullable=True, index=True)

    return Table


async def test_added_and_dropped_columns_with_indexes(db, tmp_path):
    """Regression: a new ``index=True`` column got its index twice (add_column makes it, and
    a create_index followed: "index already exists"), and the downgrade of a dropped column
    did not bring back the indexes that went with it."""
    v1, v2 = grown(1), grown(2)
    scripts, migrator = await _migrated_to(db, v1, tmp_path)
    path, _ = await autogenerate(db, v2, scripts, "v2")
    assert "create_index('note', 'ix_note_topic'" not in path.read_text()
    await migrator.up()
    assert await diff(db, v2) == ([], [], set())
    await migrator.down()
    assert await diff(db, v1) == ([], [], set())
    async with db.get_ddl_session() as sess:
        assert {(i.name, tuple(i.columns)) for i in await sess.inspector.get_indexes("note")} == \
            {("ix_note_tag", ("tag",)), ("ix_note_ba", ("b", "a"))}


async def test_expression_and_partial_indexes_are_left_alone(db):
    """Regression: an expression index came back from PostgreSQL with no columns, so
    autogenerate dropped it (with a downgrade that could not make it again) and
    generate_schema wrote ``Index(, name=...)``; a partial one lost its WHERE."""
    base = grown(2)
    db.bind_tables(base)
    await base.metadata.tables["note"].create()
    async with db.get_ddl_session() as sess:
        await sess.execute('CREATE INDEX "ix_lower" ON "note" (lower("topic"))')
        await sess.execute('CREATE UNIQUE INDEX "ix_some" ON "note" ("topic") WHERE "id" > 5')
        indexes = {i.name: i for i in await sess.inspector.get_indexes("note")}
    assert indexes["ix_lower"].columns == [None] and indexes["ix_some"].partial
    assert await diff(db, base) == ([], [], set())
    source = await inspection.generate_schema(db, "note")
    namespace: dict = {}
    exec(compile(source, "generated", "exec"), namespace)
    assert "# index 'ix_lower'" in source and "# index 'ix_some'" in source
    assert [i.name for i in namespace["Note"].__table__.indexes] == ["ix_note_topic"]


async def test_generated_source_for_awkward_names(db, backend):
    """Regression: a table called ``column`` (or ``table``...) was written as a class that
    shadowed the import (or the base) the next classes use, a column called ``metadata``
    (or ``create``) replaced the Table class's own attribute, a type asyncqlio does not know
    became Text silently, and "every table" included the migrations' version table."""
    odd = "timestamp(3)" if backend == "postgresql" else "WEIRDTYPE"
    async with db.get_ddl_session() as sess:
        await sess.execute('CREATE TABLE "column" ("id" INTEGER PRIMARY KEY, '
                           f'"metadata" TEXT, "create" INTEGER, "at" {odd})')
        await sess.execute('CREATE TABLE "table" ("id" INTEGER PRIMARY KEY, "column_id" '
                           'INTEGER REFERENCES "column" ("id"))')
    await Migrator(db, "unused").ensure_version_table()
    Base = table_base()
    db.bind_tables(Base)
    source = await inspection.generate_schema(db)
    namespace: dict = {}
    exec(compile(source, "generated", "exec"), namespace)
    tables = namespace["Table"].metadata.tables
    assert sorted(tables) == ["column", "table"]
    assert [c.name for c in tables["column"].__table__.columns] == \
        ["id", "metadata", "create", "at"]
    assert f"# {odd}" in source and "in the database" in source
    assert tables["table"].__table__.columns[1].foreign_key.resolve().table_name == "column"


def each_other() -> type:
    Table = table_base()

    class Person(Table, table_name="person"):
        id = Column(Integer, primary_key=True)
        home_id = Column(Integer, nullable=True, foreign_key=ForeignKey("house.id"))
        boss_id = Column(Integer, nullable=True, foreign_key=ForeignKey("person.id"))

    class House(Table, table_name="house"):
        id = Column(Integer, primary_key=True)
        owner_id = Column(Integer, nullable=True,
                          foreign_key=ForeignKey("person.id", on_delete="SET NULL"))

    return Table


async def test_new_tables_that_reference_each_other(db, tmp_path):
    """Regression: the first of two new tables with keys to each other was created with a
    REFERENCES to the other, not made yet (PostgreSQL refused the migration)."""
    base = each_other()
    scripts, migrator = await _migrated_to(db, base, tmp_path)
    assert await diff(db, base) == ([], [], set())
    async with db.get_ddl_session() as sess:
        keys = {(t, fk.columns[0], fk.target_table, fk.on_delete)
                for t in ("person", "house") for fk in await sess.get_foreign_keys(t)}
    assert keys == {("person", "home_id", "house", None), ("person", "boss_id", "person", None),
                    ("house", "owner_id", "person", "SET NULL")}
    await migrator.down()
    async with db.get_ddl_session() as sess:
        assert await sess.table_names() == ["asyncqlio_migrations"]
