"""What SQLAlchemy keeps per database in ``sqlalchemy.dialects``: the INSERT with
``ON CONFLICT`` of PostgreSQL (:mod:`.postgresql`) and SQLite (:mod:`.sqlite`). The
dialect classes themselves live with their drivers in :mod:`asyncqlio.backends`."""
