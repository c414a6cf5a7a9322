"""Small helpers of the original asyncqlio: iterables made async-iterable, an attribute
proxy, and splitting an SQL script into its statements."""
from __future__ import annotations

import re
from typing import Any, AsyncIterator, Iterable, Iterator, TypeVar

T = TypeVar("T")


class IterToAiter(Iterator[T], AsyncIterator[T]):
    """One iterator, usable by ``for`` and ``async for``."""

    def __init__(self, iterator: Iterator[T]) -> None:
        self._it = iterator

    def __iter__(self) -> "IterToAiter[T]":
        return self

    def __next__(self) -> T:
        return next(self._it)

    def __aiter__(self) -> "IterToAiter[T]":
        return self

    async def __anext__(self) -> T:
        try:
            return next(self._it)
        except StopIteration:
            raise StopAsyncIteration from None


def iter_to_aiter(type_: type) -> type:
    """A class decorator: instances of an iterable class become ``async for``-able too."""
    def __aiter__(self: Iterable[Any]) -> IterToAiter[Any]:
        return IterToAiter(iter(self))
    type_.__aiter__ = __aiter__  # type: ignore[attr-defined]
    return type_


class Proxy:
    """Reads every attribute it does not have from the object it wraps (``self.obb``)."""

    def __init__(self, to_proxy: object) -> None:
        self.obb = to_proxy

    def __getattr__(self, item: str) -> Any:
        return getattr(self.obb, item)


# a string, a quoted identifier or a comment, read whole so a ';' inside one is not an end
_STATEMENT_PART = re.compile(r"""'(?:[^']|'')*'?|"(?:[^"]|"")*"?|--[^\n]*|/\*.*?(?:\*/|\Z)|;""",
                             re.S)


def separate_statements(sql: str) -> Iterator[str]:
    """The statements of an SQL script, split at the semicolons outside strings, quoted
    identifiers and comments; empty statements are left out."""
    start = 0
    for m in _STATEMENT_PART.finditer(sql):
        if m.group() == ";":
            statement = sql[start:m.start()].strip()
            if statement:
                yield statement
            start = m.end()
    statement = sql[start:].strip()
    if statement:
        yield statement
