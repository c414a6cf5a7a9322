""":class:`Row`, what a select of columns and expressions returns, and SQLAlchemy's
:class:`Result` (``sess.execute(query)``) and :class:`AsyncResult` (``sess.stream(query)``).
(The original asyncqlio's result objects are :class:`asyncqlio.orm.query.ResultGenerator`
and :class:`asyncqlio.backends.base.BaseResultSet`.)"""
from __future__ import annotations

from typing import Any, AsyncIterator, Generic, TypeVar

from asyncqlio._speedups import _row
from asyncqlio.exc import MultipleResultsFound, NoResultFound, ResourceClosedError

T = TypeVar("T")


class Row(tuple):
    """One row of a select of columns: a tuple (``id, name = row``, ``row[0]``) that is also
    read by key, as SQLAlchemy's Row (``row.name``, ``row["name"]``, ``row._mapping``,
    ``dict(row)``). Keys are the attribute names of columns, the names given with
    ``.label()``, and the function name of an unlabelled ``func.x()``."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()
    _index: dict[str, int] = {}

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if type(key) is str:
            try:
                key = self._index[key]
            except KeyError:
                raise KeyError(key) from None
        return tuple.__getitem__(self, key)

    def __getattr__(self, name: str) -> Any:
        try:
            return tuple.__getitem__(self, self._index[name])
        except KeyError:
            raise AttributeError(f"this row has no column {name!r}") from None

    def keys(self) -> list[str]:
        return list(self._fields)

    def get(self, key: str, default: Any = None) -> Any:
        i = self._index.get(key)
        return default if i is None else tuple.__getitem__(self, i)

    @property
    def _mapping(self) -> dict[str, Any]:
        return dict(zip(self._fields, self))

    def _asdict(self) -> dict[str, Any]:
        return dict(zip(self._fields, self))

    def _tuple(self) -> tuple:
        return tuple(self)

    def __repr__(self) -> str:
        return "Row(" + ", ".join(f"{k}={v!r}" for k, v in zip(self._fields, self)) + ")"


_row_classes: dict[tuple[str, ...], type[Row]] = {}


def row_class(fields: tuple[str, ...]) -> type[Row]:
    """The Row subclass for one set of keys (made once per set)."""
    cls = _row_classes.get(fields)
    if cls is None:
        index: dict[str, int] = {}
        for i, name in enumerate(fields):
            index.setdefault(name, i)  # a repeated key reads the first
        cls = type("Row", (Row,), {"__slots__": (), "_fields": fields, "_index": index})
        _row_classes[fields] = cls
    return cls


class _Rows:
    """What Result and AsyncResult share: the key names and the way each row is handed out
    (as a Row, one column of it, or a mapping), optionally without duplicates."""

    def __init__(self, keys: list[str]) -> None:
        self._keys = keys
        #: None: the Row; an int: that column (scalars); "mapping": a dict
        self._shape: int | str | None = None
        self._unique = False
        self._seen: set = set()
        self._closed = False
        self._per = 100

    def keys(self) -> list[str]:
        return list(self._keys)

    @property
    def closed(self) -> bool:
        return self._closed

    def _check(self) -> None:
        if self._closed:
            raise ResourceClosedError("this result is closed")

    def _out(self, rows: list) -> list:
        shape = self._shape
        if shape is None:
            out = rows
        elif shape == "mapping":
            out = [dict(zip(self._keys, r)) for r in rows]
        else:
            out = [r[shape] for r in rows]
        if self._unique:
            kept = []
            for item in out:
                key = tuple(sorted(item.items())) if type(item) is dict else item
                if key not in self._seen:
                    self._seen.add(key)
                    kept.append(item)
            out = kept
        return out

    # filters: change what this result hands out and return it, as SQLAlchemy's do
    def scalars(self, index: int = 0) -> Any:
        self._shape = index
        return self

    def mappings(self) -> Any:
        self._shape = "mapping"
        return self

    def tuples(self) -> Any:
        self._shape = None
        return self

    def unique(self) -> Any:
        self._unique = True
        return self

    def yield_per(self, n: int) -> Any:
        self._per = n
        return self


def _columns_of(rows: list, keys: list[str], columns: tuple) -> tuple[list, list[str]]:
    idx = [keys.index(c) if isinstance(c, str) else c for c in columns]
    new_keys = [keys[i] for i in idx]
    cls = row_class(tuple(new_keys))
    return [cls([r[i] for i in idx]) for r in rows], new_keys


class Result(_Rows):
    """A buffered result (SQLAlchemy's Result and CursorResult): ``await sess.execute(query)``.

    ``rowcount`` is the number of rows the statement matched (UPDATE, DELETE), inserted
    (INSERT) or returned (a select: the rows buffered). A statement without RETURNING gives
    a result with no rows (``returns_rows`` false): reading rows from it raises
    :class:`~asyncqlio.exc.ResourceClosedError`, as SQLAlchemy's does."""

    def __init__(self, rows: list, keys: list[str], rowcount: int | None = None,
                 returns_rows: bool = True) -> None:
        super().__init__(keys)
        self._rows = rows
        self._pos = 0
        self.rowcount: int = len(rows) if rowcount is None else rowcount
        self.returns_rows = returns_rows

    def _check(self) -> None:
        if not self.returns_rows:
            raise ResourceClosedError(
                "this result object does not return rows (a statement without returning())")
        super()._check()

    @property
    def closed(self) -> bool:
        """A result without rows is closed from the start, as in SQLAlchemy."""
        return self._closed or not self.returns_rows

    def _take(self, n: int | None) -> list:
        self._check()
        out: list = []
        while n is None or len(out) < n:
            end = len(self._rows) if n is None else self._pos + (n - len(out))
            chunk = self._rows[self._pos:end]
            if not chunk:
                break
            self._pos += len(chunk)
            out += self._out(chunk)
        return out

    def __iter__(self) -> Any:
        while True:
            rows = self._take(self._per)
            if not rows:
                return
            yield from rows

    def all(self) -> list:
        return self._take(None)

    fetchall = all

    def fetchone(self) -> Any:
        rows = self._take(1)
        return rows[0] if rows else None

    def fetchmany(self, n: int | None = None) -> list:
        return self._take(n or self._per)

    def partitions(self, n: int | None = None) -> Any:
        while True:
            rows = self._take(n or self._per)
            if not rows:
                return
            yield rows

    def first(self) -> Any:
        """The first row (or None) and the result is closed."""
        row = self.fetchone()
        self.close()
        return row

    def one_or_none(self) -> Any:
        rows = self._take(2)
        self.close()
        if len(rows) > 1:
            raise MultipleResultsFound("more than one row where one was required")
        return rows[0] if rows else None

    def one(self) -> Any:
        row = self.one_or_none()
        if row is None:
            raise NoResultFound("no row where one was required")
        return row

    def scalar(self) -> Any:
        return self.scalars().first()

    def scalar_one(self) -> Any:
        return self.scalars().one()

    def scalar_one_or_none(self) -> Any:
        return self.scalars().one_or_none()

    def columns(self, *columns: int | str) -> "Result":
        self._check()
        rows, keys = _columns_of(self._rows[self._pos:], self._keys, columns)
        return Result(rows, keys)

    def freeze(self) -> "FrozenResult":
        """The rest of the rows, kept: calling the frozen result gives a new Result."""
        self._check()
        return FrozenResult(self._rows[self._pos:], self._keys)

    def close(self) -> None:
        self._closed = True
        self._rows = []


class FrozenResult:
    def __init__(self, rows: list, keys: list[str]) -> None:
        self.data = rows
        self.keys = keys

    def __call__(self) -> Result:
        return Result(list(self.data), list(self.keys))


class AsyncResult(_Rows):
    """A streamed result (SQLAlchemy's AsyncResult): ``await sess.stream(query)`` reads rows
    chunk by chunk (a server-side cursor on PostgreSQL), so memory stays bounded."""

    def __init__(self, chunks: AsyncIterator[list], keys: list[str]) -> None:
        super().__init__(keys)
        self._chunks = chunks
        self._buffer: list = []
        self._done = False

    async def _take(self, n: int | None) -> list:
        self._check()
        out: list = []
        while n is None or len(out) < n:
            if not self._buffer:
                if self._done:
                    break
                try:
                    self._buffer = await self._chunks.__anext__()
                except StopAsyncIteration:
                    self._done = True
                    break
            want = len(self._buffer) if n is None else n - len(out)
            chunk, self._buffer = self._buffer[:want], self._buffer[want:]
            out += self._out(chunk)
        return out

    def __aiter__(self) -> Any:
        return self._iterate()

    async def _iterate(self) -> Any:
        while True:
            rows = await self._take(self._per)
            if not rows:
                return
            for row in rows:
                yield row

    async def all(self) -> list:
        return await self._take(None)

    fetchall = all

    async def fetchone(self) -> Any:
        rows = await self._take(1)
        return rows[0] if rows else None

    async def fetchmany(self, n: int | None = None) -> list:
        return await self._take(n or self._per)

    async def partitions(self, n: int | None = None) -> Any:
        while True:
            rows = await self._take(n or self._per)
            if not rows:
                return
            yield rows

    async def first(self) -> Any:
        row = await self.fetchone()
        await self.close()
        return row

    async def one_or_none(self) -> Any:
        rows = await self._take(2)
        await self.close()
        if len(rows) > 1:
            raise MultipleResultsFound("more than one row where one was required")
        return rows[0] if rows else None

    async def one(self) -> Any:
        row = await self.one_or_none()
        if row is None:
            raise NoResultFound("no row where one was required")
        return row

    async def scalar(self) -> Any:
        return await self.scalars().first()

    async def scalar_one(self) -> Any:
        return await self.scalars().one()

    async def scalar_one_or_none(self) -> Any:
        return await self.scalars().one_or_none()

    def columns(self, *columns: int | str) -> "AsyncResult":
        keys = self._keys
        source = self

        async def chunks() -> Any:
            while True:
                rows = await source._take(source._per)
                if not rows:
                    return
                yield _columns_of(rows, keys, columns)[0]

        return AsyncResult(chunks(), _columns_of([], keys, columns)[1])

    async def freeze(self) -> FrozenResult:
        return FrozenResult(await self._take(None), self._keys)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._buffer = []
            await self._chunks.aclose()


def table_rows(table: type, dialect: str, records: list) -> tuple[list, list[str]]:
    """Whole rows of a table as Row tuples keyed by attribute name, values loaded."""
    info = table.__table__
    keys = [c.attr_name for c in info.columns]
    cls = row_class(tuple(keys))
    n = len(keys)
    loaders = info.loaders_for(dialect)
    return [cls(_row.load_values(r[:n], loaders)) for r in records], keys
