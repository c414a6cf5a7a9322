"""Micro-benchmarks of the three hot paths, compiled extension vs the same source run as plain
Python, side by side in one process:

    pytest bench/test_micro.py --benchmark-only
    pytest bench/test_micro.py --benchmark-only --benchmark-group-by=group --benchmark-columns=min,median,ops

The pure modules are the ``_*_cy.py`` sources loaded under other module names, so the
compiled ones asyncqlio imports stay in place. Not part of the test suite (testpaths).
"""
from __future__ import annotations

import datetime
import importlib.util
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

import asyncqlio._speedups as speedups
from asyncqlio import (Boolean, Column, DatabaseInterface, Integer, Real, String, Text,
                       Timestamp, table_base)

from bench.dataset import COLUMNS, PAGE_SIZE, make_rows

N_HYDRATE = 10_000
N_SETS = 1_000
_SOURCES = Path(speedups.__file__).parent


def _load_pure(name: str) -> ModuleType:
    """The ``.py`` source of a speedups module, imported as plain Python under a new name."""
    full = f"bench_pure_{name}"
    if full in sys.modules:
        return sys.modules[full]
    spec = importlib.util.spec_from_file_location(full, _SOURCES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[full] = module
    spec.loader.exec_module(module)
    return module


def _module(name: str, impl: str) -> ModuleType:
    if impl == "pure":
        return _load_pure(name)
    module = importlib.import_module(f"asyncqlio._speedups.{name}")
    if not module._is_compiled():
        pytest.skip(f"{name} is not compiled in this build (or ASYNCQLIO_NO_EXTENSIONS is set)")
    return module


IMPLS = pytest.mark.parametrize("impl", ["compiled", "pure"])


# --- compilation
def _columns(mod: ModuleType) -> SimpleNamespace:
    cols = {}
    for name, typ in (("id", None), ("active", Boolean()), ("score", Real())):
        col = mod.ColumnNode(name, typ)
        col.table_name = "bench_users"
        col.sql = f'"bench_users"."{name}"'
        cols[name] = col
    return SimpleNamespace(**cols)


_SELECT_LIST = ", ".join(f'"bench_users"."{c}"' for c in COLUMNS)


def _build_and_compile(mod: ModuleType, cols: SimpleNamespace, threshold: float) -> tuple:
    """What ``sess.select(T).where(a == True, b >= t).order_by(T.id).limit(50).compile()``
    asks of the compile module: build the tree, then compile it."""
    where = mod.BoolExpr("AND", [
        mod.BinaryExpr("=", cols.active, mod.Param(True, cols.active.type)),
        mod.BinaryExpr(">=", cols.score, mod.Param(threshold, cols.score.type))])
    return mod.compile_select(mod.Compiler("postgresql", True), _SELECT_LIST, '"bench_users"',
                              where, [mod.OrderExpr(cols.id, False)], PAGE_SIZE, None, False)


@pytest.mark.benchmark(group="compile: build + compile a select (2 conditions, order, limit)")
@IMPLS
def test_compile(benchmark: Any, impl: str) -> None:
    mod = _module("_compile_cy", impl)
    cols = _columns(mod)
    sql, params = benchmark(_build_and_compile, mod, cols, 42.0)
    assert sql.startswith(f'SELECT {_SELECT_LIST} FROM "bench_users" WHERE ')
    assert ' AND ' in sql and ' ORDER BY "bench_users"."id"' in sql and "LIMIT $3" in sql
    assert params == [True, 42.0, PAGE_SIZE]


@pytest.mark.benchmark(group="compile: build + compile a select (2 conditions, order, limit)")
def test_compile_public_api(benchmark: Any) -> None:
    """The same select through ``sess.select(...).compile()``, in the build asyncqlio runs."""
    Table = table_base("MicroCompile")

    class User(Table, table_name="bench_users"):
        id = Column(Integer, primary_key=True)
        active = Column(Boolean)
        score = Column(Real)

    sess = DatabaseInterface("sqlite://").get_session()
    benchmark.extra_info["compiled"] = speedups.COMPILED

    def run() -> tuple:
        return sess.select(User).where(User.active == True, User.score >= 42.0) \
            .order_by(User.id).limit(PAGE_SIZE).compile()  # noqa: E712

    sql, params = benchmark(run)
    assert "ORDER BY" in sql and params == [1, 42.0, PAGE_SIZE]


# --- hydration
def _model(mod: ModuleType) -> type:
    """A minimal model on the module's RowBase: one ColumnAttr per column, no validation."""
    attrs = {name: mod.ColumnAttr(name, i, None) for i, name in enumerate(COLUMNS)}
    return type(f"Micro_{mod.__name__.rsplit('.', 1)[-1]}", (mod.RowBase,), attrs)


_ROWS = make_rows(N_HYDRATE)
_SQLITE_ROWS = [(i, n, e, s, int(a), c.isoformat()) for i, n, e, s, a, c in _ROWS]
_LOADERS = {
    "no loaders (asyncpg)": ((), _ROWS),
    "bool + datetime loaders (sqlite)": (((4, bool), (5, datetime.datetime.fromisoformat)),
                                         _SQLITE_ROWS),
}


@pytest.mark.benchmark(group=f"hydrate {N_HYDRATE:,} rows")
@pytest.mark.parametrize("loaders", list(_LOADERS))
@IMPLS
def test_hydrate(benchmark: Any, impl: str, loaders: str) -> None:
    mod = _module("_row_cy", impl)
    cls = _model(mod)
    procs, records = _LOADERS[loaders]
    out = benchmark(mod.hydrate, cls, records, procs, None)
    assert len(out) == N_HYDRATE
    last = out[-1]
    assert (last.id, last.name, last.score, last.active) == _ROWS[-1][:2] + _ROWS[-1][3:5]
    assert last.created == _ROWS[-1][5]


# --- dirty tracking
def _tracked(mod: ModuleType) -> Any:
    """A hydrated row that has been written to once (its values a list, history started)."""
    row = mod.hydrate(_model(mod), _ROWS[:1], (), None)[0]
    row.score = 0.0
    return row


def _set_many(row: Any) -> None:
    for i in range(N_SETS):
        row.score = 1.5


@pytest.mark.benchmark(group=f"attribute set x{N_SETS:,} on a tracked row")
@IMPLS
def test_attribute_set(benchmark: Any, impl: str) -> None:
    mod = _module("_row_cy", impl)
    row = _tracked(mod)
    benchmark(_set_many, row)
    assert row.score == 1.5 and mod.written(row) == (3,)
    assert mod.old_value(row, 3) == _ROWS[0][3]


@pytest.mark.benchmark(group=f"attribute set x{N_SETS:,} on a tracked row")
def test_attribute_set_table(benchmark: Any) -> None:
    """A real asyncqlio table in the build asyncqlio runs: the column type's validation runs
    on every set (a Python closure for Real)."""
    Table = table_base("MicroSet")

    class User(Table, table_name="bench_users"):
        id = Column(Integer, primary_key=True)
        name = Column(String(64))
        email = Column(Text, nullable=True)
        score = Column(Real)
        active = Column(Boolean)
        created = Column(Timestamp)

    row = speedups._row.hydrate(User, _ROWS[:1], (), None)[0]
    row.score = 0.0
    benchmark.extra_info["compiled"] = speedups.COMPILED
    benchmark(_set_many, row)
    assert row.score == 1.5


@pytest.mark.benchmark(group=f"attribute set x{N_SETS:,} on a tracked row")
def test_attribute_set_plain_object(benchmark: Any) -> None:
    """The reference: a plain Python object's attribute."""
    row = SimpleNamespace(score=0.0)
    benchmark(_set_many, row)
    assert row.score == 1.5


@pytest.mark.benchmark(group=f"first write to each of {N_SETS:,} loaded rows")
@IMPLS
def test_first_write(benchmark: Any, impl: str) -> None:
    """The first write to a loaded row: the record becomes a list, the history a dict."""
    mod = _module("_row_cy", impl)
    cls = _model(mod)

    def setup() -> tuple:
        return (mod.hydrate(cls, _ROWS[:N_SETS], (), None),), {}

    def write(rows: list) -> None:
        for row in rows:
            row.score = 1.5

    benchmark.pedantic(write, setup=setup, rounds=200)


@pytest.mark.benchmark(group=f"attribute get x{N_SETS:,}")
@IMPLS
def test_attribute_get(benchmark: Any, impl: str) -> None:
    mod = _module("_row_cy", impl)
    row = mod.hydrate(_model(mod), _ROWS[:1], (), None)[0]

    def get_many() -> float:
        v = 0.0
        for i in range(N_SETS):
            v = row.score
        return v

    assert benchmark(get_many) == _ROWS[0][3]
