"""Deprecated: the driver module moved to :mod:`asyncqlio.backends.sqlite3.aiosqlite`."""
import warnings

from asyncqlio.backends.sqlite3.aiosqlite import *  # noqa: F401,F403
from asyncqlio.backends.sqlite3.aiosqlite import DIALECT, CONNECTOR_TYPE  # noqa: F401

Connector = CONNECTOR_TYPE

warnings.warn("asyncqlio.backends.aiosqlite moved to asyncqlio.backends.sqlite3.aiosqlite", DeprecationWarning,
              stacklevel=2)
