"""Column types: their DDL per dialect and the conversions that make every value
round-trip with its Python type on both backends.

asyncpg already speaks Python types for nearly everything; SQLite stores text, integers, reals
and blobs, so on SQLite most types convert on the way in (``bind_processor``) and out
(``result_processor``). A type returns ``None`` for "no conversion needed" so the hot paths
skip it entirely.
"""
from __future__ import annotations

import datetime
import decimal
import enum as _enum
import inspect
import json as _json
import uuid as _uuid
from typing import Any, Callable

from asyncqlio._speedups import _convert, _row
from asyncqlio.exc import ColumnValidationError, SchemaError

Processor = Callable[[Any], Any] | None

SQLITE = "sqlite"
POSTGRESQL = "postgresql"


def _positional(fn: Callable[..., Any]) -> list[inspect.Parameter]:
    return [p for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _row_hooks(cls: type) -> bool:
    """Whether a subclass defines a hook with the original asyncqlio's signature:
    ``validate_set(row, value)``, ``on_set(row, value)``, ``on_get(row)`` or
    ``store_value(row, value)``. Its columns then read and write through those hooks."""
    own = vars(cls)
    if "store_value" in own:
        return True
    for name, count in (("validate_set", 3), ("on_set", 3)):
        if name in own and len(_positional(own[name])) == count:
            return True
    on_get = own.get("on_get")
    if on_get is not None:
        params = _positional(on_get)
        return len(params) == 2 and params[1].name == "row"
    return False


class ColumnType:
    """Base of every column type. Subclass it for custom types.

    Override ``sql(dialect)`` (or ``sql()``) for the DDL, ``validate_set(value)`` to reject
    bad values on attribute assignment, ``on_set(value)`` to coerce them, ``bind(value)`` to
    turn a Python value into what the driver stores and ``on_get(value)`` to turn a stored
    value back (run once when a row is loaded, never on attribute access).

    Types written for the original asyncqlio, with ``validate_set(row, value)``,
    ``on_set(row, value)`` (which stores with ``store_value(row, value)``) or ``on_get(row)``
    (which reads ``row.get_column_value(self.column)``), work as they did: their columns call
    those hooks on every assignment and read.
    """

    #: Python type(s) accepted on assignment, or None for anything
    python_type: type | tuple[type, ...] | None = None
    #: values of exactly this type are stored as assigned, without calling the checks: the
    #: type must pass ``validate_set`` and be returned unchanged by ``on_set``
    fast_type: type | None = None
    #: ``fast_type`` values are taken as they are only when naive (``tzinfo is None``)
    fast_naive = False
    #: the drivers hand this type's values out as objects the cyclic collector does not
    #: track (numbers, text, timestamps...), so a loaded record of only such columns is taken
    #: out of the collector without looking at its values
    atomic = False
    #: the type has hooks with the original asyncqlio's signatures (see the class docstring)
    row_hooks = False
    #: the first column made with this type (the original asyncqlio's ``type.column``)
    column: Any = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # a subclass with its own checks is never skipped unless it says so itself
        if ("validate_set" in vars(cls) or "on_set" in vars(cls)) and "fast_type" not in vars(cls):
            cls.fast_type = None
        # nor is one naming another database type taken for atomic
        if "sql" in vars(cls) and "atomic" not in vars(cls):
            cls.atomic = False
        if _row_hooks(cls):
            cls.row_hooks = True
            cls.fast_type = None

    def __init__(self) -> None:
        self._procs: dict[tuple[str, str], Processor] = {}

    @classmethod
    def create(cls, value: "ColumnType | type[ColumnType]") -> "ColumnType":
        if isinstance(value, type) and issubclass(value, ColumnType):
            return value.create_default()
        if isinstance(value, ColumnType):
            return value
        raise SchemaError(f"not a column type: {value!r}")

    @classmethod
    def create_default(cls) -> "ColumnType":
        """The instance a column given the bare class (``Column(Integer)``) gets."""
        return cls()

    def sql(self, dialect: str = POSTGRESQL) -> str:
        raise NotImplementedError(f"{type(self).__name__}.sql() must be defined")

    def ddl(self, dialect: str) -> str:
        """The type in DDL; also accepts custom types whose ``sql()`` takes no dialect (the
        original asyncqlio signature)."""
        if inspect.signature(self.sql).parameters:
            return self.sql(dialect)
        return self.sql()

    def cast_sql(self, dialect: str) -> str | None:
        """The type in a cast (``$1::type[]`` of a batched write), or None where a custom type
        cannot promise its DDL is one."""
        if type(self).__module__ != __name__:
            return None
        return self.ddl(dialect)

    def schema(self) -> str:
        """The type as the source of a table class writes it (``Integer()``)."""
        return f"{type(self).__name__}()"

    # --- assignment; each hook takes the value, or the original's (row, value)
    def validate_set(self, *args: Any) -> bool:
        return self._valid(args[-1])

    def on_set(self, *args: Any) -> Any:
        if len(args) == 2:  # the original's on_set(row, value): check, then store
            row, value = args
            if value is not None:
                if not self.validate_set(row, value):
                    raise ColumnValidationError(f"value {value!r} failed to validate in "
                                                f"type {type(self).__name__}")
                value = self._coerce(value)
            return self.store_value(row, value)
        return self._coerce(args[0])

    def store_value(self, row: Any, value: Any) -> Any:
        """Put ``value`` into the row as an attribute write (the original's ``on_set``
        ends here)."""
        return row.store_column_value(self.column, value)

    def _valid(self, value: Any) -> bool:
        return self.python_type is None or isinstance(value, self.python_type)

    def _coerce(self, value: Any) -> Any:
        return value

    def setter(self) -> Callable[[Any], Any] | None:
        """The function the column descriptor runs on every assignment, or None."""
        base = ColumnType
        cls = type(self)
        if (cls.validate_set is base.validate_set and cls._valid is base._valid
                and self.python_type is None and cls.on_set is base.on_set
                and cls._coerce is base._coerce) or self.row_hooks:
            return None

        def check(value: Any) -> Any:
            if value is None:
                return None
            if not self.validate_set(value):
                raise ColumnValidationError(f"a {self!r} column cannot hold {value!r}")
            return self.on_set(value)

        return check

    # --- conversion (dialect-specific; None means the driver value is already right)
    def bind(self, value: Any) -> Any:
        return value

    def on_get(self, value: Any) -> Any:
        if isinstance(value, _row.RowBase):  # the original's on_get(row) of a subclass
            return value.get_column_value(self.column)
        return value

    def _bind(self, dialect: str) -> Processor:
        return None if type(self).bind is ColumnType.bind else self.bind

    def _result(self, dialect: str) -> Processor:
        if type(self).on_get is ColumnType.on_get or self.row_hooks:
            return None
        return self.on_get

    def _processor(self, key: tuple[str, str], make: Callable[[str], Processor]) -> Processor:
        procs = self.__dict__.get("_procs")
        if procs is None:  # a subclass whose __init__ did not call ours
            procs = self.__dict__["_procs"] = {}
        try:
            return procs[key]
        except KeyError:
            proc = procs[key] = make(key[1])
            return proc

    def bind_processor(self, dialect: str) -> Processor:
        return self._processor(("b", dialect), self._bind)

    def result_processor(self, dialect: str) -> Processor:
        return self._processor(("r", dialect), self._result)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    # hooks for autoincrement decisions
    is_integer = False
    is_serial = False


class Integer(ColumnType):
    atomic = True
    python_type = int
    fast_type = int
    is_integer = True
    _pg = "INTEGER"

    def _valid(self, value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    def sql(self, dialect: str = POSTGRESQL) -> str:
        return self._pg if dialect == POSTGRESQL else "INTEGER"


class SmallInt(Integer):
    _pg = "SMALLINT"


class BigInt(Integer):
    _pg = "BIGINT"


class Serial(Integer):
    """An auto-incrementing integer (``SERIAL``; ``INTEGER PRIMARY KEY`` on SQLite)."""

    is_serial = True
    _pg = "SERIAL"


    def cast_sql(self, dialect: str) -> str | None:
        return {"SERIAL": "INTEGER", "SMALLSERIAL": "SMALLINT", "BIGSERIAL": "BIGINT"}[self._pg]


class SmallSerial(Serial):
    _pg = "SMALLSERIAL"


class BigSerial(Serial):
    _pg = "BIGSERIAL"


class Real(ColumnType):
    """A double-precision float (``DOUBLE PRECISION`` on PostgreSQL, ``REAL`` on SQLite)."""

    atomic = True
    python_type = (float, int)
    fast_type = float

    def _valid(self, value: Any) -> bool:
        return isinstance(value, (float, int)) and not isinstance(value, bool)

    def _coerce(self, value: Any) -> Any:
        return float(value)

    def sql(self, dialect: str = POSTGRESQL) -> str:
        return "DOUBLE PRECISION" if dialect == POSTGRESQL else "REAL"

    def _bind(self, dialect: str) -> Processor:
        return _convert.sqlite_real if dialect == SQLITE else None

    def _result(self, dialect: str) -> Processor:
        # SQLite keeps whole REALs as integers and RETURNING hands them out that way
        return float if dialect == SQLITE else None


class Numeric(ColumnType):
    """Exact decimal (``NUMERIC(p, s)``), by default ``NUMERIC(10)`` (scale 0) as in the
    original asyncqlio; ``Numeric(None)`` is unconstrained. With ``asdecimal=False`` values
    are floats. On SQLite the value is kept as ``NUMERIC`` affinity, which holds 15
    significant digits; results are quantized back to the column's scale."""

    atomic = True
    python_type = (decimal.Decimal, int, float)

    def __init__(self, precision: int | None = 10, scale: int | None = 0,
                 asdecimal: bool = True) -> None:
        super().__init__()
        self.precision = precision
        #: an unconstrained NUMERIC has no scale either
        self.scale = None if precision is None else scale
        self.asdecimal = asdecimal
        self.fast_type = decimal.Decimal if asdecimal else float

    def _valid(self, value: Any) -> bool:
        return isinstance(value, (decimal.Decimal, int, float)) and not isinstance(value, bool)

    def _coerce(self, value: Any) -> Any:
        if not self.asdecimal:
            return float(value)
        if not isinstance(value, decimal.Decimal):
            return decimal.Decimal(str(value))
        return value

    def sql(self, dialect: str = POSTGRESQL) -> str:
        if self.precision is None:
            return "NUMERIC"
        if not self.scale:
            return f"NUMERIC({int(self.precision)})"
        return f"NUMERIC({int(self.precision)}, {int(self.scale)})"

    def schema(self) -> str:
        args = [] if self.precision is None else [str(self.precision)]
        if self.scale:
            args.append(str(self.scale))
        if not self.asdecimal:
            args.append("asdecimal=False")
        return f"Numeric({', '.join(args)})"

    def __repr__(self) -> str:
        return f"Numeric({self.precision}, {self.scale})"

    def _bind(self, dialect: str) -> Processor:
        if dialect == SQLITE:
            return str
        if dialect == POSTGRESQL:
            return lambda v: v if isinstance(v, decimal.Decimal) else decimal.Decimal(str(v))
        return None

    def _result(self, dialect: str) -> Processor:
        if not self.asdecimal:
            return float
        if dialect == SQLITE:
            if self.scale is not None:
                q = decimal.Decimal(1).scaleb(-int(self.scale))
                return lambda v: decimal.Decimal(str(v)).quantize(q)
            return lambda v: decimal.Decimal(str(v))
        return None


class String(ColumnType):
    atomic = True
    python_type = str
    fast_type = str

    def __init__(self, size: int = -1, *, length: int | None = None) -> None:
        super().__init__()
        self.size = size if length is None else length

    def sql(self, dialect: str = POSTGRESQL) -> str:
        if self.size is None or self.size < 0:
            return "VARCHAR"
        return f"VARCHAR({int(self.size)})"

    def schema(self) -> str:
        sized = self.size is not None and self.size > 0
        return f"{type(self).__name__}({self.size if sized else ''})"

    def __repr__(self) -> str:
        return self.schema()


class Text(String):
    """Text of any length (a String without a size, as in the original asyncqlio)."""

    atomic = True

    def __init__(self) -> None:
        super().__init__()

    def sql(self, dialect: str = POSTGRESQL) -> str:
        return "TEXT"


class Boolean(ColumnType):
    atomic = True
    python_type = bool
    fast_type = bool

    def sql(self, dialect: str = POSTGRESQL) -> str:
        return "BOOLEAN"

    def _bind(self, dialect: str) -> Processor:
        # sqlite3 would store a bool as 0 or 1 too, but only after an adapter search
        return _convert.sqlite_bool if dialect == SQLITE else None

    def _result(self, dialect: str) -> Processor:
        return bool if dialect == SQLITE else None


def _iso(value: Any) -> str:
    return value.isoformat()


def _sqlite_utc(value: datetime.datetime) -> str:
    return value.astimezone(datetime.timezone.utc).replace(tzinfo=None).isoformat(" ")


def _from_sqlite_utc(value: str) -> datetime.datetime:
    dt = datetime.datetime.fromisoformat(value)
    if dt.tzinfo is None:
        return dt.replace(tzinfo=datetime.timezone.utc)
    return dt.astimezone(datetime.timezone.utc)


class Timestamp(ColumnType):
    """A date and time. ``timezone=True`` holds aware datetimes (``TIMESTAMPTZ``, read back in
    UTC), otherwise naive ones; the other kind is refused on assignment, since PostgreSQL would
    reject or reinterpret it. On SQLite the value is text in SQLite's own format
    (``YYYY-MM-DD HH:MM:SS[.ffffff]``, as ``CURRENT_TIMESTAMP`` writes it), aware values in UTC
    without an offset, so that text order is time order and SQLite's date functions apply."""

    atomic = True
    python_type = datetime.datetime

    def __init__(self, timezone: bool = False) -> None:
        super().__init__()
        self.timezone = timezone
        if not timezone:
            self.fast_type = datetime.datetime
            self.fast_naive = True

    def _valid(self, value: Any) -> bool:
        return isinstance(value, datetime.datetime) and \
            (value.utcoffset() is not None) == self.timezone

    def sql(self, dialect: str = POSTGRESQL) -> str:
        if dialect == POSTGRESQL:
            return "TIMESTAMP WITH TIME ZONE" if self.timezone else "TIMESTAMP"
        return "TIMESTAMP"

    def _bind(self, dialect: str) -> Processor:
        if dialect != SQLITE:
            return None
        # str() of a naive datetime is isoformat(" "), SQLite's own format, in C
        return _sqlite_utc if self.timezone else _convert.sqlite_datetime

    def _result(self, dialect: str) -> Processor:
        if dialect != SQLITE:
            return None
        return _from_sqlite_utc if self.timezone else datetime.datetime.fromisoformat

    def schema(self) -> str:
        return "Timestamp(timezone=True)" if self.timezone else "Timestamp()"

    def __repr__(self) -> str:
        return self.schema()


class Date(ColumnType):
    atomic = True
    python_type = datetime.date
    fast_type = datetime.date

    def _valid(self, value: Any) -> bool:
        # a datetime is a date too, but would not read back as one
        return isinstance(value, datetime.date) and not isinstance(value, datetime.datetime)

    def sql(self, dialect: str = POSTGRESQL) -> str:
        return "DATE"

    def _bind(self, dialect: str) -> Processor:
        return _iso if dialect == SQLITE else None

    def _result(self, dialect: str) -> Processor:
        return datetime.date.fromisoformat if dialect == SQLITE else None


class Time(ColumnType):
    """A time of day without time zone; an aware time is refused (PostgreSQL would drop its
    offset)."""

    atomic = True
    python_type = datetime.time

    def _valid(self, value: Any) -> bool:
        return isinstance(value, datetime.time) and value.utcoffset() is None

    def sql(self, dialect: str = POSTGRESQL) -> str:
        return "TIME"

    def _bind(self, dialect: str) -> Processor:
        return _iso if dialect == SQLITE else None

    def _result(self, dialect: str) -> Processor:
        return datetime.time.fromisoformat if dialect == SQLITE else None


class Interval(ColumnType):
    """A ``timedelta``; on SQLite stored as integer microseconds (exact)."""

    atomic = True
    python_type = datetime.timedelta
    fast_type = datetime.timedelta

    def sql(self, dialect: str = POSTGRESQL) -> str:
        return "INTERVAL" if dialect == POSTGRESQL else "INTEGER"

    def _bind(self, dialect: str) -> Processor:
        if dialect == SQLITE:
            return lambda v: (v.days * 86400 + v.seconds) * 1_000_000 + v.microseconds
        return None

    def _result(self, dialect: str) -> Processor:
        if dialect == SQLITE:
            return lambda v: datetime.timedelta(microseconds=v)
        return None


class Bytea(ColumnType):
    atomic = True
    python_type = (bytes, bytearray, memoryview)
    fast_type = bytes

    def _coerce(self, value: Any) -> Any:
        return bytes(value)

    def sql(self, dialect: str = POSTGRESQL) -> str:
        return "BYTEA" if dialect == POSTGRESQL else "BLOB"


Binary = Bytea


class LargeBinary(Bytea):
    """SQLAlchemy's name for :class:`Bytea` (``length`` is accepted; both databases' binary
    types are unbounded)."""

    def __init__(self, length: int | None = None) -> None:
        super().__init__()


def _uuid_text(value: Any) -> str:
    return str(value if type(value) is _uuid.UUID else _uuid.UUID(str(value)))


class UUID(ColumnType):
    atomic = True
    python_type = _uuid.UUID
    fast_type = _uuid.UUID

    def _coerce(self, value: Any) -> Any:
        return value

    def _valid(self, value: Any) -> bool:
        return isinstance(value, _uuid.UUID)

    def sql(self, dialect: str = POSTGRESQL) -> str:
        return "UUID" if dialect == POSTGRESQL else "CHAR(36)"

    def _bind(self, dialect: str) -> Processor:
        # text in one canonical form, so a filter by "ABCD..." or a UUID object finds the row
        return _uuid_text if dialect == SQLITE else None

    def _result(self, dialect: str) -> Processor:
        if dialect == SQLITE:
            return _uuid.UUID
        # asyncpg returns its own UUID class; hand the user the standard one
        return lambda v: _uuid.UUID(bytes=v.bytes)


class JSON(ColumnType):
    """Any JSON-serialisable value (``JSONB`` on PostgreSQL, text on SQLite)."""

    def sql(self, dialect: str = POSTGRESQL) -> str:
        return "JSONB" if dialect == POSTGRESQL else "TEXT"

    def _bind(self, dialect: str) -> Processor:
        return _json.dumps

    def _result(self, dialect: str) -> Processor:
        return _json.loads


class Enum(ColumnType):
    """A Python :class:`enum.Enum`, stored by member name as text."""

    atomic = True

    def __init__(self, enum_type: type[_enum.Enum]) -> None:
        super().__init__()
        if not (isinstance(enum_type, type) and issubclass(enum_type, _enum.Enum)):
            raise SchemaError(f"Enum needs an enum.Enum subclass, not {enum_type!r}")
        self.enum_type = enum_type
        self.python_type = enum_type
        self.fast_type = enum_type

    def _coerce(self, value: Any) -> Any:
        return value

    def _valid(self, value: Any) -> bool:
        return isinstance(value, self.enum_type)

    def sql(self, dialect: str = POSTGRESQL) -> str:
        longest = max((len(m) for m in self.enum_type.__members__), default=1)
        return f"VARCHAR({longest})"

    def _bind(self, dialect: str) -> Processor:
        etype = self.enum_type

        def bind(v: Any) -> str:
            if isinstance(v, etype):
                return v.name
            return etype[v].name

        return bind

    def _result(self, dialect: str) -> Processor:
        return self.enum_type.__getitem__

    def schema(self) -> str:
        return f"Enum({self.enum_type.__name__})"

    def __repr__(self) -> str:
        return self.schema()


class Float(Real):
    """SQLAlchemy's ``Float``: a double-precision float, whatever ``precision`` says (a
    single-precision column would round the Python floats stored in it)."""

    def __init__(self, precision: int | None = None, asdecimal: bool = False,
                 decimal_return_scale: int | None = None) -> None:
        if asdecimal:
            raise NotImplementedError("Float(asdecimal=True) is not implemented in asyncqlio: "
                                      "use Numeric for decimal values")
        super().__init__()


# SQLAlchemy's names for the same types, so its column definitions read unchanged
BigInteger = BigInt
SmallInteger = SmallInt
Double = Float
DateTime = Timestamp
Uuid = UUID
Unicode = String
UnicodeText = Text
