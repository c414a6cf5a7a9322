"""sessionmaker and scoped_session on both backends."""
from __future__ import annotations

import asyncio

import pytest

from asyncqlio import Column, Integer, String, scoped_session, sessionmaker, table_base

Table = table_base()


class Note(Table, table_name="notes"):
    id = Column(Integer, primary_key=True)
    text = Column(String(32))


@pytest.fixture
async def db(db):
    db.bind_tables(Table)
    await Note.create()
    return db


async def test_sessionmaker_defaults_and_configure(db):
    Session = sessionmaker(db, autoflush=False)
    sess = Session()
    assert sess.autoflush is False and sess.bind is db
    assert Session(autoflush=True).autoflush is True
    Session.configure(autoflush=True)
    assert Session().autoflush is True


async def test_sessionmaker_begin_commits_or_rolls_back(db):
    Session = sessionmaker(db)
    async with Session.begin() as sess:
        sess.add(Note(id=1, text="kept"))
    with pytest.raises(RuntimeError):
        async with Session.begin() as sess:
            sess.add(Note(id=2, text="dropped"))
            await sess.flush()
            raise RuntimeError
    assert sess.state.name == "CLOSED"
    async with Session() as sess:
        assert [n.text for n in await sess.select(Note)] == ["kept"]


async def test_scoped_session_is_per_task(db):
    scoped = scoped_session(sessionmaker(db))
    mine = scoped()
    assert scoped() is mine and scoped.has()

    async def other() -> object:
        sess = scoped()
        sess.add(Note(id=5, text="other task"))
        await sess.commit()
        await scoped.remove()
        return sess

    theirs = await asyncio.create_task(other())
    assert theirs is not mine and theirs.state.name == "CLOSED"
    assert (await scoped.get(Note, 5)).text == "other task"  # proxies to mine
    await scoped.remove()
    assert not scoped.has() and mine.state.name == "CLOSED"


async def test_scoped_session_with_a_scope_function(db):
    scope = ["a"]
    scoped = scoped_session(sessionmaker(db), scopefunc=lambda: scope[0])
    a = scoped()
    scope[0] = "b"
    assert scoped() is not a
    await scoped.remove()
    scope[0] = "a"
    assert scoped() is a
    await scoped.remove()
