"""A SQLite table rebuild (the DDL session's way to change what SQLite's ALTER TABLE cannot)
keeps what PRAGMA table_info does not report: CHECK constraints, COLLATE, AUTOINCREMENT with
its counter, generated columns, constraint names, WITHOUT ROWID. Each is checked in
sqlite_master and by behaviour."""
from __future__ import annotations

import pytest

from asyncqlio import Column, DatabaseInterface, Integer, Real, exc
from asyncqlio.backends.sqlite3.ddltext import SQLiteTable, sqlite_default


@pytest.fixture
async def db(tmp_path):
    interface = DatabaseInterface(f"sqlite:///{tmp_path / 'rebuild.db'}")
    await interface.connect()
    try:
        yield interface
    finally:
        await interface.close()


async def _sql(db, table: str) -> str:
    async with db.get_ddl_session() as sess:
        [row] = await sess.fetch_all("SELECT sql FROM sqlite_master WHERE name = ?", (table,))
    return row["sql"]


async def _run(db, *statements: str) -> None:
    async with db.get_session() as sess:
        for sql in statements:
            await sess.execute(sql)


async def _rows(db, sql: str) -> list[dict]:
    async with db.get_ddl_session() as sess:
        return await sess.fetch_all(sql)


@pytest.fixture
async def item(db):
    await _run(db, '''CREATE TABLE "item" (
        "id" INTEGER PRIMARY KEY AUTOINCREMENT,
        "name" TEXT NOT NULL COLLATE NOCASE UNIQUE,
        "qty" INTEGER NOT NULL CHECK ("qty" >= 0) DEFAULT 1,
        "price" INTEGER,
        "note" TEXT,
        CONSTRAINT "price_positive" CHECK (price > 0 OR price IS NULL)
    )''', "INSERT INTO item (name, qty, price) VALUES ('Apple', 3, 10), ('pear', 0, NULL), "
          "('plum', 5, 7)")
    return db


async def _alter_every_way(db) -> None:
    """Three rebuilds: a type change, a dropped column and an added foreign key."""
    async with db.get_ddl_session() as sess:
        await sess.alter_column_type("item", "price", Real)
    async with db.get_ddl_session() as sess:
        await sess.create_index("item", "ix_item_note", "note")
        await sess.drop_column("item", "note")
    async with db.get_ddl_session() as sess:
        await sess.create_table("shelf", Column.with_name("id", Integer, primary_key=True))
        await sess.add_column("item", Column.with_name("shelf_id", Integer, nullable=True))
        await sess.add_foreign_key("item", "shelf_id", "shelf", "id")


async def test_check_constraints_survive(item):
    await _alter_every_way(item)
    sql = await _sql(item, "item")
    assert 'CHECK ("qty" >= 0)' in sql
    assert 'CONSTRAINT "price_positive" CHECK (price > 0 OR price IS NULL)' in sql
    assert '"price" REAL' in sql and '"note"' not in sql and "REFERENCES" in sql
    for bad in ("INSERT INTO item (name, qty) VALUES ('fig', -1)",
                "INSERT INTO item (name, price) VALUES ('fig', -2.5)",
                "UPDATE item SET qty = -5 WHERE name = 'plum'"):
        with pytest.raises(exc.IntegrityError):
            await _run(item, bad)
    await _run(item, "INSERT INTO item (name, price) VALUES ('fig', 2.5)")
    rows = await _rows(item, "SELECT name, qty, price FROM item ORDER BY id")
    assert rows == [{"name": "Apple", "qty": 3, "price": 10.0},
                    {"name": "pear", "qty": 0, "price": None},
                    {"name": "plum", "qty": 5, "price": 7.0},
                    {"name": "fig", "qty": 1, "price": 2.5}]


async def test_collate_nocase_survives(item):
    await _alter_every_way(item)
    assert "COLLATE NOCASE" in await _sql(item, "item")
    assert await _rows(item, "SELECT id FROM item WHERE name = 'APPLE'") == [{"id": 1}]
    with pytest.raises(exc.IntegrityError):  # the UNIQUE compares case-insensitively too
        await _run(item, "INSERT INTO item (name) VALUES ('PEAR')")
    assert [r["name"] for r in await _rows(item, "SELECT name FROM item ORDER BY name")] == \
        ["Apple", "pear", "plum"]


async def test_autoincrement_and_its_counter_survive(item):
    await _run(item, "DELETE FROM item WHERE id = 3")     # 3 is never used again
    await _alter_every_way(item)
    assert "AUTOINCREMENT" in await _sql(item, "item")
    assert await _rows(item, "SELECT seq FROM sqlite_sequence WHERE name = 'item'") == \
        [{"seq": 3}]
    await _run(item, "INSERT INTO item (name) VALUES ('kiwi')")
    assert await _rows(item, "SELECT id FROM item WHERE name = 'kiwi'") == [{"id": 4}]


async def test_autoincrement_of_an_emptied_table(item):
    await _run(item, "DELETE FROM item")
    async with item.get_ddl_session() as sess:
        await sess.alter_column_type("item", "price", Real)
    await _run(item, "INSERT INTO item (name) VALUES ('kiwi')")
    assert await _rows(item, "SELECT id FROM item") == [{"id": 4}]


async def test_quoted_identifiers(db):
    await _run(db, '''CREATE TABLE "we""ird tab" (
        [my id] INTEGER PRIMARY KEY,
        "select" TEXT CHECK (length("select") < 10) COLLATE NOCASE,
        `a"b` INTEGER DEFAULT (1 + 1),
        "gone" TEXT,
        CHECK ("a""b" < 100),
        CHECK ("gone" <> 'x')
    )''', '''INSERT INTO "we""ird tab" ("select", "a""b", "gone") VALUES ('One', 5, 'y')''')
    async with db.get_ddl_session() as sess:
        await sess.drop_column('we"ird tab', "gone")       # its CHECK goes with it
        await sess.alter_column_type('we"ird tab', 'a"b', Real)
        cols = [c.name for c in await sess.get_columns('we"ird tab')]
    assert cols == ["my id", "select", 'a"b']
    sql = await _sql(db, 'we"ird tab')
    assert 'CHECK (length("select") < 10)' in sql and 'CHECK ("a""b" < 100)' in sql
    assert "gone" not in sql and "DEFAULT (1 + 1)" in sql
    with pytest.raises(exc.IntegrityError):
        await _run(db, '''INSERT INTO "we""ird tab" ("select") VALUES ('far too long a text')''')
    await _run(db, '''INSERT INTO "we""ird tab" ("select") VALUES ('two')''')
    rows = await _rows(db, '''SELECT * FROM "we""ird tab" WHERE "select" = 'ONE' ''')
    assert rows == [{"my id": 1, "select": "One", 'a"b': 5.0}]
    assert (await _rows(db, '''SELECT "a""b" AS v FROM "we""ird tab" WHERE "my id" = 2'''))[0] \
        == {"v": 2.0}


async def test_generated_columns_and_table_options(db):
    await _run(db, 'CREATE TABLE "box" ("w" INTEGER NOT NULL, "h" INTEGER NOT NULL, '
                   '"area" INTEGER GENERATED ALWAYS AS ("w" * "h") STORED, "label" TEXT, '
                   'PRIMARY KEY ("w")) WITHOUT ROWID',
               "INSERT INTO box (w, h, label) VALUES (2, 3, 'a')")
    async with db.get_ddl_session() as sess:
        await sess.alter_column("box", "label", nullable=False, server_default="'none'")
        with pytest.raises(exc.SchemaError, match="generated"):
            await sess.drop_column("box", "h")
    sql = await _sql(db, "box")
    assert sql.endswith("WITHOUT ROWID") and 'GENERATED ALWAYS AS ("w" * "h") STORED' in sql
    await _run(db, "INSERT INTO box (w, h) VALUES (4, 5)")
    assert await _rows(db, "SELECT area, label FROM box ORDER BY w") == \
        [{"area": 6, "label": "a"}, {"area": 20, "label": "none"}]


async def test_named_foreign_keys(db):
    await _run(db, 'CREATE TABLE "p" ("id" INTEGER PRIMARY KEY)',
               'CREATE TABLE "c" ("id" INTEGER PRIMARY KEY, "p1" INTEGER '
               'CONSTRAINT "to_p" REFERENCES "p" ("id") ON DELETE CASCADE, "p2" INTEGER, '
               'CHECK ("p2" > 0))',
               "INSERT INTO p VALUES (1)", "INSERT INTO c VALUES (1, 1, NULL)")
    async with db.get_ddl_session() as sess:
        await sess.add_foreign_key("c", "p2", "p", "id", name="also_p")
        assert sorted(fk.name for fk in await sess.get_foreign_keys("c")) == ["also_p", "to_p"]
        await sess.drop_foreign_key("c", name="to_p")
        [fk] = await sess.get_foreign_keys("c")
    assert (fk.name, fk.columns) == ("also_p", ["p2"])
    sql = await _sql(db, "c")
    assert "to_p" not in sql and 'CHECK ("p2" > 0)' in sql
    await _run(db, "DELETE FROM p")   # nothing cascades any more
    assert await _rows(db, "SELECT * FROM c") == [{"id": 1, "p1": 1, "p2": None}]
    with pytest.raises(exc.IntegrityError):
        await _run(db, "INSERT INTO c VALUES (2, 9, 9)")


def test_parse_and_render():
    table = SQLiteTable.parse(
        "CREATE TABLE t (a INT NOT NULL ON CONFLICT IGNORE DEFAULT -1 /* note */, "
        "b VARCHAR ( 10 ) REFERENCES u ON UPDATE SET NULL NOT DEFERRABLE NOT NULL, "
        "UNIQUE (a, b)) STRICT")
    a, b = table.columns
    assert (a.type, [k.kind for k in a.clauses]) == ("INT", ["not null", "default"])
    assert b.type == "VARCHAR ( 10 )" and b.clause("references").foreign_key.on_update == \
        "SET NULL"
    assert [k.kind for k in b.clauses] == ["references", "not null"]
    assert table.options == "STRICT" and table.constraints[0].columns == ["a", "b"]
    table.drop_column("b")
    assert table.render("n") == 'CREATE TABLE "n" (\n    "a" INT NOT NULL ON CONFLICT IGNORE ' \
        'DEFAULT -1\n) STRICT'
    with pytest.raises(exc.SchemaError, match="unexpected"):
        SQLiteTable.parse("CREATE TABLE t (a INT NOT WHAT)")
    with pytest.raises(NotImplementedError, match="virtual"):
        SQLiteTable.parse("CREATE VIRTUAL TABLE t USING fts5(a)")
    assert [sqlite_default(d) for d in ("1 + 1", "-1", "'x'", "(1) + (2)", "CURRENT_TIMESTAMP",
                                        "(2)")] == \
        ["(1 + 1)", "-1", "'x'", "((1) + (2))", "CURRENT_TIMESTAMP", "(2)"]


async def test_views_and_their_triggers_survive(item):
    await _run(item, 'CREATE VIEW "cheap" AS SELECT "id", "name", "price" FROM "item" '
                     'WHERE "price" < 9',
               'CREATE VIEW "cheap_names" AS SELECT "name" FROM "cheap"',
               'CREATE TABLE "log" ("what" TEXT)',
               'CREATE TRIGGER "tr_cheap" INSTEAD OF INSERT ON "cheap" '
               'BEGIN INSERT INTO "log" VALUES (NEW."name"); END')
    await _alter_every_way(item)
    assert await _rows(item, "SELECT * FROM cheap_names") == [{"name": "plum"}]
    await _run(item, "INSERT INTO cheap (name) VALUES ('via view')")
    assert await _rows(item, "SELECT what FROM log") == [{"what": "via view"}]
    with pytest.raises(exc.SchemaError, match="the view 'cheap' uses it"):
        async with item.get_ddl_session() as sess:   # a view of a dropped column: refused
            await sess.drop_column("item", "price")
    assert '"price"' in await _sql(item, "item")     # and nothing changed
    assert await _rows(item, "SELECT name FROM cheap") == [{"name": "plum"}]
    # through another view: caught by reading every view once they are back
    await _run(item, 'DROP VIEW "cheap_names"', 'DROP VIEW "cheap"',
               'CREATE VIEW "everything" AS SELECT * FROM item',
               'CREATE VIEW "names" AS SELECT name FROM everything')
    with pytest.raises(exc.SchemaError, match="the view 'names' would break"):
        async with item.get_ddl_session() as sess:
            await sess.drop_column("item", "name")
    assert '"name"' in await _sql(item, "item")
    assert len(await _rows(item, "SELECT * FROM names")) == 3
