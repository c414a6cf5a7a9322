"""asyncqlio: an asyncio ORM with Cython-compiled hot paths, over asyncpg and aiosqlite."""
from asyncqlio import events, exc
from asyncqlio.db import DatabaseInterface, EngineConnection
from asyncqlio.orm.alias import AliasedTable, aliased
from asyncqlio.orm.query import (BulkDeleteQuery, BulkUpdateQuery, InsertQuery, SelectQuery,
                                  exists, func)
from asyncqlio.exc import NotLoadedError
from asyncqlio.orm.relationships import RelatedList
from asyncqlio.orm.results import Row
from asyncqlio.orm.schema import Column, ForeignKey, Index, Relationship, table_base
from asyncqlio.orm.session import Session, SessionState
from asyncqlio.orm.sessionmaker import scoped_session, sessionmaker
from asyncqlio.orm.types import (JSON, UUID, BigInt, BigSerial, Binary, Boolean, Bytea,
                                 ColumnType, Date, Enum, Integer, Interval, Numeric, Real,
                                 Serial, SmallInt, SmallSerial, String, Text, Time, Timestamp)
from asyncqlio.pool import Pool
from asyncqlio.url import URL, parse_dsn

__version__ = "0.2.0"

__all__ = [
    "DatabaseInterface", "EngineConnection", "Pool", "URL", "parse_dsn", "exc", "events",
    "Session", "SessionState", "sessionmaker", "scoped_session", "SelectQuery", "InsertQuery", "BulkUpdateQuery", "BulkDeleteQuery",
    "table_base", "Column", "ForeignKey", "Index", "Relationship", "RelatedList",
    "NotLoadedError", "func", "exists", "aliased", "AliasedTable", "Row",
    "ColumnType", "Integer", "SmallInt", "BigInt", "Serial", "SmallSerial", "BigSerial", "Real",
    "Numeric", "String", "Text", "Boolean", "Timestamp", "Date", "Time", "Interval", "Bytea",
    "Binary", "UUID", "JSON", "Enum",
]
