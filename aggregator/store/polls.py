"""Writes: a poll's decisions and the source's new fetch state, in one transaction.

Because entries and validators (ETag, file hashes) commit together, a crash before the
commit leaves the old validators in place: the next poll fetches and decides again, and
the unique keys make sure nothing is stored twice. A poll with nothing to store writes
its source row only, in a commit it may share with other such polls (source_rows.py).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update

from aggregator.core.types import (
    Decision,
    Deletion,
    Entry,
    FetchState,
    FileStamp,
    Known,
    PageSignals,
    PollReport,
    ScheduleUpdate,
    SourceSpec,
)
from aggregator.store import known
from aggregator.store.bands import StoryBands
from aggregator.store.connections import Connections, Part
from aggregator.store.deciding import StoryLocks
from aggregator.store.hints import signals_from_json
from aggregator.store.scheduling import scheduled
from aggregator.store.schema import sources
from aggregator.store.source_rows import SourceRows, set_source_row
from aggregator.store.writes import write_and_announce


@dataclass(frozen=True)
class SourceStatus:
    """A source's stored fetch state, error record and schedule."""

    state: FetchState
    error_count: int = 0
    next_attempt_at: datetime | None = None
    interval: float | None = None
    signals: PageSignals = field(default_factory=PageSignals)
    last_success_at: datetime | None = None
    last_new_at: datetime | None = None
    moved_to: str | None = None
    stopped_reason: str | None = None


_STATUS = select(sources).where(sources.c.name == bindparam("source_name"))


class PollWrites(Part):
    def __init__(self, connections: Connections) -> None:
        super().__init__(connections)
        # Deciding holds its lock across the read and the write, on a PostgreSQL session
        # or a file of its own: outside any one transaction, so beside the connections.
        self._story_locks = StoryLocks(connections.engine)
        # Each story's band index, loaded on first use and kept in step with the store.
        self._bands = StoryBands()
        # Rows of polls with nothing else to write, committed several at once.
        self._source_rows = SourceRows(connections)

    def deciding(self, story: str) -> AbstractContextManager[None]:
        """Hold around `known_for` .. `apply` of one poll: decisions for one story are
        made one at a time, each seeing the last one's writes (store/deciding.py)."""
        return self._story_locks.deciding(story)

    def hold_band_index(self, story: str) -> None:
        """Load the story's band index now, as a process that has polled the story holds
        it; otherwise the story's first look-up loads it (store/bands.py says why the
        worker does not load it as it starts)."""
        with self.deciding(story), self.connections.reading() as c:
            self._bands.current(c, story)

    def source_status(self, name: str) -> SourceStatus:
        with self.connections.reading() as c:
            row = c.execute(_STATUS, {"source_name": name}).first()
        if row is None:
            return SourceStatus(FetchState())
        return SourceStatus(
            _state_from_json(row.state),
            row.error_count,
            row.next_attempt_at,
            interval=row.interval_s,
            signals=signals_from_json(row.hints),
            last_success_at=row.last_success_at,
            last_new_at=row.last_new_at,
            moved_to=row.moved_to,
            stopped_reason=row.stopped_reason,
        )

    def known_for(
        self, source: SourceSpec, batch: Sequence[Entry], pages: Collection[str] = ()
    ) -> Known:
        """This source's stored items that the batch names by key, and those on `pages`
        read whole (which a re-keyed or deleted post could be); the story's fingerprints
        equal to one in the batch; the copies sharing an LSH band key with it; and the
        splits made by hand."""
        with self.connections.reading() as c:
            return known.known_for(c, source, batch, pages, self._bands)

    def item_hashes(self, source: SourceSpec, keys: Sequence[str]) -> dict[str, str]:
        """The stored content hash of each of the source's items named in `keys` and
        not deleted: an entry that matches needs no signature to be found unchanged."""
        with self.connections.reading() as c:
            return known.item_hashes(c, source, keys)

    def apply(
        self,
        source: SourceSpec,
        decisions: Sequence[Decision],
        state: FetchState,
        now: datetime,
        deletions: Sequence[Deletion] = (),
        schedule: ScheduleUpdate | None = None,
    ) -> PollReport:
        """Store the decisions, deletions, new fetch state and the source's next poll
        (ending its lease) together, or none of them."""
        row = {
            "state": _state_to_json(state),
            "last_attempt_at": now,
            "last_success_at": now,
            "last_error": None,
            "error_count": 0,
            **scheduled(schedule, now),
        }
        if not decisions and not deletions:
            self._source_rows.write(source.name, row)
            return PollReport(source=source.name)
        with self.connections.writing() as c:
            # The first statement writes, so SQLite takes its write lock before any read.
            set_source_row(c, source.name, row)
            report = write_and_announce(c, source, decisions, deletions, now)
            return self._counted(c, source.story, report)

    def apply_pushed(
        self,
        source: SourceSpec,
        decisions: Sequence[Decision],
        deletions: Sequence[Deletion],
        now: datetime,
    ) -> PollReport:
        """Write what a WebSub push decided, in one transaction. Unlike `apply` it leaves
        the source row alone: validators, schedule and a worker's lease belong to polling."""
        with self.connections.writing() as c:
            report = write_and_announce(c, source, decisions, deletions, now)
            return self._counted(c, source.story, report)

    def _counted(self, c: Connection, story: str, report: PollReport) -> PollReport:
        """`report` of a write, counted toward trimming the story's band log."""
        if report.new or report.updated or report.duplicates or report.deleted:
            self._bands.wrote(c, story)
        return report

    def record_failure(
        self,
        source: SourceSpec,
        reason: str,
        now: datetime,
        retry_at: datetime | None,
        *,
        why: str | None = None,
        stopped: bool = False,
    ) -> int:
        """Record a failed poll and end its lease; returns the consecutive error count.
        `stopped` (410 Gone) stops the source until its config changes: no retry."""
        stop = {"stopped_at": now, "stopped_reason": reason} if stopped else {}
        with self.connections.writing() as c:
            c.execute(
                update(sources)
                .where(sources.c.name == source.name)
                .values(
                    last_attempt_at=now,
                    last_error=reason,
                    error_count=sources.c.error_count + 1,
                    next_attempt_at=None if stopped else retry_at,
                    schedule_reason=why,
                    lease_owner=None,
                    lease_until=None,
                    **stop,
                )
            )
            count = c.execute(select(sources.c.error_count).where(sources.c.name == source.name))
            return int(count.scalar() or 0)


def _state_to_json(state: FetchState) -> str:
    files = {p: [s.mtime_ns, s.size, s.sha256] for p, s in state.files.items()}
    return json.dumps(
        {
            "etag": state.etag,
            "last_modified": state.last_modified,
            "body_sha256": state.body_sha256,
            "files": files,
        }
    )


def _state_from_json(raw: str) -> FetchState:
    data = json.loads(raw or "{}")
    files = {p: FileStamp(int(m), int(s), str(h)) for p, (m, s, h) in data.get("files", {}).items()}
    return FetchState(
        etag=data.get("etag"),
        last_modified=data.get("last_modified"),
        body_sha256=data.get("body_sha256"),
        files=files,
    )
