"""PostgreSQL's statements (``sqlalchemy.dialects.postgresql``): :func:`insert` with
``on_conflict_do_update`` / ``on_conflict_do_nothing``, by columns or by constraint name."""
from __future__ import annotations

from typing import Any

from asyncqlio.dialects.on_conflict import OnConflictInsert


class Insert(OnConflictInsert):
    _constraints = True


def insert(table: Any) -> Insert:
    return Insert(table)


__all__ = ["Insert", "insert"]
