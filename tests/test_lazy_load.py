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
        # the old value as Python sees it, though the history keeps the driver's
        assert _row.written(row) == (1,) and _row.old_value(row, 1) is False
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


async def test_unread_columns_written_then_rolled_back_or_rekeyed(db):
    """Writes to columns never read: the history keeps their driver values, and a rollback
    to a checkpoint, ``is_modified`` and an UPDATE by the old key all see Python values."""
    key, when = await _load(db)
    async with db.get_session() as sess:
        row = await sess.select(Event).first()
        await sess.checkpoint("cp")
        row.at = when + datetime.timedelta(hours=1)
        row.done = False  # the same value: not a change
        assert sess.is_modified(row) and _row.changed(row) == (2,)
        await sess.flush()
        await sess.rollback("cp")
        assert (row.done, row.at) == (False, when) and type(row.at) is datetime.datetime
        assert not sess.is_modified(row)
        new_key = uuid.uuid4()
        row.id = new_key  # the key, never read: the UPDATE finds the row by the old one
        assert _row.old_value(row, 0) == key
        await sess.flush()
        assert await sess.get(Event, new_key) is row
    async with db.get_session() as sess:
        assert [(e.id, e.done, e.at) for e in await sess.select(Event)] == [(new_key, False, when)]


def test_materialize_converts_everything():
    rows = _row.hydrate(Event, [(str(uuid.UUID(int=5)), 1, "2024-01-01 00:00:00")],
                        Event.__table__.loaders_for("sqlite"), None)
    _row.materialize(rows[0])
    assert rows[0]._unconverted == 0
    assert list(rows[0]._values) == [uuid.UUID(int=5), True, datetime.datetime(2024, 1, 1)]
