"""The hot paths: query compilation, row hydration and dirty tracking, and the value
conversions of writes.

Each ``_*_cy.py`` module is one source in Cython's pure-Python mode: ``setup.py`` compiles it
into an extension module; without that build, or with ``ASYNCQLIO_NO_EXTENSIONS=1`` in the
environment, the same file is imported as plain Python. :data:`COMPILED` says which runs.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

_HERE = Path(__file__).parent

DISABLED = bool(os.environ.get("ASYNCQLIO_NO_EXTENSIONS"))


def _load_pure(name: str):
    """Import the .py source even where a compiled module of the same name sits beside it."""
    full = f"{__name__}.{name}"
    spec = importlib.util.spec_from_file_location(full, _HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[full] = module
    spec.loader.exec_module(module)
    return module


def _load(name: str):
    if DISABLED:
        return _load_pure(name)
    return importlib.import_module(f"{__name__}.{name}")


_row = _load("_row_cy")
_compile = _load("_compile_cy")
_convert = _load("_convert_cy")

#: per module: True where the extension module is the one running
MODULES_COMPILED = {m.__name__.rsplit(".", 1)[1]: m._is_compiled()
                    for m in (_row, _compile, _convert)}

#: True when every hot path runs compiled
COMPILED: bool = all(MODULES_COMPILED.values())

__all__ = ["COMPILED", "MODULES_COMPILED", "DISABLED"]
