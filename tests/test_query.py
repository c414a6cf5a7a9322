"""Query builders against real databases: the rows a query returns, the rows it leaves in
the database, and the errors it raises, on SQLite and PostgreSQL alike."""
from __future__ import annotations

from decimal import Decimal

import pytest

from asyncqlio import Boolean, Column, Integer, Real, String, Text, exc, table_base
from asyncqlio.orm.query import ResultGenerator

Table = table_base()


class User(Table, table_name="users"):
    id = Column(Integer, primary_key=True)
    name = Column(String(64))
    email = Column(Text, nullable=True, default=None)
    score = Column(Integer, default=0)
    bonus = Column(Integer, default=0)
    ratio = Column(Real, default=1.0)
    active = Column(Boolean, default=True)


class Note(Table, table_name="notes"):
    id = Column(Integer, primary_key=True)
    body = Column(Text)


class Entry(Table, table_name="entries"):
    """Optional columns without defaults: a row leaves out the ones it does not set."""

    id = Column(Integer, primary_key=True)
    code = Column(String(16), unique=True)
    text = Column(Text, nullable=True)
    number = Column(Integer, nullable=True)


SEED = [  # name, email, score, bonus, active
    ("alice", "alice@example.com", 10, 5, True),
    ("bob", None, 20, 20, True),
    ("carol", "carol@example.com", 30, 0, True),
    ("dave", None, 5, 10, False),
    ("Eve", "eve@example.com", 15, 15, True),
]

NOTES = ["100%", "500", "50% off", "a_b", "axb", "back\\slash", "backXslash", "Hello", "hello",
         "HELLO world"]


@pytest.fixture
async def sess(db):
    """A session on a database holding the SEED users and the NOTES."""
    db.bind_tables(Table)
    await User.create()
    await Note.create()
    await Entry.create()
    async with db.get_session() as s:
        await s.insert.rows(*[User(name=n, email=e, score=sc, bonus=b, active=a)
                              for n, e, sc, b, a in SEED])
        await s.insert.rows(*[Note(body=b) for b in NOTES])
    async with db.get_session() as s:
        yield s


async def names(query) -> list[str]:
    return [u.name for u in await query.order_by(User.id)]


async def bodies(query) -> list[str]:
    return [n.body for n in await query.order_by(Note.id)]


async def raw_users(sess) -> list[tuple]:
    """The users table as the database has it, read with raw SQL."""
    res = await sess.cursor('SELECT id, name, email, score FROM "users" ORDER BY id')
    return [(r["id"], r["name"], r["email"], r["score"]) for r in await res.flatten()]


# --- select and its results

async def test_select_awaited_is_a_list_of_rows(sess):
    rows = await sess.select(User).order_by(User.id)
    assert isinstance(rows, list)
    assert all(isinstance(r, User) for r in rows)
    assert [(r.id, r.name, r.email, r.score, r.active) for r in rows] == [
        (i, n, e, sc, a) for i, (n, e, sc, _, a) in enumerate(SEED, 1)]


async def test_first(sess):
    first = await sess.select(User).order_by(User.score.desc()).first()
    assert (first.name, first.score) == ("carol", 30)
    assert await sess.select(User).where(User.name == "nobody").first() is None


async def test_first_keeps_a_smaller_limit(sess):
    assert await sess.select(User).limit(0).first() is None
    row = await sess.select(User).order_by(User.id).offset(2).first()
    assert row.name == "carol"


async def test_all_is_async_iterable_and_flattens(sess):
    res = await sess.select(User).order_by(User.id).all()
    assert isinstance(res, ResultGenerator)
    first = await res.__anext__()
    assert first.name == "alice"
    assert [u.name for u in await res.flatten()] == ["bob", "carol", "dave", "Eve"]
    assert await res.flatten() == []

    res = await sess.select(User).order_by(User.id).all()
    assert [u.name async for u in res] == [s[0] for s in SEED]


async def test_async_for_over_a_query(sess):
    seen = [u.name async for u in sess.select(User).where(User.score >= 15).order_by(User.id)]
    assert seen == ["bob", "carol", "Eve"]


async def test_select_from(sess):
    rows = await sess.select.from_(User).where(User.id == 2)
    assert [u.name for u in rows] == ["bob"]


async def test_select_without_table_is_an_error(sess):
    with pytest.raises(exc.InvalidRequestError):
        await sess.select.where(User.id == 1)
    with pytest.raises(exc.ArgumentError):
        sess.select("users")


async def test_a_query_can_be_awaited_twice(sess):
    q = sess.select(User).where(User.score > 10).order_by(User.id)
    assert [u.name for u in await q] == [u.name for u in await q] == ["bob", "carol", "Eve"]


async def test_count(sess):
    assert await sess.select(User).count() == 5
    assert await sess.select(User).where(User.active == True).count() == 4  # noqa: E712
    assert await sess.select(User).where(User.name == "nobody").count() == 0


async def test_count_respects_limit_and_offset(sess):
    assert await sess.select(User).limit(2).count() == 2
    assert await sess.select(User).offset(4).count() == 1
    assert await sess.select(User).where(User.score > 10).limit(10).offset(1).count() == 2


# --- where and the operators

async def test_where_conditions_are_anded(sess):
    q = sess.select(User).where(User.score > 5, User.score < 30)
    assert await names(q) == ["alice", "bob", "Eve"]
    q = sess.select(User).where(User.score > 5).where(User.active == True)  # noqa: E712
    assert await names(q) == ["alice", "bob", "carol", "Eve"]


@pytest.mark.parametrize("make, expected", [
    (lambda: User.score == 20, ["bob"]),
    (lambda: User.score != 20, ["alice", "carol", "dave", "Eve"]),
    (lambda: User.score < 15, ["alice", "dave"]),
    (lambda: User.score <= 15, ["alice", "dave", "Eve"]),
    (lambda: User.score > 15, ["bob", "carol"]),
    (lambda: User.score >= 15, ["bob", "carol", "Eve"]),
    (lambda: 15 < User.score, ["bob", "carol"]),
    (lambda: 15 == User.score, ["Eve"]),
    (lambda: User.email == None, ["bob", "dave"]),  # noqa: E711
    (lambda: User.email != None, ["alice", "carol", "Eve"]),  # noqa: E711
    (lambda: User.email.is_(None), ["bob", "dave"]),
    (lambda: User.email.is_not(None), ["alice", "carol", "Eve"]),
    (lambda: User.score.in_([5, 30, 99]), ["carol", "dave"]),
    (lambda: User.name.in_(("bob", "Eve")), ["bob", "Eve"]),
    (lambda: User.score.in_([]), []),
    (lambda: User.score.not_in([5, 30]), ["alice", "bob", "Eve"]),
    (lambda: User.score.not_in([]), ["alice", "bob", "carol", "dave", "Eve"]),
    (lambda: ~User.score.in_([]), ["alice", "bob", "carol", "dave", "Eve"]),
    (lambda: User.score.between(10, 20), ["alice", "bob", "Eve"]),
    (lambda: User.score.between(20, 10), []),
    (lambda: (User.score < 10) | (User.score > 25), ["carol", "dave"]),
    (lambda: (User.score > 5) & (User.active == False), []),  # noqa: E712
    (lambda: ~(User.score > 10), ["alice", "dave"]),
    (lambda: ~User.active, ["dave"]),
    (lambda: User.active, ["alice", "bob", "carol", "Eve"]),
    (lambda: (User.name == "bob") | (User.name == "dave") & (User.active == False),  # noqa: E712
     ["bob", "dave"]),
    (lambda: ((User.name == "bob") | (User.name == "dave")) & (User.active == True),  # noqa: E712
     ["bob"]),
])
async def test_operators(sess, make, expected):
    assert await names(sess.select(User).where(make())) == expected


@pytest.mark.parametrize("make, expected", [
    (lambda: User.score + 1 > 10, ["alice", "bob", "carol", "Eve"]),
    (lambda: User.score - 5 == 0, ["dave"]),
    (lambda: User.score * 2 >= 40, ["bob", "carol"]),
    (lambda: User.score * User.score > 200, ["bob", "carol", "Eve"]),
    (lambda: User.score / 5 == 2, ["alice"]),
    (lambda: User.score % 10 == 0, ["alice", "bob", "carol"]),
    (lambda: 100 - User.score < 75, ["carol"]),
    (lambda: (User.score + User.bonus) * 2 == 60, ["carol", "Eve"]),
    (lambda: (User.score + 1) * 2 == 22, ["alice"]),
    (lambda: User.score + 5 == User.bonus + 10, ["alice"]),
    (lambda: (User.score + 1).between(11, 16), ["alice", "Eve"]),
    (lambda: (User.score * 10).in_([100, 300]), ["alice", "carol"]),
    (lambda: User.score + 1 != None, ["alice", "bob", "carol", "dave", "Eve"]),  # noqa: E711
    (lambda: User.ratio * User.score > 19.5, ["bob", "carol"]),
    (lambda: User.name.concat("!") == "bob!", ["bob"]),
])
async def test_arithmetic(sess, make, expected):
    assert await names(sess.select(User).where(make())) == expected


@pytest.mark.parametrize("make, expected", [
    (lambda: User.score >= 9.5, ["alice", "bob", "carol", "Eve"]),
    (lambda: User.score < 10.5, ["alice", "dave"]),
    (lambda: User.score == 10.0, ["alice"]),
    (lambda: User.score == 9.9, []),
    (lambda: User.score > Decimal("19.99"), ["bob", "carol"]),
    (lambda: User.score.in_([10.0, 10.5]), ["alice"]),
    (lambda: User.score + 0.5 > 20, ["bob", "carol"]),
    (lambda: User.score.between(9.5, 10.5), ["alice"]),
])
async def test_integer_column_against_fractions(sess, make, expected):
    """A fraction is compared as a fraction, never truncated to the column's integer type."""
    assert await names(sess.select(User).where(make())) == expected


@pytest.mark.parametrize("make, expected", [
    (lambda: User.score == User.bonus, ["bob", "Eve"]),
    (lambda: User.score != User.bonus, ["alice", "carol", "dave"]),
    (lambda: User.score < User.bonus, ["dave"]),
    (lambda: User.score > User.bonus, ["alice", "carol"]),
    (lambda: User.score >= User.bonus, ["alice", "bob", "carol", "Eve"]),
])
async def test_column_to_column(sess, make, expected):
    assert await names(sess.select(User).where(make())) == expected


@pytest.mark.parametrize("make, expected", [
    (lambda: Note.body.like("hello"), ["hello"]),
    (lambda: Note.body.like("H%"), ["Hello", "HELLO world"]),
    (lambda: Note.body.like("a_b"), ["a_b", "axb"]),
    (lambda: Note.body.not_like("%l%"), ["100%", "500", "50% off", "a_b", "axb"]),
    (lambda: Note.body.ilike("hello"), ["Hello", "hello"]),
    (lambda: Note.body.ilike("HELLO%"), ["Hello", "hello", "HELLO world"]),
    (lambda: ~Note.body.ilike("%hello%"), ["100%", "500", "50% off", "a_b", "axb",
                                           "back\\slash", "backXslash"]),
    (lambda: Note.body.contains("50%"), ["50% off"]),
    (lambda: Note.body.contains("0%"), ["100%", "50% off"]),
    (lambda: Note.body.contains("%"), ["100%", "50% off"]),
    (lambda: Note.body.startswith("50"), ["500", "50% off"]),
    (lambda: Note.body.startswith("50%"), ["50% off"]),
    (lambda: Note.body.endswith("0%"), ["100%"]),
    (lambda: Note.body.contains("_"), ["a_b"]),
    (lambda: Note.body.startswith("a_"), ["a_b"]),
    (lambda: Note.body.contains("\\"), ["back\\slash"]),
    (lambda: Note.body.endswith("\\slash"), ["back\\slash"]),
    (lambda: Note.body.startswith("Hel"), ["Hello"]),
    (lambda: Note.body.contains("'"), []),
])
async def test_like_and_patterns(sess, make, expected):
    assert await bodies(sess.select(Note).where(make())) == expected


async def test_like_escapes_with_backslash_on_both_backends(sess):
    """A raw like() pattern uses \\ as its escape character on SQLite as on PostgreSQL."""
    assert await bodies(sess.select(Note).where(Note.body.like("%0\\%"))) == ["100%"]
    assert await bodies(sess.select(Note).where(Note.body.like("a\\_b"))) == ["a_b"]
    assert await bodies(sess.select(Note).where(Note.body.ilike("A\\_B"))) == ["a_b"]


async def test_pattern_values_must_be_strings(sess):
    with pytest.raises(TypeError):
        Note.body.contains(5)
    with pytest.raises(TypeError):
        Note.body.startswith(None)


async def test_in_takes_its_values_as_one_list_or_as_arguments(sess):
    """``in_("bob")`` is one value, ``in_("a", "b")`` two, as in the original asyncqlio."""
    await sess.insert.rows(User(name="in-bob"), User(name="in-amy"))
    assert [u.name for u in await sess.select(User).where(User.name.in_("in-bob"))] == ["in-bob"]
    both = {u.name for u in await sess.select(User).where(User.name.in_("in-bob", "in-amy"))}
    assert both == {"in-bob", "in-amy"}
    assert {u.name for u in await sess.select(User).where(
        User.name.in_(["in-bob", "in-amy"]))} == both


async def test_an_expression_is_true_as_in_the_original(sess):
    """``bool()`` of an expression is true (the original's rule), so Python's ``and`` picks
    one side: conditions combine with ``&``; ``col == other_col`` is identity."""
    assert bool(User.score > 1) and bool((User.score + 1) > 2)
    assert ((User.score > 1) and (User.score < 5)).op == "<"  # noqa: B015
    assert User.score in (User.id, User.score) and User.name not in (User.id, User.score)


async def test_where_refuses_what_is_not_a_condition(sess):
    with pytest.raises(exc.ArgumentError):
        sess.select(User).where("id = 1")
    with pytest.raises(exc.ArgumentError):
        sess.select(User).where(User.id.desc())


# --- ordering, limit and offset

async def test_order_by_asc_desc(sess):
    q = sess.select(User)
    assert [u.score for u in await q.order_by(User.score.asc())] == [5, 10, 15, 20, 30]
    assert [u.score for u in await sess.select(User).order_by(User.score.desc())] == \
        [30, 20, 15, 10, 5]
    assert [u.score for u in await sess.select(User).order_by(User.score)] == [5, 10, 15, 20, 30]


async def test_order_by_several_columns(sess):
    async with sess.bind.get_session() as s:
        await s.insert.rows(User(name="ann", score=10), User(name="zed", score=30))
    rows = await sess.select(User).order_by(User.score.desc(), User.name.asc())
    assert [(u.score, u.name) for u in rows] == [
        (30, "carol"), (30, "zed"), (20, "bob"), (15, "Eve"), (10, "alice"), (10, "ann"),
        (5, "dave")]
    rows = await sess.select(User).order_by(User.score).order_by(User.id.desc())
    assert [u.name for u in rows] == ["dave", "ann", "alice", "Eve", "bob", "zed", "carol"]


async def test_order_by_an_expression(sess):
    rows = await sess.select(User).order_by((User.score - User.bonus).desc(), User.id)
    assert [u.name for u in rows] == ["carol", "alice", "bob", "Eve", "dave"]


async def test_order_by_refuses_raw_sql(sess):
    with pytest.raises(exc.ArgumentError):
        sess.select(User).order_by("name")
    with pytest.raises(exc.ArgumentError):
        sess.select(User).order_by("name; DROP TABLE users")


async def test_limit_and_offset(sess):
    base = sess.select(User).order_by(User.id)
    assert [u.name for u in await base.limit(2)] == ["alice", "bob"]
    q = sess.select(User).order_by(User.id).limit(2).offset(1)
    assert [u.name for u in await q] == ["bob", "carol"]
    q = sess.select(User).order_by(User.id).offset(3)
    assert [u.name for u in await q] == ["dave", "Eve"]
    assert await sess.select(User).limit(0) == []
    assert await sess.select(User).offset(10) == []
    q = sess.select(User).order_by(User.id).limit(2).limit(None)
    assert len(await q) == 5


@pytest.mark.parametrize("bad, error", [
    ("1; DROP TABLE users", TypeError),
    ("3", TypeError),
    (1.5, TypeError),
    (True, TypeError),
    (-1, ValueError),
])
async def test_limit_and_offset_are_validated(sess, bad, error):
    with pytest.raises(error):
        sess.select(User).limit(bad)
    with pytest.raises(error):
        sess.select(User).offset(bad)
    assert await sess.select(User).count() == 5


# --- values are bound, never pasted

INJECTION = "'; DROP TABLE users; --"


async def test_injection_values_are_stored_verbatim(sess):
    row = (await sess.insert.rows(User(name=INJECTION, email='x" OR 1=1 --')))[0]
    await sess.commit()
    found = await sess.select(User).where(User.name == INJECTION).first()
    assert found.id == row.id
    assert (found.name, found.email) == (INJECTION, 'x" OR 1=1 --')
    assert await names(sess.select(User).where(User.name.contains("DROP"))) == [INJECTION]
    assert await sess.select(User).where(User.name.in_([INJECTION, "' OR '1'='1"])).count() == 1
    assert await sess.select(User).where(User.name == "' OR '1'='1").count() == 0
    assert (row.id, INJECTION, 'x" OR 1=1 --', 0) in await raw_users(sess)
    assert await sess.select(User).count() == 6


# --- insert

async def test_insert_rows_fills_in_keys_and_matches_the_database(sess):
    a, b, c = User(name="a", score=1), User(name="b"), User(name="c", email="c@x")
    out = await sess.insert.rows(a, b, c)
    assert out == [a, b, c]
    assert out[0] is a
    assert [r.id for r in out] == [6, 7, 8]
    assert (b.score, b.email, b.active) == (0, None, True)
    await sess.commit()
    async with sess.bind.get_session() as other:
        assert (await raw_users(other))[5:] == [(6, "a", None, 1), (7, "b", None, 0),
                                               (8, "c", "c@x", 0)]


async def test_insert_rows_with_different_column_sets(sess):
    rows = [User(name="p"), User(id=100, name="q", email="q@x"), User(name="r", score=7),
            User(name="s")]
    await sess.insert.rows(*rows)
    ids = [r.id for r in rows]
    assert ids[1] == 100 and None not in ids and len(set(ids)) == 4
    await sess.commit()
    db_rows = {r[0]: r[1:] for r in await raw_users(sess)}
    for row in rows:
        assert db_rows[row.id] == (row.name, row.email, row.score)
    assert db_rows[100] == ("q", "q@x", 0)


async def test_insert_rows_leaving_out_different_columns(sess):
    rows = [Entry(code="a", text="x"), Entry(code="b", number=2),
            Entry(code="c", text="y", number=3), Entry(code="d", text="z"),
            Entry(code="e", text="w")]
    out = await sess.insert.rows(*rows)
    assert [(r.id, r.code, r.text, r.number) for r in out] == [
        (1, "a", "x", None), (2, "b", None, 2), (3, "c", "y", 3), (4, "d", "z", None),
        (5, "e", "w", None)]
    await sess.commit()
    res = await sess.cursor('SELECT id, code, text, number FROM "entries" ORDER BY id')
    assert [tuple(r.values()) for r in await res.flatten()] == \
        [(r.id, r.code, r.text, r.number) for r in out]


async def test_insert_compile_needs_one_statement(sess):
    q = sess.insert.rows(User(name="a"), User(id=9, name="b"))
    with pytest.raises(exc.InvalidRequestError):
        q.compile()
    with pytest.raises(exc.ArgumentError):
        sess.insert.rows({"name": "a"})


async def test_upsert_updates_only_the_named_columns(sess):
    rows = await sess.insert.rows(User(id=1, name="alicia", score=999, email="new@x")) \
        .on_conflict(User.id).update(User.name)
    assert (rows[0].id, rows[0].name, rows[0].score, rows[0].email) == \
        (1, "alicia", 10, "alice@example.com")
    await sess.commit()
    assert (await raw_users(sess))[0] == (1, "alicia", "alice@example.com", 10)
    assert await sess.select(User).count() == 5


async def test_upsert_inserts_what_does_not_conflict(sess):
    rows = await sess.insert.rows(User(id=2, name="robert"), User(id=50, name="new")) \
        .on_conflict(User.id).update(User.name, User.score)
    assert [(r.id, r.name, r.score) for r in rows] == [(2, "robert", 0), (50, "new", 0)]
    assert [u[:2] for u in await raw_users(sess)] == [
        (1, "alice"), (2, "robert"), (3, "carol"), (4, "dave"), (5, "Eve"), (50, "new")]


async def test_on_conflict_nothing_keeps_the_existing_row(sess):
    await sess.insert.rows(User(id=1, name="intruder", score=0), User(id=60, name="fresh")) \
        .on_conflict(User.id).nothing()
    await sess.commit()
    users = await raw_users(sess)
    assert users[0] == (1, "alice", "alice@example.com", 10)
    assert users[-1] == (60, "fresh", None, 0)
    await sess.insert.rows(User(id=3, name="x")).on_conflict().nothing()
    assert (await sess.select(User).where(User.id == 3).first()).name == "carol"


async def test_on_conflict_nothing_fills_in_generated_keys(sess):
    await sess.insert.rows(Entry(code="a"))
    rows = await sess.insert.rows(Entry(code="a", text="dup"), Entry(code="b", text="new")) \
        .on_conflict(Entry.code).nothing()
    stored = await sess.fetch("SELECT id FROM entries WHERE code = {c}", {"c": "b"})
    assert rows[1].id == stored["id"]
    assert rows[0].id is None  # skipped: it stays unsaved


async def test_on_conflict_update_needs_columns(sess):
    with pytest.raises(exc.ArgumentError):
        sess.insert.rows(User(id=1, name="x")).on_conflict(User.id).update()
    with pytest.raises(exc.ArgumentError):
        sess.insert.rows(User(id=1, name="x")).on_conflict().update(User.name)
    with pytest.raises(exc.ArgumentError):
        sess.insert.rows(User(id=1, name="x")).on_conflict("id")


async def test_insert_duplicate_key_is_an_integrity_error(sess):
    with pytest.raises(exc.IntegrityError):
        await sess.insert.rows(User(id=1, name="again"))
    await sess.rollback()
    assert await sess.select(User).count() == 5


async def test_large_insert_crosses_the_statement_chunk(sess):
    rows = [User(name=f"user{i}", score=i) for i in range(5000)]
    out = await sess.insert.rows(*rows)
    assert len(out) == 5000
    assert [r.id for r in out] == list(range(6, 5006))
    await sess.commit()
    assert await sess.select(User).count() == 5005
    by_id = {r[0]: r for r in await raw_users(sess)}
    assert all(by_id[r.id][1:4:2] == (r.name, r.score) for r in rows)
    last = await sess.select(User).where(User.name == "user4999").first()
    assert last.id == 5005


# --- bulk update and delete

async def test_update_returns_the_count(sess):
    n = await sess.update(User).set(User.email, "none@x").where(User.email == None)  # noqa: E711
    assert n == 2
    await sess.commit()
    assert [u[2] for u in await raw_users(sess)] == [
        "alice@example.com", "none@x", "carol@example.com", "none@x", "eve@example.com"]


async def test_update_with_an_expression(sess):
    n = await sess.update(User).set(User.score, User.score + 1).where(User.score >= 15)
    assert n == 3
    assert [u[3] for u in await raw_users(sess)] == [10, 21, 31, 5, 16]
    n = await sess.update(User).set(User.score, User.score * User.bonus) \
        .set("email", "many@x").where(User.name.in_(["alice", "dave"]))
    assert n == 2
    assert [u[2:] for u in await raw_users(sess)][::3] == [("many@x", 50), ("many@x", 50)]


async def test_update_without_where_updates_every_row(sess):
    assert await sess.update(User).set(User.active, False) == 5
    assert await sess.select(User).where(User.active == True).count() == 0  # noqa: E712


async def test_update_matching_nothing(sess):
    assert await sess.update(User).set(User.score, 0).where(User.id > 100) == 0


async def test_update_values_are_bound(sess):
    assert await sess.update(User).set(User.name, INJECTION).where(User.id == 2) == 1
    assert (await raw_users(sess))[1][1] == INJECTION
    assert await sess.select(User).count() == 5


async def test_update_needs_a_set_and_columns_of_its_table(sess):
    with pytest.raises(exc.InvalidRequestError):
        await sess.update(User).where(User.id == 1)
    with pytest.raises(exc.ArgumentError):
        sess.update(User).set(Note.body, "x")
    with pytest.raises(exc.SchemaError):
        sess.update(User).set("nope", 1)


async def test_delete_returns_the_count(sess):
    assert await sess.delete(User).where(User.score < 15) == 2
    assert await sess.delete(User).where(User.score < 15) == 0
    await sess.commit()
    assert [u[1] for u in await raw_users(sess)] == ["bob", "carol", "Eve"]
    assert await sess.delete(User) == 3
    assert await raw_users(sess) == []


async def test_delete_with_or_and_not(sess):
    n = await sess.delete(User).where((User.name == "bob") | ~User.active)
    assert n == 2
    assert [u[1] for u in await raw_users(sess)] == ["alice", "carol", "Eve"]
