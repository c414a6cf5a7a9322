"""``text("SELECT * FROM users WHERE id = :id")``: SQL written by hand with SQLAlchemy's
``:name`` parameters, run by ``session.execute(stmt, {"id": 5})`` (a list of mappings runs
it once per mapping) or by a connection's ``execute``. The values are always bound
parameters: the names are turned into the driver's placeholders, never into text."""
from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from asyncqlio.exc import ArgumentError
from asyncqlio.orm.results import Result, typed_rows

#: ``:name``, not ``::type`` (a PostgreSQL cast) nor ``\:`` (an escaped colon), as
#: SQLAlchemy reads them; ``\:`` is also matched, to be written as a plain ``:``
_BIND = re.compile(r"(?<![:\w\\]):(\w+)(?!:)|\\:")


class TextClause:
    """A statement of SQL text. ``bindparams(name=value)`` fixes parameter values (a new
    clause); ``columns(User.id, User.name)`` or ``columns(id=Integer)`` names the result's
    columns and gives them types, so their values load as those columns' do."""

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise ArgumentError(f"text() takes SQL as a string, not {text!r}")
        self.text = text
        #: parameter names in order of appearance (a name may repeat)
        self._names: list[str] = []
        parts: list[str] = []
        pos = 0
        for m in _BIND.finditer(text):
            parts.append(text[pos:m.start()])
            if m.group(1) is None:
                parts.append(":")
            else:
                parts.append(None)  # type: ignore[arg-type]  # a placeholder
                self._names.append(m.group(1))
            pos = m.end()
        parts.append(text[pos:])
        self._parts = parts
        self._known = frozenset(self._names)
        self._values: dict[str, Any] = {}
        #: ``columns()``: (key, type or None) per result column
        self._columns: list[tuple[str, Any]] | None = None
        #: compiled SQL per (dialect name, numeric): placeholders in the driver's style
        self._sql: dict[tuple[str, bool], tuple[str, list[str]]] = {}

    def __repr__(self) -> str:
        return f"<TextClause {self.text!r}>"

    def __str__(self) -> str:
        return self.text

    def _copy(self) -> "TextClause":
        new = object.__new__(TextClause)
        new.__dict__.update(self.__dict__)
        new._values = dict(self._values)
        return new

    def bindparams(self, **values: Any) -> "TextClause":
        self._check_names(values)
        new = self._copy()
        new._values.update(values)
        return new

    def columns(self, *columns: Any, **types: Any) -> "TextClause":
        cols: list[tuple[str, Any]] = []
        for c in columns:
            key = getattr(c, "attr_name", None) or getattr(c, "name", None)
            if not isinstance(key, str):
                raise ArgumentError(f"columns() takes columns or name=type, not {c!r}")
            cols.append((key, getattr(c, "type", None)))
        for key, typ in types.items():
            cols.append((key, typ() if isinstance(typ, type) else typ))
        new = self._copy()
        new._columns = cols
        return new

    def _execute_on_connection(self, conn: Any, params: Any = None) -> Any:
        """``conn.execute(text(...), params)`` on a connection below the session."""
        driver = conn.connection

        def run(method: str, *args: Any) -> Any:
            return getattr(driver, method)(*args)

        return self._run(run, conn.db.dialect, params)

    def _bind_to(self, session: Any, params: Any = None) -> "_BoundText":
        return _BoundText(self, session, params)

    def compile(self, dialect: Any) -> tuple[str, list[str]]:
        """``(sql, parameter names in placeholder order)`` for ``dialect``."""
        key = (dialect.name, dialect.numeric)
        try:
            return self._sql[key]
        except KeyError:
            pass
        out: list[str] = []
        order: list[str] = []
        numbers: dict[str, int] = {}
        names = iter(self._names)
        for part in self._parts:
            if part is not None:
                out.append(part)
                continue
            name = next(names)
            if dialect.numeric:
                if name not in numbers:
                    order.append(name)
                    numbers[name] = len(order)
                out.append(f"${numbers[name]}")
            else:
                order.append(name)
                out.append("?")
        compiled = self._sql[key] = ("".join(out), order)
        return compiled

    def _check_names(self, given: Any) -> None:
        """A value for a name this text does not have is an error, never ignored."""
        if not self._known.issuperset(given):
            unknown = next(k for k in given if k not in self._known)
            raise ArgumentError(f"{self.text!r} has no parameter :{unknown} (its parameters: "
                                f"{', '.join(dict.fromkeys(self._names)) or 'none'})")

    def _args(self, order: list[str], params: Mapping[str, Any] | None) -> list[Any]:
        if params:
            self._check_names(params)
        values = self._values if not params else {**self._values, **params}
        try:
            return [values[name] for name in order]
        except KeyError as e:
            raise ArgumentError(f"no value given for the parameter :{e.args[0]} of "
                                f"{self.text!r}") from None

    async def _run(self, run: Any, dialect: Any, params: Any) -> Result:
        """Run through ``run(method, sql, args)``, which calls that method of the driver
        connection (a session's, in its transaction, or a connection's)."""
        sql, order = self.compile(dialect)
        if isinstance(params, Sequence) and not isinstance(params, (str, bytes)) and params \
                and all(isinstance(p, Mapping) for p in params):
            count = await run("executemany", sql, [self._args(order, p) for p in params])
            return Result([], [], count, returns_rows=False)
        if params is not None and not isinstance(params, Mapping):
            raise ArgumentError("parameters of text() are a mapping of names to values, or "
                                f"a list of mappings; got {params!r}")
        names, records, count = await run("run", sql, self._args(order, params))
        if names is None:
            return Result([], [], count, returns_rows=False)
        return self._result(names, records, dialect.name)

    def _result(self, names: list[str], records: list, dialect: str) -> Result:
        types: list = [None] * len(names)
        if self._columns is not None:
            if len(self._columns) == len(names):
                names = [key for key, _ in self._columns]
            for i, (_, typ) in enumerate(self._columns[:len(names)]):
                types[i] = typ
        return Result(typed_rows(dialect, tuple(names), types, records), names)


class _BoundText:
    """A text clause with its parameters, in the session that runs it."""

    __slots__ = ("clause", "session", "params")

    def __init__(self, clause: TextClause, session: Any, params: Any) -> None:
        self.clause = clause
        self.session = session
        self.params = params

    def _result(self) -> Any:
        sess = self.session
        return self.clause._run(sess._run, sess.dialect, self.params)


def text(sql: str) -> TextClause:
    return TextClause(sql)


__all__ = ["TextClause", "text"]
