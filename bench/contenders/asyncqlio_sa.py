"""asyncqlio through its SQLAlchemy-shaped API: the SQLAlchemy contender's own code, with
``sqlalchemy`` replaced by ``asyncqlio`` in its imports."""
from bench.contenders.sqlalchemy_ import contender, modules

AsyncqlioSQLAlchemyAPI = contender(*modules("asyncqlio"))
