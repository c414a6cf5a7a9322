"""One module per driver; each exposes ``Connector`` (opens connections) and ``DIALECT``."""
from __future__ import annotations

import importlib
from types import ModuleType


def load(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{name}")
