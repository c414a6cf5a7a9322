"""``query.compile()`` without I/O: the SQL text and parameters for each dialect, with every
identifier quoted and every value bound."""
from __future__ import annotations

from decimal import Decimal

import pytest

from asyncqlio import Boolean, Column, DatabaseInterface, Integer, String, exc, table_base
from asyncqlio.orm.session import SessionState

Table = table_base()


class User(Table, table_name="users"):
    id = Column(Integer, primary_key=True)
    name = Column(String(64))
    score = Column(Integer, default=0)
    active = Column(Boolean, default=True)


class Odd(Table, table_name='we"ird table'):
    id = Column(Integer, primary_key=True)
    label = Column(String, name='la"bel')


COLS = '"users"."id", "users"."name", "users"."score", "users"."active"'
DSNS = {"sqlite": "sqlite:///:memory:", "postgresql": "postgresql://nobody@127.0.0.1:1/none"}
MARK = "'; DROP TABLE users; --"


@pytest.fixture(params=["sqlite", "postgresql"])
def dialect(request) -> str:
    return request.param


@pytest.fixture
def sess(dialect):
    """A session of an interface that never connects: compiling needs no database."""
    s = DatabaseInterface(DSNS[dialect]).get_session()
    yield s
    assert s.state is SessionState.NOT_READY and s.conn is None


def ph(dialect: str, *numbers: int) -> tuple[str, ...]:
    return tuple(f"${n}" if dialect == "postgresql" else "?" for n in numbers)


def test_select_sql_and_params(sess, dialect):
    q = sess.select(User).where(User.score > 10, User.name == MARK) \
        .order_by(User.id.desc(), User.name).limit(20).offset(40)
    sql, params = q.compile()
    a, b, c, d = ph(dialect, 1, 2, 3, 4)
    assert sql == (f'SELECT {COLS} FROM "users" WHERE (("users"."score" > {a}) AND '
                   f'("users"."name" = {b})) ORDER BY "users"."id" DESC, "users"."name" ASC '
                   f'LIMIT {c} OFFSET {d}')
    assert params == [10, MARK, 20, 40]


def test_values_never_reach_the_sql_text(sess):
    conds = [User.name == MARK, User.name.in_([MARK, MARK + "2"]), User.name.like(MARK),
             User.name.contains(MARK), User.name.between(MARK, MARK), User.score + 12345 > 67890]
    sql, params = sess.select(User).where(*conds).compile()
    for value in ("DROP", "12345", "67890"):
        assert value not in sql
    assert params.count(MARK) == 5
    sql, params = sess.update(User).set(User.name, MARK).where(User.id == 424242).compile()
    assert "DROP" not in sql and "424242" not in sql
    assert params == [MARK, 424242]


def test_offset_without_limit(sess, dialect):
    sql, params = sess.select(User).offset(5).compile()
    if dialect == "sqlite":
        assert sql.endswith(" LIMIT -1 OFFSET ?")
    else:
        assert sql.endswith(" OFFSET $1") and "LIMIT" not in sql
    assert params == [5]


def test_identifiers_are_quoted_with_quotes_doubled(sess):
    sql, params = sess.select(Odd).where(Odd.label == 'x"y').compile()
    assert sql.startswith('SELECT "we""ird table"."id", "we""ird table"."la""bel" '
                          'FROM "we""ird table" WHERE ("we""ird table"."la""bel" = ')
    assert params == ['x"y']


def test_placeholders_count_up_on_postgresql_only(sess, dialect):
    sql, params = sess.select(User).where(User.id.in_([1, 2, 3]), User.score.between(4, 5)) \
        .compile()
    if dialect == "postgresql":
        assert '"users"."id" IN ($1, $2, $3)' in sql and "BETWEEN $4 AND $5" in sql
        assert "?" not in sql
    else:
        assert '"users"."id" IN (?, ?, ?)' in sql and "BETWEEN ? AND ?" in sql
        assert "$" not in sql
    assert params == [1, 2, 3, 4, 5]


def test_empty_in(sess):
    sql, params = sess.select(User).where(User.id.in_([]), User.id.not_in(())).compile()
    assert "((1 = 0) AND (1 = 1))" in sql and params == []


def test_like_escaping_per_dialect(sess, dialect):
    sql, params = sess.select(User).where(User.name.contains("5_%\\")).compile()
    assert params == ["%5\\_\\%\\\\%"]
    if dialect == "sqlite":
        assert sql.endswith(""""users"."name" LIKE ? ESCAPE '\\')""")
    else:  # backslash is PostgreSQL's default LIKE escape
        assert sql.endswith('"users"."name" LIKE $1)')


def test_ilike_per_dialect(sess, dialect):
    sql, params = sess.select(User).where(~User.name.ilike("Ab%")).compile()
    if dialect == "sqlite":
        assert """(lower("users"."name") LIKE lower(?) ESCAPE '\\')""" in sql
    else:
        assert '("users"."name" ILIKE $1)' in sql
    assert "NOT" in sql and params == ["Ab%"]


def test_values_are_converted_by_the_column_type(sess, dialect):
    q = sess.select(User).where(User.active == True, User.active.in_([False]))  # noqa: E712
    _, params = q.compile()
    assert params == ([1, 0] if dialect == "sqlite" else [True, False])


def test_fractions_keep_their_type_on_postgresql(sess, dialect):
    sql, params = sess.select(User).where(User.score > 0.5, User.score < Decimal("2.5"),
                                          User.id == 3).compile()
    if dialect == "postgresql":
        assert sql.endswith('WHERE (("users"."score" > $1::float8) AND '
                            '("users"."score" < $2::numeric) AND ("users"."id" = $3))')
    else:
        assert sql.endswith('WHERE (("users"."score" > ?) AND ("users"."score" < ?) AND '
                            '("users"."id" = ?))')
    assert params == [0.5, Decimal("2.5"), 3]


def test_arithmetic_and_column_comparisons(sess, dialect):
    a, b = ph(dialect, 1, 2)
    sql, params = sess.select(User).where((User.score + 1) * User.id >= User.score).compile()
    assert sql.endswith(f'WHERE ((("users"."score" + {a}) * "users"."id") >= "users"."score")')
    assert params == [1]
    sql, params = sess.select(User).where(10 - User.score < 2).compile()
    assert sql.endswith(f'WHERE (({a} - "users"."score") < {b})')
    assert params == [10, 2]


def test_null_comparisons(sess, dialect):
    (a,) = ph(dialect, 1)
    sql, params = sess.select(User).where(
        User.name == None, User.name != None,  # noqa: E711
        User.score.is_(None), (User.score + 1).is_not(None)).compile()
    assert sql.endswith('WHERE (("users"."name" IS NULL) AND ("users"."name" IS NOT NULL) AND '
                        f'("users"."score" IS NULL) AND (("users"."score" + {a}) IS NOT NULL))')
    assert params == [1]


def test_boolean_operators(sess):
    cond = ((User.id == 1) | (User.id == 2)) & ~User.active
    sql, _ = sess.select(User).where(cond).compile()
    assert ' OR ' in sql and ' AND (NOT "users"."active")' in sql
    assert bool(User.id > 1)  # an expression is true, as in the original asyncqlio
    assert bool(User.id == User.id) and not bool(User.id == User.name)
    assert User.id in [User.name, User.id]


def test_update_sql(sess, dialect):
    a, b = ph(dialect, 1, 2)
    sql, params = sess.update(User).set(User.score, User.score + 1).where(User.id > 10).compile()
    assert sql == (f'UPDATE "users" SET "score" = ("users"."score" + {a}) '
                   f'WHERE ("users"."id" > {b})')
    assert params == [1, 10]
    sql, params = sess.update(User).set("active", False).compile()
    assert sql == f'UPDATE "users" SET "active" = {a}'
    assert params == ([0] if dialect == "sqlite" else [False])


def test_delete_sql(sess, dialect):
    (a,) = ph(dialect, 1)
    sql, params = sess.delete(User).where(User.name == MARK).compile()
    assert sql == f'DELETE FROM "users" WHERE ("users"."name" = {a})'
    assert params == [MARK]
    assert sess.delete(User).compile() == ('DELETE FROM "users"', [])


def test_insert_sql(sess, dialect):
    a, b, c, d, e, f = ph(dialect, 1, 2, 3, 4, 5, 6)
    sql, params = sess.insert.rows(User(name="a"), User(name=MARK, score=2, active=False)) \
        .compile()
    assert sql == (f'INSERT INTO "users" ("name", "score", "active") VALUES ({a}, {b}, {c}), '
                   f'({d}, {e}, {f}) RETURNING "id", "name", "score", "active"')
    assert params == ["a", 0, 1 if dialect == "sqlite" else True,
                      MARK, 2, 0 if dialect == "sqlite" else False]


def test_upsert_sql(sess):
    sql, _ = sess.insert.rows(User(id=1, name="a")).on_conflict(User.id).update(User.name) \
        .compile()
    assert ' ON CONFLICT ("id") DO UPDATE SET "name" = excluded."name" RETURNING ' in sql
    sql, _ = sess.insert.rows(User(id=1, name="a")).on_conflict().nothing().compile()
    assert ' ON CONFLICT DO NOTHING RETURNING ' in sql


def test_builder_errors(sess):
    with pytest.raises(TypeError):
        sess.select(User).limit("1; DROP TABLE users")
    with pytest.raises(TypeError):
        sess.select(User).limit(True)
    with pytest.raises(ValueError):
        sess.select(User).limit(-1)
    with pytest.raises(exc.ArgumentError):
        sess.select(User).order_by("name")
    with pytest.raises(exc.ArgumentError):
        sess.select(User).where("1 = 1")
    with pytest.raises(exc.InvalidRequestError):
        sess.update(User).compile()
    with pytest.raises(exc.InvalidRequestError):
        sess.select.compile()
    with pytest.raises(TypeError):
        User.name.is_(1)
    with pytest.raises(TypeError):
        User.name.startswith(1)
