"""Writes: a poll's decisions and the source's new fetch state, in one transaction.

Because entries and validators (ETag, file hashes) commit together, a crash before the
commit leaves the old validators in place: the next poll fetches and decides again, and
the unique keys make sure nothing is stored twice.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, case, func, insert, or_, select, update

from aggregator.normalize import entry_key
from aggregator.store import clusters
from aggregator.store.schema import entries, entry_items, events, sources
from aggregator.store.views import StoreReads
from aggregator.types import (
    Decision,
    Deletion,
    Entry,
    FetchState,
    FileStamp,
    Known,
    KnownItem,
    PollReport,
    SourceSpec,
)


@dataclass(frozen=True)
class SourceStatus:
    """A source's stored fetch state and error record."""

    state: FetchState
    error_count: int = 0
    next_attempt_at: datetime | None = None


class Store(StoreReads):
    def sync_sources(self, specs: Sequence[SourceSpec]) -> None:
        """Make the sources table match the config. A moved source forgets its validators."""
        with self._writing() as c:
            rows = {r.name: r for r in c.execute(select(sources)).all()}
            for spec in specs:
                row = rows.get(spec.name)
                values = {"story": spec.story, "kind": spec.kind, "location": spec.location}
                if row is None:
                    c.execute(
                        insert(sources).values(name=spec.name, state="{}", error_count=0, **values)
                    )
                elif (row.story, row.kind, row.location) != tuple(values.values()):
                    reset = {"state": "{}", "error_count": 0, "next_attempt_at": None}
                    c.execute(
                        update(sources).where(sources.c.name == spec.name).values(**values, **reset)
                    )

    def source_status(self, name: str) -> SourceStatus:
        with self._reading() as c:
            row = c.execute(select(sources).where(sources.c.name == name)).first()
        if row is None:
            return SourceStatus(FetchState())
        return SourceStatus(_state_from_json(row.state), row.error_count, row.next_attempt_at)

    def known_for(
        self, source: SourceSpec, batch: Sequence[Entry], pages: Collection[str] = ()
    ) -> Known:
        """This source's stored items that the batch names by key, and those on `pages`
        read whole (which a re-keyed or deleted post could be); the story's fingerprints
        equal to one in the batch; the copies sharing an LSH band key with it; and the
        splits made by hand."""
        keys = [e.item_key for e in batch]
        prints = [e.fingerprint for e in batch if e.fingerprint]
        items_query = (
            select(
                entry_items.c.entry_id,
                entry_items.c.item_key,
                entry_items.c.content_hash,
                # A copy's own text and first time; older rows had only the entry's.
                func.coalesce(entry_items.c.title, entries.c.title).label("title"),
                func.coalesce(entry_items.c.text, entries.c.text).label("text"),
                func.coalesce(entry_items.c.published, entries.c.published).label("published"),
                entries.c.updated,
                entries.c.position,
                entries.c.deleted_at,
                case((entries.c.source == source.name, entries.c.location)).label("page"),
            )
            .join(entries, entries.c.id == entry_items.c.entry_id)
            .where(
                entry_items.c.source == source.name,
                # Looked up by key, or on a page read whole: never a scan of every item
                # the source ever sent, so a poll costs the same on a large store.
                or_(
                    entry_items.c.item_key.in_(keys),
                    and_(entries.c.source == source.name, entries.c.location.in_(list(pages))),
                ),
            )
        )
        prints_query = (
            select(entry_items.c.fingerprint, entry_items.c.entry_id)
            .join(entries, entries.c.id == entry_items.c.entry_id)
            .where(entries.c.story == source.story, entry_items.c.fingerprint.in_(prints))
            .order_by(entry_items.c.id.desc())  # the first copy stored wins
        )
        with self._reading() as c:
            items = {r.item_key: _known_item(r) for r in c.execute(items_query).all()}
            found = {fp: int(i) for fp, i in c.execute(prints_query).all()}
            hits, copies = clusters.candidates(c, source.story, batch)
            apart = clusters.kept_apart_in(c, source.story)
        return Known(items, found, hits, copies, apart)

    def apply(
        self,
        source: SourceSpec,
        decisions: Sequence[Decision],
        state: FetchState,
        now: datetime,
        deletions: Sequence[Deletion] = (),
    ) -> PollReport:
        """Store the decisions, deletions and new fetch state together, or none of them."""
        counts = {"new": 0, "edited": 0, "duplicate": 0, "unchanged": 0}
        with self._writing() as c:
            # The first statement writes, so SQLite takes its write lock before any read.
            c.execute(
                update(sources)
                .where(sources.c.name == source.name)
                .values(
                    state=_state_to_json(state),
                    last_attempt_at=now,
                    last_success_at=now,
                    last_error=None,
                    error_count=0,
                    next_attempt_at=None,
                )
            )
            for decision in decisions:
                counts[decision.action] += _apply_one(c, source, decision, now)
            deleted = sum(_delete(c, source, d, now) for d in deletions)
        return PollReport(
            source=source.name,
            new=counts["new"],
            updated=counts["edited"],
            duplicates=counts["duplicate"],
            unchanged=counts["unchanged"],
            deleted=deleted,
        )

    def record_failure(
        self, source: SourceSpec, reason: str, now: datetime, retry_at: datetime
    ) -> int:
        """Record a failed poll; returns the source's consecutive error count."""
        with self._writing() as c:
            c.execute(
                update(sources)
                .where(sources.c.name == source.name)
                .values(
                    last_attempt_at=now,
                    last_error=reason,
                    error_count=sources.c.error_count + 1,
                    next_attempt_at=retry_at,
                )
            )
            count = c.execute(select(sources.c.error_count).where(sources.c.name == source.name))
            return int(count.scalar() or 0)

    def split(self, entry_id: int, source_name: str, now: datetime) -> int:
        """Undo a merge: `source_name`'s copies leave the entry for one of their own, and
        stay apart on later polls. Returns the new entry's id."""
        with self._writing() as c:
            story = c.execute(select(entries.c.story).where(entries.c.id == entry_id)).scalar()
            new_id = clusters.split(c, entry_id, source_name, now)
            for changed, kind in ((new_id, "new"), (entry_id, "update")):
                c.execute(
                    insert(events).values(story=story, entry_id=changed, kind=kind, created_at=now)
                )
        return new_id

    def _writing(self) -> AbstractContextManager[Connection]:
        return self._connection(write=True)


def _apply_one(c: Connection, source: SourceSpec, decision: Decision, now: datetime) -> int:
    entry = decision.entry
    if decision.action == "new":
        entry_id = _insert_entry(c, source, entry, now)
        clusters.insert_copy(c, source.story, entry_id, entry, now)
        _event(c, source, entry_id, "new", now)
        return 1
    if decision.entry_id is None:
        return 1 if decision.action == "unchanged" else 0
    if decision.action == "duplicate":
        why = {"match": decision.match, "score": decision.score, "reason": decision.reason}
        clusters.insert_copy(c, source.story, decision.entry_id, entry, now, **why)
        if clusters.refresh(c, decision.entry_id, now):
            _event(c, source, decision.entry_id, "update", now)
        return 1
    if decision.action == "edited":
        _apply_edit(c, source, decision.entry_id, entry, now)
    return 1


def _delete(c: Connection, source: SourceSpec, deletion: Deletion, now: datetime) -> int:
    changed = c.execute(
        update(entries)
        .where(entries.c.id == deletion.entry_id, entries.c.deleted_at.is_(None))
        .values(deleted_at=now)
    )
    if not changed.rowcount:
        return 0
    _event(c, source, deletion.entry_id, "delete", now)
    return 1


def _event(c: Connection, source: SourceSpec, entry_id: int, kind: str, now: datetime) -> None:
    c.execute(
        insert(events).values(story=source.story, entry_id=entry_id, kind=kind, created_at=now)
    )


def _apply_edit(
    c: Connection, source: SourceSpec, entry_id: int, entry: Entry, now: datetime
) -> None:
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
    if changed.rowcount:
        _event(c, source, entry_id, "update", now)


def _insert_entry(c: Connection, source: SourceSpec, entry: Entry, now: datetime) -> int:
    result = c.execute(
        insert(entries)
        .values(
            story=source.story,
            key=entry_key(source.name, entry.item_key),
            source=source.name,
            title=entry.title,
            text=entry.text,
            html=entry.html,
            url=entry.url,
            author=entry.author,
            published=entry.published,
            updated=entry.updated,
            time_source=entry.time_source,
            position=entry.position,
            first_seen=now,
            content_hash=entry.content_hash,
            fingerprint=entry.fingerprint,
            method=entry.method,
            location=entry.location,
        )
        .returning(entries.c.id)
    )
    return int(result.scalar_one())


def _known_item(row: Row[Any, *tuple[Any, ...]]) -> KnownItem:
    return KnownItem(
        entry_id=int(row.entry_id),
        item_key=row.item_key,
        content_hash=row.content_hash,
        title=row.title,
        text=row.text,
        published=row.published,
        updated=row.updated,
        location=row.page,
        position=row.position,
        deleted=row.deleted_at is not None,
    )


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
