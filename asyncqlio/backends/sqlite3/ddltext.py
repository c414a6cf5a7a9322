"""SQLite DDL text: a table's CREATE TABLE read back from ``sqlite_master``, edited and
written again, and the few facts of SQLite's grammar the schema code needs (how a DEFAULT is
written, a declared type's affinity).

A rebuild works from the table's own SQL rather than from what the PRAGMAs report, so that
what they do not report survives it: CHECK constraints, COLLATE, AUTOINCREMENT, conflict
clauses, generated columns, constraint names and WITHOUT ROWID / STRICT.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Callable

from asyncqlio._speedups._compile_cy import quote
from asyncqlio.exc import SchemaError
from asyncqlio.backends.reflection import ForeignKeyInfo

_SQLITE_TOKEN = re.compile(r"""
    (?P<space>\s+|--[^\n]*|/\*.*?(?:\*/|\Z))
  | (?P<string>'(?:[^']|'')*')
  | (?P<blob>[xX]'[0-9a-fA-F]*')
  | (?P<ident>"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\])
  | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<word>[^\W\d][\w$]*)
  | (?P<op>\|\||->>|->|<<|>>|<=|>=|==|!=|<>|[^\s\w])
""", re.X | re.S)

#: words that begin a column constraint, and so end a column's type
_COLUMN_CLAUSES = {"CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT",
                   "COLLATE", "REFERENCES", "GENERATED", "AS"}
_TABLE_CLAUSES = {"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"}
#: words of an expression that are never column names
_EXPR_WORDS = {"AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "GLOB", "REGEXP", "MATCH",
               "BETWEEN", "CASE", "WHEN", "THEN", "ELSE", "END", "CAST", "AS", "COLLATE",
               "ESCAPE", "EXISTS", "SELECT", "FROM", "WHERE", "TRUE", "FALSE", "DISTINCT",
               "CURRENT_DATE", "CURRENT_TIME", "CURRENT_TIMESTAMP", "ASC", "DESC", "NOCASE",
               "RTRIM", "BINARY", "ISNULL", "NOTNULL"}


@dataclasses.dataclass
class _Tok:
    kind: str
    text: str
    start: int
    end: int

    @property
    def word(self) -> str:
        return self.text.upper() if self.kind == "word" else ""

    @property
    def value(self) -> str:
        """The identifier (or string) without its quotes."""
        if self.kind == "ident":
            q = self.text[0]
            inner = self.text[1:-1]
            return inner if q == "[" else inner.replace(q + q, q)
        if self.kind == "string":
            return self.text[1:-1].replace("''", "'")
        return self.text


def _sqlite_tokens(sql: str) -> list[_Tok]:
    return [_Tok(m.lastgroup, m.group(), m.start(), m.end())
            for m in _SQLITE_TOKEN.finditer(sql) if m.lastgroup != "space"]


class _Cursor:
    """Reads tokens of one definition; ``what`` names it in errors."""

    def __init__(self, toks: list[_Tok], sql: str, what: str) -> None:
        self.toks, self.sql, self.what, self.i = toks, sql, what, 0

    def peek(self, k: int = 0) -> _Tok | None:
        return self.toks[self.i + k] if self.i + k < len(self.toks) else None

    def word(self, k: int = 0) -> str:
        tok = self.peek(k)
        return tok.word if tok is not None else ""

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise SchemaError(f"cannot read {self.what}: it ends too early")
        self.i += 1
        return tok

    def accept(self, *words: str) -> bool:
        if all(self.word(k) == w for k, w in enumerate(words)):
            self.i += len(words)
            return True
        return False

    def group(self) -> list[_Tok]:
        """The tokens inside the parenthesized group that starts here."""
        if self.take().text != "(":
            raise SchemaError(f"cannot read {self.what}: '(' expected")
        start, depth = self.i, 1
        while depth:
            tok = self.take()
            depth += {"(": 1, ")": -1}.get(tok.text, 0)
        return self.toks[start:self.i - 1]

    @property
    def end(self) -> int:
        return self.toks[self.i - 1].end


def _split(toks: list[_Tok]) -> list[list[_Tok]]:
    """Tokens split at the commas outside parentheses."""
    parts: list[list[_Tok]] = [[]]
    depth = 0
    for tok in toks:
        if tok.text == "," and depth == 0:
            parts.append([])
            continue
        depth += {"(": 1, ")": -1}.get(tok.text, 0)
        parts[-1].append(tok)
    return parts if parts != [[]] else []


def _names_used(toks: list[_Tok]) -> set[str]:
    """The (lower-cased) names an expression may use as columns: quoted identifiers, and bare
    words that are neither keywords nor function names."""
    names = set()
    for i, tok in enumerate(toks):
        following = toks[i + 1].text if i + 1 < len(toks) else ""
        if tok.kind == "ident" or (tok.kind == "word" and tok.word not in _EXPR_WORDS
                                   and following != "("):
            names.add(tok.value.lower())
    return names


def _conflict(cur: _Cursor) -> None:
    if cur.accept("ON", "CONFLICT"):
        cur.take()


def _column_list(toks: list[_Tok]) -> list[str]:
    return [part[0].value for part in _split(toks) if part]


def _references(cur: _Cursor, columns: list[str], name: str | None) -> ForeignKeyInfo:
    """The foreign key clause after REFERENCES (SQLite's grammar, deferrability included)."""
    target = cur.take().value
    target_columns = _column_list(cur.group()) if (cur.peek() and cur.peek().text == "(") \
        else []
    fk = ForeignKeyInfo(name, list(columns), target, target_columns)
    while True:
        if cur.accept("ON"):
            event = cur.take().word
            for action in (("SET", "NULL"), ("SET", "DEFAULT"), ("CASCADE",), ("RESTRICT",),
                           ("NO", "ACTION")):
                if cur.accept(*action):
                    value = " ".join(action)
                    break
            else:
                raise SchemaError(f"cannot read {cur.what}: unknown ON {event} action")
            value = None if value == "NO ACTION" else value
            if event == "DELETE":
                fk.on_delete = value
            else:
                fk.on_update = value
        elif cur.accept("MATCH"):
            cur.take()
        elif cur.accept("NOT", "DEFERRABLE") or cur.accept("DEFERRABLE"):
            if cur.accept("INITIALLY"):
                cur.take()
        else:
            return fk


@dataclasses.dataclass
class SQLiteClause:
    """One constraint of a column, as written (with its ``CONSTRAINT name``)."""

    kind: str  # primary key, not null, null, unique, check, default, collate, references, generated
    text: str
    name: str | None = None
    #: what it says: the collation, the default's SQL, ``AUTOINCREMENT`` on a primary key
    value: str | None = None
    #: the names a CHECK or generated column's expression uses (lower case)
    uses: set[str] = dataclasses.field(default_factory=set)
    foreign_key: ForeignKeyInfo | None = None


@dataclasses.dataclass
class SQLiteColumn:
    name: str
    type: str
    clauses: list[SQLiteClause]

    @property
    def generated(self) -> bool:
        return any(c.kind == "generated" for c in self.clauses)

    def clause(self, kind: str) -> SQLiteClause | None:
        return next((c for c in self.clauses if c.kind == kind), None)

    def render(self) -> str:
        return " ".join([quote(self.name)] + ([self.type] if self.type else [])
                        + [c.text for c in self.clauses])


@dataclasses.dataclass
class SQLiteConstraint:
    """A table constraint: kept as written, with the columns it names for edits."""

    kind: str  # primary key, unique, check, foreign key
    text: str
    name: str | None
    columns: list[str]
    uses: set[str] = dataclasses.field(default_factory=set)
    foreign_key: ForeignKeyInfo | None = None


def _parse_column(cur: _Cursor) -> SQLiteColumn:
    name = cur.take().value
    cur.what = f"column {name!r} of {cur.what}"
    start = cur.i
    while cur.peek() is not None and cur.word() not in _COLUMN_CLAUSES:
        if cur.peek().text == "(":
            cur.group()
        else:
            cur.take()
    type_sql = cur.sql[cur.toks[start].start:cur.end] if cur.i > start else ""
    clauses = []
    while cur.peek() is not None:
        begin = cur.peek().start
        cname = cur.take().value if cur.accept("CONSTRAINT") else None
        value, uses, fk = None, set(), None
        if cur.accept("PRIMARY", "KEY"):
            kind = "primary key"
            if not cur.accept("ASC"):
                cur.accept("DESC")
            _conflict(cur)
            value = "AUTOINCREMENT" if cur.accept("AUTOINCREMENT") else None
        elif cur.accept("NOT", "NULL"):
            kind = "not null"
            _conflict(cur)
        elif cur.accept("NULL"):
            kind = "null"
            _conflict(cur)
        elif cur.accept("UNIQUE"):
            kind = "unique"
            _conflict(cur)
        elif cur.accept("CHECK"):
            kind, uses = "check", _names_used(cur.group())
        elif cur.accept("DEFAULT"):
            kind, at = "default", cur.i
            if cur.peek() is not None and cur.peek().text == "(":
                cur.group()
            else:
                if cur.peek() is not None and cur.peek().text in "+-":
                    cur.take()
                cur.take()
            value = cur.sql[cur.toks[at].start:cur.end]
        elif cur.accept("COLLATE"):
            kind, value = "collate", cur.take().value
        elif cur.accept("REFERENCES"):
            kind, fk = "references", _references(cur, [name], cname)
        elif cur.accept("GENERATED", "ALWAYS", "AS") or cur.accept("AS"):
            kind, uses = "generated", _names_used(cur.group())
            if not cur.accept("STORED"):
                cur.accept("VIRTUAL")
        else:
            raise SchemaError(f"cannot read {cur.what}: unexpected {cur.peek().text!r}")
        clauses.append(SQLiteClause(kind, cur.sql[begin:cur.end], cname, value, uses, fk))
    return SQLiteColumn(name, type_sql, clauses)


def _parse_constraint(cur: _Cursor) -> SQLiteConstraint:
    begin = cur.peek().start
    name = cur.take().value if cur.accept("CONSTRAINT") else None
    columns: list[str] = []
    uses: set[str] = set()
    fk = None
    if cur.accept("PRIMARY", "KEY"):
        kind, columns = "primary key", _column_list(cur.group())
    elif cur.accept("UNIQUE"):
        kind, columns = "unique", _column_list(cur.group())
    elif cur.accept("CHECK"):
        kind, uses = "check", _names_used(cur.group())
    elif cur.accept("FOREIGN", "KEY"):
        kind, columns = "foreign key", _column_list(cur.group())
        if not cur.accept("REFERENCES"):
            raise SchemaError(f"cannot read {cur.what}: REFERENCES expected")
        fk = _references(cur, columns, name)
    else:
        raise SchemaError(f"cannot read {cur.what}: unexpected {cur.peek().text!r}")
    while cur.peek() is not None:  # ON CONFLICT and whatever SQLite accepts after
        cur.take()
    return SQLiteConstraint(kind, cur.sql[begin:cur.end], name, columns, uses, fk)


@dataclasses.dataclass
class SQLiteTable:
    """A SQLite table's CREATE TABLE statement, parsed far enough to change it: the columns
    (name, type, each constraint as written) and the table constraints (as written)."""

    name: str
    columns: list[SQLiteColumn]
    constraints: list[SQLiteConstraint]
    #: what follows the column list: ``WITHOUT ROWID``, ``STRICT``
    options: str = ""

    @classmethod
    def parse(cls, sql: str) -> "SQLiteTable":
        toks = _sqlite_tokens(sql)
        opening = next((i for i, t in enumerate(toks) if t.text == "("), None)
        if any(t.word == "VIRTUAL" for t in toks[:opening]):
            raise NotImplementedError("a virtual table cannot be rebuilt")
        if opening is None or opening == 0:
            raise SchemaError(f"not a CREATE TABLE statement: {sql[:60]!r}")
        name = toks[opening - 1].value
        cur = _Cursor(toks, sql, f"table {name!r}")
        cur.i = opening
        body = cur.group()
        columns, constraints = [], []
        for part in _split(body):
            item = _Cursor(part, sql, f"table {name!r}")
            if part[0].word in _TABLE_CLAUSES:
                constraints.append(_parse_constraint(item))
            else:
                columns.append(_parse_column(item))
        return cls(name, columns, constraints, sql[cur.end:].strip().rstrip(";").strip())

    @staticmethod
    def parse_column(definition: str) -> SQLiteColumn:
        """A column definition (as :func:`column_definition` writes one)."""
        return _parse_column(_Cursor(_sqlite_tokens(definition), definition, "a new column"))

    @staticmethod
    def parse_constraint(definition: str) -> SQLiteConstraint:
        return _parse_constraint(_Cursor(_sqlite_tokens(definition), definition,
                                         "a new constraint"))

    def render(self, name: str) -> str:
        lines = [c.render() for c in self.columns] + [k.text for k in self.constraints]
        options = f" {self.options}" if self.options else ""
        return f"CREATE TABLE {quote(name)} (\n    " + ",\n    ".join(lines) + f"\n){options}"

    # --- reading
    def column(self, name: str) -> SQLiteColumn:
        for c in self.columns:
            if c.name.lower() == name.lower():
                return c
        raise SchemaError(f"table {self.name!r} has no column {name!r}")

    @property
    def autoincrement(self) -> bool:
        return any(k.kind == "primary key" and k.value == "AUTOINCREMENT"
                   for c in self.columns for k in c.clauses)

    @property
    def foreign_keys(self) -> list[ForeignKeyInfo]:
        return ([k.foreign_key for c in self.columns for k in c.clauses if k.foreign_key]
                + [k.foreign_key for k in self.constraints if k.foreign_key])

    def uses(self, column: str) -> bool:
        """Whether anything but the column's own definition names ``column``."""
        key = column.lower()
        return (any(key in (n.lower() for n in k.columns) or key in k.uses
                    for k in self.constraints)
                or any(key in k.uses for c in self.columns if c.name.lower() != key
                       for k in c.clauses))

    # --- editing
    def drop_column(self, name: str) -> None:
        """The column goes, with the constraints that name it (as PostgreSQL's DROP COLUMN
        drops them); a primary key or generated column using it is refused."""
        column, key = self.column(name), name.lower()
        for k in self.constraints:
            if k.kind == "primary key" and key in (n.lower() for n in k.columns):
                raise SchemaError(f"cannot drop {name!r}: it is in the primary key of "
                                  f"{self.name!r}")
        for c in self.columns:
            if c is not column and c.generated and key in c.clause("generated").uses:
                raise SchemaError(f"cannot drop {name!r}: the generated column {c.name!r} "
                                  "is computed from it")
        self.columns.remove(column)
        for c in self.columns:
            c.clauses = [k for k in c.clauses if not (k.kind == "check" and key in k.uses)]
        self.constraints = [k for k in self.constraints
                            if key not in (n.lower() for n in k.columns) and key not in k.uses]

    def set_type(self, name: str, sql_type: str) -> None:
        self.column(name).type = sql_type

    def set_nullable(self, name: str, nullable: bool) -> None:
        column = self.column(name)
        column.clauses = [k for k in column.clauses if k.kind not in ("not null", "null")]
        if not nullable:
            column.clauses.append(SQLiteClause("not null", "NOT NULL"))

    def set_default(self, name: str, default: str | None) -> None:
        column = self.column(name)
        column.clauses = [k for k in column.clauses if k.kind != "default"]
        if default is not None:
            value = sqlite_default(default)
            column.clauses.append(SQLiteClause("default", f"DEFAULT {value}", value=value))

    def drop_foreign_keys(self, matches: Callable[[ForeignKeyInfo], bool]) -> int:
        """Drop the foreign keys ``matches`` accepts; how many there were."""
        before = len(self.foreign_keys)
        for c in self.columns:
            c.clauses = [k for k in c.clauses if not (k.foreign_key and matches(k.foreign_key))]
        self.constraints = [k for k in self.constraints
                            if not (k.foreign_key and matches(k.foreign_key))]
        return before - len(self.foreign_keys)


def sqlite_names_used(sql: str) -> set[str]:
    """Every name a statement may use as a table or column (lower case)."""
    return _names_used(_sqlite_tokens(sql))


def sqlite_index_uses(sql: str) -> set[str]:
    """The names an index's columns and WHERE clause use (lower case)."""
    toks = _sqlite_tokens(sql)
    on = next((i for i, t in enumerate(toks) if t.word == "ON"), len(toks))
    return _names_used(toks[on + 2:])


def sqlite_normal(sql: str) -> str:
    """SQL text with its spacing and the case of its keywords made uniform, so that two
    spellings of one default compare equal."""
    return " ".join(t.word or t.text for t in _sqlite_tokens(sql))


def sqlite_default(sql: str) -> str:
    """A default as SQLite's DEFAULT takes it: a literal, a signed number or a parenthesized
    expression; any other expression (``1 + 1``, ``datetime('now')``) is parenthesized."""
    toks = _sqlite_tokens(sql)
    if toks and toks[0].text in "+-" and len(toks) == 2 and toks[1].kind == "number":
        return sql
    if len(toks) == 1 and toks[0].kind != "op":
        return sql
    if toks and toks[0].text == "(":
        cur = _Cursor(toks, sql, "a default")
        cur.group()
        if cur.peek() is None:
            return sql
    return f"({sql})"


def sqlite_affinity(sql_type: str) -> str:
    """The type affinity SQLite gives a declared type (its documented rules, in order)."""
    name = sql_type.upper()
    if "INT" in name:
        return "INTEGER"
    if "CHAR" in name or "CLOB" in name or "TEXT" in name:
        return "TEXT"
    if "BLOB" in name or not name.strip():
        return "BLOB"
    if "REAL" in name or "FLOA" in name or "DOUB" in name:
        return "REAL"
    return "NUMERIC"
