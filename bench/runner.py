"""Running the workloads: every contender in one process and one event loop, runs interleaved
(each repeat goes round all contenders), the table reset before each run that needs it, each
result verified after the clock stops, the median kept."""
from __future__ import annotations

import gc
import statistics
import time
from typing import Any

from bench import contenders as _contenders
from bench.contenders import Contender, NotApplicable
from bench.dataset import Dataset
from bench.store import Store, Target
from bench.workloads import Workload


def _error(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"[:300]


async def _open_all(keys: list[str], target: Target) -> tuple[dict[str, Contender], dict[str, dict]]:
    """The contenders that could be opened, and a status for those that could not."""
    opened: dict[str, Contender] = {}
    failed: dict[str, dict] = {}
    for key in keys:
        try:
            c = _contenders.load(key, target.backend)
        except ImportError as e:
            failed[key] = {"status": "missing", "error": _error(e)}
            continue
        try:
            await c.open(target)
        except Exception as e:  # noqa: BLE001 - reported in the table
            failed[key] = {"status": "error", "error": _error(e)}
            continue
        opened[key] = c
    return opened, failed


class _Cell:
    """One contender on one workload: its timed runs so far, or why it has none."""

    def __init__(self, status: dict[str, Any] | None = None) -> None:
        self.status = status
        self.times: list[float] = []
        self.spent = 0.0

    def done(self, budget: float) -> bool:
        return self.status is not None or (self.spent > budget and bool(self.times))

    def result(self) -> dict[str, Any]:
        if self.status is not None:
            return self.status
        ms = [t * 1e3 for t in self.times]
        return {"status": "ok", "median_ms": statistics.median(ms), "min_ms": min(ms),
                "runs_ms": [round(t, 3) for t in ms]}


async def run_backend(target: Target, keys: list[str], workloads: list[Workload],
                      repeat: int, warmup: int, bar: Any,
                      budget: float = 60.0) -> dict[str, Any]:
    """``{workload key: {contender key: result}}`` for one database. A contender that has
    spent ``budget`` seconds on one workload stops there, once it has one timed run."""
    data = Dataset()
    store = await Store(target).open()
    opened, failed = await _open_all(keys, target)
    out: dict[str, Any] = {}
    try:
        for w in workloads:
            cells = {k: _Cell(failed.get(k)) for k in keys}
            for i in range(warmup + repeat):
                for key, c in opened.items():
                    bar.set_postfix_str(f"{w.key} · {key}", refresh=False)
                    cell = cells[key]
                    if not cell.done(budget):
                        await _attempt(cell, i >= warmup, w, c, data, store)
                    bar.update(1)
            out[w.key] = {k: cell.result() for k, cell in cells.items()}
    finally:
        for c in opened.values():
            await c.close()
        await store.close()
    return out


async def _attempt(cell: _Cell, timed: bool, w: Workload, c: Contender, data: Dataset,
                   store: Store) -> None:
    """One run into ``cell``: its time, or the reason there is none."""
    try:
        dt = await _one_run(w, c, data, store)
    except NotApplicable:
        cell.status = {"status": "n/a"}
        return
    except Exception as e:  # noqa: BLE001 - reported in the table
        store.state = "dirty"
        cell.status = {"status": "error", "error": _error(e)}
        return
    cell.spent += dt
    if timed:
        cell.times.append(dt)


async def _one_run(w: Workload, c: Contender, data: Dataset, store: Store) -> float:
    """Seconds one run took; raises if its result does not check out."""
    await store.ensure(w.needs, data.rows)
    gc.collect()
    started = time.perf_counter()
    result = await w.run(c, data)
    elapsed = time.perf_counter() - started
    if w.leaves is not None:
        store.state = w.leaves
    await w.verify(c, result, data, store)
    return elapsed
