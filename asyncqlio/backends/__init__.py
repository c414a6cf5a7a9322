"""Database backends: one package per database (:mod:`.postgresql`, :mod:`.sqlite3`,
:mod:`.mysql`) holding its dialect class, and in it one module per driver
(``postgresql/asyncpg.py``, ``sqlite3/aiosqlite.py``), each defining ``CONNECTOR_TYPE``, a
:class:`~asyncqlio.backends.base.BaseConnector`. The shared parts are :mod:`.base` (the
original asyncqlio's classes) and :mod:`.connection` (the connection wrapper)."""
from __future__ import annotations

import importlib
from types import ModuleType

#: database packages whose driver modules are not built yet
_NOT_BUILT = {"mysql": "the MySQL/MariaDB backend (asyncmy, aiomysql)"}


def load(database: str, driver: str | None = None) -> ModuleType:
    """The driver module for a database package (its ``DEFAULT_CONNECTOR`` when ``driver``
    is None)."""
    package = importlib.import_module(f"{__name__}.{database}")
    if database in _NOT_BUILT:
        raise NotImplementedError(f"{_NOT_BUILT[database]} is not built yet")
    return importlib.import_module(f"{package.__name__}.{driver or package.DEFAULT_CONNECTOR}")
