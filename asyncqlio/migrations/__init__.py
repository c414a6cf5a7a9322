"""Schema migrations: numbered Python files with ``async upgrade(sess)`` and
``async downgrade(sess)`` taking a DDL session, applied in order, each in its own transaction,
with the applied versions recorded in the ``asyncqlio_migrations`` table.

Run them with ``asyncqlio migrate ...`` (or ``python -m asyncqlio migrate ...``), or from
Python with :class:`Migrator`.
"""
from asyncqlio.migrations.autogen import autogenerate
from asyncqlio.migrations.runner import MigrationError, Migrator
from asyncqlio.migrations.scripts import Migration, ScriptDirectory

__all__ = ["Migration", "MigrationError", "Migrator", "ScriptDirectory", "autogenerate"]
