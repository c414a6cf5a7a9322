"""The DDL session on both backends: every operation checked by inspection and by the rows
surviving it (SQLite rebuilds tables for some of them)."""
from __future__ import annotations

import pytest

from asyncqlio import Column, ForeignKey, Integer, Real, String, Text, exc
from asyncqlio.orm.schema import types


async def _rows(db, sql: str) -> list[dict]:
    async with db.get_ddl_session() as sess:
        return await sess.fetch_all(sql)


@pytest.fixture
async def people(db):
    """team(id, name) with 2 rows; person(id, name UNIQUE, age indexed, team_id -> team)."""
    async with db.get_ddl_session() as sess:
        await sess.create_table("team", Column.with_name("id", Integer, primary_key=True),
                                Column.with_name("name", String(32)))
        await sess.create_table(
            "person", Column.with_name("id", Integer, primary_key=True),
            Column.with_name("name", String(64), unique=True),
            Column.with_name("age", Integer, nullable=True, index=True),
            Column.with_name("team_id", Integer, nullable=True,
                             foreign_key=ForeignKey("team.id", on_delete="CASCADE")))
        await sess.execute("INSERT INTO team (name) VALUES ('red'), ('blue')")
        await sess.execute("INSERT INTO person (name, age, team_id) VALUES "
                           "('ann', 30, 1), ('bob', 40, 2), ('cy', NULL, NULL)")
    return db


async def test_create_table(people):
    async with people.get_ddl_session() as sess:
        table = await sess.get_table("person")
        assert await sess.table_names() == ["person", "team"]
    assert [c.name for c in table.columns] == ["id", "name", "age", "team_id"]
    assert table.column("id").autoincrement and table.column("name").unique
    assert [i.name for i in table.indexes] == ["ix_person_age"]
    assert table.foreign_keys[0].on_delete == "CASCADE"
    rows = await _rows(people, "SELECT id, name FROM person ORDER BY id")
    assert rows == [{"id": 1, "name": "ann"}, {"id": 2, "name": "bob"}, {"id": 3, "name": "cy"}]


async def test_create_table_compound_key_and_if_not_exists(db):
    async with db.get_ddl_session() as sess:
        cols = (Column.with_name("a", Integer, primary_key=True),
                Column.with_name("b", Text, primary_key=True))
        await sess.create_table("pair", *cols)
        await sess.create_table("pair", *cols, if_not_exists=True)
        assert (await sess.get_table("pair")).primary_key == ["a", "b"]
        with pytest.raises(exc.SchemaError):
            await sess.create_table("nokey", Column.with_name("a", Integer))


async def test_add_column(people):
    async with people.get_ddl_session() as sess:
        await sess.add_column("person", Column.with_name("note", Text, nullable=True))
        await sess.add_column("person", Column.with_name("level", Integer, server_default="7"))
        await sess.add_column("person", Column.with_name("code", String(8), nullable=True,
                                                         unique=True, index=True))
        table = await sess.get_table("person")
    cols = {c.name: c for c in table.columns}
    assert list(cols)[-3:] == ["note", "level", "code"]
    assert cols["note"].nullable and not cols["level"].nullable
    assert cols["level"].default is not None and cols["code"].unique
    assert {i.name for i in table.indexes} == {"ix_person_age", "ix_person_code"}
    assert table.foreign_keys and table.column("name").unique
    rows = await _rows(people, "SELECT name, age, level, code FROM person ORDER BY id")
    assert rows[0] == {"name": "ann", "age": 30, "level": 7, "code": None}
    assert len(rows) == 3


async def test_drop_column(people):
    async with people.get_ddl_session() as sess:
        await sess.drop_column("person", "team_id")   # in a foreign key: rebuilt on SQLite
        await sess.drop_column("person", "age")       # indexed: the index goes too
        table = await sess.get_table("person")
    assert [c.name for c in table.columns] == ["id", "name"]
    assert table.indexes == [] and table.foreign_keys == []
    assert table.column("name").unique and table.column("id").autoincrement
    rows = await _rows(people, "SELECT * FROM person ORDER BY id")
    assert rows == [{"id": 1, "name": "ann"}, {"id": 2, "name": "bob"}, {"id": 3, "name": "cy"}]
    async with people.get_ddl_session() as sess:
        await sess.drop_column("team", "name")        # plain ALTER on both
        assert [c.name for c in await sess.get_columns("team")] == ["id"]


async def test_alter_column_type(people, backend):
    async with people.get_ddl_session() as sess:
        await sess.alter_column_type("person", "age", Real)
        await sess.alter_column_type("person", "name", Text)
        table = await sess.get_table("person")
    assert type(table.column("age").type) is types.Real
    assert type(table.column("name").type) is types.Text
    assert table.column("name").unique and [i.name for i in table.indexes] == ["ix_person_age"]
    assert table.foreign_keys[0].target_table == "team"
    rows = await _rows(people, "SELECT name, age FROM person ORDER BY id")
    assert rows == [{"name": "ann", "age": 30.0}, {"name": "bob", "age": 40.0},
                    {"name": "cy", "age": None}]
    assert isinstance(rows[0]["age"], float)
    # text to integer with an explicit conversion
    async with people.get_ddl_session() as sess:
        await sess.add_column("team", Column.with_name("size", Text, server_default="'12'"))
        await sess.execute("UPDATE team SET size = '13' WHERE id = 2")
        cast = '"size"::integer' if backend == "postgresql" else 'CAST("size" AS INTEGER)'
        await sess.alter_column_type("team", "size", Integer, using=cast)
    assert [r["size"] for r in await _rows(people, "SELECT size FROM team ORDER BY id")] == [12, 13]
    async with people.get_ddl_session() as sess:
        assert type((await sess.get_table("team")).column("size").type) is types.Integer
        await sess.execute("INSERT INTO team (name) VALUES ('new')")
    assert (await _rows(people, "SELECT size FROM team WHERE name = 'new'"))[0]["size"] == 12


async def test_rebuild_does_not_touch_children(people):
    """Rebuilding the parent (SQLite) must not cascade into the rows referencing it."""
    async with people.get_ddl_session() as sess:
        await sess.alter_column_type("team", "name", Text)
    rows = await _rows(people, "SELECT name, team_id FROM person ORDER BY id")
    assert [r["team_id"] for r in rows] == [1, 2, None]
    async with people.get_ddl_session() as sess:
        [fk] = await sess.get_foreign_keys("person")
    assert fk.target_table == "team"


async def test_rename_column_and_table(people):
    async with people.get_ddl_session() as sess:
        await sess.rename_column("person", "age", "years")
        await sess.rename_table("team", "squad")
        table = await sess.get_table("person")
        assert await sess.table_names() == ["person", "squad"]
    assert [c.name for c in table.columns] == ["id", "name", "years", "team_id"]
    assert table.indexes[0].columns == ["years"]
    assert table.foreign_keys[0].target_table == "squad"   # references follow the rename
    rows = await _rows(people, "SELECT years FROM person ORDER BY id")
    assert [r["years"] for r in rows] == [30, 40, None]
    assert len(await _rows(people, "SELECT * FROM squad")) == 2


async def test_create_and_drop_index(people):
    async with people.get_ddl_session() as sess:
        await sess.create_index("person", "ix_name_age", "name", "age")
        await sess.create_index("team", "uq_team_name", "name", unique=True)
        indexes = {i.name: i for i in await sess.inspector.get_indexes("person")}
        assert indexes["ix_name_age"].columns == ["name", "age"]
        assert (await sess.inspector.get_indexes("team"))[0].unique
    with pytest.raises(exc.IntegrityError):
        async with people.get_ddl_session() as sess:
            await sess.execute("INSERT INTO team (name) VALUES ('red')")
    async with people.get_ddl_session() as sess:
        await sess.drop_index("uq_team_name")
        await sess.drop_index("ix_name_age")
        await sess.drop_index("ix_name_age", if_exists=True)
        assert await sess.inspector.get_indexes("team") == []
        assert [i.name for i in await sess.inspector.get_indexes("person")] == ["ix_person_age"]
        await sess.execute("INSERT INTO team (name) VALUES ('red')")
    assert len(await _rows(people, "SELECT * FROM team")) == 3


async def test_add_foreign_key(people):
    async with people.get_ddl_session() as sess:
        await sess.create_table("pet", Column.with_name("id", Integer, primary_key=True),
                                Column.with_name("owner", Integer, index=True))
        await sess.execute("INSERT INTO pet (owner) VALUES (1), (1), (2)")
        await sess.add_foreign_key("pet", "owner", "person", "id", on_delete="CASCADE",
                                   on_update="NO ACTION")
        table = await sess.get_table("pet")
    [fk] = table.foreign_keys
    assert (fk.columns, fk.target_table, fk.target_columns, fk.on_delete) == \
        (["owner"], "person", ["id"], "CASCADE")
    assert [i.name for i in table.indexes] == ["ix_pet_owner"]
    assert len(await _rows(people, "SELECT * FROM pet")) == 3
    async with people.get_session() as sess:
        await sess.execute("DELETE FROM person WHERE id = 1")   # the constraint is live
    assert [r["owner"] for r in await _rows(people, "SELECT owner FROM pet")] == [2]
    # rows that break the new key: refused, and nothing changed
    async with people.get_ddl_session() as sess:
        await sess.execute("INSERT INTO team (id, name) VALUES (9, 'x')")
        await sess.execute("UPDATE person SET age = 99")
    with pytest.raises(exc.IntegrityError):
        async with people.get_ddl_session() as sess:
            await sess.add_foreign_key("person", "age", "team", "id")
    async with people.get_ddl_session() as sess:
        assert len(await sess.get_foreign_keys("person")) == 1


async def test_drop_table(people):
    async with people.get_ddl_session() as sess:
        await sess.drop_table("person")
        await sess.drop_table("person", if_exists=True)
        assert await sess.table_names() == ["team"]


async def test_everything_in_one_transaction(people):
    with pytest.raises(exc.DatabaseException):
        async with people.get_ddl_session() as sess:
            await sess.add_column("person", Column.with_name("x", Integer, nullable=True))
            await sess.alter_column_type("person", "age", Text)
            await sess.create_table("t2", Column.with_name("id", Integer, primary_key=True))
            await sess.drop_column("person", "nope_not_here")
    async with people.get_ddl_session() as sess:
        assert await sess.table_names() == ["person", "team"]
        cols = {c.name: c for c in await sess.get_columns("person")}
    assert "x" not in cols and type(cols["age"].type) is types.Integer
    assert len(await _rows(people, "SELECT * FROM person")) == 3


async def test_foreign_keys_back_on_after_the_session(people, backend):
    if backend != "sqlite":
        pytest.skip("PRAGMA foreign_keys is SQLite's")
    async with people.get_ddl_session() as sess:
        assert (await sess.fetch_all("PRAGMA foreign_keys"))[0]["foreign_keys"] == 0
    async with people.get_session() as sess:
        assert (await sess.fetch("PRAGMA foreign_keys"))["foreign_keys"] == 1


async def test_rebuild_keeps_expression_indexes_and_triggers(people, backend):
    if backend != "sqlite":
        pytest.skip("only SQLite rebuilds tables")
    async with people.get_ddl_session() as sess:
        await sess.execute('CREATE INDEX "ix_lower" ON "person" (lower("name")) WHERE "age" > 0')
        await sess.execute('CREATE TABLE "log" ("what" TEXT)')
        await sess.execute('CREATE TRIGGER "tr_person" AFTER INSERT ON "person" '
                           'BEGIN INSERT INTO "log" VALUES (NEW."name"); END')
        await sess.alter_column_type("person", "team_id", types.BigInt)
        found = await sess.fetch_all("SELECT name FROM sqlite_master WHERE tbl_name = 'person' "
                                     "AND type IN ('index', 'trigger') AND sql IS NOT NULL "
                                     "ORDER BY name")
    assert [r["name"] for r in found] == ["ix_lower", "ix_person_age", "tr_person"]
    async with people.get_session() as sess:
        await sess.execute("INSERT INTO person (name) VALUES ('dee')")
    assert await _rows(people, "SELECT what FROM log") == [{"what": "dee"}]


async def test_alter_column_nullable(people):
    with pytest.raises(exc.IntegrityError):   # cy has no age: NOT NULL is refused
        async with people.get_ddl_session() as sess:
            await sess.alter_column("person", "age", nullable=False)
    async with people.get_ddl_session() as sess:
        assert (await sess.get_table("person")).column("age").nullable
        await sess.execute("UPDATE person SET age = 0 WHERE age IS NULL")
        await sess.alter_column("person", "age", nullable=False)
        await sess.alter_column("person", "name", nullable=True)
        table = await sess.get_table("person")
    assert not table.column("age").nullable and table.column("name").nullable
    assert table.column("name").unique and [i.name for i in table.indexes] == ["ix_person_age"]
    assert table.foreign_keys[0].on_delete == "CASCADE"
    with pytest.raises(exc.IntegrityError):
        async with people.get_session() as sess:
            await sess.execute("INSERT INTO person (name) VALUES ('dee')")
    async with people.get_session() as sess:
        await sess.execute("INSERT INTO person (age) VALUES (5)")
    rows = await _rows(people, "SELECT name, age FROM person ORDER BY id")
    assert rows == [{"name": "ann", "age": 30}, {"name": "bob", "age": 40},
                    {"name": "cy", "age": 0}, {"name": None, "age": 5}]


async def test_alter_column_server_default(people):
    async with people.get_ddl_session() as sess:
        await sess.alter_column("person", "age", server_default="18")
        assert (await sess.get_table("person")).column("age").default == "18"
        await sess.execute("INSERT INTO person (name) VALUES ('dee')")
        await sess.execute("UPDATE person SET age = 0 WHERE age IS NULL")
        await sess.alter_column("person", "age", server_default=None, nullable=False)
        column = (await sess.get_table("person")).column("age")
    assert column.default is None and not column.nullable
    assert (await _rows(people, "SELECT age FROM person WHERE name = 'dee'")) == [{"age": 18}]
    async with people.get_ddl_session() as sess:   # type, default and nullability at once
        await sess.alter_column("person", "age", type_=Real, server_default="1.5",
                                nullable=True)
        column = (await sess.get_table("person")).column("age")
        await sess.execute("INSERT INTO person (name) VALUES ('eve')")
    assert type(column.type) is types.Real and column.nullable and column.default == "1.5"
    rows = await _rows(people, "SELECT name, age FROM person ORDER BY id")
    assert [r["age"] for r in rows] == [30.0, 40.0, 0.0, 18.0, 1.5]


async def test_alter_column_bad_input(people):
    async with people.get_ddl_session() as sess:
        with pytest.raises(exc.SchemaError, match="nope"):
            await sess.alter_column("person", "nope", nullable=True)
        with pytest.raises(exc.SchemaError, match="primary key"):
            await sess.alter_column("person", "id", nullable=True)
        with pytest.raises(exc.SchemaError, match="type_"):
            await sess.alter_column("person", "age", using="1")
        with pytest.raises(exc.SchemaError, match="no table"):
            await sess.alter_column("nobody", "age", nullable=True)


async def test_drop_foreign_key(people):
    async with people.get_ddl_session() as sess:
        await sess.drop_foreign_key("person", "team_id")
        table = await sess.get_table("person")
        with pytest.raises(exc.SchemaError, match="no foreign key"):
            await sess.drop_foreign_key("person", ["team_id"])
        with pytest.raises(exc.SchemaError, match="columns or its name"):
            await sess.drop_foreign_key("person")
    assert table.foreign_keys == [] and [c.name for c in table.columns] == \
        ["id", "name", "age", "team_id"]
    assert table.column("name").unique and [i.name for i in table.indexes] == ["ix_person_age"]
    async with people.get_session() as sess:  # no constraint: nothing cascades, nothing refuses
        await sess.execute("DELETE FROM team WHERE id = 1")
        await sess.execute("INSERT INTO person (name, team_id) VALUES ('dee', 77)")
    rows = await _rows(people, "SELECT name, team_id FROM person ORDER BY id")
    assert rows == [{"name": "ann", "team_id": 1}, {"name": "bob", "team_id": 2},
                    {"name": "cy", "team_id": None}, {"name": "dee", "team_id": 77}]


async def test_drop_foreign_key_by_name(people):
    async with people.get_ddl_session() as sess:
        await sess.execute("UPDATE person SET age = NULL")
        await sess.add_foreign_key("person", "age", "team", "id", name="fk_age_team")
        await sess.add_foreign_key("person", "team_id", "team", "id", name="fk_team_again")
        with pytest.raises(exc.SchemaError, match="2 foreign keys"):
            await sess.drop_foreign_key("person", "team_id")
        await sess.drop_foreign_key("person", name="fk_age_team")
        await sess.drop_foreign_key("person", "team_id", name="fk_team_again")
        [fk] = await sess.get_foreign_keys("person")
    assert (fk.columns, fk.on_delete) == (["team_id"], "CASCADE")
    async with people.get_session() as sess:
        await sess.execute("DELETE FROM team WHERE id = 1")   # the first key still cascades
    assert [r["name"] for r in await _rows(people, "SELECT name FROM person ORDER BY id")] == \
        ["bob", "cy"]
