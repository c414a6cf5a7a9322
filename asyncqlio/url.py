"""DSN parsing: ``scheme://user:password@host:port/database?option=value``."""
from __future__ import annotations

import dataclasses
import urllib.parse

from asyncqlio.exc import InvalidDSN

#: scheme -> (database package, driver module) in :mod:`asyncqlio.backends`
SCHEMES = {
    "sqlite": ("sqlite3", "aiosqlite"),
    "sqlite3": ("sqlite3", "aiosqlite"),
    "sqlite+aiosqlite": ("sqlite3", "aiosqlite"),
    "sqlite3+aiosqlite": ("sqlite3", "aiosqlite"),
    "sqlite3+aiosqlite3": ("sqlite3", "aiosqlite"),  # the original asyncqlio's name
    "postgresql": ("postgresql", "asyncpg"),
    "postgres": ("postgresql", "asyncpg"),
    "postgresql+asyncpg": ("postgresql", "asyncpg"),
    "mysql": ("mysql", "asyncmy"),
    "mysql+asyncmy": ("mysql", "asyncmy"),
    "mysql+aiomysql": ("mysql", "aiomysql"),
    "mariadb": ("mysql", "asyncmy"),
    "mariadb+asyncmy": ("mysql", "asyncmy"),
}


@dataclasses.dataclass(frozen=True, repr=False)
class URL:
    """A parsed DSN. ``repr`` and ``str`` mask the password."""

    scheme: str
    #: the driver module (``asyncpg``, ``aiosqlite``)
    backend: str
    username: str | None = None
    password: str | None = None
    host: str | None = None
    port: int | None = None
    database: str | None = None
    options: dict = dataclasses.field(default_factory=dict)

    @property
    def dialect(self) -> str:
        """The database package in :mod:`asyncqlio.backends` (``postgresql``, ``sqlite3``)."""
        return SCHEMES[self.scheme][0]

    def render(self, hide_password: bool = True) -> str:
        auth = ""
        if self.username is not None:
            auth = urllib.parse.quote(self.username, safe="")
            if self.password is not None:
                pw = "***" if hide_password else urllib.parse.quote(self.password, safe="")
                auth += ":" + pw
            auth += "@"
        netloc = auth + self._host
        if self.port is not None:
            netloc += f":{self.port}"
        database = urllib.parse.quote(self.database or "", safe="/:")
        out = f"{self.scheme}://{netloc}/{database}"
        if self.options:
            out += "?" + urllib.parse.urlencode(self.options)
        return out

    @property
    def address(self) -> str:
        """``host:port`` (or the file, for SQLite), for error messages."""
        if self.dialect == "sqlite3":
            return self.database or ":memory:"
        return f"{self._host or 'localhost'}:{self.port or 5432}"

    @property
    def _host(self) -> str:
        """The host as a URL writes it: an IPv6 address in brackets."""
        host = self.host or ""
        return f"[{host}]" if ":" in host else host

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"URL({self.render()!r})"


def parse_dsn(dsn: str | URL) -> URL:
    if isinstance(dsn, URL):
        return dsn
    if not isinstance(dsn, str):
        raise InvalidDSN(f"a DSN must be a string, not {type(dsn).__name__}")
    scheme, sep, rest = dsn.partition("://")
    if not sep:
        raise InvalidDSN("a DSN looks like scheme://user:password@host:port/database")
    scheme = scheme.lower()
    known = SCHEMES.get(scheme)
    if known is None:
        raise InvalidDSN(f"unknown DSN scheme {scheme!r}; known: {', '.join(sorted(SCHEMES))}")
    database, backend = known
    if database == "sqlite3":
        # sqlite:///relative.db, sqlite:////abs/path.db, sqlite:///:memory:, sqlite://
        path, _, query = rest.partition("?")
        if path.startswith("/"):
            path = path[1:]
        options = dict(urllib.parse.parse_qsl(query))
        return URL(scheme, backend, database=urllib.parse.unquote(path) or ":memory:",
                   options=options)
    parts = urllib.parse.urlsplit(dsn)
    try:
        port = parts.port
    except ValueError:
        raise InvalidDSN(f"bad port in DSN for host {parts.hostname!r}") from None
    unq = urllib.parse.unquote
    return URL(
        scheme,
        backend,
        username=unq(parts.username) if parts.username is not None else None,
        password=unq(parts.password) if parts.password is not None else None,
        host=parts.hostname,
        port=port,
        database=unq(parts.path.lstrip("/")) or None,
        options=dict(urllib.parse.parse_qsl(parts.query)),
    )
