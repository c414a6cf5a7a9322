from asyncqlio.orm.schema import Column, ForeignKey, Index, Relationship, table_base
from asyncqlio.orm.session import Session, SessionState

__all__ = ["Column", "ForeignKey", "Index", "Relationship", "Session", "SessionState", "table_base"]
