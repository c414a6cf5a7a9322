"""A SQLAlchemy 2.x asyncio program, ported to asyncqlio by changing its imports.

A small blog's data layer: declarative models with relationships, a session factory with
``expire_on_commit=False``, object graphs added at once, a bulk ``insert()`` of a list of
dicts, ``select()`` with joins and ``selectinload``, ``scalars()``, ``stream()``, a
savepoint (``begin_nested()``) that rolls back a failed insert, ``run_sync()``, an upsert.
Replace ``asyncqlio`` by ``sqlalchemy`` in the imports below and it runs under
SQLAlchemy, printing the same lines (the test suite runs it both ways).

    python examples/sqlalchemy_port.py                      # SQLite file in a temporary folder
    python examples/sqlalchemy_port.py postgresql+asyncpg://postgres@127.0.0.1:5432/test
"""
from __future__ import annotations

import asyncio
import os
import sys
import tempfile

from asyncqlio import ForeignKey, String, Text, delete, func, insert, select, text, update
from asyncqlio.exc import IntegrityError
from asyncqlio.ext.asyncio import (AsyncAttrs, AsyncSession, async_sessionmaker,
                                   create_async_engine)
from asyncqlio.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload


class Base(AsyncAttrs, DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "port_author"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    bio: Mapped[str | None] = mapped_column(Text)
    posts: Mapped[list[Post]] = relationship(back_populates="author", order_by="Post.id")


class Post(Base):
    __tablename__ = "port_post"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("port_author.id"))
    title: Mapped[str] = mapped_column(String(200))
    views: Mapped[int] = mapped_column(default=0)
    author: Mapped[Author] = relationship(back_populates="posts")
    tags: Mapped[list[Tag]] = relationship(back_populates="post", order_by="Tag.id")


class Tag(Base):
    __tablename__ = "port_tag"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("port_post.id"))
    label: Mapped[str] = mapped_column(String(30))
    post: Mapped[Post] = relationship(back_populates="tags")


def total_views(session) -> int:
    """Synchronous code, as a SQLAlchemy program keeps for run_sync()."""
    return session.execute(select(func.sum(Post.views))).scalar_one()


async def write(Session: async_sessionmaker[AsyncSession]) -> None:
    async with Session.begin() as session:  # one transaction, committed at the end
        session.add_all([
            Author(name="ada", bio="engines", posts=[
                Post(title="Notes on the engine", views=10, tags=[Tag(label="math")]),
                Post(title="Bernoulli numbers", views=3),
            ]),
            Author(name="grace"),
        ])
    async with Session() as session:
        grace = await session.scalar(select(Author).where(Author.name == "grace"))
        await session.execute(insert(Post), [
            {"author_id": grace.id, "title": f"Compiler log {i}", "views": i} for i in range(4)
        ])
        await session.commit()


async def read(Session: async_sessionmaker[AsyncSession]) -> None:
    async with Session() as session:
        stmt = (select(Author).options(selectinload(Author.posts).selectinload(Post.tags))
                .order_by(Author.name))
        for author in (await session.scalars(stmt)).all():
            print(author.name, [(p.title, [t.label for t in p.tags]) for p in author.posts])

        popular = (select(Post.title, Author.name.label("author"))
                   .join(Post.author).where(Post.views >= 3)
                   .order_by(Post.views.desc(), Post.id))
        for row in (await session.execute(popular)).all():
            print(f"{row.title!r} by {row.author}")

        counts = (select(Author.name, func.count(Post.id).label("n"))
                  .outerjoin(Author.posts).group_by(Author.name).order_by(Author.name))
        print(dict((await session.execute(counts)).all()))

        result = await session.stream(select(Post).order_by(Post.id))
        async for post in result.scalars():
            print("streamed", post.id, post.title)

        ada = await session.scalar(select(Author).where(Author.name == "ada"))
        print("ada wrote", len(await ada.awaitable_attrs.posts), "posts")


async def change(Session: async_sessionmaker[AsyncSession]) -> None:
    async with Session() as session:
        ada = await session.scalar(select(Author).where(Author.name == "ada"))
        try:
            async with session.begin_nested():
                session.add(Author(name="ada"))  # the name is unique: the flush fails
        except IntegrityError:
            print("a second ada was rolled back to the savepoint")
        ada.bio = "the first programmer"
        await session.execute(update(Post).where(Post.views < 3).values(views=Post.views + 100))
        print("total views", await session.run_sync(total_views))
        await session.execute(delete(Tag))
        await session.commit()
        await session.refresh(ada)
        print(ada.name, "-", ada.bio)
        rows = await session.execute(text("SELECT title FROM port_post WHERE views > :v "
                                          "ORDER BY id"), {"v": 100})
        print(rows.scalars().all())


async def main(url: str) -> None:
    engine = create_async_engine(url, pool_size=5, max_overflow=5)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    Session = async_sessionmaker(engine, expire_on_commit=False)
    await write(Session)
    await read(Session)
    await change(Session)
    await engine.dispose()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        asyncio.run(main(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as folder:
            asyncio.run(main("sqlite+aiosqlite:///" + os.path.join(folder, "blog.db")))
