"""Extensions, as SQLAlchemy has them: :mod:`asyncqlio.ext.asyncio` is the API of
``sqlalchemy.ext.asyncio`` over asyncqlio's engine and sessions."""
