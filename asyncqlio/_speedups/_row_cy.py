"""Row state: where a model instance keeps its values, how writes to it are recorded, and how
driver rows become instances.

A row keeps the driver's record itself (an asyncpg ``Record`` or a sqlite tuple) as
``_values`` and copies it into a list only on the first write, so loading a row costs one
object and two field stores. Writes go through :class:`ColumnAttr`. The first write keeps the
values the row had (``_prior``: the record itself, or a tuple copy) and each write sets the
column's bit in ``_written``, so the session knows what to write and what to restore without
comparing whole objects, and a write allocates nothing beyond the row's value list.
"""
try:
    import cython
except ModuleNotFoundError:  # running uncompiled without Cython installed
    from asyncqlio._speedups import _cython_shim as cython

from asyncqlio.exc import ArgumentError, ExpiredAttributeError

import gc

if cython.compiled:
    from cython.cimports.cpython.datetime import datetime_tzinfo, import_datetime
    from cython.cimports.cpython.long import PyLong_FromVoidPtr
    from cython.cimports.cpython.object import PyObject
    from cython.cimports.cpython.weakref import PyWeakref_NewRef

    import_datetime()
else:
    PyObject = object  # named by the signature of _construct, which runs compiled only
    from weakref import ref as _weakref


@cython.cfunc
@cython.inline
def _weak(obj) -> object:
    """A weak reference for the identity map, made without a Python-level call and kept out
    of the cyclic collector: with no callback it holds no reference the collector could
    follow, and it would otherwise be one more object for every collection to visit (the
    map makes one per row loaded)."""
    if cython.compiled:
        ref = PyWeakref_NewRef(obj, None)
        PyObject_GC_UnTrack(ref)
    else:
        ref = _weakref(obj)
    return ref


class _Sentinel:
    """A marker distinct from every column value, None included."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name

    def __reduce__(self):
        return self.name


#: the value of a column that was never set (distinct from NULL/None)
NO_VALUE = _Sentinel("NO_VALUE")
#: a column declared without a Python-side default (``asyncqlio.sentinels``)
NO_DEFAULT = _Sentinel("NO_DEFAULT")
#: the value of a column expired by ``Session.expire``: reading it raises until a refresh or
#: a query loads it again (no hidden I/O)
EXPIRED = _Sentinel("EXPIRED")

# instance states (see asyncqlio.orm.inspection), as C constants for the loops here
_TRANSIENT = cython.declare(cython.int, 0)
_PENDING = cython.declare(cython.int, 1)
_PERSISTENT = cython.declare(cython.int, 2)
_DELETED = cython.declare(cython.int, 3)
_DETACHED = cython.declare(cython.int, 4)
#: the columns a row tracks in bit masks (``_unconverted``, ``_written``): a wider table
#: loads eagerly, and its writes past these are recorded in a set
_BITS = cython.declare(cython.Py_ssize_t, 64)
LAZY_COLUMNS = _BITS
TRANSIENT = _TRANSIENT
PENDING = _PENDING
PERSISTENT = _PERSISTENT
DELETED = _DELETED
DETACHED = _DETACHED


def _is_compiled() -> bool:
    return cython.compiled


@cython.cclass
class SessionRows:
    """Base of ``Session``: the registries the column descriptors and ``add()`` write to,
    as C fields (read as instance attributes, they were a quarter of a write's cost)."""

    #: new rows added but not yet written, by id, in the order they were added
    _pending = cython.declare(dict, visibility="public")
    #: tracked rows with history (an attribute written since the last flush), by id
    _dirty = cython.declare(dict, visibility="public")
    #: neither closed nor failed: what add() checks
    _usable = cython.declare(cython.bint, visibility="public")


@cython.cclass
class RowBase:
    """Base of every model class: the storage the descriptors and the session work on."""

    _values = cython.declare(object, visibility="public")
    #: None, or the row's values before its first write since it was loaded or last written
    #: (a tuple, never changed; NO_VALUE for each column of a new row). Read its entries
    #: through old_value(): where ``_raw`` has the bit, an entry is the driver's value
    _prior = cython.declare(object, visibility="public")
    #: with a history: bit i set, column i was written since (columns 0-63) ...
    _written = cython.declare(cython.ulonglong, visibility="public")
    #: ... and the columns from 64 on that were written (a set), or None
    _wide = cython.declare(object, visibility="public")
    #: ``_unconverted`` as it was when the history was taken
    _raw = cython.declare(cython.ulonglong, visibility="public")
    _session = cython.declare(object, visibility="public")
    #: bit i set: column i still holds the driver's value; ``_loaders[i]`` converts it on
    #: first use, so a load pays only for the columns that are read
    _unconverted = cython.declare(cython.ulonglong, visibility="public")
    _loaders = cython.declare(object, visibility="public")
    # the two small fields side by side: they share one 8-byte slot of the object
    _state = cython.declare(cython.int, visibility="public")
    #: some column holds EXPIRED: a query loading this row again fills the row in
    _expired = cython.declare(cython.bint, visibility="public")

    def __init__(self, **values):
        # compiled, ``User(...)`` skips this for ``_construct``; this serves the pure path
        # and classes that define __init__ and call super().__init__(**values)
        init_row(self, type(self).__table__.init_plan, values)


@cython.cclass
class ColumnAttr:
    """The class attribute for one column: reads the row's value, records writes.

    On the class it gives the :class:`~asyncqlio.orm.schema.Column` (for building queries).
    ``on_set`` checks and converts an assigned value; it is skipped for values whose type is
    exactly ``fast_type`` (the column type's own Python type), so the usual assignment costs
    a type comparison and a list store.
    """

    index = cython.declare(cython.Py_ssize_t, visibility="public")
    column = cython.declare(object, visibility="public")
    on_set = cython.declare(object, visibility="public")
    fast_type = cython.declare(object, visibility="public")
    #: fast_type values must also be naive (no tzinfo), as a naive Timestamp wants them
    naive = cython.declare(cython.bint, visibility="public")
    #: the column's bit in the row's masks (0 from column 64 on)
    bit = cython.declare(cython.ulonglong, visibility="readonly")

    def __init__(self, column, index: cython.Py_ssize_t, on_set=None, fast_type=None,
                 naive=False):
        self.column = column
        self.index = index
        self.on_set = on_set
        self.fast_type = fast_type
        self.naive = naive
        self.bit = cython.cast(cython.ulonglong, 1) << index if index < _BITS else 0

    def __get__(self, obj, owner):
        if obj is None:
            return self.column
        row: RowBase = cython.cast(RowBase, obj)
        if row._unconverted and (row._unconverted >> self.index) & 1:
            return _convert(row, self.index)
        value = row._values[self.index]
        if value is NO_VALUE:
            return None
        if value is EXPIRED:
            raise ExpiredAttributeError(
                f"{type(obj).__name__}.{self.column.attr_name} was expired; "
                "await sess.refresh(obj) (or load it with a query) before reading it")
        return value

    def __set__(self, obj, value):
        row: RowBase = cython.cast(RowBase, obj)
        value = _checked(self, value)
        bit: cython.ulonglong = self.bit
        # a new row without history keeps none: all it holds is given
        if row._prior is None and row._state >= _PERSISTENT:
            _take_history(row)
            if row._session is not None:
                # the session flushes rows it tracks that have history: no add() needed
                cython.cast(SessionRows, row._session)._dirty[_id(obj)] = obj
        if row._prior is not None:
            if bit:
                row._written |= bit
            else:
                _mark_written(row, self.index)
        values = _value_list(row)
        values[self.index] = value
        if row._unconverted and row._unconverted & bit:
            row._unconverted &= ~bit

    def __delete__(self, obj):
        raise AttributeError(f"cannot delete column attribute {self.column!r}")


@cython.cfunc
def _convert(row: RowBase, index: cython.Py_ssize_t) -> object:
    """Convert one column still holding the driver's value, and keep the result. A value
    already of the loader's type (a REAL read as a float) is kept as it is, in the record:
    reading it copies nothing."""
    values = row._values
    value = values[index]
    loader = row._loaders[index]
    if value is not None and type(value) is not loader:
        value = loader(value)
        if type(values) is not list:
            values = list(values)
            row._values = values
        values[index] = value
    row._unconverted &= ~(cython.cast(cython.ulonglong, 1) << index)
    return value


@cython.cfunc
@cython.inline
def _value_list(row: RowBase) -> list:
    """The row's values as a list it owns, for writing into (a record is copied once)."""
    values = row._values
    if type(values) is not list:
        values = list(values)
        row._values = values
    return values


@cython.cfunc
def _take_history(row: RowBase) -> cython.int:
    """Before a persistent row's first write: keep its values as its history (the record
    itself, which a list to write into replaces; a list is copied)."""
    values = row._values
    if type(values) is list:
        row._prior = tuple(values)
    else:
        row._prior = values
        row._values = list(values)
    row._raw = row._unconverted
    row._written = 0
    row._wide = None
    return 0


@cython.cfunc
@cython.inline
def _mark_written(row: RowBase, index: cython.Py_ssize_t) -> cython.int:
    if index < _BITS:
        row._written |= cython.cast(cython.ulonglong, 1) << index
    elif row._wide is None:
        row._wide = {index}
    else:
        row._wide.add(index)
    return 0


@cython.cfunc
@cython.inline
def _was_written(row: RowBase, index: cython.Py_ssize_t) -> cython.bint:
    """Column ``index`` was written since the row's history was taken (which it has)."""
    if index < _BITS:
        return (row._written >> index) & 1 != 0
    return row._wide is not None and index in row._wide


@cython.cfunc
def _written_list(written: cython.ulonglong, wide) -> list:
    """The column indexes of a written mask and set, in order."""
    i: cython.Py_ssize_t = 0
    out: list = []
    while written:
        if written & 1:
            out.append(i)
        written >>= 1
        i += 1
    if wide:
        out.extend(sorted(wide))
    return out


@cython.cfunc
def _old(row: RowBase, history, raw: cython.ulonglong, index: cython.Py_ssize_t):
    """Entry ``index`` of a history of ``row``, as Python sees it."""
    v = history[index]
    if index < _BITS and (raw >> index) & 1 and v is not None:
        loader = row._loaders[index]
        if type(v) is not loader:
            v = loader(v)
    return v


@cython.ccall
def old_value(obj, index: cython.Py_ssize_t):
    """A column's value as the database has it: its value before the row's unflushed
    writes (NO_VALUE where a new row had none)."""
    row: RowBase = cython.cast(RowBase, obj)
    if row._prior is not None and _was_written(row, index):
        return _old(row, row._prior, row._raw, index)
    return column_value(row, index)


@cython.ccall
def written(obj) -> tuple:
    """The indexes of the columns written since the row was loaded or last written (for a
    new row with history: the columns it was given)."""
    row: RowBase = cython.cast(RowBase, obj)
    if row._prior is None:
        return ()
    return tuple(_written_list(row._written, row._wide))


@cython.ccall
def forget_changes(obj, indexes) -> cython.bint:
    """The row's unflushed writes of columns ``indexes`` are no longer to be written (the
    columns were loaded again or expired); returns whether it has other writes left."""
    row: RowBase = cython.cast(RowBase, obj)
    i: cython.Py_ssize_t
    if row._prior is None:
        return False
    for i in indexes:
        if i < _BITS:
            row._written &= ~(cython.cast(cython.ulonglong, 1) << i)
        elif row._wide is not None and i in row._wide:
            row._wide = row._wide - {i}  # a journal entry may share the set
    if row._written == 0 and not row._wide:
        row._prior = None
        return False
    return True


@cython.ccall
def materialize(obj):
    """Convert every column not converted yet (for code that reads ``_values`` directly)."""
    row: RowBase = cython.cast(RowBase, obj)
    i: cython.Py_ssize_t
    if row._unconverted:
        for i in range(len(row._loaders)):
            if (row._unconverted >> i) & 1:
                _convert(row, i)


@cython.ccall
def column_value(obj, index: cython.Py_ssize_t):
    """A column's value as Python sees it (NO_VALUE where never set)."""
    row: RowBase = cython.cast(RowBase, obj)
    if row._unconverted and (row._unconverted >> index) & 1:
        return _convert(row, index)
    return row._values[index]


@cython.cfunc
@cython.inline
def _id(obj) -> object:
    """``id(obj)`` without the builtin's audit event (a third of the cost of registering a
    row with the session)."""
    return PyLong_FromVoidPtr(cython.cast(cython.p_void, obj)) if cython.compiled else id(obj)


@cython.cfunc
@cython.inline
def _naive(value) -> cython.bint:
    """A datetime (exactly) without tzinfo, read from the C struct when compiled."""
    tzinfo = datetime_tzinfo(value) if cython.compiled else value.tzinfo
    return tzinfo is None


@cython.cfunc
@cython.inline
def _checked(attr: ColumnAttr, value) -> object:
    if attr.on_set is None or value is None:
        return value
    if type(value) is attr.fast_type and (not attr.naive or _naive(value)):
        return value
    return attr.on_set(value)


@cython.cclass
class InitPlan:
    """What a constructor needs per column, in column order: its attribute name and
    descriptor, and its default as ``(value, is_callable)`` or None."""

    names = cython.declare(tuple, visibility="public")
    attrs = cython.declare(tuple, visibility="public")
    defaults = cython.declare(tuple, visibility="public")
    #: attribute name -> column index
    index = cython.declare(dict, visibility="public")
    #: NO_VALUE for each column: the history of a new row that a default filled in
    unset = cython.declare(tuple, visibility="public")
    #: ``extra(row, keywords)`` takes the constructor keywords that are not columns
    #: (relationships: ``Author(posts=[...])``); None refuses them
    extra = cython.declare(object, visibility="public")

    def __init__(self, attrs: tuple, defaults: tuple, extra=None):
        self.attrs = attrs
        self.defaults = defaults
        self.extra = extra
        self.names = tuple(a.column.attr_name for a in attrs)
        self.index = {name: i for i, name in enumerate(self.names)}
        self.unset = (NO_VALUE,) * len(attrs)


@cython.cfunc
def _init_values(row: RowBase, plan: InitPlan, values: list) -> cython.int:
    """Make ``row`` a new (transient) row of ``values``, the constructor's values in column
    order (NO_VALUE where not given: the column's default then applies).

    A merge writes only the columns the user set, so where a default filled a column the
    given ones are marked written in a history of NO_VALUEs; otherwise the history stays
    None, which for a transient row means every column holding a value was given."""
    i: cython.Py_ssize_t
    j: cython.Py_ssize_t
    n: cython.Py_ssize_t = len(values)
    history = None
    for i in range(n):
        v = values[i]
        if v is NO_VALUE:
            default = plan.defaults[i]
            if default is not None:
                if history is None:  # the first default: only given values so far
                    history = plan.unset
                    row._written = 0
                    row._wide = None
                    row._raw = 0
                    for j in range(n):
                        if values[j] is not NO_VALUE:
                            _mark_written(row, j)
                value, is_callable = default
                values[i] = _checked(plan.attrs[i], value() if is_callable else value)
        elif v is not None:
            values[i] = _checked(plan.attrs[i], v)
    row._values = values
    row._prior = history
    row._state = _TRANSIENT
    row._unconverted = 0
    return 0


def _unexpected(cls, name) -> TypeError:
    """Python's own error for a keyword the constructor does not take."""
    return TypeError(f"{cls.__qualname__}.__init__() got an unexpected keyword argument "
                     f"{name!r}")


@cython.ccall
def init_row(obj, plan: InitPlan, kwargs: dict):
    """A new (transient) row from constructor keywords."""
    values: list = [NO_VALUE] * len(plan.names)
    extras = None
    for key, value in kwargs.items():
        found = plan.index.get(key)
        if found is None:
            if plan.extra is None:
                raise _unexpected(type(obj), key)
            if extras is None:
                extras = {}
            extras[key] = value
            continue
        values[found] = value
    _init_values(cython.cast(RowBase, obj), plan, values)
    if extras is not None:
        plan.extra(obj, extras)


@cython.cfunc
def _construct(cls: type, args: cython.pointer(cython.pointer(PyObject)),
               nargsf: cython.size_t, kwnames: cython.pointer(PyObject)) -> object:
    """A model class's vectorcall: ``User(id=1, ...)`` reads its keywords off the caller's
    stack, where calling the class through ``type.__call__`` makes a dict of them and
    unpacks it again for ``__init__`` (more than half of what a new object cost). A class
    whose ``__new__`` or ``__init__`` is not RowBase's (one defined later too) is called as
    Python calls it."""
    slots: cython.pointer(TypeSlots) = cython.cast(cython.pointer(TypeSlots), cls)
    base: cython.pointer(TypeSlots) = cython.cast(cython.pointer(TypeSlots), RowBase)
    nargs: cython.Py_ssize_t = PyVectorcall_NARGS(nargsf)
    i: cython.Py_ssize_t
    j: cython.Py_ssize_t
    k: cython.Py_ssize_t = 0
    if nargs or slots.tp_init != base.tp_init or slots.tp_new != base.tp_new:
        positional = tuple([cython.cast(object, args[i]) for i in range(nargs)])
        keywords = {}
        if kwnames != cython.NULL:
            given_names = cython.cast(tuple, kwnames)
            for i in range(len(given_names)):
                keywords[given_names[i]] = cython.cast(object, args[nargs + i])
        return type.__call__(cls, *positional, **keywords)
    plan: InitPlan = cls.__table__.init_plan
    names: tuple = plan.names
    n: cython.Py_ssize_t = len(names)
    row: RowBase = cls.__new__(cls)
    values: list = [NO_VALUE] * n
    extras = None
    if kwnames != cython.NULL:
        given_names = cython.cast(tuple, kwnames)
        for j in range(len(given_names)):
            name = given_names[j]
            if k < n and names[k] is name:  # keywords in column order: no lookup
                i = k
            else:
                found = plan.index.get(name)
                if found is None:
                    if plan.extra is None:
                        raise _unexpected(cls, name)
                    if extras is None:
                        extras = {}
                    extras[name] = cython.cast(object, args[j])
                    continue
                i = found
            values[i] = cython.cast(object, args[j])
            k = i + 1
    _init_values(row, plan, values)
    if extras is not None:
        plan.extra(row, extras)
    return row


def install_constructor(cls) -> bool:
    """Give a model class the C constructor, where calls of the class reach it (its
    metaclass calls classes as ``type`` does); whether it did."""
    if cython.compiled and type(cls).__call__ is type.__call__:
        cython.cast(cython.pointer(TypeSlots), cls).tp_vectorcall = \
            cython.cast(cython.p_void, _construct)
        return True
    return False


@cython.ccall
def load_values(record, loaders: tuple) -> object:
    """The row's storage: the record itself, or a converted copy where loaders apply."""
    i: cython.Py_ssize_t
    if not loaders:
        return record
    values: list = list(record)
    for i in range(len(loaders)):
        idx, fn = loaders[i]
        v = values[idx]
        if v is not None:
            values[idx] = fn(v)
    return values



#: _lazy_plan's plans, by loaders tuple
_PLANS = cython.declare(dict, {})


@cython.cfunc
def _lazy_plan(loaders: tuple) -> tuple:
    """``(eager, mask, per-column loaders)`` for rows loaded with ``loaders``: columns convert
    on first use while each fits a bit of ``_unconverted``, else all at once on load. Kept
    per loaders tuple (a table's, per dialect): working it out cost a one-row query a
    sixth of its hydration."""
    plan = _PLANS.get(loaders)
    if plan is None:
        if len(_PLANS) >= 1024:  # tables made on the fly: keep the cache bounded
            _PLANS.clear()
        plan = _PLANS[loaders] = _make_plan(loaders)
    return plan


@cython.cfunc
def _make_plan(loaders: tuple) -> tuple:
    mask: cython.ulonglong = 0
    if not loaders:
        return False, mask, None
    width = max([idx for idx, _ in loaders]) + 1
    if width > _BITS:
        return True, mask, None
    per = [None] * width
    for idx, fn in loaders:
        per[idx] = fn
        mask |= cython.cast(cython.ulonglong, 1) << idx
    return False, mask, tuple(per)


@cython.cfunc
@cython.inline
def _untrack_atomic(record, atomic: cython.bint) -> cython.int:
    """Take a driver record out of the cyclic collector when none of its values could lead
    back to it (numbers, text, timestamps: values the collector does not track), as CPython
    does for such tuples, but before the first collection instead of during it: a load's
    records then cost the collections that follow nothing. asyncpg Records are immutable,
    so such a record stays outside any cycle. ``atomic``: the table's column types say so
    already (``TableInfo.atomic``). Compiled only (it calls the C API)."""
    i: cython.Py_ssize_t
    if not PyObject_GC_IsTracked(record):
        return 0
    for i in range(0 if atomic else PySequence_Size(record)):
        v = PySequence_GetItem(record, i)
        if PyObject_IS_GC(v) and PyObject_GC_IsTracked(v):
            return 0
    PyObject_GC_UnTrack(record)
    return 0


@cython.cfunc
@cython.inline
def _untrack_map(rows_of: dict) -> cython.int:
    """Take an identity map out of the cyclic collector: its values are weak references
    without callbacks (nothing a collector could follow) and, where its keys are plain
    values (a one-column key), nothing in it can lead back to it. Inserting a tracked object
    tracks the dict again (CPython does that on every insert), so this is only a saving for
    the collections that follow a load: the map's 10,000 entries are not visited."""
    if PyObject_GC_IsTracked(rows_of):
        PyObject_GC_UnTrack(rows_of)
    return 0


@cython.cfunc
def _pause_collector() -> cython.bint:
    """Pause the cyclic collector while rows are built, returning whether it was on. The
    loop makes no garbage cycles, and collecting the young generation over and over while
    10,000 rows (and their driver records) are young tripled the cost of a load; after the
    loop the collector runs as usual, once."""
    if cython.compiled:
        was = PyGC_Disable()
    else:
        was = gc.isenabled()
        gc.disable()
    return was


@cython.cfunc
def _resume_collector(was: cython.bint) -> cython.int:
    if was:
        if cython.compiled:
            PyGC_Enable()
        else:
            gc.enable()
    return 0


@cython.cfunc
@cython.inline
def _loaded(cls: type, record, loaders: tuple, eager: cython.bint, mask: cython.ulonglong,
            per_column, atomic: cython.bint, session) -> RowBase:
    """A persistent row of ``record``: the record itself as its values (converted column by
    column on first use, per ``mask``), or a converted copy where ``eager``."""
    row: RowBase = cls.__new__(cls)
    if eager:
        row._values = load_values(record, loaders)
    else:
        if cython.compiled:
            _untrack_atomic(record, atomic)
        row._values = record
    row._unconverted = mask
    row._loaders = per_column
    row._state = _PERSISTENT
    row._session = session
    return row


@cython.ccall
def hydrate(cls: type, rows, loaders: tuple, session) -> list:
    """Driver rows -> persistent instances of ``cls``; ``loaders`` is ``((index, fn), ...)``
    for the columns whose driver value needs converting, or empty. Each row keeps the record
    itself; the loaders run when a column is first used."""
    out: list = []
    mask: cython.ulonglong
    eager: cython.bint
    eager, mask, per_column = _lazy_plan(loaders)
    atomic: cython.bint = getattr(getattr(cls, "__table__", None), "atomic", False)
    was: cython.bint = _pause_collector()
    try:
        for record in rows:
            out.append(_loaded(cls, record, loaders, eager, mask, per_column, atomic, session))
    finally:
        _resume_collector(was)
    return out


@cython.ccall
def hydrate_identity(cls: type, rows, loaders: tuple, session, identity_map: dict,
                     pk_indexes: tuple) -> list:
    """:func:`hydrate` through the session's identity map of ``cls`` (key -> weak
    reference), keyed by the primary key value (a tuple for a compound key; a plain value
    otherwise, which spares building and hashing two tuples per row): a row already in the
    map is returned as it is (its unflushed changes kept), or, if it was expired, with its
    values loaded again; new rows are added to the map."""
    out: list = []
    row: RowBase
    mask: cython.ulonglong
    eager: cython.bint
    eager, mask, per_column = _lazy_plan(loaders)
    n: cython.Py_ssize_t = len(pk_indexes)
    pk_fns: tuple = _pk_loaders(loaders, pk_indexes) if loaders else (None,) * n
    first: cython.Py_ssize_t = pk_indexes[0]
    first_fn = pk_fns[0]
    plain_keys: cython.bint = n == 1
    atomic: cython.bint = getattr(getattr(cls, "__table__", None), "atomic", False)
    was: cython.bint = _pause_collector()
    try:
        for record in rows:
            if n == 1:  # the usual case, without building a list
                # by the sequence slot: an asyncpg Record's subscript would box the index
                v = PySequence_GetItem(record, first) if cython.compiled else record[first]
                if first_fn is not None and v is not None:
                    v = first_fn(v)
                key = v
            else:
                key = _key_of(record, pk_indexes, pk_fns)
            if plain_keys and cython.compiled and PyObject_IS_GC(key):
                plain_keys = False
            found = identity_map.get(key)
            if found is not None:
                found = found()
                if found is not None:
                    row = cython.cast(RowBase, found)
                    if row._expired:
                        _reload_expired(row, load_values(record, loaders))
                    out.append(found)
                    continue
            row = _loaded(cls, record, loaders, eager, mask, per_column, atomic, session)
            identity_map[key] = _weak(row)
            out.append(row)
        if plain_keys and cython.compiled:
            _untrack_map(identity_map)
    finally:
        _resume_collector(was)
    return out


@cython.cfunc
def _pk_loaders(loaders: tuple, pk_indexes: tuple) -> tuple:
    """The loader (or None) of each primary key column."""
    out: list = []
    for i in pk_indexes:
        fn = None
        for idx, f in loaders:
            if idx == i:
                fn = f
                break
        out.append(fn)
    return tuple(out)


@cython.cfunc
def _key_of(record, pk_indexes: tuple, pk_fns: tuple) -> tuple:
    """A compound primary key's values, converted as Python sees them."""
    key_values: list = []
    j: cython.Py_ssize_t
    for j in range(len(pk_indexes)):
        v = record[pk_indexes[j]]
        fn = pk_fns[j]
        if fn is not None and v is not None:
            v = fn(v)
        key_values.append(v)
    return tuple(key_values)


@cython.cfunc
def _reload_expired(row: RowBase, stored):
    """Fill the expired columns of a row with freshly loaded values."""
    values = row._values
    i: cython.Py_ssize_t
    for i in range(len(values)):
        if values[i] is EXPIRED:
            values[i] = stored[i]
    row._expired = False


@cython.ccall
def expire(obj, indexes):
    """Mark columns expired: their values and unflushed changes are dropped."""
    row: RowBase = cython.cast(RowBase, obj)
    i: cython.Py_ssize_t
    values = _value_list(row)
    for i in indexes:
        if i < _BITS:
            row._unconverted &= ~(cython.cast(cython.ulonglong, 1) << i)
        values[i] = EXPIRED
    forget_changes(row, indexes)
    row._expired = True


@cython.ccall
def changed(obj) -> tuple:
    """The indexes of the columns whose value really differs from the stored one."""
    row: RowBase = cython.cast(RowBase, obj)
    history = row._prior
    if history is None:
        return ()
    values = row._values
    return tuple([i for i in _written_list(row._written, row._wide)
                  if not _unchanged(values[i], _old(row, history, row._raw, i))])


@cython.ccall
def snapshot(rows) -> list:
    """What restoring the rows later needs: ``(row, values, history, written, wide, raw,
    state, unconverted, expired)`` each, the value lists copied (records and histories are
    immutable)."""
    out: list = []
    row: RowBase
    for obj in rows:
        row = cython.cast(RowBase, obj)
        values = row._values
        if type(values) is list:
            values = list(values)
        out.append((obj, values, row._prior, row._written, row._wide, row._raw,
                    row._state, row._unconverted, row._expired))
    return out


@cython.ccall
def save_new(rows) -> list:
    """Before a flush inserts ``rows``: their value lists and histories, flat, for
    :func:`restore_new`. Nothing is copied: a flush gives a row a new value list where it
    fills in generated values (:func:`fill_generated`, :func:`load_into`), never changing
    the old one, and replaces its history without changing it."""
    out: list = []
    row: RowBase
    for obj in rows:
        row = cython.cast(RowBase, obj)
        out.append(row._values)
        out.append(row._prior)
        out.append(row._written)
        out.append(row._wide)
    return out


@cython.ccall
def restore_new(rows, saved: list, session):
    """Undo a failed flush on the rows :func:`save_new` saw: pending again, as they were."""
    row: RowBase
    i: cython.Py_ssize_t = 0
    for obj in rows:
        row = cython.cast(RowBase, obj)
        row._values = saved[i]
        row._prior = saved[i + 1]
        row._written = saved[i + 2]
        row._wide = saved[i + 3]
        row._raw = 0
        row._state = _PENDING
        row._session = session
        row._unconverted = 0
        row._expired = False
        i += 4


#: a journal is a flat list of entries of this many items: row, history, written, wide, raw
#: (no object per entry, so journaling a flush allocates nothing per row)
_ENTRY = cython.declare(cython.Py_ssize_t, 5)
JOURNAL_ENTRY = _ENTRY


@cython.cfunc
@cython.inline
def _journal_row(row: RowBase, out: list, history, written: cython.ulonglong, wide,
                 raw: cython.ulonglong) -> cython.int:
    out.append(row)
    out.append(history)
    out.append(written)
    out.append(wide)
    out.append(raw)
    return 0


@cython.ccall
def journal(rows, out: list):
    """Append to journal ``out`` what a rollback needs to take back the unflushed writes of
    ``rows`` (before a flush writes them: it replaces a row's history, never changes it)."""
    row: RowBase
    for obj in rows:
        row = cython.cast(RowBase, obj)
        _journal_row(row, out, row._prior, row._written, row._wide, row._raw)


@cython.ccall
def journal_columns(obj, indexes, out: list):
    """Append to journal ``out`` the values the row's columns at ``indexes`` have now, for
    taking back a change made to them in the database."""
    row: RowBase = cython.cast(RowBase, obj)
    i: cython.Py_ssize_t
    old: list = [NO_VALUE] * len(row._values)
    written: cython.ulonglong = 0
    wide = None
    for i in indexes:
        old[i] = old_value(row, i)
        if i < _BITS:
            written |= cython.cast(cython.ulonglong, 1) << i
        elif wide is None:
            wide = {i}
        else:
            wide.add(i)
    _journal_row(row, out, tuple(old), written, wide, 0)


@cython.ccall
def rewind(entries: list, session):
    """Undo a failed flush on the rows journal ``entries`` recorded: their history back,
    still persistent (an UPDATE or DELETE changes nothing else on the row)."""
    row: RowBase
    i: cython.Py_ssize_t
    for i in range(0, len(entries), 5):  # _ENTRY (a literal step makes a C loop)
        row = cython.cast(RowBase, entries[i])
        row._prior = entries[i + 1]
        row._written = entries[i + 2]
        row._wide = entries[i + 3]
        row._raw = entries[i + 4]
        row._state = _PERSISTENT
        row._session = session


@cython.ccall
def revert(entries, session):
    """Take back what :func:`journal` recorded, newest first (and each row's unwritten
    changes before that): the rows hold their values as loaded, nothing left to write."""
    row: RowBase
    done: set = set()
    i: cython.Py_ssize_t
    for i in range(len(entries) - _ENTRY, -1, -5):  # -_ENTRY (a literal step: a C loop)
        obj = entries[i]
        row = cython.cast(RowBase, obj)
        if id(obj) not in done:
            done.add(id(obj))
            _take_back(row, row._prior, row._written, row._wide, row._raw)
        _take_back(row, entries[i + 1], entries[i + 2], entries[i + 3], entries[i + 4])
        row._prior = None
        row._state = _PERSISTENT
        row._session = session


@cython.cfunc
def _take_back(row: RowBase, history, written: cython.ulonglong, wide,
               raw: cython.ulonglong) -> cython.int:
    """Put back the values of the written columns of a history (a driver's value as one
    still to convert)."""
    i: cython.Py_ssize_t
    bit: cython.ulonglong
    if history is None:
        return 0
    values = _value_list(row)
    for i in _written_list(written, wide):
        values[i] = history[i]
        if i < _BITS:
            bit = cython.cast(cython.ulonglong, 1) << i
            if raw & bit:
                row._unconverted |= bit
            else:
                row._unconverted &= ~bit
    return 0


@cython.ccall
def restore(snapshots, session):
    """Put rows back as :func:`snapshot` saw them, attached to ``session`` (copying the
    saved lists again: a snapshot may be restored more than once)."""
    row: RowBase
    for obj, values, history, written, wide, raw, state, unconverted, expired in snapshots:
        row = cython.cast(RowBase, obj)
        if type(values) is list:
            values = list(values)
        row._values = values
        row._prior = history
        row._written = written
        row._wide = wide
        row._raw = raw
        row._state = state
        row._unconverted = unconverted
        row._expired = expired
        row._session = session


@cython.ccall
def key_changes(rows) -> list:
    """The rows whose unwritten changes include a primary key column."""
    out: list = []
    row: RowBase
    last_cls = None
    keys: tuple = ()
    for obj in rows:
        row = cython.cast(RowBase, obj)
        if row._prior is not None:
            if type(obj) is not last_cls:
                last_cls = type(obj)
                keys = last_cls.__table__.pk_indexes
            for i in keys:
                if _was_written(row, i):
                    out.append(obj)
                    break
    return out


@cython.ccall
def detach(rows, state: cython.int):
    """Rows leave their session (``state`` >= 0 sets their state too)."""
    row: RowBase
    for obj in rows:
        row = cython.cast(RowBase, obj)
        row._session = None
        if state >= 0:
            row._state = state


@cython.ccall
def detach_mapped(by_class: dict, state: cython.int):
    """:func:`detach` every live row of an identity map (class -> {key: weak reference})."""
    row: RowBase
    for rows_of in by_class.values():
        for wr in rows_of.values():
            obj = wr()
            if obj is not None:
                row = cython.cast(RowBase, obj)
                row._session = None
                row._state = state


@cython.ccall
def load_columns(obj, indexes: list, new: list):
    """Put values the database returned into columns ``indexes`` of a row (a new value
    list: a snapshot may hold the old one); its unflushed writes stay as they are."""
    row: RowBase = cython.cast(RowBase, obj)
    i: cython.Py_ssize_t
    values: list = list(row._values)
    for j in range(len(indexes)):
        i = indexes[j]
        values[i] = new[j]
        if i < _BITS:
            row._unconverted &= ~(cython.cast(cython.ulonglong, 1) << i)
    row._values = values
    if len(indexes) == len(values):
        row._expired = False


@cython.ccall
def load_into(obj, record, loaders: tuple, session):
    """Overwrite a row's values with what the database returned; its history is cleared."""
    row: RowBase = cython.cast(RowBase, obj)
    row._values = load_values(record, loaders)
    row._unconverted = 0
    row._expired = False
    row._prior = None
    row._state = _PERSISTENT
    row._session = session


# --- batched writes: what a flush reads out of many rows at once


@cython.ccall
def present(values) -> tuple:
    """The indexes of the columns that hold a value (not NO_VALUE)."""
    return tuple([i for i in range(len(values)) if values[i] is not NO_VALUE])


@cython.ccall
def group_by_columns(rows) -> list:
    """Consecutive runs of rows of one class that give the same columns:
    ``[(cls, column indexes, rows), ...]``, in the order the rows came. The columns given are
    compared as a bit mask (as a tuple beyond 64 columns)."""
    out: list = []
    row: RowBase
    i: cython.Py_ssize_t
    n: cython.Py_ssize_t
    mask: cython.ulonglong
    last_mask: cython.ulonglong = 0
    last_cls = None
    last_key = None
    current: list = None
    for obj in rows:
        row = cython.cast(RowBase, obj)
        materialize(row)
        values = row._values
        n = len(values)
        mask = 0
        key = None
        if n <= _BITS:
            for i in range(n):
                if values[i] is not NO_VALUE:
                    mask |= cython.cast(cython.ulonglong, 1) << i
        else:
            key = present(values)
        if type(obj) is not last_cls or mask != last_mask or (
                key is not last_key and key != last_key):
            current = []
            last_cls = type(obj)
            last_mask = mask
            last_key = key
            out.append((last_cls, present(values) if key is None else key, current))
        current.append(obj)
    return out


@cython.cfunc
def _unchanged(new, old) -> cython.bint:
    return new is old or (old is not NO_VALUE and type(new) is type(old) and new == old)


@cython.ccall
def of_state(rows, state: cython.int) -> list:
    """The rows in ``state``."""
    row: RowBase
    out: list = []
    for obj in rows:
        row = cython.cast(RowBase, obj)
        if row._state == state:
            out.append(obj)
    return out


@cython.ccall
def group_by_changes(rows) -> list:
    """Rows grouped by class and the set of columns whose value really changed:
    ``[(cls, column indexes, rows), ...]``. Rows with nothing changed drop out, their
    history cleared. The changed columns are compared as a bit mask (as a tuple beyond 64
    columns), and a row like the one before it skips the lookup."""
    groups: dict = {}
    row: RowBase
    index: cython.Py_ssize_t
    mask: cython.ulonglong
    bits: cython.ulonglong
    last_mask: cython.ulonglong = 0
    wide: cython.bint
    last_cls = None
    last_group: list = None
    for obj in rows:
        row = cython.cast(RowBase, obj)
        history = row._prior
        if history is None:
            continue
        values = row._values
        mask = 0
        bits = row._written
        index = 0
        while bits:
            if bits & 1 and not _unchanged(values[index], _old(row, history, row._raw, index)):
                mask |= cython.cast(cython.ulonglong, 1) << index
            bits >>= 1
            index += 1
        wide = False
        if row._wide:
            for i in row._wide:
                if not _unchanged(values[i], history[i]):
                    wide = True
                    break
        if wide:
            key = (type(obj), changed(row))
        elif mask == 0:
            row._prior = None
            continue
        elif type(obj) is last_cls and mask == last_mask:
            last_group.append(obj)
            continue
        else:
            key = (type(obj), mask)
        group = groups.get(key)
        if group is None:
            group = groups[key] = []
        group.append(obj)
        if not wide:
            last_cls = type(obj)
            last_mask = mask
            last_group = group
    return [(cls, k if type(k) is tuple else _bits(k), group)
            for (cls, k), group in groups.items()]


@cython.cfunc
def _bits(mask: cython.ulonglong) -> tuple:
    """The indexes of the bits set in ``mask``, in order."""
    i: cython.Py_ssize_t
    return tuple([i for i in range(_BITS) if (mask >> i) & 1])


@cython.cfunc
def _write_into(out: list, obj, indexes: tuple, procs: tuple, key_indexes: tuple) -> cython.int:
    """Append the row's values at ``indexes``, converted by ``procs`` (a processor or None
    per index); then its stored key at ``key_indexes`` (the old value where the key was
    changed), converted by the procs that follow."""
    row: RowBase = cython.cast(RowBase, obj)
    j: cython.Py_ssize_t
    at: cython.Py_ssize_t
    n: cython.Py_ssize_t = len(indexes)
    history = row._prior
    for j in range(n + len(key_indexes)):
        if j < n:
            at = indexes[j]
        else:
            at = key_indexes[j - n]
            if history is not None and _was_written(row, at):
                v = _old(row, history, row._raw, at)
                at = -1
        if at >= 0:  # only the columns written are converted from the driver's value
            v = column_value(row, at)
        if v is NO_VALUE:
            v = None
        proc = procs[j]
        if proc is not None and v is not None:
            v = proc(v)
        out.append(v)
    return 0


@cython.ccall
def write_params(rows, indexes: tuple, procs: tuple, key_indexes: tuple) -> list:
    """One parameter list per row: the values at ``indexes``, then the row's stored key at
    ``key_indexes`` (for the WHERE of an UPDATE), converted by ``procs`` (a processor or
    None for each of them)."""
    out: list = []
    for obj in rows:
        params: list = []
        _write_into(params, obj, indexes, procs, key_indexes)
        out.append(params)
    return out


@cython.ccall
def write_flat(rows, indexes: tuple, procs: tuple, key_indexes: tuple,
               per: cython.Py_ssize_t) -> list:
    """:func:`write_params` of ``per`` rows to a list: the parameters of multi-row
    statements (``VALUES (...), (...)``; the last may hold fewer rows)."""
    out: list = []
    chunk: list = None
    count: cython.Py_ssize_t = per
    for obj in rows:
        if count == per:
            chunk = []
            out.append(chunk)
            count = 0
        _write_into(chunk, obj, indexes, procs, key_indexes)
        count += 1
    return out


@cython.ccall
def mark_written(rows, session):
    """The rows now match the database: persistent, nothing left to write."""
    row: RowBase
    for obj in rows:
        row = cython.cast(RowBase, obj)
        row._prior = None
        row._state = _PERSISTENT
        row._session = session


@cython.ccall
def fill_generated(rows, records, indexes: tuple, loaders: tuple):
    """Put the values the database generated (``records``, one per row, in ``indexes``
    order; ``loaders`` a processor or None per index) into new value lists of the rows."""
    row: RowBase
    j: cython.Py_ssize_t
    n: cython.Py_ssize_t = len(indexes)
    for obj, record in zip(rows, records):
        row = cython.cast(RowBase, obj)
        values = list(row._values)  # a new list: the old one is what save_new kept
        row._values = values
        for j in range(n):
            v = record[j]
            fn = loaders[j]
            if fn is not None and v is not None:
                v = fn(v)
            values[indexes[j]] = v


@cython.ccall
def track(rows, by_class: dict, session):
    """Put written rows into a session's identity map (``by_class``: class -> {key: weak
    reference to the row}, keyed as :func:`hydrate_identity` keys them). Stops at the first
    row whose key another object holds and returns ``(row, key, other)``; None when all went
    in."""
    row: RowBase
    last_cls = None
    rows_of: dict = None
    pk: tuple = ()
    #: the maps filled, each with whether its keys are plain values (see _untrack_map)
    filled: list = []
    plain: cython.bint = False
    was: cython.bint = _pause_collector()  # it makes a weak reference per row
    try:
        for obj in rows:
            cls = type(obj)
            if cls is not last_cls:
                if rows_of is not None:
                    filled.append((rows_of, plain))
                last_cls = cls
                rows_of = by_class.get(cls)
                if rows_of is None:
                    rows_of = by_class[cls] = {}
                pk = cls.__table__.pk_indexes
                plain = len(pk) == 1
            row = cython.cast(RowBase, obj)
            if len(pk) == 1:
                key = column_value(row, pk[0])
                if plain and cython.compiled and PyObject_IS_GC(key):
                    plain = False
            else:
                key = tuple([column_value(row, i) for i in pk])
            other = rows_of.get(key)
            if other is not None:
                other = other()
                if other is obj:
                    row._session = session
                    continue
                if other is not None:
                    return obj, key, other
            rows_of[key] = _weak(obj)
            row._session = session
        if cython.compiled and rows_of is not None:
            filled.append((rows_of, plain))
            for rows_of, plain in filled:
                if plain:
                    _untrack_map(rows_of)
    finally:
        _resume_collector(was)
    return None


@cython.ccall
def sweep(rows_of: dict) -> cython.Py_ssize_t:
    """Drop the entries of an identity map (key -> weak reference) whose row is gone;
    returns how many are left."""
    dead: list = [key for key, wr in rows_of.items() if wr() is None]
    for key in dead:
        del rows_of[key]
    return len(rows_of)


# --- the session's registration of rows


@cython.freelist(8)
@cython.cclass
class Write:
    """What ``Session.add()`` and ``delete(row)`` return: the row is registered already;
    awaiting this writes it now (``write(row)``, or the session's INSERT-or-UPDATE)."""

    session = cython.declare(object, visibility="public")
    row = cython.declare(object, visibility="public")
    write = cython.declare(object, visibility="public")

    def __init__(self, session, row, write=None):
        self.session = session
        self.row = row
        self.write = write

    def __await__(self):
        write = self.session._write_now if self.write is None else self.write
        return write(self.row).__await__()


def session_add(session: SessionRows, obj) -> Write:
    """Register ``row`` for writing at the next flush or commit; ``await`` it to write it now
    (INSERT for a new row, UPDATE of its changed columns for a loaded one)."""
    if not isinstance(obj, RowBase):
        raise ArgumentError(f"add() takes a table row, not {obj!r}")
    if not session._usable:
        session._check_open()
    row: RowBase = cython.cast(RowBase, obj)
    if row._state <= _PENDING:
        row._state = _PENDING
        session._pending[_id(obj)] = obj
        row._session = session
    elif row._session is session and row._state == _PERSISTENT:
        if row._prior is None:  # with a history, its first write registered it already
            session._dirty[_id(obj)] = obj
    else:
        session._add_loaded(obj)
    w: Write = Write.__new__(Write)
    w.session = session
    w.row = obj
    return w
