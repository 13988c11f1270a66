"""Reads of what /healthz, the index and `aggregator status` report: is the store
reachable, each source's last poll and schedule, entry counts by story and by source.
No writes here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from aggregator.store.connections import Part
from aggregator.store.hints import signals_from_json
from aggregator.store.schema import entries, entry_items, sources


@dataclass(frozen=True)
class SourceHealth:
    name: str
    story: str
    kind: str
    location: str
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    error_count: int
    # The schedule: when the next poll is due and why, at what interval; why a source
    # stopped (410 Gone, removed) and where a permanent redirect moved it.
    next_attempt_at: datetime | None = None
    interval: float | None = None
    schedule_reason: str | None = None
    stopped_reason: str | None = None
    moved_to: str | None = None
    # The source's own title for itself, as its last changed document gave it.
    title: str | None = None

    @property
    def is_failing(self) -> bool:
        """The last poll failed, or the source was stopped (410 Gone, removed)."""
        return self.error_count > 0 or self.stopped_reason is not None


class SourceReads(Part):
    def ping(self) -> bool:
        """Whether the database answers at all."""
        return self.connections.ping()

    @property
    def write_failure(self) -> str | None:
        """Why the last write found no room (disk full, read-only); None once one works."""
        return self.connections.write_failure

    def entry_counts(self) -> dict[str, int]:
        """Each story's entries, those its sources deleted left out (as its pages count)."""
        query = (
            select(entries.c.story, func.count())
            .where(entries.c.deleted_at.is_(None))
            .group_by(entries.c.story)
        )
        with self.connections.reading() as c:
            return {story: int(n) for story, n in c.execute(query).all()}

    def source_entry_counts(self) -> dict[str, int]:
        """The live entries each source carries a copy of (a merged entry counts for
        every source behind it)."""
        query = (
            select(entry_items.c.source, func.count(func.distinct(entry_items.c.entry_id)))
            .join(entries, entries.c.id == entry_items.c.entry_id)
            .where(entries.c.deleted_at.is_(None))
            .group_by(entry_items.c.source)
        )
        with self.connections.reading() as c:
            return {source: int(n) for source, n in c.execute(query).all()}

    def source_health(self, names: Sequence[str]) -> list[SourceHealth]:
        query = select(sources).where(sources.c.name.in_(names)).order_by(sources.c.name)
        with self.connections.reading() as c:
            rows = c.execute(query).all()
        return [
            SourceHealth(
                r.name,
                r.story,
                r.kind,
                r.location,
                r.last_attempt_at,
                r.last_success_at,
                r.last_error,
                r.error_count,
                r.next_attempt_at,
                r.interval_s,
                r.schedule_reason,
                r.stopped_reason,
                r.moved_to,
                signals_from_json(r.hints).title,
            )
            for r in rows
        ]
