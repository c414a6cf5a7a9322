"""The asyncqlio quickstart: a table, a session, inserts, queries, an update, a checkpoint.

    python examples/quickstart.py                       # SQLite file in a temporary folder
    python examples/quickstart.py postgresql://postgres@127.0.0.1:5432/test
"""
import asyncio
import os
import sys
import tempfile

from asyncqlio import (Boolean, Column, DatabaseInterface, Integer, Real, String, Text,
                       table_base)
from asyncqlio._speedups import COMPILED

Table = table_base()


class User(Table, table_name="users"):
    id = Column(Integer, primary_key=True)
    name = Column(String(64), unique=True)
    email = Column(Text, nullable=True, default=None)
    score = Column(Real, default=0.0)
    active = Column(Boolean, default=True)


async def main(dsn: str) -> None:
    async with DatabaseInterface(dsn) as db:
        db.bind_tables(Table)
        await User.drop()
        await User.create()

        async with db.get_session() as sess:
            heck = await sess.add(User(name="heck", score=12.5))      # INSERT now, id filled in
            await sess.insert.rows(User(name="alice", score=30.0), User(name="bob"))
            print("inserted", heck)

        async with db.get_session() as sess:
            top = await sess.select(User).where(User.score > 10).order_by(User.score.desc())
            print("score > 10:", [(u.name, u.score) for u in top])

            bob = await sess.select(User).where(User.name == "bob").first()
            bob.score = 99.0                       # tracked: only "score" is written
            await sess.add(bob)

            await sess.checkpoint("before_risky")
            await sess.delete(User).where(User.name.startswith("a"))
            await sess.rollback("before_risky")    # alice is back

            print("count:", await sess.select(User).count())
            async for user in sess.select(User).order_by(User.id):
                print(" ", user.id, user.name, user.score, user.active)
    print("compiled speedups:", COMPILED)


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else \
        "sqlite:///" + os.path.join(tempfile.mkdtemp(), "quickstart.db")
    asyncio.run(main(target))
