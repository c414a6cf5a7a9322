"""The hot paths are compiled in the normal build and pure Python under ASYNCQLIO_NO_EXTENSIONS."""
import importlib.machinery
import os

import asyncqlio._speedups as speedups

NO_EXT = bool(os.environ.get("ASYNCQLIO_NO_EXTENSIONS"))


def test_mode_matches_environment():
    assert speedups.DISABLED is NO_EXT
    assert speedups.COMPILED is (not NO_EXT)


def test_every_module_in_the_mode_asked_for():
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    for module in (speedups._row, speedups._compile, speedups._convert):
        name = module.__name__.rsplit(".", 1)[1]
        assert module._is_compiled() is (not NO_EXT), name
        assert module.__file__.endswith(suffixes) is (not NO_EXT), module.__file__
        assert speedups.MODULES_COMPILED[name] is (not NO_EXT)


def test_every_cython_source_is_loaded():
    sources = {f[:-3] for f in os.listdir(os.path.dirname(speedups.__file__))
               if f.startswith("_") and f.endswith("_cy.py")}
    assert sources == set(speedups.MODULES_COMPILED)


def test_pure_path_runs_without_cython_installed():
    """A wheel user without Cython: the sources fall back to the shim and still work."""
    import subprocess
    import sys
    code = (
        "import sys; sys.modules['cython'] = None\n"
        "import asyncqlio._speedups as s\n"
        "assert not s.COMPILED\n"
        "from asyncqlio import Column, Integer, Boolean, table_base\n"
        "T = table_base()\n"
        "class A(T, table_name='a'):\n"
        "    id = Column(Integer, primary_key=True)\n"
        "    flag = Column(Boolean)\n"
        "rows = s._row.hydrate(A, [(1, 0), (2, 1)], A.__table__.loaders_for('sqlite'), None)\n"
        "assert [(r.id, r.flag) for r in rows] == [(1, False), (2, True)]\n"
        "rows[0].flag = True\n"
        "assert s._row.written(rows[0]) == (1,) and s._row.old_value(rows[0], 1) is False\n"
        "print('ok')\n"
    )
    env = dict(os.environ, ASYNCQLIO_NO_EXTENSIONS="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_sqlite_datetime_text_is_what_str_gives():
    """The C formatting of timestamps for SQLite must store exactly the text ``str()`` does
    (the pure path uses ``str()``), or equal timestamps would stop comparing equal."""
    import datetime
    import random

    from asyncqlio._speedups import _convert
    rng = random.Random(5)
    values = [datetime.datetime.min, datetime.datetime.max, datetime.datetime(999, 1, 2, 3, 4, 5)]
    values += [datetime.datetime(rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 28),
                                 rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59),
                                 rng.choice([0, 1, 999999, rng.randint(0, 999999)]))
               for _ in range(5000)]
    assert [_convert.sqlite_datetime(v) for v in values] == [str(v) for v in values]

    class Sub(datetime.datetime):
        def __str__(self) -> str:
            return "sub"
    assert _convert.sqlite_datetime(Sub(2020, 1, 1)) == "sub"
    aware = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    assert _convert.sqlite_datetime(aware) == str(aware)
    assert _convert.sqlite_real(float("nan")) == "NaN" and _convert.sqlite_real(1.5) == 1.5


def test_identity_map_references_stay_out_of_the_collector():
    """Compiled, the identity map's weak references are untracked by the cyclic collector
    (they hold nothing it could follow), so loading rows adds only the rows to its work."""
    import gc
    import weakref

    from asyncqlio import Column, Integer, table_base
    from asyncqlio._speedups import _row

    class Probe(table_base(), table_name="probe"):
        id = Column(Integer, primary_key=True)

    m: dict = {}
    rows = _row.hydrate_identity(Probe, [(1,), (2,)], (), None, m, (0,))
    assert [ref() for ref in m.values()] == rows
    if speedups.COMPILED:
        assert not any(gc.is_tracked(ref) for ref in m.values())
        # plain keys and weak references: the map itself is left out too...
        assert not gc.is_tracked(m)
        m["other"] = weakref.ref(rows[0])  # ...until something tracked goes in
        assert gc.is_tracked(m)
        del m["other"]
        pairs: dict = {}  # a compound key is a tuple, which could hold anything: kept
        kept = _row.hydrate_identity(Probe, [(1,), (2,)], (), None, pairs, (0, 0))
        assert len(kept) == 2 and gc.is_tracked(pairs)
    del rows
    gc.collect()
    assert [ref() for ref in m.values()] == [None, None]


def test_hydration_leaves_the_collector_as_it_found_it():
    """Hydration pauses the cyclic collector while it builds rows, and puts it back as it
    was, also when converting a key fails."""
    import gc

    import pytest

    from asyncqlio import Column, Integer, table_base
    from asyncqlio._speedups import _row

    class Probe2(table_base(), table_name="probe2"):
        id = Column(Integer, primary_key=True)

    def broken(value):
        raise ValueError("bad key")

    was = gc.isenabled()
    try:
        for state in (True, False):
            (gc.enable if state else gc.disable)()
            assert len(_row.hydrate(Probe2, [(1,), (2,)], (), None)) == 2
            assert len(_row.hydrate_identity(Probe2, [(1,)], (), None, {}, (0,))) == 1
            assert gc.isenabled() is state
            with pytest.raises(ValueError, match="bad key"):
                _row.hydrate_identity(Probe2, [(1,)], ((0, broken),), None, {}, (0,))
            assert gc.isenabled() is state
    finally:
        (gc.enable if was else gc.disable)()


def test_atomic_records_leave_the_collector():
    """Compiled, a record kept as a row's values leaves the cyclic collector when none of its
    values could lead back to it: at once for a table whose column types say so (numbers,
    text...), after looking at the values otherwise (JSON); a record holding a container
    stays tracked, so a cycle through it is still found."""
    import gc

    from asyncqlio import JSON, Column, Integer, Text, table_base
    from asyncqlio._speedups import _row

    Probes = table_base()

    class Scalars(Probes, table_name="probe_scalars"):
        id = Column(Integer, primary_key=True)
        note = Column(Text, nullable=True)

    class Documents(Probes, table_name="probe_documents"):
        id = Column(Integer, primary_key=True)
        doc = Column(JSON, nullable=True)

    assert Scalars.__table__.atomic and not Documents.__table__.atomic
    made = [tuple(r) for r in ([1, "a"], [2, None])]  # made here, so tracked
    for hydrated in (_row.hydrate(Scalars, made, (), None),
                     _row.hydrate_identity(Scalars, made, (), None, {}, (0,))):
        assert [r._values for r in hydrated] == made
        assert [gc.is_tracked(r._values) for r in hydrated] == [not speedups.COMPILED] * 2

    holder: list = []
    records = [tuple(r) for r in ([1, "a"], [2, None], [3, holder])]
    for hydrated in (_row.hydrate(Documents, records, (), None),
                     _row.hydrate_identity(Documents, records, (), None, {}, (0,))):
        assert [r._values for r in hydrated] == records
        assert [gc.is_tracked(r._values) for r in hydrated] == \
            [not speedups.COMPILED, not speedups.COMPILED, True]
    holder.append(records[2])  # a cycle through the tracked record: still collectable
    del records, hydrated, holder
    gc.collect()

    class Custom(Text):  # a type of its own naming another database type: not trusted
        def sql(self, dialect: str = "postgresql") -> str:
            return "JSONB"

    assert Text.atomic and not Custom.atomic


async def test_loaded_rows_keep_their_values_outside_the_collector(db):
    """Through a real driver (asyncpg Records, sqlite tuples): rows loaded with only atomic
    values read back right after the collector has run, with their records untracked."""
    import gc

    from asyncqlio import Column, Integer, Text, table_base

    Table = table_base()

    class Note(Table, table_name="note"):
        id = Column(Integer, primary_key=True)
        body = Column(Text, nullable=True)

    db.bind_tables(Table)
    await Note.create()
    async with db.get_session() as sess:
        sess.add_all([Note(id=i, body=None if i % 3 == 0 else f"n{i}") for i in range(1, 301)])
        await sess.flush()
        if speedups.COMPILED:  # the map of plain keys to weak references, after an insert
            assert not gc.is_tracked(sess.identity_map.by_class[Note])
    async with db.get_session() as sess:
        rows = await sess.select(Note).order_by(Note.id)
        gc.collect()
        assert [(r.id, r.body) for r in rows] == \
            [(i, None if i % 3 == 0 else f"n{i}") for i in range(1, 301)]
        assert sess.identity_map[(Note, (7,))] is rows[6]
        if speedups.COMPILED:
            assert not any(gc.is_tracked(r._values) for r in rows)
            assert not gc.is_tracked(sess.identity_map.by_class[Note])
        rows[0].body = "changed"
    async with db.get_session() as sess:
        assert (await sess.get(Note, 1)).body == "changed"


def test_reading_a_value_already_of_its_type_copies_nothing():
    """A lazily converted column whose driver value already has the loader's type (a REAL
    SQLite hands out as a float) is read as it is, the record kept; one that needs the
    loader (a whole REAL handed out as an int) is converted into the row's own list."""
    from asyncqlio import Column, Integer, Real, table_base
    from asyncqlio._speedups import _row

    class Measure(table_base(), table_name="measure"):
        id = Column(Integer, primary_key=True)
        value = Column(Real)

    loaders = Measure.__table__.loaders_for("sqlite")
    floaty, whole = _row.hydrate(Measure, [(1, 2.5), (2, 3)], loaders, None)
    record = floaty._values
    assert floaty.value == 2.5 and floaty._values is record and floaty._unconverted == 0
    assert whole.value == 3.0 and type(whole.value) is float and type(whole._values) is list
    floaty.value = 4.0  # the first write copies, and keeps the record as the history
    assert type(floaty._values) is list and floaty._prior is record
    assert _row.written(floaty) == (1,) and _row.old_value(floaty, 1) == 2.5
