"""The live schema read back as objects, and ``Table.generate_schema()`` writing it as Python."""
from __future__ import annotations

import decimal
import os

import pytest

from asyncqlio import (JSON, UUID, BigInt, Boolean, Bytea, Column, Date, ForeignKey, Index,
                       Integer, Numeric, Real, Serial, String, Text, Timestamp, table_base)
from asyncqlio.orm.schema import types
from asyncqlio.orm import inspection
from asyncqlio.orm.inspection import Inspector, type_from_sql

Table = table_base()


class Team(Table, table_name="team"):
    id = Column(Integer, primary_key=True)
    name = Column(String(32), unique=True)


class Player(Table, table_name="player"):
    id = Column(BigInt, primary_key=True, autoincrement=False)
    name = Column(String(64), index=True)
    bio = Column(Text, nullable=True)
    score = Column(Real, server_default="1.5")
    price = Column(Numeric(10, 2), nullable=True)
    active = Column(Boolean, server_default="TRUE")
    born = Column(Date, nullable=True)
    seen = Column(Timestamp, nullable=True)
    blob = Column(Bytea, nullable=True)
    token = Column(UUID, nullable=True)
    data = Column(JSON, nullable=True)
    team_id = Column(Integer, nullable=True,
                     foreign_key=ForeignKey("team.id", on_delete="CASCADE", on_update="SET NULL"))
    by_team = Index(team_id, name, unique=True, name="by_team")


class Pair(Table, table_name="pair"):
    a = Column(Integer, primary_key=True)
    b = Column(String(8), primary_key=True)


class Count(Table, table_name="count"):
    id = Column(Serial, primary_key=True)


@pytest.fixture
async def made(db):
    db.bind_tables(Table)
    for t in (Team, Player, Pair, Count):
        await t.create()
    return db


async def test_tables_and_columns(made, backend):
    async with made.get_ddl_session() as sess:
        insp = Inspector(sess)
        assert await insp.table_names() == ["count", "pair", "player", "team"]
        cols = {c.name: c for c in await insp.get_columns("player")}
    assert list(cols) == [c.name for c in Player.iter_columns()]
    expect = {"id": types.BigInt if backend == "postgresql" else types.Integer,
              "name": types.String, "bio": types.Text, "score": types.Real,
              "price": types.Numeric, "active": types.Boolean, "born": types.Date,
              "seen": types.Timestamp, "blob": types.Bytea, "token": types.UUID,
              "data": types.JSON if backend == "postgresql" else types.Text,
              "team_id": types.Integer}
    for name, cls in expect.items():
        assert type(cols[name].type) is cls, name
    assert cols["name"].type.size == 64
    assert (cols["price"].type.precision, cols["price"].type.scale) == (10, 2)
    assert cols["id"].primary_key and not cols["id"].nullable
    # SQLite: an INTEGER PRIMARY KEY is the rowid, numbered when NULL, whatever was declared
    assert cols["id"].autoincrement == (backend == "sqlite")
    assert not cols["name"].nullable and cols["bio"].nullable
    assert cols["score"].default == "1.5"
    assert cols["active"].default is not None
    assert cols["bio"].default is None


async def test_keys_indexes_foreign_keys(made, backend):
    async with made.get_ddl_session() as sess:
        team = await sess.get_table("team")
        player = await sess.get_table("player")
        pair = await sess.get_table("pair")
        count = await sess.get_table("count")
    assert team.primary_key == ["id"] and team.column("id").autoincrement
    assert team.column("name").unique and not team.indexes  # the UNIQUE is a constraint
    assert pair.primary_key == ["a", "b"]
    assert not pair.column("a").autoincrement
    assert count.column("id").autoincrement
    if backend == "postgresql":
        assert type(count.column("id").type) is types.Serial
    ix = {i.name: i for i in player.indexes}
    assert ix["ix_player_name"].columns == ["name"] and not ix["ix_player_name"].unique
    assert ix["by_team"].columns == ["team_id", "name"] and ix["by_team"].unique
    [fk] = player.foreign_keys
    assert (fk.columns, fk.target_table, fk.target_columns) == (["team_id"], "team", ["id"])
    assert (fk.on_delete, fk.on_update) == ("CASCADE", "SET NULL")


async def test_missing_table_has_nothing(made):
    async with made.get_ddl_session() as sess:
        assert await sess.get_columns("nope") == []
        assert await sess.inspector.get_indexes("nope") == []
        assert not await sess.inspector.has_table("nope")


async def test_only_the_current_schema(made, backend):
    if backend != "postgresql":
        pytest.skip("schemas are PostgreSQL's")
    other = f"asyncqlio_other_{os.getpid()}"
    async with made.get_ddl_session() as sess:
        await sess.execute(f'CREATE SCHEMA IF NOT EXISTS "{other}"')
        await sess.execute(f'CREATE TABLE IF NOT EXISTS "{other}"."team" ("zzz" INTEGER)')
        cols = [c.name for c in await sess.get_columns("team")]
        names = await sess.table_names()
        await sess.execute(f'DROP SCHEMA "{other}" CASCADE')
    assert names == ["count", "pair", "player", "team"]
    assert cols == ["id", "name"]


def test_type_names():
    assert type_from_sql("character varying(12)").size == 12
    assert type_from_sql("VARCHAR").size == -1
    assert type_from_sql("timestamp with time zone").timezone
    assert type(type_from_sql("CHAR(36)")) is types.UUID
    assert type(type_from_sql("something odd")) is types.Text


async def test_generate_schema_round_trips(made, backend):
    source = await inspection.generate_schema(made, "player")
    assert "class Player(Table, table_name='player'):" in source
    namespace: dict = {}
    exec(compile(source, "<generated>", "exec"), namespace)
    Gen = namespace["Player"]
    assert [c.name for c in Gen.iter_columns()] == [c.name for c in Player.iter_columns()]
    for mine, theirs in zip(Player.iter_columns(), Gen.iter_columns()):
        assert mine.nullable == theirs.nullable, mine.name
        assert mine.primary_key == theirs.primary_key, mine.name
        assert mine.type.ddl(backend) == theirs.type.ddl(backend) or backend == "sqlite" \
            and mine.name in ("data", "id"), mine.name
    assert {i.name for i in Gen.__table__.indexes} == {"by_team", "ix_player_name"}
    assert Gen.get_column("team_id").foreign_key.on_delete == "CASCADE"
    assert Gen.get_column("id").is_autoincrement == (backend == "sqlite")

    # the generated module works as models: create its tables in a fresh database (read
    # with asyncqlio 0.2's form, which still works with a warning)
    with pytest.warns(DeprecationWarning, match="inspection.generate_schema"):
        whole = await Table.generate_schema()
    namespace = {}
    exec(compile(whole, "<generated>", "exec"), namespace)
    assert {"Team", "Player", "Pair", "Count"} <= set(namespace)
    async with made.get_ddl_session() as sess:
        for t in ("player", "pair", "count", "team"):
            await sess.drop_table(t)
    made.bind_tables(namespace["Table"])
    for name in ("Team", "Player", "Pair", "Count"):
        await namespace[name].create()
    async with made.get_session() as sess:
        await sess.execute("INSERT INTO team (name) VALUES ('t')")
        await sess.execute("INSERT INTO player (id, name, price, team_id) "
                           "VALUES (1, 'p', 2.50, 1)")
        row = await sess.fetch("SELECT price, score FROM player")
    assert decimal.Decimal(str(row["price"])) == decimal.Decimal("2.50")
    assert row["score"] == 1.5


async def test_generate_schema_of_a_missing_table(made):
    with pytest.raises(Exception, match="nope"):
        await inspection.generate_schema(made, "nope")


async def test_one_column_renderer_for_models_and_live_columns(made):
    """A model column and the live column made from it are written as the same source."""
    from asyncqlio.orm.inspection import ColumnSpec, column_source
    async with made.get_ddl_session() as sess:
        schemas = {t: await sess.get_table(t) for t in ("team", "pair")}
    for model in (Team, Pair):
        schema = schemas[model.__table__.name]
        for column, live in zip(model.iter_columns(), schema.columns):
            mine, theirs = set(), set()
            assert column_source(ColumnSpec.of_column(column), mine) == \
                column_source(ColumnSpec.of_live(live, schema), theirs)
            assert mine == theirs
    assert column_source(ColumnSpec.of_column(Team.name), set(), attr="name") == \
        "Column(String(32), unique=True)"
    assert column_source(ColumnSpec.of_column(Player.team_id), set(), attr="team") == \
        "Column(Integer, name='team_id', nullable=True, foreign_key=ForeignKey('team.id', " \
        "on_delete='CASCADE', on_update='SET NULL'))"
