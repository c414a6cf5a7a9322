"""The benchmark's data: one deterministic 6-column table, the inputs of each workload and
the answers every contender's results are checked against."""
from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field
from typing import Any, Sequence

TABLE = "bench_users"
COLUMNS = ("id", "name", "email", "score", "active", "created")

#: workload sizes (issue 3)
N_ROWS = 10_000
N_LOOKUPS = 1_000
N_PAGES = 300
PAGE_SIZE = 50
N_UPDATE = 2_000
N_COMPILE = 10_000

#: a filtered page is ``active AND score >= threshold ORDER BY id LIMIT 50``
THRESHOLDS = 60
SCORE_BUMP = 1.0

_EPOCH = datetime.datetime(2024, 1, 1, 8, 0, 0)

Row = tuple[int, str, "str | None", float, bool, datetime.datetime]


def make_rows(n: int = N_ROWS, seed: int = 3) -> list[Row]:
    """``n`` rows with ids 1..n; every 7th email is NULL."""
    rng = random.Random(seed)
    rows = []
    for i in range(1, n + 1):
        email = None if i % 7 == 0 else f"user{i}@example.com"
        score = round(rng.uniform(0.0, 100.0), 2)
        created = _EPOCH + datetime.timedelta(seconds=rng.randrange(0, 365 * 86400),
                                               microseconds=rng.randrange(0, 1_000_000))
        rows.append((i, f"user{i:05d}", email, score, rng.random() < 0.5, created))
    return rows


def normalize(values: Sequence[Any]) -> Row:
    """A row as any contender gives it -> plain Python values (SQLite hands back ints for
    booleans and ISO text for timestamps when nothing converts them)."""
    id_, name, email, score, active, created = values
    if isinstance(created, str):
        created = datetime.datetime.fromisoformat(created)
    if created is not None and created.tzinfo is not None:
        created = created.replace(tzinfo=None)
    return (id_, name, email, float(score), bool(active), created)


@dataclass
class Dataset:
    """Every input and expected answer, computed once."""

    rows: list[Row] = field(default_factory=make_rows)
    lookup_ids: list[int] = field(default_factory=list)
    page_thresholds: list[float] = field(default_factory=list)
    compile_thresholds: list[float] = field(default_factory=list)
    expected_pages: dict[float, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        rng = random.Random(7)
        self.by_id = {r[0]: r for r in self.rows}
        self.lookup_ids = rng.sample(sorted(self.by_id), N_LOOKUPS)
        self.page_thresholds = [float(i % THRESHOLDS) for i in range(N_PAGES)]
        self.compile_thresholds = [float(i % THRESHOLDS) for i in range(N_COMPILE)]
        for t in set(self.page_thresholds):
            ids = [r[0] for r in self.rows if r[4] and r[3] >= t]
            self.expected_pages[t] = ids[:PAGE_SIZE]

    def updated(self) -> dict[int, float]:
        """id -> score once the update workload has run."""
        return {i: s + SCORE_BUMP if i <= N_UPDATE else s for i, _, _, s, _, _ in self.rows}
