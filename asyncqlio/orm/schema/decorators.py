"""Decorators for table classmethods (the original asyncqlio's module)."""
from __future__ import annotations

import functools
from typing import Any, Callable


def enforce_bound(func: Callable[..., Any]) -> Callable[..., Any]:
    """A classmethod of a table class that needs the tables bound to a database: it raises
    :class:`~asyncqlio.exc.UnboundError` (a RuntimeError) before ``db.bind_tables``."""
    @functools.wraps(func)
    def wrapper(cls: Any, *args: Any, **kwargs: Any) -> Any:
        cls.metadata.bind  # raises UnboundError when unbound
        return func(cls, *args, **kwargs)
    return wrapper
