"""EDGE: one decision at a time per story, across threads and processes.

A poll reads what the story already holds (`known_for`), decides, then writes (`apply`).
Two polls of sources carrying the same posts, run at once, would both read "nothing
known" and both store every post; their schedules then stay in step and the copies never
merge. Holding this lock from the read to the commit makes the second poll see the
first's entries.

    threads of this process    a lock per (database, story), shared by every Store
    processes on PostgreSQL    a session advisory lock keyed by the story
    processes on SQLite        flock() on a DATABASE.decide-HASH.lock file per story,
                               beside the database file
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from aggregator.core.errors import StoreError
from aggregator.store.failures import db_reason

# The first key of the two-key advisory locks taken here (store/story_order.py's is 0x657674).
DECIDING_LOCK = 0x61676A
_guard = threading.Lock()
_locks: dict[tuple[str, str], threading.Lock] = {}


class StoryLocks:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._name = engine.url.render_as_string(hide_password=True)

    @contextmanager
    def deciding(self, story: str) -> Iterator[None]:
        with _guard:
            lock = _locks.setdefault((self._name, story), threading.Lock())
        with lock:
            if self.engine.dialect.name == "postgresql":
                with self._advisory(story):
                    yield
            elif database := self.engine.url.database:
                in_memory = database == ":memory:"
                with _no_lock() if in_memory else _file_lock(_lock_path(database, story)):
                    yield
            else:
                yield

    @contextmanager
    def _advisory(self, story: str) -> Iterator[None]:
        key = func.hashtext(story)
        try:
            connection = self.engine.connect()
            connection.execute(select(func.pg_advisory_lock(DECIDING_LOCK, key)))
            connection.commit()
        except SQLAlchemyError as e:
            raise StoreError(f"cannot lock story {story!r} for deciding: {db_reason(e)}") from e
        try:
            yield
        finally:
            try:
                connection.execute(select(func.pg_advisory_unlock(DECIDING_LOCK, key)))
                connection.commit()
            except SQLAlchemyError:
                connection.invalidate()  # closing the session frees its advisory locks
            finally:
                connection.close()


def _lock_path(database: str, story: str) -> str:
    digest = hashlib.sha256(story.encode("utf-8")).hexdigest()[:16]
    return f"{database}.decide-{digest}.lock"


@contextmanager
def _file_lock(path: str) -> Iterator[None]:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as e:
        raise StoreError(f"cannot open the lock file {path}: {e}") from e
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextmanager
def _no_lock() -> Iterator[None]:
    yield
