"""Deprecated: the DDL session moved to :mod:`asyncqlio.orm.ddl.ddlsession`."""
import warnings

from asyncqlio.orm.ddl.ddlsession import KEEP, DDLSession  # noqa: F401

warnings.warn("asyncqlio.orm.ddl_session moved to asyncqlio.orm.ddl.ddlsession",
              DeprecationWarning, stacklevel=2)
