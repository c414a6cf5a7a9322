"""The migrations folder: finding, loading and writing the numbered migration files."""
from __future__ import annotations

import dataclasses
import datetime
import importlib.util
import re
from pathlib import Path
from types import ModuleType

from asyncqlio.exc import ArgumentError

_FILE = re.compile(r"^(\d+)_([0-9A-Za-z_]*)\.py$")

TEMPLATE = '''"""{message}

Migration {revision}, written {date}. ``sess`` is a DDL session
(``asyncqlio.orm.ddl_session.DDLSession``): everything in one function is one transaction.
"""
from asyncqlio import (JSON, UUID, BigInt, BigSerial, Boolean, Bytea, Column, Date, ForeignKey,
                       Integer, Interval, Numeric, Real, Serial, SmallInt, SmallSerial, String,
                       Text, Time, Timestamp)

revision = {revision!r}
down_revision = {down_revision!r}
message = {message_literal}


async def upgrade(sess):
{upgrade}


async def downgrade(sess):
{downgrade}
'''


@dataclasses.dataclass
class Migration:
    """One migration file."""

    revision: str
    name: str
    path: Path
    _module: ModuleType | None = None

    @property
    def module(self) -> ModuleType:
        """The file, imported on first use (so ``status`` never runs migration code)."""
        if self._module is None:
            spec = importlib.util.spec_from_file_location(
                f"asyncqlio_migration_{self.revision}", self.path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            for fn in ("upgrade", "downgrade"):
                if not callable(getattr(module, fn, None)):
                    raise ArgumentError(f"migration {self.path.name} has no {fn}(sess)")
            self._module = module
        return self._module

    @property
    def label(self) -> str:
        return f"{self.revision} {self.name.replace('_', ' ')}"


class ScriptDirectory:
    """The migrations folder (``./migrations`` by default)."""

    def __init__(self, path: str | Path = "migrations") -> None:
        self.path = Path(path)

    def init(self) -> bool:
        """Create the folder; False if it existed already."""
        if self.path.is_dir():
            return False
        self.path.mkdir(parents=True)
        (self.path / "README").write_text(
            "asyncqlio migrations: NNNN_name.py files, applied in number order by "
            "`asyncqlio migrate up`.\n")
        return True

    def migrations(self) -> list[Migration]:
        """Every migration file, in order; two files with one number are refused."""
        if not self.path.is_dir():
            raise ArgumentError(f"no migrations folder at {self.path}; run "
                                "`asyncqlio migrate init` first")
        found: dict[int, Migration] = {}
        for file in self.path.iterdir():
            m = _FILE.match(file.name)
            if not m:
                if file.suffix == ".py" and file.name[:1].isdigit():
                    # left out silently, it would never run: say so
                    raise ArgumentError(f"{file} is not a migration name: NNNN_words.py, "
                                        "with letters, digits and _ only")
                continue
            number = int(m.group(1))
            if number in found:
                raise ArgumentError(f"two migrations numbered {number}: "
                                    f"{found[number].path.name} and {file.name}")
            found[number] = Migration(m.group(1), m.group(2), file)
        return [found[n] for n in sorted(found)]

    def write(self, message: str, upgrade: str = "    pass", downgrade: str = "    pass") -> Path:
        """A new migration file after the last one; its path."""
        existing = self.migrations()
        last = existing[-1] if existing else None
        revision = f"{(int(last.revision) if last else 0) + 1:04d}"
        slug = re.sub(r"[^0-9a-z]+", "_", message.lower()).strip("_")[:40] or "migration"
        path = self.path / f"{revision}_{slug}.py"
        path.write_text(TEMPLATE.format(
            message=message.replace("\\", "\\\\").replace('"""', "'''"),
            message_literal=repr(message),
            revision=revision, down_revision=last.revision if last else None,
            date=datetime.date.today().isoformat(), upgrade=upgrade, downgrade=downgrade))
        return path
