"""asyncqlio: an asyncio ORM with Cython-compiled hot paths, over asyncpg and aiosqlite.

Every name a program needs is here, as in the original asyncqlio: the engine
(:class:`DatabaseInterface`), tables and types, sessions, queries, the low-level backend
classes and every exception of :mod:`asyncqlio.exc`; and what a SQLAlchemy 2.x program
imports from ``sqlalchemy``: ``select``, ``insert``, ``update``, ``delete``, ``text``,
``func``, ``and_``/``or_``/``not_``, ``ForeignKey`` and the types under SQLAlchemy's names
(``asyncqlio.orm`` and ``asyncqlio.ext.asyncio`` hold the rest).
"""
from asyncqlio import events, exc
from asyncqlio.backends.base import (BaseConnector, BaseDialect, BaseResultSet,
                                     BaseTransaction, DictRow)
from asyncqlio.db import DatabaseInterface, EngineConnection
from asyncqlio.exc import *  # noqa: F401,F403  (every exception, as the original exported them)
from asyncqlio.orm.alias import AliasedTable, aliased
from asyncqlio.orm.ddl.ddlsession import DDLSession
from asyncqlio.orm.expressions import exists, func
from asyncqlio.orm.operators import and_, asc, desc, not_, or_
from asyncqlio.orm.inspection import get_pk, get_row_session
from asyncqlio.orm.metadata import MetaData
from asyncqlio.orm.query import (BulkDeleteQuery, BulkUpdateQuery, InsertQuery,
                                 ResultGenerator, SelectQuery, UpsertQuery)
from asyncqlio.orm.results import Row
from asyncqlio.orm.schema.column import Column
from asyncqlio.orm.schema.index import Index
from asyncqlio.orm.schema.relationship import ForeignKey, RelatedList, Relationship
from asyncqlio.orm.schema.table import Table, TableMeta, TableMetadata, table_base
from asyncqlio.orm.schema.types import (JSON, UUID, BigInteger, BigInt, BigSerial, Binary,
                                        Boolean, Bytea, ColumnType, Date, DateTime, Double,
                                        Enum, Float, Integer, Interval, LargeBinary, Numeric,
                                        Real, Serial, SmallInt, SmallInteger, SmallSerial,
                                        String, Text, Time, Timestamp, Unicode, UnicodeText,
                                        Uuid)
from asyncqlio.orm.session import Session, SessionBase, SessionState
from asyncqlio.orm.sessionmaker import scoped_session, sessionmaker
from asyncqlio.orm.statements import Delete, Insert, Select, Update, delete, insert, select, update
from asyncqlio.orm.text import TextClause, text
from asyncqlio.pool import AsyncAdaptedQueuePool, NullPool, Pool, QueuePool, StaticPool
from asyncqlio.url import URL, parse_dsn

__version__ = "0.2.0"

__all__ = [
    "DatabaseInterface", "EngineConnection", "Pool", "URL", "parse_dsn", "exc", "events",
    "AsyncAdaptedQueuePool", "QueuePool", "NullPool", "StaticPool",
    "select", "insert", "update", "delete", "text", "Select", "Insert", "Update", "Delete",
    "TextClause", "and_", "or_", "not_", "asc", "desc", "MetaData",
    "BigInteger", "SmallInteger", "Float", "Double", "DateTime", "LargeBinary", "Uuid",
    "Unicode", "UnicodeText",
    "BaseConnector", "BaseDialect", "BaseResultSet", "BaseTransaction", "DictRow",
    "Session", "SessionBase", "SessionState", "DDLSession", "sessionmaker", "scoped_session",
    "SelectQuery", "InsertQuery", "UpsertQuery", "BulkUpdateQuery", "BulkDeleteQuery",
    "ResultGenerator", "Table", "TableMeta", "TableMetadata", "table_base", "Column",
    "ForeignKey", "Index", "Relationship", "RelatedList", "func", "exists", "aliased",
    "AliasedTable", "Row", "get_pk", "get_row_session",
    "ColumnType", "Integer", "SmallInt", "BigInt", "Serial", "SmallSerial", "BigSerial", "Real",
    "Numeric", "String", "Text", "Boolean", "Timestamp", "Date", "Time", "Interval", "Bytea",
    "Binary", "UUID", "JSON", "Enum",
    *exc.__all__,
]
