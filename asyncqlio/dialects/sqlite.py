"""SQLite's statements (``sqlalchemy.dialects.sqlite``): :func:`insert` with
``on_conflict_do_update`` / ``on_conflict_do_nothing`` (SQLite 3.24 and later)."""
from __future__ import annotations

from typing import Any

from asyncqlio.dialects.on_conflict import OnConflictInsert


class Insert(OnConflictInsert):
    pass


def insert(table: Any) -> Insert:
    return Insert(table)


__all__ = ["Insert", "insert"]
