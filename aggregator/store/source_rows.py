"""Source-row updates from many polling threads, committed together.

A poll that brought nothing to store (a 304, an unchanged body or file) still writes its
source's row: the validators, the next poll, its lease ended. Written one transaction
each, those rows cost more than the polls themselves. Here a thread hands its row over
and waits while one thread at a time commits everything handed over so far, in one
transaction (flat combining): a thread that queued behind a commit usually finds its
row already in it. Each `write` returns only once its row is committed, or raises what
its own commit raised (a batch the database refuses is retried row by row, so one bad
row fails its own poll only), and a crash leaves every uncommitted source as it was.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, update

from aggregator.core.errors import StoreError
from aggregator.store.connections import Connections
from aggregator.store.schema import sources

_NAME = "row_name"  # not a column's name: update() keeps those for the SET clause
# The SET clause is each row's other keys; rows are grouped by them (executemany).
_UPDATE = update(sources).where(sources.c.name == bindparam(_NAME))


@dataclass
class _Handed:
    values: dict[str, Any]
    written: bool = False
    error: Exception | None = None


class SourceRows:
    def __init__(self, connections: Connections) -> None:
        self.connections = connections
        self._queue: list[_Handed] = []
        self._queue_lock = threading.Lock()
        self._commit_lock = threading.Lock()

    def write(self, name: str, values: dict[str, Any]) -> None:
        """Set `values` on the source row `name`, committed by the time this returns."""
        mine = _Handed({_NAME: name, **values})
        with self._queue_lock:
            self._queue.append(mine)
        with self._commit_lock:
            if not mine.written and mine.error is None:
                self._commit_queued()
        if mine.error is not None:
            raise StoreError(str(mine.error)) from mine.error

    def _commit_queued(self) -> None:
        with self._queue_lock:
            handed, self._queue = self._queue, []
        try:
            self._commit(handed)
        except Exception:
            # One row the database refuses must not fail the others' polls.
            for one in handed:
                self._commit_alone(one)
            return
        except BaseException:
            # Interrupted: the rows are taken off the queue, so their polls must not
            # wait for a commit that nobody will make.
            for one in handed:
                one.error = StoreError("the write was interrupted")
            raise
        for one in handed:
            one.written = True

    def _commit_alone(self, one: _Handed) -> None:
        try:
            self._commit([one])
        except Exception as e:  # the waiting thread raises it as its poll's failure
            one.error = e
        else:
            one.written = True

    def _commit(self, handed: list[_Handed]) -> None:
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        # In name order, so that two batches on PostgreSQL lock their rows in one order.
        for one in sorted(handed, key=lambda one: str(one.values[_NAME])):
            by_columns.setdefault(tuple(sorted(one.values)), []).append(one.values)
        with self.connections.writing() as c:
            for rows in by_columns.values():
                c.execute(_UPDATE, rows)


def set_source_row(c: Connection, name: str, values: dict[str, Any]) -> None:
    """Set `values` on the source row `name` within the caller's transaction."""
    c.execute(_UPDATE, {_NAME: name, **values})
