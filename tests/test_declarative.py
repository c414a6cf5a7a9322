"""SQLAlchemy's declarative mapping (``DeclarativeBase``, ``Mapped``, ``mapped_column``,
``relationship``) and loader options, on both backends: the models of SQLAlchemy's tutorial
written as SQLAlchemy has them, their tables created, written and read back through
asyncqlio sessions; where asyncqlio imitates a SQLAlchemy behaviour, SQLAlchemy (when
installed) is run on the same model source to check it."""
from __future__ import annotations

import datetime
import decimal
import enum
import logging
import sys
import types
import uuid
from typing import Annotated, List, Optional

import pytest

from asyncqlio import (DatabaseInterface, ForeignKey, Index, NotLoadedError, String,
                       Text, func)
from asyncqlio.exc import ArgumentError, InvalidRequestError, SchemaError
from asyncqlio.orm import (DeclarativeBase, Mapped, Relationship, UniqueConstraint,
                           declarative_base, declared_attr, defaultload, joinedload, lazyload,
                           mapped_column, noload, raiseload, relationship, selectinload,
                           subqueryload)
from asyncqlio.orm.schema import types as T


class Base(DeclarativeBase):
    pass


# --- SQLAlchemy's ORM tutorial, as it writes it (string annotations: this module has
# ``from __future__ import annotations``; Address is named before it is defined)


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(30))
    fullname: Mapped[Optional[str]]
    addresses: Mapped[List["Address"]] = relationship(back_populates="user")

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, name={self.name!r}, fullname={self.fullname!r})"


class Address(Base):
    __tablename__ = "address"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_address: Mapped[str]
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    user: Mapped["User"] = relationship(back_populates="addresses")
    tags: Mapped[List[Tag]] = relationship(back_populates="address", order_by="Tag.label")


class Tag(Base):
    __tablename__ = "tag"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(20))
    address_id: Mapped[int] = mapped_column(ForeignKey("address.id", ondelete="CASCADE"))
    address: Mapped[Address] = relationship(back_populates="tags")


# --- a model loading its relationships itself, and one related to itself


class Author(Base):
    __tablename__ = "author"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    books: Mapped[list[Book]] = relationship(back_populates="author", lazy="selectin",
                                             order_by=lambda: Book.id)


class Book(Base):
    __tablename__ = "book"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    author_id: Mapped[Optional[int]] = mapped_column(ForeignKey("author.id"))
    author: Mapped[Optional[Author]] = relationship(back_populates="books", lazy="joined")


class Node(Base):
    __tablename__ = "node"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("node.id"))
    parent: Mapped[Optional[Node]] = relationship(back_populates="children", remote_side=[id])
    children: Mapped[List[Node]] = relationship(back_populates="parent")


# --- types inferred from annotations


class Color(enum.Enum):
    RED = 1
    GREEN = 2


class Kinds(Base):
    __tablename__ = "kinds"

    id: Mapped[int] = mapped_column(primary_key=True)
    flag: Mapped[bool]
    ratio: Mapped[float]
    text: Mapped[str]
    note: Mapped[Optional[str]]
    other: Mapped[str | None]
    amount: Mapped[decimal.Decimal]
    at: Mapped[datetime.datetime]
    day: Mapped[datetime.date]
    clock: Mapped[datetime.time]
    span: Mapped[datetime.timedelta]
    blob: Mapped[bytes]
    key: Mapped[uuid.UUID]
    doc: Mapped[dict]
    items: Mapped[list[int]]
    color: Mapped[Color]
    long_text: Mapped[Optional[str]] = mapped_column(Text)
    renamed: Mapped[int] = mapped_column("renamed_col", default=7)
    untyped_annotation = mapped_column(String(5))


def tables(base: type) -> list[type]:
    return list(base.metadata.tables.values())


@pytest.fixture
async def tutorial_db(db):
    db.bind_tables(Base)
    for table in tables(Base):
        await table.create()
    return db


class Counter(logging.Handler):
    """The SELECT statements the echo log shows."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.selects: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().lstrip().upper().startswith("SELECT"):
            self.selects.append(record.getMessage())


@pytest.fixture
async def counted(dsn):
    """An interface with the tutorial's tables, echoing its SQL, and the SELECTs it sends."""
    logger = logging.getLogger("asyncqlio.sql")
    counter = Counter()
    old_level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(counter)
    db = DatabaseInterface(dsn, echo=True)
    await db.connect()
    db.bind_tables(Base)
    for table in tables(Base):
        await table.create()
    try:
        yield db, counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(old_level)
        await db.close()


async def _seed(db) -> None:
    """spongebob with two addresses (tagged), sandy with one, patrick with none."""
    async with db.get_session() as sess:
        spongebob = User(name="spongebob", fullname="Spongebob Squarepants")
        sandy = User(name="sandy", fullname="Sandy Cheeks")
        patrick = User(name="patrick")
        sess.add_all([spongebob, sandy, patrick])
        await sess.flush()
        a1 = Address(email_address="spongebob@sqlalchemy.org", user_id=spongebob.id)
        a2 = Address(email_address="spongebob@aol.com", user_id=spongebob.id)
        a3 = Address(email_address="sandy@sqlalchemy.org", user_id=sandy.id)
        sess.add_all([a1, a2, a3])
        await sess.flush()
        sess.add_all([Tag(label="work", address_id=a1.id), Tag(label="home", address_id=a1.id),
                      Tag(label="old", address_id=a2.id)])


# --- the mapping itself


def test_a_mapped_class_is_an_asyncqlio_table():
    from asyncqlio import Column, Table
    assert issubclass(User, Table)
    assert User.__tablename__ == "user_account"
    assert isinstance(User.id, Column) and isinstance(User.addresses, Relationship)
    assert [c.name for c in User.iter_columns()] == ["id", "name", "fullname"]
    assert User.metadata is Base.metadata and Base.metadata.tables["address"] is Address
    # the keyword constructor asyncqlio generates for its tables
    u = User(name="x")
    assert u.name == "x" and u.fullname is None and u.addresses == []
    with pytest.raises(TypeError):
        User(nickname="x")
    assert "__table__" not in vars(Base)  # the base is not a table


def test_columns_from_annotations():
    cols = {c.attr_name: c for c in Kinds.iter_columns()}
    expected = {"id": T.Integer, "flag": T.Boolean, "ratio": T.Real, "text": T.String,
                "note": T.String, "other": T.String, "amount": T.Numeric,
                "at": T.Timestamp, "day": T.Date, "clock": T.Time, "span": T.Interval,
                "blob": T.Bytea, "key": T.UUID, "doc": T.JSON, "items": T.JSON,
                "color": T.Enum, "long_text": T.Text, "renamed": T.Integer,
                "untyped_annotation": T.String}
    assert {k: type(c.type) for k, c in cols.items()} == expected
    assert cols["color"].type.enum_type is Color
    assert cols["amount"].type.precision is None  # unconstrained NUMERIC, as SQLAlchemy's
    assert not cols["at"].type.timezone
    # Optional / X | None make a column nullable; no annotation: nullable, as in SQLAlchemy
    assert {k for k, c in cols.items() if c.nullable} == \
        {"note", "other", "long_text", "untyped_annotation"}
    assert cols["id"].primary_key and cols["id"].is_autoincrement
    assert cols["renamed"].name == "renamed_col" and cols["renamed"].default == 7
    assert cols["untyped_annotation"].type.size == 5
    fk = {c.attr_name: c for c in Address.iter_columns()}["user_id"]
    assert fk.foreign_key.resolve() is User.id and not fk.nullable


def test_column_order_and_nullability_match_sqlalchemy():
    """The same model source under SQLAlchemy and under asyncqlio: same columns, same
    order, same nullability and keys."""
    pytest.importorskip("sqlalchemy")
    import sqlalchemy.orm
    source = '''
from __future__ import annotations
import datetime
from typing import List, Optional
from {pkg} import ForeignKey, String
from {orm} import DeclarativeBase, Mapped, mapped_column, relationship

class Base(DeclarativeBase):
    pass

class Stamped:
    created: Mapped[datetime.datetime] = mapped_column(server_default=func.now())
    note: Mapped[Optional[str]]

class Customer(Stamped, Base):
    __tablename__ = "customer"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(30))
    fullname: Mapped[Optional[str]]
    plain = mapped_column(String(5))
    orders: Mapped[List[Order]] = relationship(back_populates="customer")

class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id = mapped_column(ForeignKey("customer.id"))
    customer: Mapped[Customer] = relationship(back_populates="orders")
'''

    def shape(pkg: str, orm: str, columns) -> dict:
        # a module of its own, where SQLAlchemy looks the annotations' names up
        module = types.ModuleType(f"declarative_models_{pkg}")
        sys.modules[module.__name__] = module
        try:
            text = source.format(pkg=pkg, orm=orm).replace(
                "import ForeignKey, String", "import ForeignKey, String, func")
            exec(compile(text, module.__name__, "exec", dont_inherit=True), vars(module))
            if pkg == "sqlalchemy":
                sqlalchemy.orm.configure_mappers()
        finally:
            del sys.modules[module.__name__]
        return {name: [(c.name, bool(c.nullable), bool(c.primary_key))
                       for c in columns(getattr(module, name))] for name in ("Customer", "Order")}

    theirs = shape("sqlalchemy", "sqlalchemy.orm", lambda cls: cls.__table__.columns)
    ours = shape("asyncqlio", "asyncqlio.orm", lambda cls: cls.iter_columns())
    assert ours == theirs


def test_annotations_evaluated_at_run_time():
    """Without ``from __future__ import annotations`` the annotations are objects:
    ``Mapped["Address"]`` holds a forward reference, resolved at first use."""
    source = '''
from typing import List, Optional
from asyncqlio import ForeignKey
from asyncqlio.orm import DeclarativeBase, Mapped, mapped_column, relationship

class Base(DeclarativeBase):
    pass

class Parent(Base):
    __tablename__ = "parent"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[Optional[str]]
    kids: Mapped[List["Kid"]] = relationship(back_populates="parent")

class Kid(Base):
    __tablename__ = "kid"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("parent.id"))
    parent: Mapped["Parent"] = relationship(back_populates="kids")
'''
    ns: dict = {}
    exec(compile(source, "<runtime annotations>", "exec", dont_inherit=True), ns)
    parent, kid = ns["Parent"], ns["Kid"]
    assert isinstance(parent.__annotations__["kids"], type(Mapped[int]))  # not a string
    assert parent.get_column("label").nullable
    assert parent.kids.resolve().related is kid and parent.kids.uselist
    assert kid.parent.resolve().many_to_one and kid.parent.back() is parent.kids


def test_local_names_and_forward_references_in_a_function():
    """Models defined in a function: their annotations name the function's locals, and a
    relationship names a class defined after it."""
    class Mood(enum.Enum):
        HAPPY = "h"

    class LocalBase(DeclarativeBase):
        pass

    class Person(LocalBase):
        __tablename__ = "person"
        id: Mapped[int] = mapped_column(primary_key=True)
        mood: Mapped[Optional[Mood]]
        pets: Mapped[List[Pet]] = relationship(back_populates="owner")

    class Pet(LocalBase):
        __tablename__ = "pet"
        id: Mapped[int] = mapped_column(primary_key=True)
        owner_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
        owner: Mapped[Person] = relationship(back_populates="pets")

    mood = Person.get_column("mood")
    assert mood.type.enum_type is Mood and mood.nullable
    assert Person.pets.resolve().related is Pet
    assert Pet.owner.resolve().related is Person


def test_relationships_resolve_to_asyncqlio_relationships():
    rel = User.addresses.resolve()
    assert (rel.related, rel.uselist, rel.many_to_one, rel.load_kind) == \
        (Address, True, False, "explicit")  # lazy="select": loaded only when asked
    assert (rel.local, rel.remote) == (User.id, Address.user_id) and rel.back() is Address.user
    back = Address.user.resolve()
    assert back.many_to_one and not back.uselist and back.remote is User.id
    assert Author.books.load_kind == "select" and Book.author.load_kind == "joined"
    assert [o.item for o in Author.books.resolve().order_by] == [Book.id]
    assert [o.item for o in Address.tags.resolve().order_by] == [Tag.label]
    # a table related to itself: one-to-many unless remote_side names the referenced key
    assert Node.parent.resolve().many_to_one and Node.parent.remote is Node.id
    assert not Node.children.resolve().many_to_one and Node.children.uselist
    assert "Relationship(" in User.generate_schema()


def test_lazy_maps_onto_load_kinds():
    for lazy, load in [("select", "explicit"), ("selectin", "select"), ("joined", "joined"),
                       ("subquery", "select"), ("immediate", "select"), ("raise", "explicit"),
                       ("noload", "explicit"), ("dynamic", "explicit"), (True, "explicit"),
                       (False, "joined"), (None, "explicit")]:
        assert relationship(lazy=lazy).load_kind == load
    with pytest.raises(ArgumentError, match="lazy must be"):
        relationship(lazy="eventually")


def test_mixins_abstract_bases_annotated_and_type_map():
    str30 = Annotated[str, 30]
    intpk = Annotated[int, mapped_column(primary_key=True)]

    class MapBase(DeclarativeBase):
        type_annotation_map = {str30: String(30), int: T.BigInt}

    class Stamped:
        created: Mapped[datetime.datetime] = mapped_column(server_default=func.now())

        @declared_attr.directive
        def __tablename__(cls) -> str:
            return cls.__name__.lower()

    class Named(MapBase):
        __abstract__ = True
        name: Mapped[str30]

    class Shop(Stamped, Named):
        id: Mapped[intpk]
        count: Mapped[int] = mapped_column(default=0)

    class Stall(Named, Stamped):
        id: Mapped[intpk]
        flag: Mapped[bool]

    assert Shop.__tablename__ == "shop" and Stall.__tablename__ == "stall"
    assert [c.name for c in Shop.iter_columns()] == ["id", "count", "created", "name"]  # as SQLAlchemy
    assert Shop.get_column("name").type.size == 30
    assert Shop.get_column("name") is not Stall.get_column("name")  # a column per table
    assert Shop.get_column("id").primary_key and type(Shop.get_column("id").type) is T.BigInt
    assert type(Stall.get_column("flag").type) is T.Boolean  # bool is not int
    assert Shop.get_column("created").server_default == "CURRENT_TIMESTAMP"
    with pytest.raises(InvalidRequestError, match="__tablename__"):
        class Nameless(MapBase):
            id: Mapped[int] = mapped_column(primary_key=True)


def test_declarative_base_function():
    OldBase = declarative_base()

    class Thing(OldBase):
        __tablename__ = "thing"
        id: Mapped[int] = mapped_column(primary_key=True)

    assert issubclass(OldBase, DeclarativeBase) and OldBase.metadata.tables == {"thing": Thing}


def test_server_defaults_are_sqlalchemys():
    class Sql:
        """What sqlalchemy.text() gives: SQL in ``.text``."""

        def __init__(self, text: str) -> None:
            self.text = text

    class DBase(DeclarativeBase):
        pass

    class Defaults(DBase):
        __tablename__ = "defaults"
        id: Mapped[int] = mapped_column(primary_key=True)
        status: Mapped[str] = mapped_column(server_default="it's new")
        n: Mapped[int] = mapped_column(server_default=Sql("0"))
        at: Mapped[datetime.datetime] = mapped_column(default=func.now())

    cols = {c.attr_name: c for c in Defaults.iter_columns()}
    assert cols["status"].server_default == "'it''s new'"  # a string is a quoted literal
    assert cols["n"].server_default == "0"
    assert cols["at"].server_default == "CURRENT_TIMESTAMP" and not cols["at"].has_default


def test_refused_with_a_name():
    class RBase(DeclarativeBase):
        pass

    class Parent(RBase):
        __tablename__ = "parent"
        id: Mapped[int] = mapped_column(primary_key=True)

    with pytest.raises(NotImplementedError, match="secondary"):
        relationship("Parent", secondary="assoc")
    with pytest.raises(NotImplementedError, match="onupdate"):
        mapped_column(onupdate=func.now())
    with pytest.raises(NotImplementedError, match="post_update"):
        relationship(post_update=True)
    with pytest.raises(TypeError, match="nonsense"):
        relationship(nonsense=True)
    with pytest.raises(NotImplementedError, match="inheritance"):
        class Child(Parent):
            __tablename__ = "child"
    with pytest.raises(NotImplementedError, match="CheckConstraint"):
        class CheckConstraint:
            pass

        class Checked(RBase):
            __tablename__ = "checked"
            __table_args__ = (CheckConstraint(),)
            id: Mapped[int] = mapped_column(primary_key=True)
    with pytest.raises(NotImplementedError, match="schema"):
        class Elsewhere(RBase):
            __tablename__ = "elsewhere"
            __table_args__ = {"schema": "other"}
            id: Mapped[int] = mapped_column(primary_key=True)
    with pytest.raises(NotImplementedError, match="polymorphic_on"):
        class Poly(RBase):
            __tablename__ = "poly"
            __mapper_args__ = {"polymorphic_on": "kind"}
            id: Mapped[int] = mapped_column(primary_key=True)
    with pytest.raises(NotImplementedError, match="set collection"):
        class Holder(RBase):
            __tablename__ = "holder"
            id: Mapped[int] = mapped_column(primary_key=True)
            parents: Mapped[set[Parent]] = relationship()
        Holder.parents.resolve()
    with pytest.raises(ArgumentError, match="no asyncqlio type"):
        class Odd(RBase):
            __tablename__ = "odd"
            id: Mapped[int] = mapped_column(primary_key=True)
            value: Mapped[complex]


def test_join_errors_name_the_fix():
    class JBase(DeclarativeBase):
        pass

    class Account(JBase):
        __tablename__ = "account"
        id: Mapped[int] = mapped_column(primary_key=True)
        lonely: Mapped[List[Other]] = relationship()
        transfers: Mapped[List[Transfer]] = relationship()
        sent: Mapped[List[Transfer]] = relationship(foreign_keys="[Transfer.source_id]")
        received: Mapped[List[Transfer]] = relationship(
            primaryjoin="Account.id == Transfer.target_id")
        ghost: Mapped[List[Missing]] = relationship()  # noqa: F821

    class Transfer(JBase):
        __tablename__ = "transfer"
        id: Mapped[int] = mapped_column(primary_key=True)
        source_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
        target_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
        source: Mapped[Account] = relationship(foreign_keys=[source_id])

    class Other(JBase):
        __tablename__ = "other"
        id: Mapped[int] = mapped_column(primary_key=True)

    with pytest.raises(ArgumentError, match="no foreign key links account and other"):
        Account.lonely.resolve()
    with pytest.raises(ArgumentError, match="more than one foreign key.*foreign_keys"):
        Account.transfers.resolve()
    with pytest.raises(SchemaError, match="Missing"):
        Account.ghost.resolve()
    assert Account.sent.resolve().remote is Transfer.source_id
    assert Account.received.resolve().remote is Transfer.target_id
    assert Transfer.source.resolve().local is Transfer.source_id


def test_loader_option_errors():
    class Fake:
        pass

    with pytest.raises(ArgumentError, match="column"):
        selectinload(User.name)
    with pytest.raises(ArgumentError, match="relationship"):
        selectinload("addresses")
    from asyncqlio.orm import loading
    with pytest.raises(ArgumentError, match="not a relationship of User"):
        loading.plan(User, [selectinload(Address.tags)])
    with pytest.raises(ArgumentError, match="not loaded by this query"):
        loading.plan(User, [defaultload(User.addresses).selectinload(Address.tags)])
    with pytest.raises(ArgumentError, match="loader options"):
        loading.plan(User, [Fake()])
    # named beats "*", whatever the order
    kinds, _ = loading.plan(Author, [selectinload(Author.books), raiseload("*")])
    assert kinds == {Author.books: "select"}
    kinds, nested = loading.plan(User, [selectinload(User.addresses).options(
        joinedload(Address.user), selectinload(Address.tags))])
    assert kinds == {User.addresses: "select"}
    assert set(nested[User.addresses]) == {Address.user, Address.tags}


# --- on the databases


async def test_tutorial_write_and_read_back(tutorial_db):
    db = tutorial_db
    await _seed(db)
    async with db.get_session() as sess:
        rows = await sess.select(User).where(User.name.in_(["spongebob", "sandy"])) \
            .order_by(User.id)
        assert [(u.name, u.fullname) for u in rows] == \
            [("spongebob", "Spongebob Squarepants"), ("sandy", "Sandy Cheeks")]
        patrick = await sess.select(User).where(User.name == "patrick").first()
        assert patrick.fullname is None
        # change, delete, and add through the relationship's collection
        patrick.fullname = "Patrick Star"
        address = await sess.select(Address).where(Address.email_address == "sandy@sqlalchemy.org").first()
        await sess.remove(address)
        await User.addresses.load(patrick)
        await patrick.addresses.add(Address(email_address="patrick@sqlalchemy.org"))
    async with db.get_session() as sess:
        patrick = await sess.select(User).options(selectinload(User.addresses)) \
            .where(User.name == "patrick").first()
        assert patrick.fullname == "Patrick Star"
        assert [a.email_address for a in patrick.addresses] == ["patrick@sqlalchemy.org"]
        assert patrick.addresses[0].user is patrick
        assert await sess.select(Address).count() == 3


async def test_selectinload_and_joinedload(counted):
    db, counter = counted
    await _seed(db)
    async with db.get_session() as sess:
        counter.selects.clear()
        users = await sess.select(User).options(selectinload(User.addresses)).order_by(User.id)
        assert len(counter.selects) == 2  # the users, then all their addresses
        assert [sorted(a.email_address for a in u.addresses) for u in users] == [
            ["spongebob@aol.com", "spongebob@sqlalchemy.org"], ["sandy@sqlalchemy.org"], []]
        assert all(a.user is u for u in users for a in u.addresses)  # back_populates
        with pytest.raises(NotLoadedError):
            users[0].addresses[0].tags  # one level, as asked
    async with db.get_session() as sess:
        counter.selects.clear()
        users = await sess.select(User).options(joinedload(User.addresses)) \
            .order_by(User.id).limit(2)
        assert len(counter.selects) == 1 and "LEFT OUTER JOIN" in counter.selects[0]
        assert [len(u.addresses) for u in users] == [2, 1]  # the limit counts users
    async with db.get_session() as sess:
        counter.selects.clear()
        addresses = await sess.select(Address).options(joinedload(Address.user)) \
            .order_by(Address.id)
        assert len(counter.selects) == 1
        assert [a.user.name for a in addresses] == ["spongebob", "spongebob", "sandy"]
        assert addresses[0].user is addresses[1].user
        counter.selects.clear()
        # subqueryload is selectinload; options() chains with the other builders
        q = sess.select(User).options(subqueryload(User.addresses))
        assert q.where(User.name == "sandy") is q
        sandy = await q.first()
        assert len(counter.selects) == 2 and len(sandy.addresses) == 1


async def test_unloaded_relationship_raises_without_a_query(counted):
    db, counter = counted
    await _seed(db)
    async with db.get_session() as sess:
        users = await sess.select(User).order_by(User.id)
        counter.selects.clear()
        with pytest.raises(NotLoadedError, match=r"selectinload\(User.addresses\)"):
            users[0].addresses
        addresses = await sess.select(Address)
        with pytest.raises(NotLoadedError):
            addresses[0].user
        assert len(counter.selects) == 1  # only the select of addresses
        await User.addresses.load(users)  # or load it explicitly
        assert len(users[0].addresses) == 2


async def test_lazy_on_the_model_and_overriding_it(counted):
    db, counter = counted
    async with db.get_session() as sess:
        tolkien = Author(name="tolkien")
        assert tolkien.books == []
        await sess.add(tolkien)
        await tolkien.books.add(Book(title="hobbit"))
        await tolkien.books.add(Book(title="lotr"))
        sess.add(Book(title="anonymous"))
    async with db.get_session() as sess:
        counter.selects.clear()
        authors = await sess.select(Author)  # lazy="selectin": a second query
        assert len(counter.selects) == 2
        assert [b.title for b in authors[0].books] == ["hobbit", "lotr"]
        assert authors[0].books[0].author is authors[0]
        counter.selects.clear()
        books = await sess.select(Book).order_by(Book.id)  # lazy="joined": one query
        assert len(counter.selects) == 1
        assert [b.author and b.author.name for b in books] == ["tolkien", "tolkien", None]
    async with db.get_session() as sess:
        counter.selects.clear()
        for option in (raiseload(Author.books), noload(Author.books), lazyload("*")):
            authors = await sess.select(Author).options(option)
            with pytest.raises(NotLoadedError):
                authors[0].books
        assert len(counter.selects) == 3  # no query for the books
        counter.selects.clear()
        books = await sess.select(Book).options(selectinload(Book.author)).order_by(Book.id)
        assert len(counter.selects) == 2 and "JOIN" not in counter.selects[0]
        assert books[0].author.name == "tolkien"
        counter.selects.clear()
        authors = await sess.select(Author).options(joinedload(Author.books))
        assert len(counter.selects) == 1 and len(authors[0].books) == 2


async def test_chained_options_load_below(counted):
    db, counter = counted
    await _seed(db)
    async with db.get_session() as sess:
        counter.selects.clear()
        users = await sess.select(User).options(
            selectinload(User.addresses).selectinload(Address.tags)).order_by(User.id)
        assert len(counter.selects) == 3  # users, addresses, tags
        assert {a.email_address: [t.label for t in a.tags] for a in users[0].addresses} == \
            {"spongebob@sqlalchemy.org": ["home", "work"],  # order_by="Tag.label"
             "spongebob@aol.com": ["old"]}
        assert users[0].addresses[0].tags[0].address is users[0].addresses[0]
    async with db.get_session() as sess:
        counter.selects.clear()
        # joined first level, then a joinedload below it loads by one more query
        users = await sess.select(User).options(
            joinedload(User.addresses).joinedload(Address.tags)).order_by(User.id)
        assert len(counter.selects) == 2 and "LEFT OUTER JOIN" in counter.selects[0]
        assert sum(len(a.tags) for u in users for a in u.addresses) == 3
    async with db.get_session() as sess:
        counter.selects.clear()
        tags = await sess.select(Tag).options(
            selectinload(Tag.address).selectinload(Address.user)
            .selectinload(User.addresses)).order_by(Tag.id)
        assert len(counter.selects) == 4
        assert tags[0].address.user.name == "spongebob"
        assert len(tags[0].address.user.addresses) == 2
    async with db.get_session() as sess:
        # defaultload keeps a model's own loading and goes on below it
        authors = await sess.select(Author).options(
            defaultload(Author.books).joinedload(Book.author))
        assert authors == []


async def test_self_referential(tutorial_db):
    db = tutorial_db
    async with db.get_session() as sess:
        root = Node(name="root")
        await sess.add(root)
        for name in ("a", "b"):
            await sess.add(Node(name=name, parent_id=root.id))
    async with db.get_session() as sess:
        nodes = await sess.select(Node).options(selectinload(Node.children),
                                                selectinload(Node.parent)).order_by(Node.id)
        root, a, b = nodes
        assert [n.name for n in root.children] == ["a", "b"]
        assert a.parent is root and root.parent is None and b.children == []


async def test_values_round_trip(tutorial_db):
    db = tutorial_db
    values = dict(flag=True, ratio=0.5, text="t", note=None, other="o",
                  amount=decimal.Decimal("12.5"), at=datetime.datetime(2024, 1, 2, 3, 4, 5),
                  day=datetime.date(2024, 1, 2), clock=datetime.time(3, 4, 5),
                  span=datetime.timedelta(hours=1), blob=b"\x00\x01", key=uuid.uuid4(),
                  doc={"a": [1, 2]}, items=[1, 2, 3], color=Color.GREEN, long_text="long")
    async with db.get_session() as sess:
        row = await sess.add(Kinds(**values))
        assert row.renamed == 7
    async with db.get_session() as sess:
        back = await sess.select(Kinds).first()
        assert {k: getattr(back, k) for k in values} == values
        assert back.untyped_annotation is None


async def test_table_args_indexes_and_unique(db):
    class IBase(DeclarativeBase):
        pass

    class Member(IBase):
        __tablename__ = "member"
        id: Mapped[int] = mapped_column(primary_key=True)
        team: Mapped[str] = mapped_column(String(20))
        number: Mapped[int]
        email: Mapped[str] = mapped_column(unique=True, index=True)
        __table_args__ = (Index("ix_member_team", "team"), UniqueConstraint("team", "number"))

    names = {i.name: i.unique for i in Member.explicit_indexes()}
    assert names == {"ix_member_team": False, "member_team_number_key": True}
    db.bind_tables(IBase)
    await Member.create()
    async with db.get_ddl_session() as ddl:
        found = {i.name for i in await ddl.get_indexes("member")}
    assert {"ix_member_team", "member_team_number_key", "ix_member_email"} <= found
    async with db.get_session() as sess:
        sess.add_all([Member(team="a", number=1, email="x"), Member(team="b", number=1, email="y")])
    from asyncqlio.exc import IntegrityError
    with pytest.raises(IntegrityError):
        async with db.get_session() as sess:
            await sess.add(Member(team="a", number=1, email="z"))


async def test_on_delete_cascade_from_the_foreign_key(tutorial_db):
    """cascade= is accepted; deletes cascade only by the foreign key's ON DELETE."""
    class CBase(DeclarativeBase):
        pass

    class Folder(CBase):
        __tablename__ = "folder"
        id: Mapped[int] = mapped_column(primary_key=True)
        files: Mapped[List[File]] = relationship(cascade="all, delete-orphan",
                                                 passive_deletes=True)

    class File(CBase):
        __tablename__ = "file"
        id: Mapped[int] = mapped_column(primary_key=True)
        folder_id: Mapped[int] = mapped_column(ForeignKey("folder.id", ondelete="CASCADE"))

    db = tutorial_db
    db.bind_tables(CBase)
    await Folder.create()
    await File.create()
    assert File.get_column("folder_id").foreign_key.on_delete == "CASCADE"
    async with db.get_session() as sess:
        folder = await sess.add(Folder())
        await sess.add(File(folder_id=folder.id))
    async with db.get_session() as sess:
        await sess.remove(await sess.select(Folder).first())
    async with db.get_session() as sess:
        assert await sess.select(File).count() == 0


async def test_viewonly_refuses_writes(tutorial_db):
    class VBase(DeclarativeBase):
        pass

    class Team(VBase):
        __tablename__ = "team"
        id: Mapped[int] = mapped_column(primary_key=True)
        players: Mapped[List[Player]] = relationship(viewonly=True, lazy="selectin")

    class Player(VBase):
        __tablename__ = "player"
        id: Mapped[int] = mapped_column(primary_key=True)
        team_id: Mapped[Optional[int]] = mapped_column(ForeignKey("team.id"))

    db = tutorial_db
    db.bind_tables(VBase)
    await Team.create()
    await Player.create()
    async with db.get_session() as sess:
        team = await sess.add(Team())
        await sess.add(Player(team_id=team.id))
    async with db.get_session() as sess:
        team = await sess.select(Team).first()
        assert len(team.players) == 1
        with pytest.raises(InvalidRequestError, match="viewonly"):
            team.players.add(Player())
        with pytest.raises(InvalidRequestError, match="viewonly"):
            team.players = []


async def test_one_to_one_named_target_and_backref(db):
    class OBase(DeclarativeBase):
        pass

    class Person(OBase):
        __tablename__ = "person"
        id: Mapped[int] = mapped_column(primary_key=True)
        passport: Mapped[Optional[Passport]] = relationship(back_populates="holder",
                                                            lazy="joined")
        visits = relationship("Visit", backref="person", lazy="selectin")

    class Passport(OBase):
        __tablename__ = "passport"
        id: Mapped[int] = mapped_column(primary_key=True)
        holder_id: Mapped[int] = mapped_column(ForeignKey("person.id"), unique=True)
        holder: Mapped[Person] = relationship(back_populates="passport")

    class Visit(OBase):
        __tablename__ = "visit"
        id: Mapped[int] = mapped_column(primary_key=True)
        person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))

    db.bind_tables(OBase)
    for table in (Person, Passport, Visit):
        await table.create()
    # the scalar annotation makes the referenced side one row; no annotation, a list
    assert not Person.passport.resolve().uselist and not Person.passport.many_to_one
    assert Person.visits.resolve().uselist and Visit.person.resolve().many_to_one
    async with db.get_session() as sess:
        ann, bob = await sess.add(Person()), await sess.add(Person())
        await sess.add(Passport(holder_id=ann.id))
        sess.add_all([Visit(person_id=ann.id), Visit(person_id=ann.id)])
    async with db.get_session() as sess:
        ann, bob = await sess.select(Person).order_by(Person.id)
        assert ann.passport.holder is ann and bob.passport is None
        assert len(ann.visits) == 2 and bob.visits == []
        visit = await sess.select(Visit).options(selectinload(Visit.person)).first()
        assert visit.person is ann
