"""Value conversions a flush runs once per value of every row it writes, where the driver
cannot store the Python value itself: in C for the types whose layout is known.

sqlite3 binds only int, float, str and bytes-like values directly: for any other value,
``None`` and ``bool`` included, it searches for an adapter and, finding none, raises and
catches two AttributeErrors (``__adapt__``, ``__conform__``), which costs more than the
insert of the value itself. So booleans go in as the integers SQLite stores, and the SQLite
backend registers :func:`same` as the adapter of ``None``.

SQLite keeps a naive datetime as the text ``str(value)`` gives (``YYYY-MM-DD HH:MM:SS`` with
``.ffffff`` when there are microseconds); formatting it here costs a fifth of ``str()``, which
dominates writing a row with a timestamp.
"""
try:
    import cython
except ModuleNotFoundError:  # running uncompiled without Cython installed
    from asyncqlio._speedups import _cython_shim as cython

if cython.compiled:
    from cython.cimports.cpython.datetime import (
        PyDateTime_CheckExact, datetime_day, datetime_hour, datetime_microsecond,
        datetime_minute, datetime_month, datetime_second, datetime_tzinfo, datetime_year,
        import_datetime)

    import_datetime()


def _is_compiled() -> bool:
    return cython.compiled


@cython.cfunc
@cython.inline
@cython.cdivision(True)
def _put(buf: cython.p_char, at: cython.int, value: cython.int, width: cython.int,
         after: cython.char) -> cython.int:
    """Write ``value`` as ``width`` digits at ``at``, then ``after`` (if not 0)."""
    i: cython.int
    for i in range(width - 1, -1, -1):
        buf[at + i] = 48 + value % 10
        value = value // 10
    if after:
        buf[at + width] = after
        return at + width + 1
    return at + width


@cython.ccall
def sqlite_datetime(value) -> str:
    """A naive datetime as SQLite stores it: the text ``str(value)`` gives."""
    buf: cython.char[32]
    n: cython.int
    if cython.compiled:
        if PyDateTime_CheckExact(value) and datetime_tzinfo(value) is None:
            n = _put(buf, 0, datetime_year(value), 4, 45)  # '-'
            n = _put(buf, n, datetime_month(value), 2, 45)
            n = _put(buf, n, datetime_day(value), 2, 32)  # ' '
            n = _put(buf, n, datetime_hour(value), 2, 58)  # ':'
            n = _put(buf, n, datetime_minute(value), 2, 58)
            if datetime_microsecond(value):
                n = _put(buf, n, datetime_second(value), 2, 46)  # '.'
                n = _put(buf, n, datetime_microsecond(value), 6, 0)
            else:
                n = _put(buf, n, datetime_second(value), 2, 0)
            return buf[:n].decode("ascii")
    return str(value)


@cython.ccall
def sqlite_real(value) -> object:
    """A float as SQLite keeps it: NaN as text (SQLite turns a NaN into NULL), which stays
    equal to itself and sorts last, as on PostgreSQL."""
    if value != value:
        return "NaN"
    return value


@cython.ccall
def sqlite_bool(value) -> object:
    """A bool as SQLite stores it: the integer 1 or 0."""
    if value is True:
        return 1
    if value is False:
        return 0
    return value


@cython.ccall
def same(value) -> object:
    """The value itself: sqlite3's adapter for ``None``, found by one dictionary lookup."""
    return value
