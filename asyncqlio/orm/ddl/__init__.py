"""Schema changes: the DDL session (:mod:`.ddlsession`), the DDL text it writes
(:mod:`.statements`) and the original asyncqlio's migration tool (:mod:`.migration_tool`).

Names that asyncqlio 0.2 had in a module ``asyncqlio.orm.ddl`` are still found here, with a
DeprecationWarning naming their new home.
"""
from __future__ import annotations

import importlib
import warnings
from typing import Any

_MOVED = {
    "column_definition": "asyncqlio.orm.schema.column",
    "index_sql": "asyncqlio.orm.schema.index",
    "drop_table": "asyncqlio.orm.ddl.statements",
    "foreign_key_sql": "asyncqlio.orm.ddl.statements",
    **{name: "asyncqlio.backends.sqlite3.ddltext"
       for name in ("SQLiteTable", "SQLiteColumn", "SQLiteClause", "SQLiteConstraint",
                    "sqlite_names_used", "sqlite_index_uses", "sqlite_normal",
                    "sqlite_default", "sqlite_affinity")},
}


def __getattr__(name: str) -> Any:
    home = _MOVED.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(f"asyncqlio.orm.ddl.{name} moved to {home}.{name}", DeprecationWarning,
                  stacklevel=2)
    return getattr(importlib.import_module(home), name)
