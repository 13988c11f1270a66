"""Writes of the schedule: which sources a worker may poll now (a lease on each), and
the schedule columns a poll or a config change leaves in the sources row.

A claim is one UPDATE ... WHERE name IN (due rows) RETURNING name: on PostgreSQL the
due rows are locked FOR UPDATE SKIP LOCKED, so workers claiming at once get disjoint
sources; on SQLite the one writer at a time makes the statement atomic. A lease that
ran out (its worker died) makes the source claimable again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, or_, select, update

from aggregator.core.types import ScheduleUpdate, SourceSpec
from aggregator.store.hints import signals_to_json
from aggregator.store.schema import sources
from aggregator.store.views import StoreReads

REMOVED = "removed from the config"
# What a source that moved to a new location (or came back) starts again from.
FRESH_START: dict[str, Any] = {
    "state": "{}",
    "error_count": 0,
    "next_attempt_at": None,
    "interval_s": None,
    "hints": None,
    "last_new_at": None,
    "stopped_at": None,
    "stopped_reason": None,
    "moved_to": None,
    "last_error": None,
}


class ScheduleRows(StoreReads):
    def claim_due(self, now: datetime, owner: str, lease_seconds: float, limit: int) -> list[str]:
        """Lease up to `limit` sources due at `now` to `owner`, oldest due first. A source
        is due when its time has come (or it has none yet), no live lease holds it, and it
        is not stopped. On PostgreSQL, rows another worker is claiming are skipped (FOR
        UPDATE SKIP LOCKED); SQLite has one writer at a time, so the UPDATE is atomic."""
        if limit < 1:
            return []
        due = (
            select(sources.c.name)
            .where(
                sources.c.stopped_reason.is_(None),
                or_(sources.c.next_attempt_at.is_(None), sources.c.next_attempt_at <= now),
                or_(sources.c.lease_until.is_(None), sources.c.lease_until < now),
            )
            .order_by(sources.c.next_attempt_at.asc().nulls_first(), sources.c.name)
            .limit(limit)
        )
        if self.engine.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        lease = {"lease_owner": owner, "lease_until": now + timedelta(seconds=lease_seconds)}
        claim = (
            update(sources)
            .where(sources.c.name.in_(due.scalar_subquery()))
            .values(**lease)
            .returning(sources.c.name)
        )
        with self._connection(write=True) as c:
            return sorted(c.execute(claim).scalars())

    def claim(self, name: str, now: datetime, owner: str, lease_seconds: float) -> bool:
        """Lease one source to `owner` now, due or not, unless a live lease holds it or it
        is stopped: how a saved file is polled at once without racing other workers."""
        claim = (
            update(sources)
            .where(
                sources.c.name == name,
                sources.c.stopped_reason.is_(None),
                or_(sources.c.lease_until.is_(None), sources.c.lease_until < now),
            )
            .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds))
            .returning(sources.c.name)
        )
        with self._connection(write=True) as c:
            return c.execute(claim).first() is not None

    def release(
        self,
        name: str,
        *,
        owner: str | None = None,
        due_at: datetime | None = None,
        reason: str | None = None,
    ) -> None:
        """End the lease on the source (`owner`'s only, if given) without a poll result;
        `due_at` (with its reason) moves the source's next attempt."""
        values: dict[str, Any] = {"lease_owner": None, "lease_until": None}
        if due_at is not None:
            values.update(next_attempt_at=due_at, schedule_reason=reason)
        mine = sources.c.name == name
        if owner is not None:
            mine = and_(mine, sources.c.lease_owner == owner)
        with self._connection(write=True) as c:
            c.execute(update(sources).where(mine).values(**values))


def scheduled(schedule: ScheduleUpdate | None, now: datetime) -> dict[str, Any]:
    """The source row's schedule after a successful poll; the lease ends with it."""
    values: dict[str, Any] = {"lease_owner": None, "lease_until": None}
    if schedule is None:
        return {**values, "next_attempt_at": None}
    values.update(
        next_attempt_at=schedule.next.due_at,
        interval_s=schedule.next.interval,
        schedule_reason=schedule.next.reason,
        hints=signals_to_json(schedule.signals),
    )
    if schedule.published:
        values["last_new_at"] = now
    if schedule.moved_to:
        values["moved_to"] = schedule.moved_to
    return values


def sync_changes(row: Row[Any], values: dict[str, str], bounds: str) -> dict[str, Any]:
    if (row.story, row.kind, row.location) != tuple(values.values()):
        return {**values, **FRESH_START, "bounds": bounds}
    if row.stopped_reason == REMOVED:
        return {"stopped_reason": None, "bounds": bounds, "next_attempt_at": None}
    if row.bounds != bounds:
        return {"bounds": bounds, "next_attempt_at": None, "interval_s": None}
    return {}


def bounds_text(spec: SourceSpec) -> str:
    """The config's say on the schedule; an edit to it makes the source due at once."""
    return f"{spec.interval:g}/{spec.min_interval or 0:g}/{spec.max_interval or 0:g}"
