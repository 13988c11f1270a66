"""EDGE: the SQLAlchemy store. SQLite by default, PostgreSQL via postgresql+psycopg://.

schema.py defines the tables, migrate.py applies the Alembic migrations, repository.py
writes a poll's outcome in one transaction, views.py reads what publish renders.
"""

from aggregator.store.database import open_store
from aggregator.store.repository import SourceStatus, Store

__all__ = ["SourceStatus", "Store", "open_store"]
