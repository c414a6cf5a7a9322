""":class:`Row`, what a select of columns and expressions returns, and SQLAlchemy's
:class:`Result` (``sess.execute(query)``) and :class:`AsyncResult` (``sess.stream(query)``).
(The original asyncqlio's result objects are :class:`asyncqlio.orm.query.ResultGenerator`
and :class:`asyncqlio.backends.base.BaseResultSet`.)"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator, TypeVar

from asyncqlio._speedups import _row
from asyncqlio.exc import (ArgumentError, InvalidRequestError, MultipleResultsFound,
                           NoResultFound, NoSuchColumnError, ResourceClosedError)

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
    def _mapping(self) -> "RowMapping":
        return RowMapping(zip(self._fields, self))

    @property
    def _t(self) -> tuple:
        return tuple(self)

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


def key_of(item: Any) -> Any:
    """The key a result column is read by: a name, or a position; a column, label or table
    stands for its own key (``result.columns(User.name)``, ``User.name in result.keys()``)."""
    if isinstance(item, (str, int)):
        return item
    if isinstance(item, type) and hasattr(item, "__table__"):
        return item.__name__
    for attr in ("key", "attr_name", "name"):
        value = getattr(item, attr, None)
        if isinstance(value, str):
            return value
    raise ArgumentError(f"{item!r} is not a column, a key or a position of this result")


class RMKeyView(Sequence[str]):
    """``result.keys()``: the keys, in order; ``in`` also takes a column or a label."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Sequence[str]) -> None:
        self._keys = list(keys)

    def __getitem__(self, index: Any) -> Any:
        return self._keys[index]

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, item: object) -> bool:
        try:
            return key_of(item) in self._keys
        except ArgumentError:
            return False

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented

    def __repr__(self) -> str:
        return f"RMKeyView({self._keys!r})"


class RowMapping(dict):
    """A row as a mapping (``result.mappings()``, ``row._mapping``): read by key, or by the
    column or label itself."""

    __slots__ = ()

    def __missing__(self, key: Any) -> Any:
        if not isinstance(key, str):
            found = key_of(key)
            if found in self:
                return self[found]
        raise KeyError(key)


class FrozenResult:
    """The rows of a result kept (``result.freeze()``): each call gives a new Result."""

    def __init__(self, rows: list, keys: list[str]) -> None:
        self.data = rows
        self._keys = keys

    def __call__(self) -> "Result":
        return Result(list(self.data), list(self._keys))


_ROWS = None  # a view's shape: Rows ...
_MAPPINGS = "mappings"  # ... mappings, or a column position (scalars)


class _Buffered:
    """The rows of a buffered result, taken from the front. With ``wrap`` (a Row class of
    one key) each row is kept as its one value, the object of a select of a table, and made
    a Row only when a row is asked for: ``scalars()`` hands the objects out as they are."""

    __slots__ = ("rows", "pos", "soft_closed", "hard_closed", "returns_rows", "wrap")

    def __init__(self, rows: list, returns_rows: bool, wrap: type | None = None) -> None:
        self.wrap = wrap
        self.rows = rows
        self.pos = 0
        self.soft_closed = False
        self.hard_closed = False
        self.returns_rows = returns_rows

    def check(self) -> None:
        if not self.returns_rows:
            raise ResourceClosedError("this result object does not return rows (a statement "
                                      "without returning())")
        if self.hard_closed:
            raise ResourceClosedError("this result object is closed")

    def take(self, n: int | None) -> list:
        """The next ``n`` rows (None: the rest)."""
        self.check()
        rows, pos = self.rows, self.pos
        end = len(rows) if n is None else min(len(rows), pos + n)
        self.pos = end
        return rows[pos:end]

    def chunk(self) -> list:
        """What ``fetchmany()`` without a size gives: every row left (all are ready)."""
        return self.take(None)

    def close(self, hard: bool) -> None:
        self.soft_closed = True
        self.hard_closed = self.hard_closed or hard
        self.rows = []
        self.pos = 0


class _Streamed:
    """The rows of a streamed result: fetched from the cursor as they are asked for,
    ``size`` at a time (``yield_per``), into ``buffer`` (read from ``pos``)."""

    __slots__ = ("fetch", "closer", "buffer", "pos", "done", "soft_closed", "hard_closed",
                 "size", "wrap")

    def __init__(self, fetch: Callable[[int], Awaitable[list]],
                 close: Callable[[], Awaitable[None]] | None, size: int,
                 wrap: type | None = None) -> None:
        #: as _Buffered's: the fetched rows are single values, made Rows when asked for
        self.wrap = wrap
        self.fetch = fetch
        self.closer = close
        self.buffer: list = []
        self.pos = 0
        self.done = False
        self.soft_closed = False
        self.hard_closed = False
        self.size = size

    def check(self) -> None:
        if self.hard_closed:
            raise ResourceClosedError("this result object is closed")

    async def fill(self, n: int) -> bool:
        """Fetch the next rows into an empty buffer (``n`` at least); False at the end."""
        if self.done:
            return False
        self.buffer = await self.fetch(max(self.size, n))
        self.pos = 0
        if not self.buffer:
            self.done = True
        return not self.done

    async def take(self, n: int | None) -> list:
        """The next ``n`` rows (None: all the rest)."""
        self.check()
        out: list = []
        while n is None or len(out) < n:
            buffer, pos = self.buffer, self.pos
            if pos >= len(buffer):
                if not await self.fill(self.size if n is None else n - len(out)):
                    break
                continue
            end = len(buffer) if n is None else min(len(buffer), pos + n - len(out))
            out += buffer[pos:end]
            if end == len(buffer):  # read: let its rows go with the reader
                self.buffer, self.pos = [], 0
            else:
                self.pos = end
        return out

    async def chunk(self) -> list:
        """What ``fetchmany()`` without a size gives: the rows fetched and not yet read,
        or the next fetch of ``size`` rows."""
        self.check()
        if self.pos >= len(self.buffer) and not await self.fill(self.size):
            return []
        rows = self.buffer[self.pos:]
        self.buffer, self.pos = [], 0
        return rows

    async def close(self, hard: bool) -> None:
        self.hard_closed = self.hard_closed or hard
        self.buffer, self.pos = [], 0
        if not self.soft_closed:
            self.soft_closed = True
            self.done = True
            if self.closer is not None:
                await self.closer()


class _View:
    """What every result and filtered view has: the rows' source (shared by the views made
    from one result), the keys, and how a row is handed out."""

    def __init__(self, source: Any, keys: list[str], shape: Any = _ROWS,
                 unique: Any = None) -> None:
        self._source = source
        self._keys = keys
        self._shape = shape
        #: None, or (the keys seen so far, the function giving a row's key or None)
        self._unique = unique
        #: (positions, Row class) of ``columns()``
        self._project: tuple[list[int], type[Row]] | None = None
        self._per: int | None = None

    def keys(self) -> RMKeyView:
        """The keys of the rows (of the columns they hold, or of the mappings)."""
        if self._project is not None:
            return RMKeyView(self._project[1]._fields)
        return RMKeyView(self._keys)

    @property
    def closed(self) -> bool:
        return self._source.hard_closed

    def _index(self, item: Any) -> int:
        self._source.check()
        key = key_of(item)
        keys = self._keys if self._project is None else list(self._project[1]._fields)
        if isinstance(key, int):
            if not -len(keys) <= key < len(keys):
                raise IndexError(f"this result has no column {key}")
            return key % len(keys)
        try:
            return keys.index(key)
        except ValueError:
            raise NoSuchColumnError(f"this result has no column {key!r} (its keys: "
                                    f"{', '.join(keys)})") from None

    def _columns(self, items: tuple) -> Any:
        if self._project is None:
            base, fields = None, self._keys
        else:
            base, fields = self._project[0], list(self._project[1]._fields)
        positions = [self._index(c) for c in items]
        names = tuple(fields[i] for i in positions)
        if base is not None:
            positions = [base[i] for i in positions]
        self._project = (positions, row_class(names))
        return self

    def _derive(self, cls: type, shape: Any) -> Any:
        """A view of the same rows handing them out as ``shape``."""
        view = cls(self._source, self._keys, shape, self._unique)
        view._project, view._per = self._project, self._per
        return view

    def _simple(self) -> bool:
        """Whether a row is handed out as it is, or as one of its columns (no
        ``columns()``, mappings or ``unique()``)."""
        return self._project is None and self._unique is None and self._shape != _MAPPINGS

    def _out(self, rows: list) -> list:
        project = self._project
        shape = self._shape
        wrap = self._source.wrap
        if wrap is not None:
            if shape == 0 and project is None:  # the objects, as they are kept
                return self._uniq(rows)
            rows = [wrap((r,)) for r in rows]
        if project is not None:
            positions, cls = project
            rows = [cls([r[i] for i in positions]) for r in rows]
        if shape is _ROWS:
            out = rows
        elif shape == _MAPPINGS:
            fields = self._keys if project is None else project[1]._fields
            out = [RowMapping(zip(fields, r)) for r in rows]
        else:
            out = [r[shape] for r in rows]
        return self._uniq(out)

    def _uniq(self, out: list) -> list:
        unique = self._unique
        if unique is not None:
            seen, strategy = unique
            kept = []
            for item in out:
                key = strategy(item) if strategy is not None else _hashable(item)
                if key not in seen:
                    seen.add(key)
                    kept.append(item)
            out = kept
        return out

    def _uniqued(self, strategy: Callable[[Any], Any] | None) -> Any:
        self._unique = (set(), strategy)
        return self

    def _sized(self, n: int) -> Any:
        self._per = n
        if isinstance(self._source, _Streamed):
            self._source.size = n
        return self


def _one(wrap: type | None, row: Any, shape: Any) -> Any:
    """One row of a source as a simple view hands it out (a Row, or one of its columns)."""
    if wrap is not None:
        return wrap((row,)) if shape is _ROWS else row
    return row if shape is _ROWS else row[shape]


def _hashable(item: Any) -> Any:
    if isinstance(item, dict):
        return tuple(item.items())
    try:
        hash(item)
    except TypeError:
        raise InvalidRequestError(
            f"unique() cannot tell rows apart by a value that cannot be hashed ({item!r}); "
            "give unique(strategy=...) a function returning a key") from None
    return item


class _SyncMethods(_View):
    """The reading methods of a buffered result or view."""

    def _take(self, n: int | None) -> list:
        source = self._source
        if n is None:  # a buffered source has every row ready
            return self._out(source.take(None))
        out: list = []
        while len(out) < n:
            rows = source.take(n - len(out))
            if not rows:
                break
            out += self._out(rows)
        return out

    def _take_chunk(self, size: int | None) -> list:
        """``size`` rows, or (None) the rows the result has ready."""
        if size:
            return self._take(size)
        while True:
            rows = self._source.chunk()
            if not rows:
                return []
            out = self._out(rows)
            if out:
                return out

    def __iter__(self) -> Iterator[Any]:
        """The rows one at a time; those a loop leaves unread stay in the result."""
        source = self._source
        source.check()
        simple, shape = self._simple(), self._shape
        while True:
            rows, pos = source.rows, source.pos
            if pos >= len(rows):
                source.close(False)
                return
            source.pos = pos + 1
            if simple:
                yield _one(source.wrap, rows[pos], shape)
            else:
                yield from self._out([rows[pos]])

    def __next__(self) -> Any:
        for item in self:
            return item
        raise StopIteration

    def all(self) -> list:
        """Every row left; the result is closed (a second ``all()`` gives ``[]``)."""
        rows = self._take(None)
        self._source.close(False)
        return rows

    fetchall = all

    def fetchone(self) -> Any:
        rows = self._take(1)
        return rows[0] if rows else None

    def fetchmany(self, size: int | None = None) -> list:
        """The next ``size`` rows (default: the ``yield_per`` size, else all the rows a
        buffered result holds, as SQLAlchemy gives them); ``[]`` at the end."""
        return self._take_chunk(size or self._per)

    def partitions(self, size: int | None = None) -> Iterator[list]:
        """Lists of ``size`` rows (default as :meth:`fetchmany`) until the end."""
        while True:
            rows = self._take_chunk(size or self._per)
            if not rows:
                self._source.close(False)
                return
            yield rows

    def first(self) -> Any:
        """The first row, or None; the result is closed."""
        rows = self._take(1)
        self._source.close(True)
        return rows[0] if rows else None

    def one_or_none(self) -> Any:
        rows = self._take(2)
        self._source.close(True)
        if len(rows) > 1:
            raise MultipleResultsFound("more than one row where one was required")
        return rows[0] if rows else None

    def one(self) -> Any:
        rows = self._take(2)
        self._source.close(True)
        if not rows:
            raise NoResultFound("no row where one was required")
        if len(rows) > 1:
            raise MultipleResultsFound("more than one row where one was required")
        return rows[0]

    def close(self) -> None:
        self._source.close(True)

    def unique(self, strategy: Callable[[Any], Any] | None = None) -> Any:
        """Leave out repeated rows (or objects), by the value or by ``strategy(item)``."""
        return self._uniqued(strategy)

    def yield_per(self, num: int) -> Any:
        return self._sized(num)


class Result(_SyncMethods):
    """A buffered result (SQLAlchemy's Result and CursorResult): ``await sess.execute(q)``.

    ``rowcount`` is the number of rows the statement matched (UPDATE, DELETE), inserted
    (INSERT) or returned (a select: the rows buffered). A statement without RETURNING gives
    a result with no rows (``returns_rows`` false): reading rows from it raises
    :class:`~asyncqlio.exc.ResourceClosedError`, as SQLAlchemy's does. ``scalars()`` and
    ``mappings()`` are views over the same rows; ``unique()``, ``columns()`` and
    ``yield_per()`` change this result and return it."""

    def __init__(self, rows: list, keys: list[str], rowcount: int | None = None,
                 returns_rows: bool = True, wrap: type | None = None) -> None:
        super().__init__(_Buffered(rows, returns_rows, wrap), keys)
        self.rowcount: int = len(rows) if rowcount is None else rowcount
        self.returns_rows = returns_rows

    def scalars(self, index: Any = 0) -> "ScalarResult":
        return self._derive(ScalarResult, self._index(index))

    def mappings(self) -> "MappingResult":
        return self._derive(MappingResult, _MAPPINGS)

    def tuples(self) -> "Result":
        return self

    t = property(tuples)

    def columns(self, *col_expressions: Any) -> "Result":
        """Only these columns (positions, keys, or the columns themselves), in this order."""
        return self._columns(col_expressions)

    def scalar(self) -> Any:
        """The first column of the first row, or None; the result is closed."""
        return self.scalars().first()

    def scalar_one(self) -> Any:
        return self.scalars().one()

    def scalar_one_or_none(self) -> Any:
        return self.scalars().one_or_none()

    def freeze(self) -> FrozenResult:
        """The rest of the rows, kept: calling the frozen result gives a new Result."""
        return FrozenResult(self._take(None), list(self.keys()))


class ScalarResult(_SyncMethods):
    """A column of each row (``result.scalars()``): the objects of a select of a table."""


class MappingResult(_SyncMethods):
    """Each row as a :class:`RowMapping` (``result.mappings()``)."""

    def columns(self, *col_expressions: Any) -> "MappingResult":
        return self._columns(col_expressions)



class _AsyncMethods(_View):
    """The reading methods of a streamed result or view."""

    async def _take(self, n: int | None) -> list:
        out: list = []
        source = self._source
        while n is None or len(out) < n:
            rows = await source.take(None if n is None else n - len(out))
            if not rows:
                break
            out += self._out(rows)
        return out

    async def _take_chunk(self, size: int | None) -> list:
        """``size`` rows, or (None) the rows fetched and not read yet, or the next fetch."""
        if size:
            return await self._take(size)
        while True:
            rows = await self._source.chunk()
            if not rows:
                return []
            out = self._out(rows)
            if out:
                return out

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        """The next row (from the buffer, fetching when it is empty); the rows a loop leaves
        unread stay in the result."""
        source = self._source
        while True:
            buffer, pos = source.buffer, source.pos
            if pos >= len(buffer):
                source.check()
                if not await source.fill(source.size):
                    await source.close(False)
                    raise StopAsyncIteration
                continue
            source.pos = pos + 1
            if self._simple():
                return _one(source.wrap, buffer[pos], self._shape)
            out = self._out([buffer[pos]])
            if out:
                return out[0]

    async def all(self) -> list:
        rows = await self._take(None)
        await self._source.close(False)
        return rows

    fetchall = all

    async def fetchone(self) -> Any:
        rows = await self._take(1)
        return rows[0] if rows else None

    async def fetchmany(self, size: int | None = None) -> list:
        """The next ``size`` rows (default: the ``yield_per`` size, else the rows of the
        last fetch not read yet, or the next fetch); ``[]`` at the end."""
        return await self._take_chunk(size or self._per)

    async def partitions(self, size: int | None = None) -> AsyncIterator[list]:
        """Lists of ``size`` rows (default as :meth:`fetchmany`) until the end."""
        while True:
            rows = await self._take_chunk(size or self._per)
            if not rows:
                await self._source.close(False)
                return
            yield rows

    async def first(self) -> Any:
        rows = await self._take(1)
        await self._source.close(True)
        return rows[0] if rows else None

    async def one_or_none(self) -> Any:
        rows = await self._take(2)
        await self._source.close(True)
        if len(rows) > 1:
            raise MultipleResultsFound("more than one row where one was required")
        return rows[0] if rows else None

    async def one(self) -> Any:
        rows = await self._take(2)
        await self._source.close(True)
        if not rows:
            raise NoResultFound("no row where one was required")
        if len(rows) > 1:
            raise MultipleResultsFound("more than one row where one was required")
        return rows[0]

    async def close(self) -> None:
        await self._source.close(True)

    def unique(self, strategy: Callable[[Any], Any] | None = None) -> Any:
        return self._uniqued(strategy)

    def yield_per(self, num: int) -> Any:
        """Fetch ``num`` rows from the server per round trip (and hand out partitions of
        that size)."""
        return self._sized(num)


class AsyncResult(_AsyncMethods):
    """A streamed result (SQLAlchemy's AsyncResult): ``await sess.stream(query)`` reads rows
    from a server-side cursor (PostgreSQL) or ``fetchmany`` (SQLite) as they are used, so
    memory stays bounded. ``fetch(n)`` gives the next records (``[]`` at the end), ``close``
    ends the cursor."""

    def __init__(self, fetch: Callable[[int], Awaitable[list]], keys: list[str],
                 close: Callable[[], Awaitable[None]] | None = None, size: int = 1000,
                 wrap: type | None = None) -> None:
        super().__init__(_Streamed(fetch, close, size, wrap), keys)

    def scalars(self, index: Any = 0) -> "AsyncScalarResult":
        return self._derive(AsyncScalarResult, self._index(index))

    def mappings(self) -> "AsyncMappingResult":
        return self._derive(AsyncMappingResult, _MAPPINGS)

    def tuples(self) -> "AsyncResult":
        return self

    t = property(tuples)

    def columns(self, *col_expressions: Any) -> "AsyncResult":
        return self._columns(col_expressions)

    async def scalar(self) -> Any:
        return await self.scalars().first()

    async def scalar_one(self) -> Any:
        return await self.scalars().one()

    async def scalar_one_or_none(self) -> Any:
        return await self.scalars().one_or_none()

    async def freeze(self) -> FrozenResult:
        return FrozenResult(await self._take(None), list(self.keys()))


AsyncTupleResult = AsyncResult
TupleResult = Result


class AsyncScalarResult(_AsyncMethods):
    """A column of each streamed row (``(await sess.stream(q)).scalars()``)."""


class AsyncMappingResult(_AsyncMethods):
    """Each streamed row as a :class:`RowMapping`."""

    def columns(self, *col_expressions: Any) -> "AsyncMappingResult":
        return self._columns(col_expressions)


def typed_rows(dialect: str, keys: tuple, types: list, records: list) -> list[Row]:
    """Records as Rows of ``keys``, each value loaded as its type (or None) loads it."""
    cls = row_class(keys)
    procs = []
    for i, typ in enumerate(types):
        proc = typ.result_processor(dialect) if typ is not None else None
        if proc is not None:
            procs.append((i, proc))
    if not procs:
        return [cls(r) for r in records]
    out = []
    for record in records:
        values = list(record)
        for i, proc in procs:
            if values[i] is not None:
                values[i] = proc(values[i])
        out.append(cls(values))
    return out


def table_rows(table: type, dialect: str, records: list) -> tuple[list, list[str]]:
    """Whole rows of a table as Row tuples keyed by attribute name, values loaded."""
    info = table.__table__
    keys = [c.attr_name for c in info.columns]
    cls = row_class(tuple(keys))
    n = len(keys)
    loaders = info.loaders_for(dialect)
    return [cls(_row.load_values(r[:n], loaders)) for r in records], keys
