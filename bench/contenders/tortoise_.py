"""Tortoise ORM: a ``Model``, ``Model.all()``/``get()``/``filter()``, ``bulk_create`` and
``bulk_update`` inside ``in_transaction()``, ``QuerySet.sql()``."""
from __future__ import annotations

from typing import Any

from tortoise import Tortoise as _Tortoise
from tortoise import fields
from tortoise.models import Model
from tortoise.transactions import in_transaction

from bench.contenders import Contender
from bench.dataset import TABLE, Row
from bench.store import Target


class User(Model):
    id = fields.IntField(primary_key=True, generated=False)
    name = fields.CharField(max_length=64)
    email = fields.TextField(null=True)
    score = fields.FloatField()
    active = fields.BooleanField()
    created = fields.DatetimeField()

    class Meta:
        table = TABLE


def config(target: Target) -> dict[str, Any]:
    if target.backend == "sqlite":
        conn = {"engine": "tortoise.backends.sqlite",
                "credentials": {"file_path": target.sqlite_path}}
    else:
        conn = {"engine": "tortoise.backends.asyncpg",
                "credentials": {**target.pg_parts(), "schema": target.schema}}
    # a connection name per backend: Tortoise caches insert SQL by connection name
    name = f"bench_{target.backend}"
    return {"connections": {name: conn},
            "apps": {"bench": {"models": [__name__], "default_connection": name}},
            "use_tz": False, "timezone": "UTC"}


class Tortoise(Contender):
    """Tortoise initialised for one target; its queries run outside a transaction
    unless they write."""

    async def open(self, target: Target) -> None:
        await _Tortoise.init(config=config(target))
        await User.filter(id=0).first()  # connect now, not in the first timed run

    async def close(self) -> None:
        await _Tortoise.close_connections()

    async def load_all(self) -> list[Any]:
        return await User.all()

    async def get_by_pk(self, ids: list[int]) -> list[Any]:
        return [await User.get(id=i) for i in ids]

    async def filtered_pages(self, thresholds: list[float], size: int) -> list[list[Any]]:
        return [await User.filter(active=True, score__gte=t).order_by("id").limit(size)
                for t in thresholds]

    async def insert(self, rows: list[Row]) -> None:
        async with in_transaction():
            await User.bulk_create([User(id=i, name=n, email=e, score=s, active=a, created=c)
                                    for i, n, e, s, a, c in rows])

    async def update(self, upto: int, bump: float) -> list[Any]:
        async with in_transaction():
            rows = await User.filter(id__lte=upto)
            for row in rows:
                row.score = row.score + bump
            await User.bulk_update(rows, fields=["score"])
        return rows

    def compile(self, thresholds: list[float], size: int) -> list[str]:
        return [User.filter(active=True, score__gte=t).order_by("id").limit(size).sql()
                for t in thresholds]

    def values(self, obj: Any) -> tuple:
        return (obj.id, obj.name, obj.email, obj.score, obj.active, obj.created)
