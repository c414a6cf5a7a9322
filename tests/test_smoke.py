from asyncqlio import Column, Integer, String, table_base

Table = table_base()


class Thing(Table, table_name="things"):
    id = Column(Integer, primary_key=True)
    name = Column(String(32))


async def test_insert_and_select(db):
    db.bind_tables(Table)
    await Thing.create()
    async with db.get_session() as sess:
        t = await sess.add(Thing(name="a"))
        assert t.id == 1
    async with db.get_session() as sess:
        rows = await sess.select(Thing)
        assert [(r.id, r.name) for r in rows] == [(1, "a")]
