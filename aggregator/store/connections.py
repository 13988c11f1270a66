"""The store's way to the database: an engine, SQLite's write lock, and a connection
to read or to write through. Every part of the Store (store/store.py) and the
subscriptions table read and write here, so that this process's SQLite writers queue on
one lock. (deciding.py's story locks and hosts.py's host gates hold sessions of their own.)

    reading()   a connection that never commits: what runs through it is rolled back
    writing()   one transaction, committed on success; on SQLite, one writer at a time

Database errors leave both as StoreError, with the SQL and its values left out; a
write refused for want of storage (disk full, read-only) is kept as `write_failure`
until a write succeeds, for the health checks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from aggregator.core.errors import StoreError
from aggregator.store.failures import db_reason, is_storage_failure


class Connections:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite takes one writer at a time; threads of this process queue here instead
        # of spinning in SQLite's busy handler, where a long queue ends in "locked".
        self._write_lock: AbstractContextManager[object] = (
            threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
        )
        # Why the last write failed for want of storage (disk full, read-only); None
        # once a write succeeds. Reads may work all the while.
        self.write_failure: str | None = None

    @property
    def is_postgresql(self) -> bool:
        """Whether advisory locks and FOR UPDATE SKIP LOCKED are there to use."""
        return self.engine.dialect.name == "postgresql"

    def ping(self) -> bool:
        try:
            with self.engine.connect() as c:
                c.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def reading(self) -> AbstractContextManager[Connection]:
        """A connection to read through; closing it rolls back whatever it began."""
        return self._open(write=False)

    def writing(self) -> AbstractContextManager[Connection]:
        """A transaction that commits when the block ends without an error."""
        return self._open(write=True)

    @contextmanager
    def _open(self, *, write: bool) -> Iterator[Connection]:
        try:
            if not write:
                with self.engine.connect() as c:
                    yield c
                return
            with self._write_lock, self.engine.begin() as c:
                yield c
            self.write_failure = None
        except SQLAlchemyError as e:
            action = "write to" if write else "read"
            if write and is_storage_failure(e):
                self.write_failure = db_reason(e)
            raise StoreError(f"cannot {action} the store: {db_reason(e)}") from e


class Part:
    """A named part of the Store. It holds no connection of its own: it reads and
    writes through the `connections` every part of one Store shares."""

    def __init__(self, connections: Connections) -> None:
        self.connections = connections
