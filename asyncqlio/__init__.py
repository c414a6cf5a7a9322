"""asyncqlio: an asyncio ORM with Cython-compiled hot paths, over asyncpg and aiosqlite.

Every name a program needs is here, as in the original asyncqlio: the engine
(:class:`DatabaseInterface`), tables and types, sessions, queries, the low-level backend
classes and every exception of :mod:`asyncqlio.exc`.
"""
from asyncqlio import events, exc
from asyncqlio.backends.base import (BaseConnector, BaseDialect, BaseResultSet,
                                     BaseTransaction, DictRow)
from asyncqlio.db import DatabaseInterface, EngineConnection
from asyncqlio.exc import *  # noqa: F401,F403  (every exception, as the original exported them)
from asyncqlio.orm.alias import AliasedTable, aliased
from asyncqlio.orm.ddl.ddlsession import DDLSession
from asyncqlio.orm.expressions import exists, func
from asyncqlio.orm.inspection import get_pk, get_row_session
from asyncqlio.orm.query import (BulkDeleteQuery, BulkUpdateQuery, InsertQuery,
                                 ResultGenerator, SelectQuery, UpsertQuery)
from asyncqlio.orm.results import Row
from asyncqlio.orm.schema.column import Column
from asyncqlio.orm.schema.index import Index
from asyncqlio.orm.schema.relationship import ForeignKey, RelatedList, Relationship
from asyncqlio.orm.schema.table import Table, TableMeta, TableMetadata, table_base
from asyncqlio.orm.schema.types import (JSON, UUID, BigInt, BigSerial, Binary, Boolean, Bytea,
                                        ColumnType, Date, Enum, Integer, Interval, Numeric,
                                        Real, Serial, SmallInt, SmallSerial, String, Text,
                                        Time, Timestamp)
from asyncqlio.orm.session import Session, SessionBase, SessionState
from asyncqlio.orm.sessionmaker import scoped_session, sessionmaker
from asyncqlio.pool import Pool
from asyncqlio.url import URL, parse_dsn

__version__ = "0.2.0"

__all__ = [
    "DatabaseInterface", "EngineConnection", "Pool", "URL", "parse_dsn", "exc", "events",
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
