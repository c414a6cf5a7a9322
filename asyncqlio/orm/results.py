"""Result objects of the original asyncqlio API: the buffered result of a select
(``await query.all()``) and the raw cursor result set (``sess.cursor(sql)``)."""
from __future__ import annotations

from typing import Any, AsyncIterator, Generic, TypeVar

T = TypeVar("T")


class ResultGenerator(Generic[T]):
    """The rows of a select, iterated with ``async for`` or collected with ``flatten()``."""

    def __init__(self, rows: list[T]) -> None:
        self._rows = rows
        self._pos = 0

    def __aiter__(self) -> "ResultGenerator[T]":
        return self

    async def __anext__(self) -> T:
        row = await self.next()
        if row is None:
            raise StopAsyncIteration
        return row

    async def next(self) -> T | None:
        if self._pos >= len(self._rows):
            return None
        row = self._rows[self._pos]
        self._pos += 1
        return row

    async def flatten(self) -> list[T]:
        """The rows not iterated yet, as a list."""
        rest = self._rows[self._pos:]
        self._pos = len(self._rows)
        return rest

    def __len__(self) -> int:
        return len(self._rows)


class ResultSet:
    """Rows of raw SQL as mappings, fetched from the database as they are asked for."""

    def __init__(self, chunks: AsyncIterator[list[dict[str, Any]]]) -> None:
        self._chunks = chunks
        self._buffer: list[dict[str, Any]] = []
        self._done = False

    async def _fill(self, n: int | None) -> None:
        while not self._done and (n is None or len(self._buffer) < n):
            try:
                self._buffer.extend(await self._chunks.__anext__())
            except StopAsyncIteration:
                self._done = True

    async def fetch_row(self) -> dict[str, Any] | None:
        await self._fill(1)
        return self._buffer.pop(0) if self._buffer else None

    async def fetch_many(self, n: int) -> list[dict[str, Any]]:
        await self._fill(n)
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    async def flatten(self) -> list[dict[str, Any]]:
        await self._fill(None)
        out, self._buffer = self._buffer, []
        return out

    def __aiter__(self) -> "ResultSet":
        return self

    async def __anext__(self) -> dict[str, Any]:
        row = await self.fetch_row()
        if row is None:
            raise StopAsyncIteration
        return row

    async def close(self) -> None:
        self._done = True
        await self._chunks.aclose()
