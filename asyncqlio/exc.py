"""The one exception hierarchy of asyncqlio.

Driver errors never escape raw: the backends wrap them in :class:`DBAPIError` subclasses
(named as in PEP 249 and SQLAlchemy) with the driver's exception chained as ``__cause__``
and kept on ``.orig``.
"""
from __future__ import annotations

import asyncio


class DatabaseException(Exception):
    """Base of every error asyncqlio raises (the original asyncqlio name)."""


AsyncqlioError = DatabaseException


class ArgumentError(DatabaseException, ValueError):
    """An argument to the API is malformed (a bad DSN, a bad LIMIT, an unknown option)."""


class InvalidDSN(ArgumentError):
    """The DSN cannot be parsed or names an unknown scheme."""


class SchemaError(DatabaseException):
    """A table or column definition is invalid, or a name does not exist on a table."""


class NoSuchColumnError(SchemaError, KeyError):
    """A column that does not exist was asked for (a ``KeyError`` too, as SQLAlchemy's)."""

    def __str__(self) -> str:  # KeyError's own would quote the message
        return str(self.args[0]) if self.args else ""


class ColumnValidationError(DatabaseException, TypeError):
    """A value assigned to a column does not fit its type (a ``TypeError`` too)."""


class UnsupportedOperationException(DatabaseException, NotImplementedError):
    """The database or its driver does not support the operation."""


class UnboundError(DatabaseException, RuntimeError):
    """A table was used for I/O before ``DatabaseInterface.bind_tables`` bound it (a
    ``RuntimeError`` too, as the original asyncqlio raised)."""


class InvalidRequestError(DatabaseException):
    """The call is not valid in the object's current state."""


class ObjectNotExecutableError(ArgumentError):
    """Something that is not a statement was given to execute (SQL text must be wrapped in
    ``text()`` there, as SQLAlchemy 2.x requires)."""


class MissingGreenlet(InvalidRequestError):
    """Synchronous database I/O was attempted outside ``run_sync()``."""


class ExpiredAttributeError(InvalidRequestError):
    """An attribute expired by ``Session.expire()`` was read before a refresh (reading it
    never loads it behind the caller's back)."""


class PendingRollbackError(InvalidRequestError):
    """A statement failed in this transaction; only ``rollback()`` is allowed now."""


class SessionClosedError(InvalidRequestError):
    """The session (or result) was closed or never started."""


class ResourceClosedError(InvalidRequestError):
    """A result was read after it was closed, or it never had rows (the result of an
    UPDATE, DELETE or INSERT without ``returning()``), as in SQLAlchemy."""


class NotLoadedError(InvalidRequestError):
    """A relationship was read before it was loaded (asyncqlio never loads on access)."""


class StaleDataError(InvalidRequestError):
    """A row written by primary key was no longer in the database."""


class NoResultFound(InvalidRequestError):
    """Exactly one row was required and none was found."""


class MultipleResultsFound(InvalidRequestError):
    """Exactly one row was required and more were found."""


class PoolTimeout(DatabaseException, asyncio.TimeoutError):
    """No connection became free within ``pool_timeout``."""


class DBAPIError(DatabaseException):
    """An error raised by the database driver; the original is ``.orig`` and ``__cause__``."""

    def __init__(self, message: str, orig: BaseException | None = None):
        super().__init__(message)
        self.orig = orig


class InterfaceError(DBAPIError):
    """The driver interface failed (for instance a closed connection)."""


class DatabaseError(DBAPIError):
    """The database reported an error."""


class OperationalError(DatabaseError):
    """The database could not be reached or an operation failed for reasons outside the SQL."""


class IntegrityError(DatabaseError):
    """A constraint failed: duplicate key, NOT NULL, foreign key, CHECK."""


class ProgrammingError(DatabaseError):
    """The SQL was wrong: syntax error, missing table or column."""


class DataError(DatabaseError):
    """A value did not fit its column: out of range, wrong format."""


class NotSupportedError(DatabaseError):
    """The backend does not support the requested feature."""


class InternalError(DatabaseError):
    """The database reported an internal error."""


#: SQLAlchemy's names for the same errors (``except SQLAlchemyError``); ``TimeoutError`` is
#: not in ``__all__``, so ``from asyncqlio.exc import *`` leaves the builtin alone
SQLAlchemyError = DatabaseException
TimeoutError = PoolTimeout

__all__ = [name for name, value in list(globals().items())
           if isinstance(value, type) and issubclass(value, BaseException)
           and value.__module__ == __name__ and name == value.__name__] + \
    ["AsyncqlioError", "SQLAlchemyError"]
