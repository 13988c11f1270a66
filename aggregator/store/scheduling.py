"""Writes of the schedule: the sources table made to match the config, which sources a
worker may poll now (a lease on each), and the schedule columns a poll leaves in a row.

A claim is one UPDATE ... WHERE name IN (due rows) RETURNING name: on PostgreSQL the
due rows are locked FOR UPDATE SKIP LOCKED, so workers claiming at once get disjoint
sources; on SQLite the one writer at a time makes the statement atomic. A lease that
ran out (its worker died) makes the source claimable again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, insert, or_, select, text, update

from aggregator.core.types import ScheduleUpdate, SourceSpec
from aggregator.store.connections import Part
from aggregator.store.hints import signals_to_json
from aggregator.store.schema import sources

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


# Serialises sync_sources among workers (database.py's migration lock is 0x616767).
_SYNC_LOCK_ID = 0x616768


class ScheduleRows(Part):
    def sync_sources(self, specs: Sequence[SourceSpec]) -> None:
        """Make the sources table match the config. A new source is due at once; a moved
        one forgets its validators, its errors, a redirect and a 410; edited bounds make
        it due at once; a source no longer configured is stopped (its row and entries
        stay). Workers starting at once take turns (on PostgreSQL, an advisory lock)."""
        with self.connections.writing() as c:
            if self.connections.is_postgresql:
                c.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SYNC_LOCK_ID})
            rows = {r.name: r for r in c.execute(select(sources)).all()}
            for spec in specs:
                row = rows.get(spec.name)
                values = {"story": spec.story, "kind": spec.kind, "location": spec.location}
                bounds = bounds_text(spec)
                if row is None:
                    c.execute(
                        insert(sources).values(
                            name=spec.name, state="{}", error_count=0, bounds=bounds, **values
                        )
                    )
                    continue
                changes = sync_changes(row, values, bounds)
                if changes:
                    c.execute(update(sources).where(sources.c.name == spec.name).values(**changes))
            removed = sorted(set(rows) - {s.name for s in specs})
            c.execute(
                update(sources)
                .where(sources.c.name.in_(removed), sources.c.stopped_reason.is_(None))
                .values(stopped_reason=REMOVED, next_attempt_at=None, lease_until=None)
            )

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
        if self.connections.is_postgresql:
            due = due.with_for_update(skip_locked=True)
        lease = {"lease_owner": owner, "lease_until": now + timedelta(seconds=lease_seconds)}
        claim = (
            update(sources)
            .where(sources.c.name.in_(due.scalar_subquery()))
            .values(**lease)
            .returning(sources.c.name)
        )
        with self.connections.writing() as c:
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
        with self.connections.writing() as c:
            return c.execute(claim).first() is not None

    def release_abandoned(self, owner: str, alive: Callable[[int], bool]) -> list[str]:
        """End the leases held by earlier processes of this machine that are gone (a
        crash, a kill -9), so a restarted service does not wait out their leases.
        `owner` is this process's ("host:pid:token"): a lease of the same host is
        abandoned when its pid is not `alive`, or is this process's pid under another
        token (a container's service is often pid 1 every time). Leases of other
        machines are left to run out. Returns the sources set free."""
        mine = owner.rsplit(":", 2)
        if len(mine) != 3:  # an owner named by hand (tests, tools): nothing to compare
            return []
        host, pid, _ = mine
        freed = []
        with self.connections.writing() as c:
            held = c.execute(
                select(sources.c.name, sources.c.lease_owner).where(
                    sources.c.lease_owner.like(f"{host}:%")
                )
            ).all()
            for name, holder in held:
                parts = str(holder).rsplit(":", 2)
                if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
                    continue
                gone = (parts[1] == pid and holder != owner) or (
                    parts[1] != pid and not alive(int(parts[1]))
                )
                if gone:
                    c.execute(
                        update(sources)
                        .where(sources.c.name == name, sources.c.lease_owner == holder)
                        .values(lease_owner=None, lease_until=None)
                    )
                    freed.append(str(name))
        return freed

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
        with self.connections.writing() as c:
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
