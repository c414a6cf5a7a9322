"""Richer queries on both backends: joins, column selects (Row), func, group_by/having,
distinct, exists, subqueries in IN and FROM, returning; and the shape cache for each."""
from __future__ import annotations

import pytest

from asyncqlio import (Boolean, Column, ForeignKey, Integer, Real, Row, String, exc, exists,
                       func, table_base)
from asyncqlio._speedups import _compile
from asyncqlio.orm.query import SelectQuery

Table = table_base()


class Team(Table, table_name="qm_teams"):
    id = Column(Integer, primary_key=True)
    name = Column(String(20))


class Player(Table, table_name="qm_players"):
    id = Column(Integer, primary_key=True)
    name = Column(String(20))
    team_id = Column(Integer, foreign_key=ForeignKey("qm_teams.id"), nullable=True)
    score = Column(Integer)
    ratio = Column(Real, default=0.5)
    active = Column(Boolean, default=True)


PLAYERS = [("ann", 1, 10, True), ("ben", 1, 20, False), ("cid", 2, 30, True),
           ("dan", 2, 30, True), ("eve", None, 5, True)]


@pytest.fixture
async def sess(db):
    db.bind_tables(Table)
    await Team.create()
    await Player.create()
    async with db.get_session() as s:
        await s.insert.rows(Team(name="red"), Team(name="blue"), Team(name="empty"))
        await s.insert.rows(*[Player(name=n, team_id=t, score=sc, active=a)
                              for n, t, sc, a in PLAYERS])
    async with db.get_session() as s:
        yield s


async def test_select_columns_gives_rows(sess):
    rows = await sess.select(Player.name, Player.score).order_by(Player.id)
    assert rows[0] == ("ann", 10) and isinstance(rows[0], Row)
    name, score = rows[1]
    assert (name, score) == ("ben", 20)
    assert rows[2].name == "cid" and rows[2]["score"] == 30 and rows[2][1] == 30
    assert dict(rows[3]) == {"name": "dan", "score": 30} == rows[3]._mapping
    assert rows[0].keys() == ["name", "score"]
    with pytest.raises(AttributeError):
        rows[0].nope
    # values load with the column's type (SQLite stores booleans as 0/1)
    flags = await sess.select(Player.active).order_by(Player.id).scalars()
    assert flags == [True, False, True, True, True] and all(type(f) is bool for f in flags)
    assert await sess.select(Player.name).where(Player.score > 100).first() is None


async def test_func_group_by_having(sess):
    assert await sess.select(func.count()).from_(Player).scalar() == 5
    assert await sess.select(func.count(Player.team_id)).scalar() == 4
    assert await sess.select(func.sum(Player.score)).scalar() == 95
    assert await sess.select(func.max(Player.score), func.min(Player.score)).first() == (30, 5)
    assert float(await sess.select(func.avg(Player.score)).scalar()) == 19.0
    assert await sess.select(func.max(Player.ratio)).scalar() == 0.5
    # any SQL function by name, values bound
    assert await sess.select(func.upper(Player.name)).where(Player.id == 1).scalar() == "ANN"
    assert await sess.select(func.coalesce(Player.team_id, 0)).order_by(Player.id).scalars() \
        == [1, 1, 2, 2, 0]
    rows = await (sess.select(Player.team_id, func.count().label("n"), func.sum(Player.score))
                  .where(Player.team_id != None)  # noqa: E711
                  .group_by(Player.team_id).having(func.sum(Player.score) > 30)
                  .order_by(Player.team_id))
    assert rows == [(2, 2, 60)]
    assert rows[0].n == 2 and rows[0].sum == 60
    with pytest.raises(exc.ArgumentError):
        sess.select(Player).group_by("team_id")
    with pytest.raises(ValueError):
        func.__getattr__("bad name")()


async def test_joins(sess):
    rows = await (sess.select(Player.name, Team.name.label("team")).join(Team)
                  .order_by(Player.id))
    assert [tuple(r) for r in rows] == [("ann", "red"), ("ben", "red"), ("cid", "blue"),
                                       ("dan", "blue")]
    rows = await (sess.select(Team.name, func.count(Player.id).label("n"))
                  .outerjoin(Player, on=Player.team_id == Team.id)
                  .group_by(Team.name).order_by(Team.name))
    assert [tuple(r) for r in rows] == [("blue", 2), ("empty", 0), ("red", 2)]
    # whole rows filtered through a join
    players = await sess.select(Player).join(Team).where(Team.name == "blue").order_by(Player.id)
    assert [p.name for p in players] == ["cid", "dan"]
    assert await sess.select(Player).join(Team).where(Team.name == "blue").count() == 2
    with pytest.raises(exc.ArgumentError):
        sess.select(Team).join(Team)  # no foreign key from a table to itself here


async def test_distinct_exists_and_subqueries(sess):
    assert await sess.select(Player.score).distinct().order_by(Player.score).scalars() == \
        [5, 10, 20, 30]
    assert await sess.select(Player.score).distinct().count() == 4
    assert await sess.select(Player).where(Player.score > 25).exists() is True
    assert await sess.select(Player).where(Player.score > 99).exists() is False
    # correlated EXISTS
    active = sess.select(Player.id).where(Player.team_id == Team.id,
                                          Player.active == True)  # noqa: E712
    teams = await sess.select(Team).where(exists(active)).order_by(Team.id)
    assert [t.name for t in teams] == ["red", "blue"]
    no_players = await sess.select(Team.name).where(
        ~exists(sess.select(Player.id).where(Player.team_id == Team.id))).scalars()
    assert no_players == ["empty"]
    # a select as the values of IN
    in_red = sess.select(Player.team_id).where(Player.name.in_(["ben", "cid"]))
    assert await sess.select(Team.name).where(Team.id.in_(in_red)).order_by(Team.id).scalars() \
        == ["red", "blue"]
    with_team = sess.select(Player.team_id).where(Player.team_id != None)  # noqa: E711
    assert await sess.select(Team.name).where(Team.id.not_in(with_team)).scalars() == ["empty"]
    # a select in FROM
    totals = (sess.select(Player.team_id, func.sum(Player.score).label("total"))
              .group_by(Player.team_id).subquery("totals"))
    rows = await (sess.select(Team.name, totals.c.total)
                  .join(totals, on=totals.c.team_id == Team.id)
                  .where(totals.c.total > 35).order_by(Team.name))
    assert [tuple(r) for r in rows] == [("blue", 60)]
    best = sess.select(Player).where(Player.active == True).subquery("best")  # noqa: E712
    assert await sess.select(func.max(best.c.score)).scalar() == 30
    assert await sess.select(best.c.name).where(best.c.score < 10).scalars() == ["eve"]


async def test_for_update_and_returning(sess):
    rows = await sess.select(Player).where(Player.id == 1).for_update()
    assert rows[0].name == "ann"
    changed = await (sess.update(Player).set(Player.score, Player.score + 1)
                     .where(Player.team_id == 1).returning(Player.id, Player.score))
    assert sorted(tuple(r) for r in changed) == [(1, 11), (2, 21)]
    gone = await sess.delete(Player).where(Player.name == "eve").returning(Player)
    assert [(p.name, p.score) for p in gone] == [("eve", 5)]
    assert await sess.update(Player).set(Player.score, 0).where(Player.id == 99) == 0
    with pytest.raises(exc.ArgumentError):
        sess.update(Player).returning(Team.name)


async def test_insert_returning(sess):
    rows = await sess.insert.rows(Team(name="green"), Team(name="gold")).returning(Team.id,
                                                                                  Team.name)
    assert [r.name for r in rows] == ["green", "gold"] and all(r.id > 3 for r in rows)
    t = Team(name="grey")
    assert await sess.insert.rows(t).returning(Team) == [t] and t.id is not None
    again = await (sess.insert.rows(Team(id=t.id, name="dup"), Team(name="new"))
                   .on_conflict(Team.id).nothing().returning(Team.name))
    assert [tuple(r) for r in again] == [("new",)]
    with pytest.raises(exc.InvalidRequestError):
        await sess.insert.rows(Player(name="x", score=1)).returning(Team.id)


# --- the compiled-select cache covers every new kind of node


def _q():
    class _S:
        dialect = None
    return SelectQuery(_S())


def _statements():
    """Statements of every new shape, built fresh each call (values differ by call)."""
    sub = (_q().columns(Player.team_id, func.sum(Player.score).label("total"))
           .group_by(Player.team_id).subquery("t"))
    return [
        _q().columns(Player.name, Team.name.label("team")).join(Team, on=Player.team_id == Team.id),
        _q().columns(Team.name, func.count(Player.id)).outerjoin(Player).group_by(Team.name)
        .having(func.count(Player.id) > 1).order_by(Team.name),
        _q().columns(Player.score).distinct().where(Player.score > 3).limit(3).offset(1),
        _q().from_(Team).where(exists(_q().columns(Player.id).where(Player.team_id == Team.id,
                                                                    Player.score > 7))),
        _q().from_(Team).where(Team.id.in_(_q().columns(Player.team_id).where(Player.score < 9))),
        _q().from_(Team).where(Team.id.not_in(_q().columns(Player.team_id))),
        _q().columns(Team.name, sub.c.total).join(sub, on=sub.c.team_id == Team.id)
        .where(sub.c.total > 2),
        _q().columns(func.coalesce(Player.team_id, 4), func.count()).from_(Player)
        .group_by(Player.team_id).for_update(),
        _q().from_(Player).join(Team).where(Team.name == "x").order_by(Player.id.desc()),
    ]


@pytest.mark.parametrize("dialect,numeric", [("postgresql", True), ("sqlite", False)])
@pytest.mark.parametrize("case", range(9))
def test_new_shapes_cached_equals_fresh(dialect, numeric, case):
    stmt = _statements()[case]._statement(None)
    fresh = _compile.compile_statement(_compile.Compiler(dialect, numeric), stmt)
    first = _compile.statement_cached(_compile.Compiler(dialect, numeric), stmt)
    again = _compile.statement_cached(_compile.Compiler(dialect, numeric),
                                      _statements()[case]._statement(None))
    assert first == fresh
    assert again == fresh
    assert fresh[0].count("$" if numeric else "?") >= len(fresh[1])


@pytest.mark.parametrize("dialect,numeric", [("postgresql", True), ("sqlite", False)])
def test_new_shapes_are_distinct_entries(dialect, numeric):
    sqls = {_compile.statement_cached(_compile.Compiler(dialect, numeric), q._statement(None))[0]
            for q in _statements()}
    assert len(sqls) == 9


def test_subquery_values_and_labels_change_the_shape():
    def compiled(q):
        return _compile.statement_cached(_compile.Compiler("postgresql", True), q._statement(None))

    a = compiled(_q().from_(Team).where(Team.id.in_(_q().columns(Player.team_id)
                                                     .where(Player.score < 1))))
    b = compiled(_q().from_(Team).where(Team.id.in_(_q().columns(Player.team_id)
                                                     .where(Player.score < 2))))
    assert a[0] == b[0] and a[1] == [1] and b[1] == [2]
    c = compiled(_q().columns(Player.score.label("x")))
    d = compiled(_q().columns(Player.score.label("y")))
    assert c[0] != d[0] and c[0].endswith('AS "x" FROM "qm_players"')


@pytest.mark.parametrize("dialect,numeric", [("postgresql", True), ("sqlite", False)])
def test_subqueries_in_the_one_table_fast_path(dialect, numeric):
    """A plain select of rows keeps select_cached; subqueries in its WHERE are shaped too."""
    info = Team.__table__

    def where(n):
        return (Team.id.in_(_q().columns(Player.team_id).where(Player.score > n))
                & exists(_q().columns(Player.id).where(Player.team_id == Team.id,
                                                       Player.name == f"p{n}")))

    args = (info.select_sql, info.quoted)
    fresh = _compile.compile_select(_compile.Compiler(dialect, numeric), *args, where(1), [],
                                    5, None, False)
    first = _compile.select_cached(_compile.Compiler(dialect, numeric), *args, where(1), [],
                                   5, None, False)
    again = _compile.select_cached(_compile.Compiler(dialect, numeric), *args, where(2), [],
                                   5, None, False)
    assert first == fresh
    assert again[0] == fresh[0] and again[1] == [2, "p2", 5]
