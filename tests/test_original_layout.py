"""The original asyncqlio's module paths, names and class-level call forms (no database).

Each test is one thing a program written for the original does, checked the way that
program would use it.
"""
from __future__ import annotations

import importlib
import io

import pytest

import asyncqlio
from asyncqlio import exc
from asyncqlio._speedups import _compile
from asyncqlio.orm import operators
from asyncqlio.orm.schema.column import Column
from asyncqlio.orm.schema.index import Index
from asyncqlio.orm.schema.relationship import ForeignKey, Relationship
from asyncqlio.orm.schema.table import PrimaryKey, Table, TableMeta, TableMetadata, table_base
from asyncqlio.orm.schema.types import (ColumnType, ColumnValidationError, Integer, Numeric,
                                        Real, String, Text, Timestamp)

#: every module of the original asyncqlio (its MySQL driver module comes with the MySQL
#: backend; the package itself is here)
ORIGINAL_MODULES = [
    "asyncqlio", "asyncqlio.backends", "asyncqlio.backends.base", "asyncqlio.backends.mysql",
    "asyncqlio.backends.postgresql", "asyncqlio.backends.postgresql.asyncpg",
    "asyncqlio.backends.sqlite3", "asyncqlio.backends.sqlite3.aiosqlite3", "asyncqlio.db",
    "asyncqlio.exc", "asyncqlio.meta", "asyncqlio.orm", "asyncqlio.orm.ddl",
    "asyncqlio.orm.ddl.ddlsession", "asyncqlio.orm.ddl.migration_tool",
    "asyncqlio.orm.inspection", "asyncqlio.orm.operators", "asyncqlio.orm.query",
    "asyncqlio.orm.schema", "asyncqlio.orm.schema.column", "asyncqlio.orm.schema.decorators",
    "asyncqlio.orm.schema.history", "asyncqlio.orm.schema.index",
    "asyncqlio.orm.schema.relationship", "asyncqlio.orm.schema.table",
    "asyncqlio.orm.schema.types", "asyncqlio.orm.session", "asyncqlio.sentinels",
    "asyncqlio.utils",
]

TOP_LEVEL = ["BaseConnector", "BaseDialect", "BaseResultSet", "BaseTransaction",
             "DatabaseInterface", "get_pk", "get_row_session", "Column", "Index", "ForeignKey",
             "Relationship", "Table", "table_base", "BigInt", "BigSerial", "Boolean",
             "ColumnType", "Integer", "Numeric", "Real", "Serial", "SmallInt", "SmallSerial",
             "String", "Text", "Timestamp", "Session", "DatabaseException", "SchemaError",
             "IntegrityError", "OperationalError", "NoSuchColumnError",
             "UnsupportedOperationException"]

MODULE_NAMES = {
    "asyncqlio.backends.base": ["BaseConnector", "BaseDialect", "BaseResultSet",
                                "BaseTransaction", "DictRow"],
    "asyncqlio.backends.postgresql": ["DEFAULT_CONNECTOR", "PostgresqlDialect"],
    "asyncqlio.backends.sqlite3": ["DEFAULT_CONNECTOR", "Sqlite3Dialect"],
    "asyncqlio.backends.mysql": ["DEFAULT_CONNECTOR", "MysqlDialect"],
    "asyncqlio.backends.postgresql.asyncpg": ["AsyncpgConnector", "AsyncpgResultSet",
                                              "AsyncpgTransaction", "CONNECTOR_TYPE",
                                              "get_param_query"],
    "asyncqlio.backends.sqlite3.aiosqlite3": ["CONNECTOR_TYPE", "Sqlite3Connector",
                                              "Sqlite3ResultSet", "Sqlite3Transaction"],
    "asyncqlio.orm.ddl.ddlsession": ["DDLSession"],
    "asyncqlio.orm.ddl.migration_tool": ["cli", "init", "migrate", "new", "get_revision",
                                         "get_current_version", "env_file",
                                         "migration_template"],
    "asyncqlio.orm.query": ["BaseQuery", "BulkDeleteQuery", "BulkQuery", "BulkUpdateQuery",
                            "InsertQuery", "ResultGenerator", "RowDeleteQuery",
                            "RowUpdateQuery", "SelectQuery", "UpsertQuery"],
    "asyncqlio.orm.session": ["Session", "SessionBase", "SessionState"],
    "asyncqlio.orm.schema.column": ["Column", "AliasedColumn"],
    "asyncqlio.orm.schema.table": ["AliasedTable", "PrimaryKey", "Table", "TableMeta",
                                   "TableMetadata", "table_base"],
    "asyncqlio.orm.schema.relationship": ["ForeignKey", "Relationship",
                                          "SelectLoadedRelationship",
                                          "JoinLoadedOTMRelationship", "BaseLoadedRelationship"],
    "asyncqlio.orm.schema.history": ["ColumnChange", "ValueChange"],
    "asyncqlio.orm.schema.decorators": ["enforce_bound"],
    "asyncqlio.orm.schema.types": ["ColumnValidationError"],
    "asyncqlio.orm.inspection": ["get_pk", "get_row_session"],
    "asyncqlio.sentinels": ["NO_DEFAULT", "NO_VALUE"],
    "asyncqlio.meta": ["AsyncABC", "AsyncABCMeta", "AsyncInstanceType", "AsyncObject",
                       "TypeProperty", "make_proxy", "proxy_to_getattr", "typeproperty"],
    "asyncqlio.utils": ["IterToAiter", "Proxy", "iter_to_aiter", "separate_statements"],
}


@pytest.mark.parametrize("module", ORIGINAL_MODULES)
def test_every_original_module_imports(module):
    importlib.import_module(module)


def test_the_original_top_level_names():
    missing = [n for n in TOP_LEVEL if not hasattr(asyncqlio, n)]
    assert missing == []
    assert set(exc.__all__) <= set(dir(asyncqlio))
    assert asyncqlio.DDLSession is importlib.import_module("asyncqlio.orm.ddl.ddlsession").DDLSession


@pytest.mark.parametrize("module", sorted(MODULE_NAMES))
def test_the_original_names_of_each_module(module):
    m = importlib.import_module(module)
    assert [n for n in MODULE_NAMES[module] if not hasattr(m, n)] == []


def test_the_layout_homes_its_contents():
    """The original paths are the real homes: the classes are defined there."""
    assert Table.__module__ == "asyncqlio.orm.schema.table"
    assert Column.__module__ == "asyncqlio.orm.schema.column"
    assert Index.__module__ == "asyncqlio.orm.schema.index"
    assert Relationship.__module__ == ForeignKey.__module__ == "asyncqlio.orm.schema.relationship"
    assert Integer.__module__ == "asyncqlio.orm.schema.types"
    pg = importlib.import_module("asyncqlio.backends.postgresql")
    assert pg.PostgresqlDialect.__module__ == "asyncqlio.backends.postgresql"
    assert pg.DEFAULT_CONNECTOR == "asyncpg"
    assert importlib.import_module("asyncqlio.backends.sqlite3").DEFAULT_CONNECTOR == "aiosqlite"


def test_the_exceptions_are_one_hierarchy():
    for name in ("SchemaError", "IntegrityError", "OperationalError", "NoSuchColumnError",
                 "UnsupportedOperationException", "ColumnValidationError"):
        assert issubclass(getattr(exc, name), exc.DatabaseException)
    assert ColumnValidationError is exc.ColumnValidationError
    assert issubclass(exc.ColumnValidationError, TypeError)
    assert issubclass(exc.UnboundError, RuntimeError)


@pytest.mark.parametrize("old, new", [
    ("asyncqlio.orm.types", "asyncqlio.orm.schema.types"),
    ("asyncqlio.orm.relationships", "asyncqlio.orm.schema.relationship"),
    ("asyncqlio.orm.ddl_session", "asyncqlio.orm.ddl.ddlsession"),
    ("asyncqlio.backends.asyncpg", "asyncqlio.backends.postgresql.asyncpg"),
    ("asyncqlio.backends.aiosqlite", "asyncqlio.backends.sqlite3.aiosqlite"),
])
def test_asyncqlio_0_2_paths_still_import_with_a_warning(old, new):
    import sys
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=new):
        importlib.import_module(old)


def test_asyncqlio_0_2_ddl_names_warn_and_work():
    ddl = importlib.import_module("asyncqlio.orm.ddl")
    with pytest.warns(DeprecationWarning, match="ddltext"):
        assert ddl.sqlite_default("1 + 1") == "(1 + 1)"
    with pytest.raises(AttributeError):
        ddl.nothing_of_that_name  # noqa: B018


# --- tables

def _people():
    Base = table_base()

    class Person(Base):
        id = Column(Integer(), primary_key=True)
        ssn = Column(Integer(), unique=True)
        name = Column(String(128))
        lat = Column(Numeric(5, 2))
        lon = Column(Numeric(5))
        born = Column(Timestamp(), nullable=True)
        person_name_idx = Index(name)
        by_ssn_name = Index("ssn", "name", unique=True)
        pets = Relationship(left="Person.id", right="Pet.owner_id")

    class Pet(Base, table_name="animals"):
        id = Column(Integer(), primary_key=True)
        owner_id = Column(Integer(), foreign_key=ForeignKey("Person.id"))
        pet_owner_idx = Index(owner_id)

    return Base, Person, Pet


def test_generate_schema_is_the_class_source():
    _, Person, Pet = _people()
    assert Person.generate_schema() == '''class Person(Table):
    id = Column(Integer(), primary_key=True)
    ssn = Column(Integer(), unique=True)
    name = Column(String(128))
    lat = Column(Numeric(5, 2))
    lon = Column(Numeric(5))
    born = Column(Timestamp(), nullable=True)
    person_name_idx = Index(name)
    by_ssn_name = Index(ssn, name, unique=True)
    pets = Relationship(left="Person.id", right="Pet.owner_id")
'''
    assert Pet.generate_schema() == '''class Pet(Table, table_name="animals"):
    id = Column(Integer(), primary_key=True)
    owner_id = Column(Integer(), foreign_key=ForeignKey("Person.id"))
    pet_owner_idx = Index(owner_id)
'''
    out = io.StringIO()
    assert Pet.generate_schema(out) == out.getvalue() and out.getvalue().startswith("class Pet")


def test_the_class_level_table_api():
    Base, Person, Pet = _people()
    assert isinstance(Person, TableMeta) and not isinstance(Person(), TableMeta)
    assert isinstance(Base.metadata, TableMetadata)
    assert Base.metadata.get_table("person") is Person is Base.metadata.get_table("Person")
    assert Base.metadata.get_table("nope") is None
    assert Person.__tablename__ == "person" and Pet.__tablename__ == "animals"
    assert Person.__quoted_name__ == '"person"'
    assert [c.name for c in Person.columns] == ["id", "ssn", "name", "lat", "lon", "born"]
    assert Person.get_column("name") is Person.name
    assert Person.get_column("t_person_name") is Person.name  # the original's select label
    assert Person.get_column("nope") is None
    assert Person.get_relationship("pets") is Person.pets
    assert Person.get_relationship("nope") is None
    assert [r.name for r in Person.iter_relationships()] == ["pets"]
    # an index in the class body is named after its attribute (prefixed by the table)
    assert Person.get_index("person_name_idx").name == "person_name_idx"
    assert Person.get_index("by_ssn_name").name == "person_by_ssn_name"
    assert [c.name for c in Person.get_index("by_ssn_name").columns] == ["ssn", "name"]
    assert [i.name for i in Person.explicit_indexes()] == ["person_name_idx",
                                                           "person_by_ssn_name"]
    assert Person.get_index("nope") is None
    key = Person.primary_key
    assert isinstance(key, PrimaryKey) and key.columns == [Person.id] and key.table is Person
    assert key == (Person.id,)


def test_the_row_level_table_api():
    _, Person, _ = _people()
    row = Person(id=4, name="ann")
    assert row.primary_key == 4 and row.table is Person
    assert row.get_column_value(Person.name) == "ann"
    assert row.get_column_value(Person.ssn) is None
    assert row.get_column_value(Person.ssn, return_default=False) is asyncqlio.sentinels.NO_VALUE
    row.store_column_value(Person.name, "bob")
    assert row.name == "bob"
    d = row.to_dict()
    assert d["name"] == "bob" and d[Person.name] == "bob" and Person.name in d
    assert asyncqlio.get_pk(row) == (4,) and asyncqlio.get_pk(row, as_tuple=False) == 4
    assert asyncqlio.get_row_session(row) is None


def test_compound_keys_are_tuples():
    Base = table_base()

    class Pair(Base):
        a = Column(Integer(), primary_key=True)
        b = Column(Integer(), primary_key=True)

    assert Pair(a=1, b=2).primary_key == (1, 2)
    assert asyncqlio.get_pk(Pair(a=1, b=2), as_tuple=False) == (1, 2)


def test_unbound_tables_raise_a_runtime_error():
    _, Person, _ = _people()
    with pytest.raises(RuntimeError, match="bind_tables"):
        Person.metadata.bind  # noqa: B018


# --- columns and types

def test_free_standing_columns():
    col = Column.with_name(name="age", type_=Integer(), table="person", nullable=True)
    assert (col.name, col.table_name, col.nullable) == ("age", "person", True)
    assert col.get_ddl_sql("postgresql") == '"age" INTEGER'
    assert Column.with_name("id", Integer, primary_key=True).autoincrement
    assert not Column.with_name("id", String(5), primary_key=True).autoincrement


def test_column_names_and_sql():
    _, Person, Pet = _people()
    assert Person.name.quoted_name == '"name"'
    assert Person.name.quoted_fullname == '"person"."name"'
    assert Person.name.alias_name() == "t_person_name"
    assert Person.name.alias_name(quoted=True) == '"t_person_name"'
    assert Pet.owner_id.foreign_column is Person.id
    assert Person.ssn.get_ddl_sql("sqlite") == '"ssn" INTEGER NOT NULL UNIQUE'
    assert Person.name.generate_schema() == "name = Column(String(128))"
    assert Person.name.indexed is False


def test_a_type_method_reads_as_the_column_s():
    class Tags(Text):
        def has_tag(self, tag):
            return self.column.like(f"%,{tag},%")

    Base = table_base()

    class Post(Base):
        id = Column(Integer, primary_key=True)
        tags = Column(Tags())

    cond = Post.tags.has_tag("x")
    assert isinstance(cond, operators.Like) and cond.pattern.value == "%,x,%"
    with pytest.raises(AttributeError):
        Post.tags.no_such_thing  # noqa: B018


def test_the_original_type_defaults_and_sources():
    assert Numeric().sql() == "NUMERIC(10)" and (Numeric().precision, Numeric().scale) == (10, 0)
    assert Numeric(5, 3).sql() == "NUMERIC(5, 3)" and Numeric(5, 3, False).asdecimal is False
    assert [t.schema() for t in (Integer(), String(20), String(), Text(), Real(), Numeric(5),
                                 Numeric(5, 2), Timestamp())] == \
        ["Integer()", "String(20)", "String()", "Text()", "Real()", "Numeric(5)",
         "Numeric(5, 2)", "Timestamp()"]
    assert isinstance(Text(), String) and Text().size == -1
    assert isinstance(Integer.create_default(), Integer)
    assert isinstance(Column(Integer).type, Integer)


def test_a_type_with_the_original_s_hooks_is_used_as_it_was_written():
    class Lower(String):
        def validate_set(self, row, value):
            return isinstance(value, str) and value.strip() != ""

        def on_set(self, row, value):
            return super().on_set(row, value.lower())

        def on_get(self, row):
            return "<" + row.get_column_value(self.column) + ">"

    Base = table_base()

    class Tag(Base):
        id = Column(Integer, primary_key=True)
        name = Column(Lower(32))

    tag = Tag(id=1)
    tag.name = "HeLLo"
    assert tag.name == "<hello>"
    assert tag.get_column_value(Tag.name) == "hello"
    with pytest.raises(ColumnValidationError):
        tag.name = "   "
    assert Lower.row_hooks and not String.row_hooks


# --- query expressions

def test_the_operator_classes_build_and_recognise_nodes():
    _, Person, _ = _people()
    assert isinstance(Person.id == 1, operators.Eq) and not isinstance(Person.id == 1, operators.Lt)
    assert isinstance(Person.id != 1, operators.NEq)
    assert isinstance(Person.id == None, operators.Eq)  # noqa: E711 - IS NULL
    for cls, node in ((operators.Lt, Person.id < 1), (operators.Gt, Person.id > 1),
                      (operators.Lte, Person.id <= 1), (operators.Gte, Person.id >= 1)):
        assert isinstance(node, cls) and isinstance(node, operators.ComparisonOp)
    eq = operators.Eq(Person.id, 2)
    assert isinstance(eq, _compile.BinaryExpr) and eq.op == "=" and eq.right.value == 2
    assert isinstance(operators.Eq(Person.id, None), _compile.NullExpr)
    both = operators.And(Person.id > 1, Person.id < 5)
    assert isinstance(both, operators.And) and not isinstance(both, operators.Or)
    assert isinstance((Person.id > 1) | (Person.id < 5), operators.Or)
    assert isinstance(Person.id.in_(1, 2), operators.In)
    assert isinstance(Person.name.like("a%"), operators.Like)
    assert isinstance(Person.name.ilike("a%"), operators.ILike)
    assert operators.HackyILike is operators.ILike
    assert isinstance(operators.AscSorter(Person.id), operators.AscSorter)
    assert isinstance(Person.id.desc(), operators.DescSorter)
    assert len(operators.DescSorter(Person.id, Person.name)) == 2
    assert isinstance(Person.id, operators.BaseOperator)


def test_setters_of_a_bulk_update():
    _, Person, _ = _people()
    col, value = Person.ssn.incr(3).assignment()
    assert col is Person.ssn and value.op == "+"
    assert Person.ssn.decr(1).assignment()[1].op == "-"
    assert Person.ssn.set(7).assignment() == (Person.ssn, 7)
    assert isinstance(Person.ssn.set(7), operators.ValueSetter)


def test_columns_compare_as_the_original_s_did():
    _, Person, Pet = _people()
    assert (Person.id == Person.id) and not (Person.id == Pet.id)
    assert Person.name in [Person.id, Person.name]
    assert bool(Person.id > 3)  # an expression is true
    assert isinstance(Person.id.eq(Pet.owner_id), operators.Eq)  # SQL, also between columns
    assert isinstance(Person.id.ne(Pet.owner_id), operators.NEq)


def test_relationship_keywords_of_the_original():
    Base, Person, Pet = _people()

    class Shop(Base):
        id = Column(Integer, primary_key=True)
        keeper_id = Column(Integer, foreign_key=ForeignKey("Person.id"))
        keeper = Relationship(left="Shop.keeper_id", right="Person.id", use_iter=False,
                              table_alias="shop_keeper", back_ref="Person.shops")

    assert Shop.keeper.load_type == "joined" and not Shop.keeper.use_iter
    assert Shop.keeper.left_column is Shop.keeper_id and Shop.keeper.right_column is Person.id
    assert Shop.keeper.our_column is Shop.keeper_id and Shop.keeper.foreign_column is Person.id
    assert Shop.keeper.foreign_table is Person and Shop.keeper.owner_table is Shop
    assert Person.pets.join_columns == (Person.id, Pet.owner_id) and Person.pets.use_iter
    assert Shop.keeper.back_reference == "shops" and Person.shops.foreign_table is Shop
    assert Shop.keeper.generate_schema() == ('keeper = Relationship(left="Shop.keeper_id", '
                                             'right="Person.id", load="joined", '
                                             'use_iter=False, back_ref="Person.shops", '
                                             'table_alias="shop_keeper")')


# --- helpers

def test_meta_helpers():
    from asyncqlio.meta import (AsyncABC, AsyncObject, TypeProperty, proxy_to_getattr,
                                typeproperty)

    class Named:
        @typeproperty
        def label(cls):
            return cls.__name__.upper()

    assert Named.label == "NAMED" and Named().label == "NAMED"
    assert isinstance(Named.__dict__["label"], TypeProperty)

    class Base(AsyncABC):
        async def go(self):
            return 1

    with pytest.raises(TypeError, match="coroutine"):
        class Bad(Base):  # noqa: F841
            def go(self):
                return 2

    @proxy_to_getattr("__len__")
    class Sized:
        def __getattr__(self, name):
            return lambda: 3

    assert len(Sized()) == 3

    class Made(AsyncObject):
        async def __init__(self, x):
            self.x = x

    import asyncio
    assert asyncio.run(Made(5)).x == 5


def test_utils():
    from asyncqlio.utils import Proxy, iter_to_aiter, separate_statements
    script = "SELECT 'a;b'; -- one; two\nSELECT \"c;\"; ;SELECT 3"
    assert list(separate_statements(script)) == ["SELECT 'a;b'", "-- one; two\nSELECT \"c;\"",
                                                 "SELECT 3"]

    @iter_to_aiter
    class Three(list):
        pass

    async def collect():
        return [x async for x in Three([1, 2, 3])]

    import asyncio
    assert asyncio.run(collect()) == [1, 2, 3]
    assert Proxy("abc").upper() == "ABC"


def test_history_records():
    from asyncqlio.orm.schema.history import ValueChange
    change = ValueChange("col")
    change.handle_change(1, 2)
    later = ValueChange("col")
    later.handle_change_with_history(change, 3)
    assert (later.previous_value, later.current_value) == (1, 3)


def test_sentinels():
    from asyncqlio.sentinels import NO_DEFAULT, NO_VALUE
    assert NO_DEFAULT is not NO_VALUE and Column(Integer).default is NO_DEFAULT
    assert repr(NO_VALUE) == "NO_VALUE"


def test_enforce_bound():
    from asyncqlio.orm.schema.decorators import enforce_bound
    _, Person, _ = _people()
    checked = enforce_bound(lambda cls: "ran")
    with pytest.raises(exc.UnboundError):
        checked(Person)


def test_a_column_needs_a_type():
    with pytest.raises(exc.SchemaError, match="not a column type"):
        Column(5)
    assert ColumnType.create(Integer).__class__ is Integer
