"""The ORM: table definitions (:mod:`.schema`), query builders (:mod:`.query`), sessions
(:mod:`.session`), schema changes (:mod:`.ddl`) and inspection (:mod:`.inspection`).

Importing it gives :class:`~asyncqlio.db.DatabaseInterface` its session classes (the engine
does not import the ORM)."""
from asyncqlio.db import DatabaseInterface
from asyncqlio.orm import inspection  # noqa: F401  (installs the dialects' schema readers)
from asyncqlio.orm.alias import aliased
from asyncqlio.orm.ddl.ddlsession import DDLSession
from asyncqlio.orm.declarative import (DeclarativeBase, Mapped, MappedColumn, UniqueConstraint,
                                       declarative_base, declared_attr, mapped_column,
                                       relationship)
from asyncqlio.orm.metadata import MetaData
from asyncqlio.orm.loading import (Load, defaultload, immediateload, joinedload, lazyload,
                                   noload, raiseload, selectinload, subqueryload)
from asyncqlio.orm.schema import Column, ForeignKey, Index, Relationship, table_base
from asyncqlio.orm.session import Session, SessionBase, SessionState

DatabaseInterface.session_class = Session
DatabaseInterface.ddl_session_class = DDLSession

__all__ = ["Column", "DDLSession", "ForeignKey", "Index", "Relationship", "Session",
           "SessionBase", "SessionState", "table_base",
           "DeclarativeBase", "Load", "MetaData", "Mapped", "MappedColumn", "UniqueConstraint", "aliased",
           "declarative_base", "declared_attr", "defaultload", "immediateload", "joinedload",
           "lazyload", "mapped_column", "noload", "raiseload", "relationship", "selectinload",
           "subqueryload"]
