"""Deprecated: relationships moved to :mod:`asyncqlio.orm.schema.relationship` (their
loading to :mod:`asyncqlio.orm.loading`)."""
import warnings

from asyncqlio.orm.schema.relationship import RelatedList, Relationship  # noqa: F401

warnings.warn("asyncqlio.orm.relationships moved to asyncqlio.orm.schema.relationship",
              DeprecationWarning, stacklevel=2)
