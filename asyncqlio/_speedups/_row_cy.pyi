from typing import Any, Callable, Iterable, Sequence

class _NoValue: ...

NO_VALUE: _NoValue
TRANSIENT: int
PENDING: int
PERSISTENT: int
DELETED: int
DETACHED: int

def _is_compiled() -> bool: ...

class RowBase:
    _values: Sequence[Any]
    _history: dict[int, Any] | None
    _session: Any
    _state: int
    def __init__(self, **values: Any) -> None: ...

class ColumnAttr:
    index: int
    column: Any
    on_set: Callable[[Any], Any] | None
    fast_type: type | None
    naive: bool
    def __init__(self, column: Any, index: int, on_set: Callable[[Any], Any] | None = ...,
                 fast_type: type | None = ..., naive: bool = ...) -> None: ...
    def __get__(self, obj: Any, owner: type) -> Any: ...
    def __set__(self, obj: Any, value: Any) -> None: ...

def init_row(obj: RowBase, ncolumns: int, defaults: tuple[tuple[str, ColumnAttr, Any, bool], ...],
             attrs: dict[str, ColumnAttr], kwargs: dict[str, Any]) -> None: ...

Loaders = tuple[tuple[int, Callable[[Any], Any]], ...]

def load_values(record: Sequence[Any], loaders: Loaders) -> Sequence[Any]: ...
def hydrate(cls: type, rows: Iterable[Sequence[Any]], loaders: Loaders, session: Any) -> list[Any]: ...
def load_into(obj: RowBase, record: Sequence[Any], loaders: Loaders, session: Any) -> None: ...

Group = tuple[type, tuple[int, ...], list[Any]]
Proc = Callable[[Any], Any] | None

def group_by_columns(rows: Iterable[RowBase]) -> list[Group]: ...
def group_by_changes(rows: Iterable[RowBase]) -> list[Group]: ...
def write_params(rows: Iterable[RowBase], indexes: tuple[int, ...], procs: tuple[Proc, ...],
                 key_indexes: tuple[int, ...]) -> list[list[Any]]: ...
def mark_written(rows: Iterable[RowBase], session: Any) -> None: ...
def fill_generated(rows: Iterable[RowBase], records: Iterable[Sequence[Any]],
                   indexes: tuple[int, ...], loaders: tuple[Proc, ...]) -> None: ...
