"""Deprecated: the column types moved to :mod:`asyncqlio.orm.schema.types`."""
import warnings

from asyncqlio.orm.schema.types import *  # noqa: F401,F403
from asyncqlio.orm.schema.types import POSTGRESQL, SQLITE, ColumnType  # noqa: F401

warnings.warn("asyncqlio.orm.types moved to asyncqlio.orm.schema.types", DeprecationWarning,
              stacklevel=2)
