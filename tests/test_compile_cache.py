"""Compiled selects are cached by query shape: a hit gives exactly the SQL and parameters a
fresh compile gives, and any difference that changes the SQL is a different shape."""
import decimal

import pytest

from asyncqlio import Boolean, Column, Integer, Real, String, table_base
from asyncqlio._speedups import _compile

Table = table_base()


class Row(Table, table_name="cached_rows"):
    id = Column(Integer, primary_key=True)
    name = Column(String(20))
    score = Column(Real)
    flag = Column(Boolean)


class Other(Table, table_name="cached_rows_other"):
    id = Column(Integer, primary_key=True)
    name = Column(String(20))


DIALECTS = [("postgresql", True), ("sqlite", False)]

CASES = [
    (Row, None, [], None, None),
    (Row, Row.id == 1, [], 1, None),
    (Row, (Row.score > 2.5) & Row.name.startswith("a%"), [Row.id.desc()], 10, 20),
    (Row, Row.id.in_([1, 2, 3]), [], None, 5),
    (Row, Row.id.in_([1, 2]), [], None, 5),
    (Row, Row.id.in_([]), [], None, None),
    (Row, Row.id.not_in([4]) | ~(Row.flag == True), [(Row.score - 1).asc()], None, None),  # noqa: E712
    (Row, Row.score.between(1, decimal.Decimal("2.5")), [], None, None),
    (Row, Row.name.ilike("x") & (Row.name != None), [Row.name], None, None),  # noqa: E711
    (Row, Row.id == 1.5, [], None, None),
    (Other, Other.id == 1, [], 1, None),
]


def _both(dialect, numeric, table, where, order, limit, offset):
    info = table.__table__
    args = (info.select_sql, info.quoted, where, order, limit, offset, False)
    fresh = _compile.compile_select(_compile.Compiler(dialect, numeric), *args)
    first = _compile.select_cached(_compile.Compiler(dialect, numeric), *args)
    again = _compile.select_cached(_compile.Compiler(dialect, numeric), *args)
    return fresh, first, again


@pytest.mark.parametrize("dialect,numeric", DIALECTS)
@pytest.mark.parametrize("case", range(len(CASES)))
def test_cached_equals_fresh(dialect, numeric, case):
    fresh, first, again = _both(dialect, numeric, *CASES[case])
    assert first == fresh
    assert again == fresh


@pytest.mark.parametrize("dialect,numeric", DIALECTS)
def test_every_shape_is_its_own_entry(dialect, numeric):
    sqls = {_both(dialect, numeric, *case)[0][0] for case in CASES}
    assert len(sqls) == len(CASES)


def test_same_shape_new_values_hits_the_cache():
    _compile._select_cache.clear()
    info = Row.__table__
    for i in range(50):
        sql, params = _compile.select_cached(
            _compile.Compiler("postgresql", True), info.select_sql, info.quoted,
            (Row.id == i) & (Row.name == f"n{i}"), [Row.id.asc()], 10, None, False)
        assert params == [i, f"n{i}", 10]
    assert len(_compile._select_cache) == 1


def test_value_types_that_change_the_sql_are_other_shapes():
    info = Row.__table__

    def sql(where):
        return _compile.select_cached(_compile.Compiler("postgresql", True), info.select_sql,
                                      info.quoted, where, None, None, None, False)[0]

    assert sql(Row.id == 1).endswith("$1)")
    assert sql(Row.id == 1.5).endswith("$1::float8)")
    assert sql(Row.id == decimal.Decimal("1.5")).endswith("$1::numeric)")


def test_the_cache_stays_bounded(monkeypatch):
    monkeypatch.setattr(_compile, "SELECT_CACHE_SIZE", 5)
    _compile._select_cache.clear()
    info = Row.__table__
    for n in range(_compile.SELECT_CACHE_SIZE + 10):
        _compile.select_cached(_compile.Compiler("sqlite", False), info.select_sql,
                               info.quoted, Row.id.in_(list(range(n + 1))), None, None, None,
                               False)
    assert 0 < len(_compile._select_cache) <= 5
