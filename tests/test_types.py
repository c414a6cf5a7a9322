"""Every column type round-trips with its Python type and value on both backends, filters by
typed values work, and assignments of the wrong type are refused."""
from __future__ import annotations

import datetime
import decimal
import enum
import math
import uuid

import pytest

from asyncqlio import (JSON, UUID, BigInt, BigSerial, Binary, Boolean, Bytea, Column,
                       ColumnType, Date, Enum, Integer, Interval, Numeric, Real, Serial,
                       SmallInt, SmallSerial, String, Text, Time, Timestamp, exc, table_base)

Table = table_base()

UTC = datetime.timezone.utc
IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
PDT = datetime.timezone(datetime.timedelta(hours=-7))


class Color(enum.Enum):
    RED = "r"
    GREEN = "g"
    LIGHT_BLUE = 3


class Typed(Table, table_name="typed"):
    id = Column(Integer, primary_key=True)
    i = Column(Integer, nullable=True)
    si = Column(SmallInt, nullable=True)
    bi = Column(BigInt, nullable=True)
    r = Column(Real, nullable=True)
    num = Column(Numeric(12, 4), nullable=True)
    num_any = Column(Numeric(None), nullable=True)
    num_float = Column(Numeric(10, 2, asdecimal=False), nullable=True)
    s = Column(String(20), nullable=True)
    t = Column(Text, nullable=True)
    flag = Column(Boolean, nullable=True)
    ts = Column(Timestamp, nullable=True)
    tstz = Column(Timestamp(timezone=True), nullable=True)
    d = Column(Date, nullable=True)
    tm = Column(Time, nullable=True)
    iv = Column(Interval, nullable=True)
    b = Column(Bytea, nullable=True)
    bin = Column(Binary, nullable=True)
    u = Column(UUID, nullable=True)
    j = Column(JSON, nullable=True)
    e = Column(Enum(Color), nullable=True)


class SerialKey(Table, table_name="serial_key"):
    id = Column(Serial, primary_key=True)
    note = Column(Text, nullable=True)


class BigSerialKey(Table, table_name="big_serial_key"):
    id = Column(BigSerial, primary_key=True)
    note = Column(Text, nullable=True)


class SmallSerialKey(Table, table_name="small_serial_key"):
    id = Column(SmallSerial, primary_key=True)
    note = Column(Text, nullable=True)


UNICODE = "héllo wörld 😀🇯🇵 漢字かな 한국어 e\u0301 \u202eRTL\u202c ℌ𝔢𝔩𝔩𝔬 '\"\\%_"
U1 = uuid.UUID("12345678-1234-5678-1234-567812345678")

#: (attribute, value assigned, value expected back, type expected back)
CASES = [
    ("i", 0, 0, int),
    ("i", 2**31 - 1, 2**31 - 1, int),
    ("i", -2**31, -2**31, int),
    ("si", 32767, 32767, int),
    ("si", -32768, -32768, int),
    ("bi", 2**62, 2**62, int),
    ("bi", -2**62 - 12345, -2**62 - 12345, int),
    ("bi", 2**63 - 1, 2**63 - 1, int),
    ("r", 1.5, 1.5, float),
    ("r", -0.1, -0.1, float),
    ("r", 1e300, 1e300, float),
    ("r", 3, 3.0, float),
    ("num", decimal.Decimal("12345678.1234"), decimal.Decimal("12345678.1234"), decimal.Decimal),
    ("num", decimal.Decimal("-0.5"), decimal.Decimal("-0.5000"), decimal.Decimal),
    ("num", 7, decimal.Decimal("7.0000"), decimal.Decimal),
    ("num", 0.25, decimal.Decimal("0.2500"), decimal.Decimal),
    ("num_any", decimal.Decimal("3.14159"), decimal.Decimal("3.14159"), decimal.Decimal),
    ("num_float", decimal.Decimal("2.50"), 2.5, float),
    ("num_float", 19.99, 19.99, float),
    ("s", "", "", str),
    ("s", "twenty chars exactly", "twenty chars exactly", str),
    ("s", "漢字😀", "漢字😀", str),
    ("t", UNICODE, UNICODE, str),
    ("t", "x" * 100_000, "x" * 100_000, str),
    ("flag", True, True, bool),
    ("flag", False, False, bool),
    ("ts", datetime.datetime(2024, 2, 29, 23, 59, 59, 123456),
     datetime.datetime(2024, 2, 29, 23, 59, 59, 123456), datetime.datetime),
    ("ts", datetime.datetime(1970, 1, 1), datetime.datetime(1970, 1, 1), datetime.datetime),
    ("tstz", datetime.datetime(2024, 1, 1, 12, 0, tzinfo=IST),
     datetime.datetime(2024, 1, 1, 6, 30, tzinfo=UTC), datetime.datetime),
    ("tstz", datetime.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
     datetime.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), datetime.datetime),
    ("d", datetime.date(2000, 2, 29), datetime.date(2000, 2, 29), datetime.date),
    ("d", datetime.date(1, 1, 1), datetime.date(1, 1, 1), datetime.date),
    ("tm", datetime.time(23, 59, 59, 999999), datetime.time(23, 59, 59, 999999), datetime.time),
    ("tm", datetime.time(0, 0), datetime.time(0, 0), datetime.time),
    ("iv", datetime.timedelta(days=3, seconds=5, microseconds=7),
     datetime.timedelta(days=3, seconds=5, microseconds=7), datetime.timedelta),
    ("iv", datetime.timedelta(seconds=-1), datetime.timedelta(seconds=-1), datetime.timedelta),
    ("iv", datetime.timedelta(days=10_000), datetime.timedelta(days=10_000), datetime.timedelta),
    ("b", b"\x00\xff\x00abc\x00", b"\x00\xff\x00abc\x00", bytes),
    ("b", b"", b"", bytes),
    ("b", bytearray(b"\x01\x02"), b"\x01\x02", bytes),
    ("bin", memoryview(b"\x00mv"), b"\x00mv", bytes),
    ("u", U1, U1, uuid.UUID),
    ("j", {"a": [1, 2.5, None, True, "ü😀"], "b": {"c": []}},
     {"a": [1, 2.5, None, True, "ü😀"], "b": {"c": []}}, dict),
    ("j", [1, "two", {"three": None}], [1, "two", {"three": None}], list),
    ("j", "just a string", "just a string", str),
    ("e", Color.GREEN, Color.GREEN, Color),
    ("e", Color.LIGHT_BLUE, Color.LIGHT_BLUE, Color),
]


def _case_id(case: tuple) -> str:
    return f"{case[0]}-{type(case[1]).__name__}-{str(case[1])[:20]}"


async def _setup(db) -> None:
    db.bind_tables(Table)
    for table in (Typed, SerialKey, BigSerialKey, SmallSerialKey):
        await table.create()


@pytest.mark.parametrize("attr,value,expected,expected_type", CASES, ids=map(_case_id, CASES))
async def test_round_trip(db, attr, value, expected, expected_type):
    await _setup(db)
    async with db.get_session() as sess:
        row = await sess.add(Typed(**{attr: value}))
        # the row was refreshed from what the database stored
        assert getattr(row, attr) == expected
        assert type(getattr(row, attr)) is expected_type
        row_id = row.id
    async with db.get_session() as sess:
        loaded = await sess.select(Typed).where(Typed.id == row_id).first()
        got = getattr(loaded, attr)
        assert got == expected
        assert type(got) is expected_type
        if isinstance(expected, datetime.datetime):
            assert (got.tzinfo is None) == (expected.tzinfo is None)
        # every other column stayed NULL
        assert [k for k, v in loaded.to_dict().items() if v is not None] == ["id", attr]
        # and the value can be searched for
        found = await sess.select(Typed).where(getattr(Typed, attr) == value)
        assert [r.id for r in found] == [row_id]
        other = await sess.select(Typed).where(getattr(Typed, attr) != value)
        assert other == []


async def test_update_round_trip(db):
    """Values written by UPDATE (tracked attribute changes) convert like INSERTed ones."""
    await _setup(db)
    async with db.get_session() as sess:
        row = await sess.add(Typed())
    async with db.get_session() as sess:
        row = await sess.select(Typed).where(Typed.id == row.id).first()
        for attr, value, _, _ in CASES:
            setattr(row, attr, value)
        await sess.add(row)
    expected = {}
    for attr, _, value, _ in CASES:
        expected[attr] = value
    async with db.get_session() as sess:
        loaded = await sess.select(Typed).first()
        for attr, value in expected.items():
            assert getattr(loaded, attr) == value, attr
            assert type(getattr(loaded, attr)) is type(value), attr


async def test_bulk_update_converts_values(db):
    await _setup(db)
    async with db.get_session() as sess:
        await sess.insert.rows(Typed(i=1), Typed(i=2))
        n = await (sess.update(Typed)
                   .set(Typed.u, U1).set(Typed.flag, True).set(Typed.e, Color.RED)
                   .set(Typed.tstz, datetime.datetime(2020, 5, 5, tzinfo=PDT))
                   .set(Typed.iv, datetime.timedelta(hours=1)).set(Typed.j, {"k": "v"})
                   .where(Typed.id == 2))
        assert n == 1
    async with db.get_session() as sess:
        row = await sess.select(Typed).where(Typed.id == 2).first()
        assert (row.u, row.flag, row.e, row.iv, row.j) == \
            (U1, True, Color.RED, datetime.timedelta(hours=1), {"k": "v"})
        assert row.tstz == datetime.datetime(2020, 5, 5, 7, tzinfo=UTC)
        assert type(row.u) is uuid.UUID and type(row.flag) is bool
        first = await sess.select(Typed).where(Typed.id == 1).first()
        assert first.u is None and first.flag is None and first.i == 1


async def test_nulls(db):
    await _setup(db)
    async with db.get_session() as sess:
        row = await sess.add(Typed())
        assert all(v is None for k, v in row.to_dict().items() if k != "id")
        explicit = await sess.add(Typed(**{attr: None for attr, *_ in CASES}))
    async with db.get_session() as sess:
        rows = await sess.select(Typed).order_by(Typed.id)
        assert [r.id for r in rows] == [row.id, explicit.id]
        for r in rows:
            assert all(v is None for k, v in r.to_dict().items() if k != "id")
        nulls = sess.select(Typed).where(Typed.tstz.is_(None), Typed.j == None)  # noqa: E711
        assert len(await nulls) == 2


async def test_boolean_is_bool_and_filters(db):
    await _setup(db)
    async with db.get_session() as sess:
        await sess.insert.rows(Typed(flag=True), Typed(flag=False), Typed(flag=True), Typed())
    async with db.get_session() as sess:
        yes = await sess.select(Typed).where(Typed.flag == True).order_by(Typed.id)  # noqa: E712
        no = await sess.select(Typed).where(Typed.flag == False)  # noqa: E712
        assert [r.id for r in yes] == [1, 3]
        assert [r.id for r in no] == [2]
        assert all(r.flag is True for r in yes)
        assert no[0].flag is False
        assert [r.id for r in await sess.select(Typed).where(Typed.flag.in_([False]))] == [2]
        raw = await sess.fetch("SELECT count(*) AS n FROM typed WHERE flag")
        assert raw["n"] == 2



async def test_sqlite_stores_booleans_as_integers_and_none_as_null(tmp_path):
    """Booleans are written as the integers SQLite keeps (a bind processor for the ORM, an
    adapter for raw SQL); None as NULL. An adapter the program registered itself stays."""
    import sqlite3

    from asyncqlio import DatabaseInterface
    from asyncqlio._speedups import _convert
    import asyncqlio.backends.sqlite3.aiosqlite  # noqa: F401 - registers the adapters

    assert sqlite3.adapters[(type(None), sqlite3.PrepareProtocol)] is _convert.same
    assert sqlite3.adapters[(bool, sqlite3.PrepareProtocol)] is _convert.sqlite_bool
    db = DatabaseInterface(f"sqlite:///{tmp_path / 'b.db'}")
    await db.connect()
    try:
        await _setup(db)
        async with db.get_session() as sess:
            sess.add_all([Typed(id=1, flag=True), Typed(id=2, flag=False), Typed(id=3)])
            await sess.execute("INSERT INTO typed (id, flag, s) VALUES ({i}, {f}, {s})",
                               {"i": 4, "f": True, "s": None})
        async with db.get_session() as sess:
            rows = await sess.cursor("SELECT id, flag, typeof(flag) AS t, typeof(s) AS ts "
                                     "FROM typed ORDER BY id")
            stored = [(r["id"], r["flag"], r["t"], r["ts"]) async for r in rows]
            assert stored == [(1, 1, "integer", "null"), (2, 0, "integer", "null"),
                              (3, None, "null", "null"), (4, 1, "integer", "null")]
            assert [r.flag for r in await sess.select(Typed).order_by(Typed.id)] == \
                [True, False, None, True]
    finally:
        await db.close()
    assert _convert.sqlite_bool(True) == 1 and _convert.sqlite_bool(False) == 0
    assert type(_convert.sqlite_bool(True)) is int and _convert.same(None) is None

async def test_filter_by_datetimes(db):
    await _setup(db)
    base = datetime.datetime(2024, 6, 1, 12, 0, 0)
    async with db.get_session() as sess:
        await sess.insert.rows(*[
            Typed(i=n, ts=base + datetime.timedelta(minutes=n, microseconds=n * 1000),
                  tstz=(base + datetime.timedelta(hours=n)).replace(tzinfo=UTC),
                  d=base.date() + datetime.timedelta(days=n),
                  tm=(base + datetime.timedelta(seconds=n * 7)).time(),
                  iv=datetime.timedelta(seconds=n * 90))
            for n in range(10)])
    async with db.get_session() as sess:
        async def ids(*conds):
            return [r.i for r in await sess.select(Typed).where(*conds).order_by(Typed.i)]

        assert await ids(Typed.ts > base + datetime.timedelta(minutes=7)) == [7, 8, 9]
        at_7 = base + datetime.timedelta(minutes=7, microseconds=7000)
        assert await ids(Typed.ts >= at_7) == [7, 8, 9]
        assert await ids(Typed.ts < base + datetime.timedelta(seconds=30)) == [0]
        assert await ids(Typed.ts == base + datetime.timedelta(minutes=3, microseconds=3000)) == [3]
        # the same instant written with another offset is the same value
        at_5 = (base + datetime.timedelta(hours=5)).replace(tzinfo=UTC).astimezone(PDT)
        assert await ids(Typed.tstz == at_5) == [5]
        assert await ids(Typed.tstz > at_5) == [6, 7, 8, 9]
        assert await ids(Typed.tstz.between(at_5.astimezone(IST),
                                            at_5 + datetime.timedelta(hours=2))) == [5, 6, 7]
        assert await ids(Typed.d >= datetime.date(2024, 6, 9)) == [8, 9]
        assert await ids(Typed.tm > datetime.time(12, 0, 50)) == [8, 9]
        assert await ids(Typed.iv > datetime.timedelta(minutes=12)) == [9]
        assert await ids(Typed.iv.in_([datetime.timedelta(seconds=90),
                                       datetime.timedelta(seconds=180)])) == [1, 2]
        rows = await sess.select(Typed).order_by(Typed.tstz.desc()).limit(2)
        assert [r.i for r in rows] == [9, 8]


async def test_filter_by_other_types(db):
    await _setup(db)
    u2 = uuid.uuid4()
    async with db.get_session() as sess:
        await sess.insert.rows(
            Typed(i=1, u=U1, num=decimal.Decimal("10.5"), e=Color.RED, b=b"\x00a", r=0.5,
                  bi=2**62, s="abc"),
            Typed(i=2, u=u2, num=decimal.Decimal("9.25"), e=Color.GREEN, b=b"\x00b", r=1.5,
                  bi=-2**62, s="abd"),
        )
    async with db.get_session() as sess:
        async def ids(*conds):
            return [r.i for r in await sess.select(Typed).where(*conds).order_by(Typed.i)]

        assert await ids(Typed.u == u2) == [2]
        assert await ids(Typed.u.in_([U1, u2])) == [1, 2]
        assert await ids(Typed.u == str(U1).upper()) == [1]  # a string is read as a UUID
        assert await ids(Typed.u == u2.hex) == [2]
        assert await ids(Typed.num > decimal.Decimal("10")) == [1]
        assert await ids(Typed.num == 9.25) == [2]
        assert await ids(Typed.e == Color.RED) == [1]
        assert await ids(Typed.e.in_([Color.GREEN, Color.LIGHT_BLUE])) == [2]
        assert await ids(Typed.b == b"\x00b") == [2]
        assert await ids(Typed.r > 1) == [2]
        assert await ids(Typed.bi > 2**61) == [1]
        assert await ids(Typed.s.startswith("ab"), Typed.s.endswith("d")) == [2]


async def test_real_special_values(db):
    """NaN and infinities round-trip (SQLite alone would turn NaN into NULL)."""
    await _setup(db)
    values = [float("nan"), float("inf"), float("-inf"), -0.0, 5e-324]
    async with db.get_session() as sess:
        await sess.insert.rows(*[Typed(i=n, r=v) for n, v in enumerate(values)])
    async with db.get_session() as sess:
        rows = await sess.select(Typed).order_by(Typed.i)
        assert math.isnan(rows[0].r) and type(rows[0].r) is float
        assert [r.r for r in rows[1:]] == values[1:]
        assert [r.i for r in await sess.select(Typed).where(Typed.r == float("nan"))] == [0]
        assert [r.i for r in await sess.select(Typed).order_by(Typed.r.desc()).limit(2)] == [0, 1]


async def test_text_nul_character(db, backend):
    """SQLite keeps a NUL inside text; PostgreSQL cannot store it and says so with DataError."""
    await _setup(db)
    value = "before\x00after"
    if backend == "sqlite":
        async with db.get_session() as sess:
            row = await sess.add(Typed(t=value))
        async with db.get_session() as sess:
            assert (await sess.select(Typed).where(Typed.id == row.id).first()).t == value
    else:
        with pytest.raises(exc.DataError):
            async with db.get_session() as sess:
                await sess.add(Typed(t=value))
        async with db.get_session() as sess:
            assert await sess.select(Typed) == []


async def test_text_unencodable(db):
    """A lone surrogate cannot be encoded for either database: a clean DataError."""
    await _setup(db)
    with pytest.raises(exc.DataError):
        async with db.get_session() as sess:
            await sess.add(Typed(t="a\ud800b"))
    async with db.get_session() as sess:
        assert await sess.select(Typed).count() == 0


async def test_values_written_by_sql(db):
    """Rows written with SQL literals (or by another program) load with Python types too."""
    await _setup(db)
    async with db.get_session() as sess:
        await sess.execute(
            "INSERT INTO typed (id, ts, tstz, d, tm, flag, u, j, e, num, r) VALUES "
            "(1, '2020-01-02 03:04:05', '2020-01-02 10:00:00+02:00', '2020-01-02', '03:04:05', "
            "TRUE, '12345678-1234-5678-1234-567812345678', '{\"a\": [1]}', 'GREEN', 1.5, 2)")
    async with db.get_session() as sess:
        row = await sess.select(Typed).first()
        assert row.ts == datetime.datetime(2020, 1, 2, 3, 4, 5)
        assert row.tstz == datetime.datetime(2020, 1, 2, 8, tzinfo=UTC)
        assert row.tstz.utcoffset() == datetime.timedelta(0)
        assert (row.d, row.tm) == (datetime.date(2020, 1, 2), datetime.time(3, 4, 5))
        assert (row.flag, row.u, row.j, row.e) == (True, U1, {"a": [1]}, Color.GREEN)
        assert row.num == decimal.Decimal("1.5") and type(row.num) is decimal.Decimal
        assert row.r == 2.0 and type(row.r) is float
        assert type(row.flag) is bool and type(row.u) is uuid.UUID


async def test_timestamps_compare_with_database_clock(db):
    """Stored timestamps compare correctly with the database's own CURRENT_TIMESTAMP."""
    await _setup(db)
    async with db.get_session() as sess:
        await sess.insert.rows(
            Typed(i=1, ts=datetime.datetime(2000, 1, 1),
                  tstz=datetime.datetime(2000, 1, 1, tzinfo=IST)),
            Typed(i=2, ts=datetime.datetime(2100, 1, 1),
                  tstz=datetime.datetime(2100, 1, 1, tzinfo=PDT)))
    async with db.get_session() as sess:
        past = await sess.fetch("SELECT i FROM typed WHERE ts < CURRENT_TIMESTAMP "
                                "AND tstz < CURRENT_TIMESTAMP")
        assert past == {"i": 1}


async def test_out_of_range_integers(db, backend):
    await _setup(db)
    with pytest.raises(exc.DataError):
        async with db.get_session() as sess:
            await sess.add(Typed(bi=2**63))
    if backend == "postgresql":
        for attr, value in (("i", 2**31), ("si", -32769)):
            with pytest.raises(exc.DataError):
                async with db.get_session() as sess:
                    await sess.add(Typed(**{attr: value}))


async def test_string_too_long_on_postgresql(db, backend):
    """VARCHAR(n) is enforced by PostgreSQL; SQLite stores any length (documented)."""
    await _setup(db)
    if backend == "postgresql":
        with pytest.raises(exc.DataError):
            async with db.get_session() as sess:
                await sess.add(Typed(s="x" * 21))
    else:
        async with db.get_session() as sess:
            assert (await sess.add(Typed(s="x" * 21))).s == "x" * 21


async def test_numeric_precision(db):
    await _setup(db)
    value = decimal.Decimal("12345678901.2345")  # 15 significant digits, SQLite's limit
    async with db.get_session() as sess:
        row = await sess.add(Typed(num_any=value, num=decimal.Decimal("0.0001")))
    async with db.get_session() as sess:
        loaded = await sess.select(Typed).where(Typed.id == row.id).first()
        assert loaded.num_any == value
        assert loaded.num == decimal.Decimal("0.0001")
        assert str(loaded.num) == "0.0001"


@pytest.mark.parametrize("table", [SerialKey, BigSerialKey, SmallSerialKey])
async def test_serial_keys(db, table):
    await _setup(db)
    async with db.get_session() as sess:
        a = await sess.add(table(note="a"))
        b, c = await sess.insert.rows(table(note="b"), table(note="c"))
        sess.add(table(note="d"))
    assert (a.id, b.id, c.id) == (1, 2, 3)
    assert type(a.id) is int
    async with db.get_session() as sess:
        rows = await sess.select(table).order_by(table.id)
        assert [(r.id, r.note) for r in rows] == [(1, "a"), (2, "b"), (3, "c"), (4, "d")]


async def test_big_serial_beyond_32_bits(db):
    await _setup(db)
    async with db.get_session() as sess:
        row = await sess.add(BigSerialKey(id=2**40, note="big"))
    async with db.get_session() as sess:
        found = await sess.select(BigSerialKey).where(BigSerialKey.id == 2**40).first()
        assert found.note == "big"
    assert row.id == 2**40


@pytest.mark.parametrize("attr,value", [
    ("i", "1"), ("i", 1.0), ("i", True), ("si", "5"), ("bi", decimal.Decimal(1)),
    ("r", "1.5"), ("r", True), ("r", decimal.Decimal("1.5")),
    ("num", "1.5"), ("num", False),
    ("s", 5), ("s", b"bytes"), ("t", ["list"]),
    ("flag", 1), ("flag", 0), ("flag", "true"),
    ("ts", datetime.date(2020, 1, 1)), ("ts", "2020-01-01T00:00:00"), ("ts", 0),
    ("ts", datetime.datetime(2020, 1, 1, tzinfo=UTC)),
    ("tstz", datetime.datetime(2020, 1, 1)),
    ("d", datetime.datetime(2020, 1, 1)), ("d", "2020-01-01"),
    ("tm", datetime.datetime(2020, 1, 1)), ("tm", "10:00"), ("tm", datetime.time(1, tzinfo=UTC)),
    ("iv", 5), ("iv", 1.5),
    ("b", "text"), ("bin", [1, 2]),
    ("u", str(U1)), ("u", U1.bytes), ("u", U1.int),
    ("e", "RED"), ("e", "r"), ("e", 3),
], ids=lambda v: repr(v)[:30])
def test_wrong_type_raises_type_error(attr, value):
    row = Typed()
    with pytest.raises(TypeError):
        setattr(row, attr, value)
    assert getattr(row, attr) is None
    with pytest.raises(TypeError):
        Typed(**{attr: value})


def test_assignment_coerces():
    row = Typed(r=2, num=3, b=bytearray(b"x"), bin=memoryview(b"y"))
    assert row.r == 2.0 and type(row.r) is float
    assert row.num == decimal.Decimal(3) and type(row.num) is decimal.Decimal
    assert type(row.b) is bytes and type(row.bin) is bytes
    row.i = None  # None is always accepted by the type; NOT NULL is the database's job
    assert row.i is None


def test_types_as_class_or_instance():
    assert repr(Column(String(64)).type) == "String(64)"
    assert isinstance(Column(Integer).type, Integer)
    with pytest.raises(exc.SchemaError):
        Column(int)
    with pytest.raises(exc.SchemaError):
        Enum(str)


# --- custom types

class Upper(ColumnType):
    """Text kept upper-case: validate_set refuses non-strings, on_set normalises."""

    def sql(self, dialect: str = "postgresql") -> str:
        return "TEXT"

    def validate_set(self, value):
        return isinstance(value, str)

    def on_set(self, value):
        return value.upper()


class Point(ColumnType):
    """An (x, y) pair stored as text: ``bind`` writes it, ``on_get`` reads it."""

    python_type = tuple

    def sql(self, dialect: str = "postgresql") -> str:
        return "VARCHAR(64)"

    def validate_set(self, value):
        return isinstance(value, tuple) and len(value) == 2

    def on_set(self, value):
        return (float(value[0]), float(value[1]))

    def bind(self, value):
        return f"{float(value[0])!r},{float(value[1])!r}"

    def on_get(self, value):
        x, y = value.split(",")
        return (float(x), float(y))


class OldStyle(ColumnType):
    """A custom type written for the original asyncqlio: ``sql()`` takes no dialect."""

    def sql(self):
        return "INTEGER"


class CustomTable(Table, table_name="custom"):
    id = Column(Integer, primary_key=True)
    code = Column(Upper, nullable=True)
    at = Column(Point(), nullable=True)
    old = Column(OldStyle, nullable=True)


async def test_custom_type(db):
    db.bind_tables(Table)
    await CustomTable.create()
    row = CustomTable(code="abc", at=(1, 2.5), old=7)
    assert row.code == "ABC" and row.at == (1.0, 2.5)
    with pytest.raises(TypeError):
        row.code = 5
    with pytest.raises(TypeError):
        row.at = (1, 2, 3)
    async with db.get_session() as sess:
        await sess.add(row)
        assert row.at == (1.0, 2.5)
    async with db.get_session() as sess:
        loaded = await sess.select(CustomTable).where(CustomTable.at == (1, 2.5)).first()
        assert loaded is not None
        assert (loaded.code, loaded.at, loaded.old) == ("ABC", (1.0, 2.5), 7)
        raw = await sess.fetch("SELECT code, at FROM custom")
        assert raw == {"code": "ABC", "at": "1.0,2.5"}
        assert await sess.select(CustomTable).where(CustomTable.code == "ABC").count() == 1


class Token(Table, table_name="token"):
    id = Column(UUID, primary_key=True, default=uuid.uuid4)
    note = Column(Text, nullable=True)


async def test_uuid_primary_key(db):
    """A converted type as the key: insert, load, update, merge and delete find the row."""
    db.bind_tables(Table)
    await Token.create()
    async with db.get_session() as sess:
        a, b = await sess.insert.rows(Token(note="a"), Token(note="b"))
    assert type(a.id) is uuid.UUID and a.id != b.id
    async with db.get_session() as sess:
        loaded = await sess.select(Token).where(Token.id == a.id).first()
        assert loaded == a and loaded.note == "a"
        loaded.note = "a2"
        await sess.add(loaded)
        await sess.merge(Token(id=b.id, note="b2"))
        await sess.remove(await sess.select(Token).where(Token.id == str(b.id)).first())
    async with db.get_session() as sess:
        assert [(t.id, t.note) for t in await sess.select(Token)] == [(a.id, "a2")]


async def test_upsert_loads_inserted_rows_with_converted_key(db):
    db.bind_tables(Table)
    await Token.create()
    async with db.get_session() as sess:
        a = await sess.add(Token(note="a"))
    fresh = Token(note="fresh")
    async with db.get_session() as sess:
        await sess.insert.rows(Token(id=a.id, note="dup"), fresh).on_conflict(Token.id).nothing()
        assert fresh.note == "fresh"
        # the row that was written is persistent: a change to it is an UPDATE
        fresh.note = "changed"
        await sess.add(fresh)
    async with db.get_session() as sess:
        assert sorted(t.note for t in await sess.select(Token)) == ["a", "changed"]
