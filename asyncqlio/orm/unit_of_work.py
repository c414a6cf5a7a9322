"""The unit of work's memory: what a session's objects looked like when a transaction or a
savepoint began, so rolling it back restores them (instead of expiring them), and the
transaction objects ``begin()`` and ``begin_nested()`` return."""
from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Generator, Iterator, Mapping

from asyncqlio._speedups import _row
from asyncqlio.exc import InvalidRequestError

if TYPE_CHECKING:
    from asyncqlio.orm.session import Session


def identity_key(row: Any) -> "Key":
    """``(class, primary key tuple)``: the row's key in a session's identity map."""
    return type(row), row.primary_key_values()


Key = tuple[type, tuple[Any, ...]]


class IdentityMap(Mapping[Key, Any]):
    """One object per primary key: ``(class, primary key tuple) -> object``.

    Stored per class and keyed by the bare key value for a one-column key (the tuple for a
    compound key), so hydration looks rows up without building and hashing tuples.

    It holds its objects weakly, as SQLAlchemy's does: an object nobody uses any more leaves
    the map (so a long session, or a stream of a million objects, keeps only what is in use).
    What the session must still write or restore (new, changed, deleted rows, and the
    snapshots of open transactions) it holds strongly elsewhere. The entries are plain weak
    references; the dead ones are swept out whenever a class's map has doubled in size."""

    __slots__ = ("by_class", "limits")

    #: a class's map is swept when it grows past twice its live size, or this
    SWEEP_FLOOR = 1024

    def __init__(self, by_class: dict[type, dict[Any, Any]] | None = None) -> None:
        self.by_class: dict[type, dict[Any, weakref.ref]] = by_class if by_class is not None else {}
        #: class -> the size of its map that triggers the next sweep
        self.limits: dict[type, int] = {}

    def of(self, cls: type) -> dict[Any, weakref.ref]:
        """The map of one class, as :func:`_row.hydrate_identity` uses it."""
        m = self.by_class.get(cls)
        if m is None:
            m = self.by_class[cls] = {}
        return m

    def holds(self, cls: type) -> bool:
        """Whether any object of ``cls`` may be in the map (cheap; may say yes for a class
        whose objects have all been dropped)."""
        return bool(self.by_class.get(cls))

    def sweep(self, cls: type) -> None:
        """Drop the dead entries of a class once its map has grown enough to be worth it."""
        m = self.by_class.get(cls)
        if m is None or len(m) <= self.limits.get(cls, self.SWEEP_FLOOR):
            return
        self.limits[cls] = max(self.SWEEP_FLOOR, 2 * _row.sweep(m))

    @staticmethod
    def _inner(key: tuple) -> Any:
        return key[0] if len(key) == 1 else key

    def __getitem__(self, key: Key) -> Any:
        row = self.get(key)
        if row is None:
            raise KeyError(key)
        return row

    def get(self, key: Key, default: Any = None) -> Any:  # type: ignore[override]
        m = self.by_class.get(key[0])
        ref = None if m is None else m.get(self._inner(key[1]))
        row = None if ref is None else ref()
        return default if row is None else row

    def __contains__(self, key: object) -> bool:
        """``(class, key)``, or SQLAlchemy's ``(class, key, identity token)``."""
        return isinstance(key, tuple) and len(key) in (2, 3) and self.get(key) is not None

    def _live(self) -> Iterator[tuple[Key, Any]]:
        for cls, m in list(self.by_class.items()):
            for k, ref in list(m.items()):
                row = ref()
                if row is not None:
                    yield (cls, (k if type(k) is tuple else (k,))), row

    def __iter__(self) -> Iterator[Key]:
        for key, _ in self._live():
            yield key

    def __len__(self) -> int:
        return sum(1 for _ in self._live())

    def put(self, key: Key, row: Any) -> None:
        self.of(key[0])[self._inner(key[1])] = weakref.ref(row)

    def pop(self, key: Key) -> Any:
        m = self.by_class.get(key[0])
        ref = None if m is None else m.pop(self._inner(key[1]), None)
        return None if ref is None else ref()

    def discard(self, row: Any) -> None:
        """Take ``row`` out under whatever key it was mapped with."""
        m = self.by_class.get(type(row))
        if m is not None:
            for k in [k for k, ref in m.items() if ref() is row]:
                del m[k]

    def rows(self) -> list[Any]:
        return [row for m in self.by_class.values() for ref in m.values()
                if (row := ref()) is not None]

    def copy(self) -> "IdentityMap":
        return IdentityMap({cls: dict(m) for cls, m in self.by_class.items() if m})

    def clear(self) -> None:
        self.by_class.clear()
        self.limits.clear()

    def __repr__(self) -> str:
        return f"<IdentityMap of {len(self)} rows>"


class Snapshot:
    """The session's tracked objects, their values, history and states, and which of them
    were in the identity map, pending or marked for deletion."""

    __slots__ = ("rows", "saved", "journal_start", "identity_map", "pending", "deleted",
                 "inserted")

    def __init__(self, sess: "Session", nested: bool) -> None:
        self.identity_map = sess.identity_map.copy()
        self.pending = dict(sess._pending)
        self.deleted = dict(sess._deleted)
        #: where this began in the session's list of inserted rows
        self.inserted = len(sess._inserted)
        tracked = {id(r): r for r in self.identity_map.rows()}
        if nested:
            # only a savepoint's rollback keeps unwritten rows (a full rollback forgets
            # them), so only it needs their values
            tracked.update(self.pending)
        tracked.update(self.deleted)
        self.rows = _row.snapshot(tracked.values())
        self.saved = set(tracked)
        #: where this began in the session's journal of flushed changes
        self.journal_start = len(sess._journal)

    def restore(self, sess: "Session", keep_new: bool) -> None:
        """Put the objects back; objects the session took on since are detached. With
        ``keep_new`` false, rows that were still unwritten are detached too (a full
        rollback forgets them, as it forgets marks for deletion)."""
        saved = self.saved
        since = [r for r in sess.identity_map.rows() if id(r) not in saved]
        # inserted since: transient again; loaded since: their unwritten changes taken back,
        # then detached (they may hold values written after this point)
        inserted = {id(r) for r in sess._inserted}
        loaded_since = [r for r in since if id(r) not in inserted]
        unwritten: list = []
        _row.journal([r for r in loaded_since if r._prior is not None], unwritten)
        _row.revert(unwritten, sess)
        _row.detach(loaded_since, _row.DETACHED)
        _row.detach(sess._inserted[self.inserted:], _row.TRANSIENT)
        del sess._inserted[self.inserted:]
        _row.detach([r for k, r in sess._pending.items() if k not in saved], _row.TRANSIENT)
        # rows loaded since and written: back to their loaded values (the saved rows are
        # then overwritten by their snapshot)
        since_written = sess._journal[self.journal_start:]
        del sess._journal[self.journal_start:]
        _row.revert(since_written, sess)
        _row.restore(self.rows, sess)
        sess.identity_map = self.identity_map.copy()
        for row in since_written[::_row.JOURNAL_ENTRY]:
            if id(row) not in saved:
                sess.identity_map.put(identity_key(row), row)
        if keep_new:
            sess._pending = dict(self.pending)
            sess._deleted = dict(self.deleted)
        else:
            _row.detach(self.pending.values(), _row.TRANSIENT)
            sess._pending = {}
            sess._deleted = {}
        sess._dirty = {id(r): r for r in sess.identity_map.rows() if r._prior is not None}


async def end_block(target: Any, failed: bool) -> None:
    """The end of an ``async with`` block over a session or a transaction: commit, or roll
    back where the block failed or the commit did."""
    if failed:
        await target.rollback()
        return
    try:
        await target.commit()
    except BaseException:
        await target.rollback()
        raise


class SessionTransaction:
    """``async with sess.begin():`` / ``async with sess.begin_nested():`` — commits (or
    releases the savepoint) on a clean exit, rolls back on an exception. Also
    ``tx = await sess.begin_nested()`` then ``await tx.commit()`` or ``await tx.rollback()``."""

    def __init__(self, session: "Session", name: str | None = None) -> None:
        self.session = session
        #: the savepoint's name; None for the session's transaction itself
        self.name = name
        self.nested = name is not None
        self.snapshot: Snapshot | None = None
        self.is_active = False

    def __repr__(self) -> str:
        kind = f"savepoint {self.name}" if self.nested else "transaction"
        return f"<SessionTransaction {kind} {'active' if self.is_active else 'inactive'}>"

    async def start(self) -> "SessionTransaction":
        if self.is_active:
            return self
        if self.nested:
            await self.session._savepoint(self)
        else:
            await self.session._ready()
        return self

    def __await__(self) -> Generator[Any, None, "SessionTransaction"]:
        return self.start().__await__()

    async def __aenter__(self) -> "SessionTransaction":
        return await self.start()

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if not self.is_active:
            return  # committed or rolled back inside the block
        await end_block(self, exc_type is not None)

    def _check(self) -> None:
        if not self.is_active:
            raise InvalidRequestError(f"{self!r} is no longer active")

    async def commit(self) -> None:
        """Flush and commit the transaction, or flush and release the savepoint (a failed
        flush leaves the savepoint for ``rollback()``, which ``async with`` does)."""
        self._check()
        if self.nested:
            await self.session.flush()
            await self.session.release_checkpoint(self.name)
        else:
            await self.session.commit()

    async def rollback(self) -> None:
        """Roll back, restoring the session's objects to how they were when this began."""
        self._check()
        if self.nested:
            await self.session.rollback(self.name)
            await self.session.release_checkpoint(self.name)
        else:
            await self.session.rollback()
