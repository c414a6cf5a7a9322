"""A row's changes as the original asyncqlio showed them: ``row._history`` maps each column
written since the row was loaded (or last written) to a :class:`ValueChange`.

asyncqlio itself records a write as one bit and keeps the row's earlier values once (see
:mod:`asyncqlio._speedups._row_cy`); these objects are made only when asked for.
"""
from __future__ import annotations

from typing import Any


class ColumnChange:
    """The change of one column: its value before (``_previous``) and now (``current_value``)."""

    def __init__(self, column: Any) -> None:
        self.column = column
        self._previous: Any = None
        self._new: Any = None

    @property
    def current_value(self) -> Any:
        return self._new

    @property
    def previous_value(self) -> Any:
        return self._previous

    def handle_change(self, before: Any, after: Any) -> None:
        self._previous = before
        self._new = after

    def handle_change_with_history(self, previous: "ColumnChange", new: Any) -> None:
        """Another write after ``previous``: the value before stays the first one."""
        self._previous = previous._previous
        self._new = new

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.column!r}: {self._previous!r} -> {self._new!r}>"


class ValueChange(ColumnChange):
    """A column set to a new value (the only kind of change asyncqlio records)."""
