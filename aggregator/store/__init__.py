"""EDGE: the SQLAlchemy store. SQLite by default, PostgreSQL via postgresql+psycopg://.

schema.py defines the tables; database.py applies the Alembic migrations that migrate.py
lets run now (expand, contract); store.py composes the Store from its named parts (each
over connections.py); roles.py says what each consumer needs of it; notify.py tells
other processes a story changed.
"""

from aggregator.store.database import open_store
from aggregator.store.polls import SourceStatus
from aggregator.store.store import Store

__all__ = ["SourceStatus", "Store", "open_store"]
