"""A poll's decisions written in a few statements, inside the caller's transaction.

    new entries      one multi-row INSERT each into entries, entry_items, band_changes
    duplicates       the copy joins its entry, which is refreshed, one by one (in order)
    edits            the copy and, for the first carrier, the entry rewritten, in order
    deletions        the entry marked deleted
    events           one multi-row INSERT, in the order the decisions came

New entries go first: no other decision of a poll can name them (a duplicate or an edit
names an entry already stored), so the result equals writing the decisions one by one,
with the same events in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from aggregator.core.types import Decision, Deletion, Entry, PollReport, SourceSpec
from aggregator.dedupe.normalize import entry_key
from aggregator.store import clusters
from aggregator.store.notify import announce
from aggregator.store.schema import entries, events, story_changes
from aggregator.store.story_order import hold_story_events

Event = tuple[int, str]  # (entry id, kind)


# Built once: SQLAlchemy then compiles each once.
_INSERT_ENTRIES = insert(entries).returning(entries.c.id, entries.c.key)
_INSERT_EVENTS = insert(events)
_LAST_CHANGE = select(story_changes.c.changed_at).where(story_changes.c.story == bindparam("story"))
_SET_CHANGE = update(story_changes).where(story_changes.c.story == bindparam("row_story"))


def write_and_announce(
    c: Connection,
    source: SourceSpec,
    decisions: Sequence[Decision],
    deletions: Sequence[Deletion],
    now: datetime,
) -> PollReport:
    """Write the decisions; when the story changed, tell the web nodes (on commit)."""
    counts, deleted = write_decisions(c, source, decisions, deletions, now)
    if deleted or counts["new"] or counts["edited"] or counts["duplicate"]:
        mark_changed(c, source.story, now)
        announce(c, source.story)
    return PollReport(
        source=source.name,
        new=counts["new"],
        updated=counts["edited"],
        duplicates=counts["duplicate"],
        unchanged=counts["unchanged"],
        deleted=deleted,
    )


def write_decisions(
    c: Connection,
    source: SourceSpec,
    decisions: Sequence[Decision],
    deletions: Sequence[Deletion],
    now: datetime,
) -> tuple[dict[str, int], int]:
    """Write the decisions and deletions; returns the count per action and the number of
    entries deleted."""
    counts = {"new": 0, "edited": 0, "duplicate": 0, "unchanged": 0}
    new_ids = iter(_insert_new(c, source, [d.entry for d in decisions if d.action == "new"], now))
    pending: list[Event] = []
    for decision in decisions:
        if decision.action == "new":
            pending.append((next(new_ids), "new"))
            counts["new"] += 1
        else:
            counts[decision.action] += _apply_known(c, source, decision, now, pending)
    deleted = 0
    for deletion in deletions:
        if _delete(c, deletion, now):
            pending.append((deletion.entry_id, "delete"))
            deleted += 1
    if pending:
        hold_story_events(c, source.story)
        rows = [
            {"story": source.story, "entry_id": entry_id, "kind": kind, "created_at": now}
            for entry_id, kind in pending
        ]
        c.execute(_INSERT_EVENTS, rows)
    return counts, deleted


def mark_changed(c: Connection, story: str, now: datetime) -> None:
    """Record that the story's document changed in this transaction: at `now` to the
    second, and at least a second after the last change, so that the dates a client
    compares (Last-Modified, If-Modified-Since) grow with every change, across restarts
    and processes. A burst of changes faster than one a second runs ahead of the clock by
    as many seconds; it catches up when the burst ends."""
    hold_story_events(c, story)
    when = now.astimezone(UTC).replace(microsecond=0)
    last = c.execute(_LAST_CHANGE, {"story": story}).scalar()
    if last is None:
        c.execute(insert(story_changes).values(story=story, changed_at=when))
        return
    when = max(when, last + timedelta(seconds=1))
    c.execute(_SET_CHANGE, {"row_story": story, "changed_at": when})


def _insert_new(
    c: Connection, source: SourceSpec, batch: Sequence[Entry], now: datetime
) -> list[int]:
    """Store the new entries, each with its first copy; returns their ids in batch order.
    The ids come back unordered from a multi-row INSERT, so they are matched on the
    unique key (asking for them in order makes SQLite insert row by row)."""
    if not batch:
        return []
    keys = [entry_key(source.name, e.item_key) for e in batch]
    rows = [_entry_row(source, e, key, now) for e, key in zip(batch, keys, strict=True)]
    result = c.execute(_INSERT_ENTRIES, rows)
    ids = {key: int(entry_id) for entry_id, key in result.all()}
    entry_ids = [ids[key] for key in keys]
    clusters.insert_copies(c, source.story, list(zip(entry_ids, batch, strict=True)), now)
    return entry_ids


def _apply_known(
    c: Connection, source: SourceSpec, decision: Decision, now: datetime, pending: list[Event]
) -> int:
    """A decision about an entry already stored: a duplicate joins it, an edit rewrites it."""
    entry, entry_id = decision.entry, decision.entry_id
    if entry_id is None:
        return 1 if decision.action == "unchanged" else 0
    if decision.action == "duplicate":
        why = {"match": decision.match, "score": decision.score, "reason": decision.reason}
        clusters.insert_copies(c, source.story, [(entry_id, entry)], now, **why)
        if clusters.refresh(c, entry_id, now):
            pending.append((entry_id, "update"))
    elif decision.action == "edited" and _apply_edit(c, source, entry_id, entry, now):
        pending.append((entry_id, "update"))
    return 1


def _delete(c: Connection, deletion: Deletion, now: datetime) -> bool:
    changed = c.execute(
        update(entries)
        .where(entries.c.id == deletion.entry_id, entries.c.deleted_at.is_(None))
        .values(deleted_at=now)
    )
    return bool(changed.rowcount)


def _apply_edit(
    c: Connection, source: SourceSpec, entry_id: int, entry: Entry, now: datetime
) -> bool:
    """Record the edited copy; True when the entry itself was rewritten."""
    clusters.update_copy(c, source.story, entry_id, entry, now)
    # Only the source that first carried an entry may rewrite it; other carriers' edits
    # are recorded on their item row above.
    changed = c.execute(
        update(entries)
        .where(entries.c.id == entry_id, entries.c.source == source.name)
        .values(
            title=entry.title,
            text=entry.text,
            html=entry.html,
            url=entry.url,
            author=entry.author,
            updated=entry.updated,
            content_hash=entry.content_hash,
            fingerprint=entry.fingerprint,
            deleted_at=None,
        )
    )
    return bool(changed.rowcount)


def _entry_row(source: SourceSpec, entry: Entry, key: str, now: datetime) -> dict[str, Any]:
    return {
        "story": source.story,
        "key": key,
        "source": source.name,
        "title": entry.title,
        "text": entry.text,
        "html": entry.html,
        "url": entry.url,
        "author": entry.author,
        "published": entry.published,
        "updated": entry.updated,
        "time_source": entry.time_source,
        "position": entry.position,
        "first_seen": now,
        "content_hash": entry.content_hash,
        "fingerprint": entry.fingerprint,
        "method": entry.method,
        "location": entry.location,
    }
