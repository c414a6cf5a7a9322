"""Relationships on both backends: what each load strategy fills in, how many queries it
takes (counted from the ``asyncqlio.sql`` echo log), and that nothing loads on access."""
from __future__ import annotations

import logging

import pytest

from asyncqlio import (Column, DatabaseInterface, ForeignKey, Integer, NotLoadedError,
                       Relationship, String, aliased, exc, table_base)

Table = table_base()


class Author(Table, table_name="rel_authors"):
    id = Column(Integer, primary_key=True)
    name = Column(String(40))
    books = Relationship("Book.author_id", "Author.id", load="select", back_populates="author")
    profile = Relationship("Profile.author_id", "Author.id", load="joined", uselist=False,
                           back_populates="author")


class Book(Table, table_name="rel_books"):
    id = Column(Integer, primary_key=True)
    title = Column(String(40))
    author_id = Column(Integer, foreign_key=ForeignKey("rel_authors.id"), nullable=True)
    author = Relationship(author_id, "Author.id", load="joined", back_populates="books")


class Profile(Table, table_name="rel_profiles"):
    id = Column(Integer, primary_key=True)
    bio = Column(String(40))
    author_id = Column(Integer, foreign_key=ForeignKey("rel_authors.id"), unique=True)
    author = Relationship(author_id, "Author.id", load="explicit", back_populates="profile")


class Shelf(Table, table_name="rel_shelves"):
    """Explicit-only loading, a NOT NULL foreign key, and a backref made for us."""

    id = Column(Integer, primary_key=True)
    label = Column(String(40))


class Slot(Table, table_name="rel_slots"):
    id = Column(Integer, primary_key=True)
    shelf_id = Column(Integer, foreign_key=ForeignKey("rel_shelves.id"))
    shelf = Relationship(shelf_id, "Shelf.id", load="explicit", backref="slots")


class Counter(logging.Handler):
    """Counts the SELECT statements the echo log shows."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.selects: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if msg.lstrip().upper().startswith("SELECT"):
            self.selects.append(msg)

    def reset(self) -> None:
        self.selects.clear()


@pytest.fixture
async def counted_db(dsn):
    """A connected interface echoing its SQL, and the Counter of the SELECTs it sends."""
    logger = logging.getLogger("asyncqlio.sql")
    counter = Counter()
    old_level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(counter)
    db = DatabaseInterface(dsn, echo=True)
    await db.connect()
    try:
        yield db, counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(old_level)
        await db.close()


@pytest.fixture
async def echo_db(counted_db):
    db, counter = counted_db
    db.bind_tables(Table)
    for t in (Author, Book, Profile, Shelf, Slot):
        await t.create()
    return db, counter


async def _seed(db, parents: int, children: int) -> None:
    async with db.get_session() as s:
        authors = await s.insert.rows(*[Author(name=f"a{i}") for i in range(parents)])
        await s.insert.rows(*[Book(title=f"b{a.id}-{j}", author_id=a.id)
                              for a in authors for j in range(children)])
        await s.insert.rows(Profile(bio="first", author_id=authors[0].id))


async def test_select_load_1000_parents_10_children_in_two_queries(echo_db):
    db, counter = echo_db
    await _seed(db, 1000, 10)
    async with db.get_session() as s:
        counter.reset()
        authors = await s.select(Author).order_by(Author.id)
        # the authors with their profiles (joined) in one, all their books in the other
        assert len(counter.selects) == 2, counter.selects
        assert len(authors) == 1000
        assert all(len(a.books) == 10 for a in authors)
        assert sum(len(a.books) for a in authors) == 10_000
        assert all(b.author is a for a in authors for b in a.books)
        assert all(b.author_id == a.id for a in authors for b in a.books)
        assert authors[0].profile.bio == "first" and authors[1].profile is None
        assert authors[0].profile.author is authors[0]


async def test_joined_many_to_one_is_one_query(echo_db):
    db, counter = echo_db
    await _seed(db, 3, 2)
    async with db.get_session() as s:
        await s.insert.rows(Book(title="orphan", author_id=None))
        counter.reset()
        books = await s.select(Book).order_by(Book.id)
        assert len(counter.selects) == 1
        assert "LEFT OUTER JOIN" in counter.selects[0]
        assert [b.author.name if b.author else None for b in books] == \
            ["a0", "a0", "a1", "a1", "a2", "a2", None]
        # one object per author within a load
        assert books[0].author is books[1].author
        # a joined author's collection is not half-filled: it stays unloaded
        with pytest.raises(NotLoadedError):
            books[0].author.books


async def test_one_to_many_joined_with_limit(echo_db):
    db, counter = echo_db
    await _seed(db, 4, 3)

    rel = Author.books
    rel.load_kind = "joined"
    try:
        async with db.get_session() as s:
            counter.reset()
            authors = await s.select(Author).order_by(Author.id.desc()).limit(2)
            assert len(counter.selects) == 1
            assert [a.name for a in authors] == ["a3", "a2"]
            assert [len(a.books) for a in authors] == [3, 3]
            titles = {f"b{authors[0].id}-{j}" for j in range(3)}
            assert {b.title for b in authors[0].books} == titles
            first = await s.select(Author).order_by(Author.id).first()
            assert first.name == "a0" and len(first.books) == 3
    finally:
        rel.load_kind = "select"


async def test_no_loading_on_access_and_explicit_load(echo_db):
    db, counter = echo_db
    async with db.get_session() as s:
        shelves = await s.insert.rows(Shelf(label="x"), Shelf(label="y"))
        await s.insert.rows(*[Slot(shelf_id=sh.id) for sh in shelves for _ in range(3)])
    async with db.get_session() as s:
        shelves = await s.select(Shelf).order_by(Shelf.id)
        slots = await s.select(Slot).order_by(Slot.id)
        counter.reset()
        with pytest.raises(NotLoadedError, match="Shelf.slots is not loaded"):
            shelves[0].slots
        with pytest.raises(exc.InvalidRequestError):
            slots[0].shelf
        assert counter.selects == []  # the failed reads did not query
        assert isinstance(NotLoadedError("x"), exc.InvalidRequestError)
        # explicit: one query for all the rows given
        await Shelf.slots.load(shelves)
        assert len(counter.selects) == 1
        assert [len(sh.slots) for sh in shelves] == [3, 3]
        assert all(sl.shelf is sh for sh in shelves for sl in sh.slots)  # backref filled
        one = await Slot.shelf.load(slots[0])
        assert one.label == "x" and slots[0].shelf is one
        assert len(counter.selects) == 2


async def test_collection_add_and_remove(echo_db):
    db, counter = echo_db
    await _seed(db, 2, 1)
    async with db.get_session() as s:
        a0, a1 = await s.select(Author).order_by(Author.id)
        book = a0.books[0]
        # remove: the foreign key becomes NULL, written at the next flush
        a0.books.remove(book)
        assert book.author_id is None and book.author is None and a0.books == []
        await s.flush()
        # add: moves it to a1; awaiting writes it now
        await a1.books.add(book)
        assert book.author_id == a1.id and book.author is a1 and len(a1.books) == 2
        new = Book(title="new")
        a1.books.add(new)  # a new row: inserted at the next flush
        await s.commit()
        assert new.id is not None
    async with db.get_session() as s:
        a0, a1 = await s.select(Author).order_by(Author.id)
        assert a0.books == []
        assert sorted(b.title for b in a1.books) == sorted([f"b{a1.id}-0", book.title, "new"])
        # NOT NULL foreign key: a slot cannot leave its shelf
        shelf = Shelf(label="z")
        assert shelf.slots == []  # a new row's collection starts empty
        await s.add(shelf)
        slot = Slot()
        shelf.slots.add(slot)
        await s.flush()
        await Shelf.slots.load(shelf)
        with pytest.raises(exc.InvalidRequestError, match="NOT NULL"):
            shelf.slots.remove(shelf.slots[0])


async def test_new_rows_start_empty_and_assignment(echo_db):
    db, counter = echo_db
    async with db.get_session() as s:
        author = Author(name="n")
        assert author.books == [] and author.profile is None  # nothing to load for a new row
        await s.add(author)
        book = Book(title="t")
        book.author = author  # many-to-one assignment sets the foreign key
        assert book.author_id == author.id
        await s.add(book)
        book.author = None
        assert book.author_id is None
        with pytest.raises(TypeError):
            book.author = Book(title="not an author")


async def test_empty_parent_set_needs_no_child_query(echo_db):
    db, counter = echo_db
    async with db.get_session() as s:
        counter.reset()
        assert await s.select(Author) == []
        assert len(counter.selects) == 1


Tree = table_base()


class Node(Tree, table_name="rel_nodes"):
    id = Column(Integer, primary_key=True)
    parent_id = Column(Integer, foreign_key=ForeignKey("rel_nodes.id"), nullable=True)
    children = Relationship("Node.parent_id", "Node.id", uselist=True, back_populates="parent",
                            order_by=id.desc())
    parent = Relationship(parent_id, "Node.id", load="explicit", back_populates="children")


async def test_self_referential(dsn):
    db = DatabaseInterface(dsn)
    await db.connect()
    try:
        db.bind_tables(Tree)
        await Node.create()
        async with db.get_session() as s:
            root = await s.add(Node())
            kids = await s.insert.rows(Node(parent_id=root.id), Node(parent_id=root.id))
            grandchild, = await s.insert.rows(Node(parent_id=kids[0].id))
        async with db.get_session() as s:
            nodes = await s.select(Node).order_by(Node.id)
            assert [len(n.children) for n in nodes] == [2, 1, 0, 0]
            assert [c.id for c in nodes[0].children] == [kids[1].id, kids[0].id]  # order_by
            assert nodes[0].children[0].parent is nodes[0]
            with pytest.raises(NotLoadedError):
                nodes[0].parent
            assert await Node.parent.load(nodes[0]) is None
        async with db.get_session() as s:
            # one level only: the loaded children's own children are not loaded
            top = await s.select(Node).where(Node.id == root.id).first()
            assert len(top.children) == 2
            with pytest.raises(NotLoadedError):
                top.children[1].children
            Node.children.load_kind = "joined"
            try:
                # the same collections from one query, the table joined to an alias of itself
                joined = await s.select(Node).order_by(Node.id)
                assert [[c.id for c in n.children] for n in joined] == \
                    [[kids[1].id, kids[0].id], [grandchild.id], [], []]
                assert joined[0] is top and joined[0].children[0].parent is top
            finally:
                Node.children.load_kind = "select"
    finally:
        await db.close()


async def test_joined_for_update_is_refused(echo_db):
    db, counter = echo_db
    async with db.get_session() as s:
        with pytest.raises(exc.InvalidRequestError, match="for_update"):
            await s.select(Book).for_update()


def test_relationship_errors():
    with pytest.raises(exc.ArgumentError):
        Relationship("a.b", "c.d", load="lazy")
    with pytest.raises(exc.ArgumentError):
        Relationship("a.b", "c.d", back_populates="x", backref="y")
    Base = table_base()

    class A(Base, table_name="ra"):
        id = Column(Integer, primary_key=True)
        bogus = Relationship("Nope.id", "A.id")

    with pytest.raises(exc.SchemaError, match="Nope"):
        A.bogus.resolve()
    assert Author.books.resolve().uselist and not Book.author.resolve().uselist
    assert Author.profile.resolve().uselist is False  # one-to-one


async def test_joined_load_beside_an_explicit_join_of_the_same_table(echo_db):
    """The joined load uses an alias of its own, so the query may join the related table
    itself (to filter on it) without naming it twice."""
    db, counter = echo_db
    await _seed(db, 3, 2)
    async with db.get_session() as s:
        counter.reset()
        books = await s.select(Book).join(Author).where(Author.name == "a1").order_by(Book.id)
        assert len(counter.selects) == 1
        assert 'AS "rel_books.author"' in counter.selects[0]
        assert [b.title for b in books] == [f"b{books[0].author_id}-0", f"b{books[0].author_id}-1"]
        assert books[0].author is books[1].author and books[0].author.name == "a1"


Org = table_base()


class Staff(Org, table_name="rel_staff"):
    """Two many-to-one relationships and a one-to-many on the table itself."""

    id = Column(Integer, primary_key=True)
    name = Column(String(20))
    manager_id = Column(Integer, foreign_key=ForeignKey("rel_staff.id"), nullable=True)
    mentor_id = Column(Integer, foreign_key=ForeignKey("rel_staff.id"), nullable=True)
    manager = Relationship(manager_id, "Staff.id", load="joined", back_populates="reports")
    mentor = Relationship(mentor_id, "Staff.id", load="joined")
    reports = Relationship("Staff.manager_id", "Staff.id", uselist=True, load="select",
                           back_populates="manager", order_by=name)


#: (name, manager, mentor): ann runs ben and cid; ben runs dan; cid and dan have mentors
STAFF = [("ann", None, None), ("ben", 1, None), ("cid", 1, 2), ("dan", 2, 1)]


@pytest.fixture
async def org_db(counted_db):
    db, counter = counted_db
    db.bind_tables(Org)
    await Staff.create()
    async with db.get_session() as s:
        for i, (name, manager, mentor) in enumerate(STAFF, 1):
            await s.insert.rows(Staff(id=i, name=name, manager_id=manager, mentor_id=mentor))
    return db, counter


async def test_self_referential_joined_and_select(org_db):
    db, counter = org_db
    async with db.get_session() as s:
        counter.reset()
        staff = await s.select(Staff).order_by(Staff.id)
        # managers and mentors joined (two aliases of the table), reports in one more query
        assert len(counter.selects) == 2, counter.selects
        joined = counter.selects[0]
        assert 'LEFT OUTER JOIN "rel_staff" AS "rel_staff.manager" ON ' in joined
        assert 'LEFT OUTER JOIN "rel_staff" AS "rel_staff.mentor" ON ' in joined
        ann, ben, cid, dan = staff
        assert [x.manager for x in staff] == [None, ann, ann, ben]
        # one object per primary key: the joined manager is the row loaded as a parent
        assert ben.manager is ann and dan.manager is ben and dan.mentor is ann
        assert cid.mentor is ben and ann.mentor is None
        assert [r.name for r in ann.reports] == ["ben", "cid"] and dan.reports == []
        assert ann.reports[0] is ben and ben.reports == [dan]

    # the same from the other direction: reports joined, manager by one extra query
    Staff.reports.load_kind, Staff.manager.load_kind = "joined", "select"
    try:
        async with db.get_session() as s:
            counter.reset()
            staff = await s.select(Staff).order_by(Staff.id)
            assert len(counter.selects) == 2, counter.selects
            assert 'AS "rel_staff.reports"' in counter.selects[0]
            # the collection's order_by refers to the joined alias, not the parent rows
            assert 'ORDER BY "rel_staff"."id" ASC, "rel_staff.reports"."name" ASC' \
                in counter.selects[0]
            assert [[r.name for r in x.reports] for x in staff] == \
                [["ben", "cid"], ["dan"], [], []]
            assert [x.manager for x in staff] == [None, staff[0], staff[0], staff[1]]
            # a one-to-many join with a limit: the limit counts the rows, not the joined ones
            counter.reset()
            top = await s.select(Staff).order_by(Staff.id).limit(2)
            assert [x.name for x in top] == ["ann", "ben"] and len(top[0].reports) == 2
            assert len(counter.selects) == 2 and top[0] is staff[0]
    finally:
        Staff.reports.load_kind, Staff.manager.load_kind = "select", "joined"


async def test_selecting_an_alias_loads_its_relationships(org_db):
    db, counter = org_db
    boss = aliased(Staff, "boss")
    async with db.get_session() as s:
        counter.reset()
        # rows of the alias with the relationships of its table, joined from the alias
        bosses = await s.select(boss).where(boss.mentor_id.is_not(None)).order_by(boss.name)
        assert len(counter.selects) == 2
        assert 'AS "boss.manager" ON ("boss.manager"."id" = "boss"."manager_id")' \
            in counter.selects[0]
        assert [(b.name, b.manager.name, b.mentor.name) for b in bosses] == \
            [("cid", "ann", "ben"), ("dan", "ben", "ann")]
        # the staff whose manager is ann, through an explicit join to an alias
        mine = await s.select(Staff).join(boss, Staff.manager_id == boss.id) \
            .where(boss.name == "ann").order_by(Staff.id)
        assert [m.name for m in mine] == ["ben", "cid"]
        assert mine[1] is bosses[0] and mine[0].manager is bosses[0].manager
