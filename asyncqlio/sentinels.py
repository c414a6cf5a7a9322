"""Markers distinct from every value, None included (the original asyncqlio's module)."""
from __future__ import annotations

from asyncqlio._speedups import _row

#: a column that was given no value (a new row's unset column reads as None)
NO_VALUE = _row.NO_VALUE
#: ``Column(default=...)`` not given: the column has no Python-side default
NO_DEFAULT = _row.NO_DEFAULT

__all__ = ["NO_DEFAULT", "NO_VALUE"]
