"""Deprecated: the driver module moved to :mod:`asyncqlio.backends.postgresql.asyncpg`."""
import warnings

from asyncqlio.backends.postgresql.asyncpg import *  # noqa: F401,F403
from asyncqlio.backends.postgresql.asyncpg import DIALECT, CONNECTOR_TYPE  # noqa: F401

Connector = CONNECTOR_TYPE

warnings.warn("asyncqlio.backends.asyncpg moved to asyncqlio.backends.postgresql.asyncpg", DeprecationWarning,
              stacklevel=2)
