"""Forgetting a source the config no longer names: what it alone carried is tombstoned,
what other sources carried too loses only its copy, and the source's rows go. The
tombstoned entries keep their copies, as every tombstone does: a source added again
under the name finds them, and a post it shows again comes back under its old id.

A source removed from the config only stops being polled (its entries stay, so a typo
in the config loses nothing); `aggregator forget NAME` is the deliberate second step.
Entries keep their ids, so a reader sees deletions (RFC 6721 tombstones in Atom, a
`delete` event on the stream) and edits, never an entry that changes identity.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select, update

from aggregator.store import clusters
from aggregator.store.notify import announce
from aggregator.store.schema import (
    entries,
    entry_items,
    events,
    kept_apart,
    sources,
    websub_subscriptions,
)
from aggregator.store.story_order import hold_story_events
from aggregator.store.writes import mark_changed


@dataclass(frozen=True)
class Forgetting:
    """What forgetting a source does, counted before (a plan) or after (what it did)."""

    source: str
    known: bool
    # Live entries only this source carried: tombstoned.
    tombstoned: int
    # Live entries other sources carry too: they lose this source's copy.
    detached: int


def plan_forget(c: Connection, source: str) -> Forgetting:
    return _plan(c, source, *_entries_of(c, source))


def forget(c: Connection, source: str, now: datetime) -> Forgetting:
    """Tombstone, detach and drop, in the caller's transaction; one event per entry."""
    only, shared = _entries_of(c, source)
    plan = _plan(c, source, only, shared)
    stories = _stories_of(c, only | shared)
    for story in sorted(set(stories.values())):
        hold_story_events(c, story)
    if only:
        c.execute(update(entries).where(entries.c.id.in_(only)).values(deleted_at=now))
    for entry_id in sorted(shared):
        _detach(c, entry_id, source, now)
    c.execute(delete(kept_apart).where(kept_apart.c.source == source))
    c.execute(delete(websub_subscriptions).where(websub_subscriptions.c.source == source))
    c.execute(delete(sources).where(sources.c.name == source))
    changed = [(i, "delete") for i in sorted(only)] + [(i, "update") for i in sorted(shared)]
    for entry_id, kind in changed:
        story = stories[entry_id]
        c.execute(insert(events).values(story=story, entry_id=entry_id, kind=kind, created_at=now))
    for story in sorted(set(stories.values())):
        mark_changed(c, story, now)
        announce(c, story)
    return plan


def _plan(c: Connection, source: str, only: set[int], shared: set[int]) -> Forgetting:
    known = c.execute(select(sources.c.name).where(sources.c.name == source)).first()
    return Forgetting(source, known is not None or bool(only or shared), len(only), len(shared))


def _entries_of(c: Connection, source: str) -> tuple[set[int], set[int]]:
    """The source's live entries: those only it carries, and those others carry too."""
    carriers = (
        select(entry_items.c.entry_id, func.count(func.distinct(entry_items.c.source)))
        .join(entries, entries.c.id == entry_items.c.entry_id)
        .where(
            entries.c.deleted_at.is_(None),
            entry_items.c.entry_id.in_(
                select(entry_items.c.entry_id).where(entry_items.c.source == source)
            ),
        )
        .group_by(entry_items.c.entry_id)
    )
    only: set[int] = set()
    shared: set[int] = set()
    for entry_id, count in c.execute(carriers).all():
        (only if count == 1 else shared).add(int(entry_id))
    return only, shared


def _stories_of(c: Connection, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = c.execute(select(entries.c.id, entries.c.story).where(entries.c.id.in_(ids))).all()
    return {int(i): str(s) for i, s in rows}


def _detach(c: Connection, entry_id: int, source: str, now: datetime) -> None:
    """The entry stays under its id, shown from another source's copy."""
    row = c.execute(select(entries.c.source).where(entries.c.id == entry_id)).one()
    if row.source == source:
        other = c.execute(
            select(entry_items.c.source)
            .where(entry_items.c.entry_id == entry_id, entry_items.c.source != source)
            .order_by(entry_items.c.id)
            .limit(1)
        ).scalar_one()
        c.execute(update(entries).where(entries.c.id == entry_id).values(source=other))
    c.execute(
        delete(entry_items).where(
            entry_items.c.entry_id == entry_id, entry_items.c.source == source
        )
    )
    clusters.refresh(c, entry_id, now)
    c.execute(update(entries).where(entries.c.id == entry_id).values(updated=now))
