"""The original asyncqlio's name for the SQLite driver module (``sqlite3+aiosqlite3://``):
the same connector as :mod:`asyncqlio.backends.sqlite3.aiosqlite`."""
from asyncqlio.backends.sqlite3.aiosqlite import (CONNECTOR_TYPE, Sqlite3Connector,
                                                  Sqlite3ResultSet, Sqlite3Transaction)

__all__ = ["CONNECTOR_TYPE", "Sqlite3Connector", "Sqlite3ResultSet", "Sqlite3Transaction"]
