"""The six workloads of issue 3: what each runs, the table state it needs, how its result is
checked (so no contender can skip work) and asyncqlio's goal for it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from bench.contenders import Contender
from bench.dataset import (N_COMPILE, N_LOOKUPS, N_PAGES, N_ROWS, N_UPDATE, PAGE_SIZE,
                           SCORE_BUMP, Dataset, normalize)
from bench.store import Store


class VerificationError(AssertionError):
    """A contender's result is not what the workload asked for."""


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise VerificationError(what)


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    #: table state before each run ("seeded", "empty" or None: any) and after it
    #: ("dirty" where the run wrote, else None: unchanged)
    needs: str | None
    leaves: str | None
    run: Callable[[Contender, Dataset], Awaitable[Any]]
    verify: Callable[[Contender, Any, Dataset, Store], Awaitable[None]]
    #: the contender times are compared with
    baseline: str = "raw"
    #: asyncqlio's goal: ratio to the raw driver per backend, or speed-up over SQLAlchemy
    goal: dict[str, float] | None = None


# --- runs (timed)
async def _load_all(c: Contender, d: Dataset) -> Any:
    return await c.load_all()


async def _get_by_pk(c: Contender, d: Dataset) -> Any:
    return await c.get_by_pk(d.lookup_ids)


async def _pages(c: Contender, d: Dataset) -> Any:
    return await c.filtered_pages(d.page_thresholds, PAGE_SIZE)


async def _insert(c: Contender, d: Dataset) -> Any:
    return await c.insert(d.rows)


async def _update(c: Contender, d: Dataset) -> Any:
    return await c.update(N_UPDATE, SCORE_BUMP)


async def _compile(c: Contender, d: Dataset) -> Any:
    return c.compile(d.compile_thresholds, PAGE_SIZE)


# --- checks (not timed)
def _rows(c: Contender, objs: Any) -> list:
    return [normalize(c.values(o)) for o in objs]


async def _verify_load_all(c: Contender, result: Any, d: Dataset, store: Store) -> None:
    _check(len(result) == N_ROWS, f"{len(result)} rows loaded, not {N_ROWS}")
    _check(sorted(_rows(c, result)) == d.rows, "loaded rows differ from the table")


async def _verify_get_by_pk(c: Contender, result: Any, d: Dataset, store: Store) -> None:
    _check(len(result) == N_LOOKUPS, f"{len(result)} lookups, not {N_LOOKUPS}")
    _check(_rows(c, result) == [d.by_id[i] for i in d.lookup_ids],
           "looked-up rows differ from the table")


async def _verify_pages(c: Contender, result: Any, d: Dataset, store: Store) -> None:
    _check(len(result) == N_PAGES, f"{len(result)} pages, not {N_PAGES}")
    for t, page in zip(d.page_thresholds, result):
        want = [d.by_id[i] for i in d.expected_pages[t]]
        _check(_rows(c, page) == want, f"page for score >= {t} differs")


async def _verify_insert(c: Contender, result: Any, d: Dataset, store: Store) -> None:
    _check(await store.snapshot() == d.rows, "the table does not hold the inserted rows")


async def _verify_update(c: Contender, result: Any, d: Dataset, store: Store) -> None:
    _check(len(result) == N_UPDATE, f"{len(result)} rows loaded, not {N_UPDATE}")
    want = d.updated()
    got = await store.snapshot()
    _check({r[0]: r[3] for r in got} == want, "scores after the update are wrong")
    _check([r[:3] + r[4:] for r in got] == [r[:3] + r[4:] for r in d.rows],
           "the update changed more than the score")


async def _verify_compile(c: Contender, result: Any, d: Dataset, store: Store) -> None:
    _check(len(result) == N_COMPILE, f"{len(result)} statements, not {N_COMPILE}")
    for sql in (result[0], result[-1]):
        text = sql.upper()
        _check(all(w in text for w in ("SELECT", "WHERE", "ACTIVE", "SCORE", "ORDER BY",
                                       "LIMIT")), f"unexpected SQL: {sql!r}")


WORKLOADS: list[Workload] = [
    Workload("load_all", f"load all {N_ROWS:,} rows as objects", "seeded", None,
             _load_all, _verify_load_all, goal={"sqlite": 1.5, "postgresql": 1.5}),
    Workload("get_by_pk", f"{N_LOOKUPS:,} primary-key lookups", "seeded", None,
             _get_by_pk, _verify_get_by_pk, goal={"sqlite": 1.3, "postgresql": 1.3}),
    Workload("filtered_pages", f"{N_PAGES} filtered pages (2 conds, order, limit {PAGE_SIZE})",
             "seeded", None, _pages, _verify_pages,
             goal={"sqlite": 1.5, "postgresql": 1.5}),
    Workload("insert", f"insert {N_ROWS:,} objects, one transaction", "empty", "dirty",
             _insert, _verify_insert, goal={"sqlite": 1.3, "postgresql": 1.0}),
    Workload("update", f"load {N_UPDATE:,} rows, change one field, commit", "seeded", "dirty",
             _update, _verify_update, goal={"sqlite": 1.3, "postgresql": 1.3}),
    Workload("compile", f"build + compile a select {N_COMPILE:,}x (no I/O)", None, None,
             _compile, _verify_compile, baseline="sqlalchemy",
             goal={"sqlite": 50.0, "postgresql": 50.0}),
]

BY_KEY = {w.key: w for w in WORKLOADS}
