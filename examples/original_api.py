"""A program written against the original asyncqlio's documented API (its module paths,
names and call forms only), which runs unchanged on asyncqlio.

    python examples/original_api.py [DSN]      # default: sqlite3:///original_api.db
"""
import asyncio
import sys

from asyncqlio.db import DatabaseInterface
from asyncqlio.exc import DatabaseException, IntegrityError
from asyncqlio.orm.schema.column import Column
from asyncqlio.orm.schema.index import Index
from asyncqlio.orm.schema.relationship import ForeignKey, Relationship
from asyncqlio.orm.schema.table import table_base
from asyncqlio.orm.schema.types import Boolean, Integer, Numeric, String, Text

Table = table_base()


class Author(Table, table_name="author"):
    id = Column(Integer(), primary_key=True)
    name = Column(String(64), unique=True)
    books = Relationship(left="Author.id", right="Book.author_id")
    author_name_idx = Index(name)


class Book(Table):
    id = Column(Integer(), primary_key=True)
    author_id = Column(Integer(), foreign_key=ForeignKey("Author.id"))
    title = Column(Text())
    price = Column(Numeric(6, 2), default=0)
    in_print = Column(Boolean(), default=True)


async def main(dsn: str) -> None:
    db = DatabaseInterface(dsn)
    await db.connect()
    db.bind_tables(Table)
    await Book.drop()
    await Author.drop()
    await Author.create()
    await Book.create()

    async with db.get_session() as sess:
        author = await sess.add(Author(name="Le Guin"))
        await sess.insert.rows(
            Book(author_id=author.id, title="The Dispossessed", price=9.99),
            Book(author_id=author.id, title="The Lathe of Heaven", price=7.5),
            Book(author_id=author.id, title="Always Coming Home", price=0.5, in_print=False))
        try:
            await sess.add(Author(name="Le Guin"))
        except IntegrityError:
            print("a second Le Guin is refused")
            await sess.rollback()

    async with db.get_session() as sess:
        await sess.add(Author(id=1, name="Le Guin"))
        await sess.insert.rows(Book(author_id=1, title="The Dispossessed", price=9.99),
                               Book(author_id=1, title="The Lathe of Heaven", price=7.5))

    async with db.get_transaction() as tr:
        cursor = await tr.cursor("SELECT COUNT(*) AS n FROM book")
        async with cursor:
            row = await cursor.fetch_row()
        print("books:", row["n"], row[0])

    async with db.get_session() as sess:
        results = await sess.select(Book).where(Book.price > 5).order_by(Book.title).all()
        async for book in results:
            print(book.title, book.price)
        le_guin = await sess.select(Author).where(Author.name.eq("Le Guin")).first()
        async for book in le_guin.books:
            print("by", le_guin.name, ":", book.title)
        await sess.update(Book).set(Book.price.incr(1)).where(Book.author_id == le_guin.id)
        lathe = await sess.select(Book).where(Book.title == "The Lathe of Heaven").first()
        lathe.in_print = False
        await sess.add(lathe)
        await sess.merge(Book(id=lathe.id, title="The Lathe of Heaven (1971)"))
        await sess.delete(Book).where(Book.price < 2)
        query = sess.insert.rows(Author(id=le_guin.id, name="Ursula K. Le Guin"))
        await query.on_conflict(Author.id).update(Author.name).run()

    async with db.get_session() as sess:
        cursor = await sess.cursor("SELECT title, price, in_print FROM book ORDER BY id")
        for row in await cursor.flatten():
            print(row["title"], row["price"], bool(row["in_print"]))
        print(await sess.fetch("SELECT name FROM author"))

    print(Book.generate_schema(), end="")
    async with db.get_ddl_session() as ddl:
        await ddl.add_column("book", Column.with_name("isbn", String(13), nullable=True))
        print([(c.table_name, c.name) for c in await ddl.get_columns("book")])

    async with db.get_session() as sess:
        try:
            await sess.execute("SELECT nope FROM book")
        except DatabaseException as e:
            print("bad SQL is a", type(e).__name__)
            await sess.rollback()
    await Book.drop()
    await Author.drop(cascade=True)
    await db.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "sqlite3:///original_api.db"))
