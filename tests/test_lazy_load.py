"""A loaded row converts a column from the driver's value on first use: reads, writes, the
history, keys and equality all see Python values."""
import datetime
import uuid

from asyncqlio import Boolean, Column, Timestamp, UUID, table_base
from asyncqlio._speedups import _row

Table = table_base()


class Event(Table, table_name="lazy_events"):
    id = Column(UUID, primary_key=True)
    done = Column(Boolean)
    at = Column(Timestamp)


async def _load(db):
    db.bind_tables(Table)
    await Event.create()
    key = uuid.uuid4()
    when = datetime.datetime(2024, 2, 3, 4, 5, 6)
    async with db.get_session() as sess:
        await sess.add(Event(id=key, done=False, at=when))
    return key, when


async def test_columns_convert_on_first_read_and_write(db, backend):
    key, when = await _load(db)
    async with db.get_session() as sess:
        row = await sess.select(Event).first()
        if backend == "sqlite":
            assert row._unconverted  # nothing converted yet
        assert type(row.done) is bool and row.done is False
        assert row.at == when and type(row.at) is datetime.datetime
        row.done = True
        assert row._history == {1: False}  # the old value as Python saw it
        assert row.id == key and type(row.id) is uuid.UUID
        assert row._unconverted == 0
        await sess.add(row)
    async with db.get_session() as sess:
        again = await sess.select(Event).where(Event.id == key).first()
        assert (again.done, again.at) == (True, when)


async def test_key_and_equality_of_an_unread_row(db):
    key, _ = await _load(db)
    async with db.get_session() as sess:
        loaded = await sess.select(Event).first()
        assert loaded.primary_key_values() == (key,)
        assert loaded == Event(id=key)
        assert hash(loaded) == hash(Event(id=key))


async def test_write_of_an_unread_row_updates_by_its_key(db):
    key, when = await _load(db)
    async with db.get_session() as sess:
        row = await sess.select(Event).first()
        row.at = when + datetime.timedelta(days=1)  # id never read
        await sess.update_now(row)
    async with db.get_session() as sess:
        assert (await sess.select(Event).first()).at == when + datetime.timedelta(days=1)


def test_materialize_converts_everything():
    rows = _row.hydrate(Event, [(str(uuid.UUID(int=5)), 1, "2024-01-01 00:00:00")],
                        Event.__table__.loaders_for("sqlite"), None)
    _row.materialize(rows[0])
    assert rows[0]._unconverted == 0
    assert list(rows[0]._values) == [uuid.UUID(int=5), True, datetime.datetime(2024, 1, 1)]
