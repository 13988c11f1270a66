"""Reads: what publish renders and what /healthz reports. No writes here."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from aggregator.digits import INTEGER_MAX, read_count
from aggregator.errors import StoreError
from aggregator.publish.ids import entry_iri
from aggregator.store.schema import (
    entries,
    entry_items,
    events,
    kept_apart,
    sources,
    story_changes,
)
from aggregator.types import (
    KINDS,
    Cluster,
    ClusterMember,
    FeedEntry,
    Kind,
    SourceRef,
    StorySpec,
    StoryView,
    StreamEvent,
)

DEFAULT_LIMIT = 500


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


# Another source's copy of an entry: its name and the link it gave (its own original).
Copy = tuple[str, str | None]


class StoreReads:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite takes one writer at a time; threads of this process queue here instead
        # of spinning in SQLite's busy handler, where a long queue ends in "locked".
        self._write_lock: AbstractContextManager[object] = (
            threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
        )

    def ping(self) -> bool:
        try:
            with self.engine.connect() as c:
                c.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def story_view(self, story: StorySpec, *, limit: int = DEFAULT_LIMIT) -> StoryView:
        """The story's entries, newest first: by updated, then published, then page
        order; and the entries its sources deleted, most recently deleted first."""
        order = (
            entries.c.updated.desc(),
            entries.c.published.desc(),
            entries.c.position.asc(),
            entries.c.id.desc(),
        )
        mine = select(entries).where(entries.c.story == story.id)
        shown = mine.where(entries.c.deleted_at.is_(None)).order_by(*order).limit(limit)
        gone = mine.where(entries.c.deleted_at.is_not(None))
        gone = gone.order_by(entries.c.deleted_at.desc()).limit(limit)
        changed = select(story_changes.c.changed_at).where(story_changes.c.story == story.id)
        with self._reading() as c:
            rows = c.execute(shown).all()
            deleted = c.execute(gone).all()
            refs = self._source_refs(c)
            also = self._also_from(c, [r.id for r in rows])
            changed_at = c.execute(changed).scalar()
        return StoryView(
            story,
            tuple(_feed_entry(r, refs, also) for r in rows),
            tuple(_feed_entry(r, refs, {}) for r in deleted),
            changed_at=changed_at,
        )

    def story_version(self, story: str) -> tuple[int, int, int]:
        """Changes whenever `story_view` could: a new event of the story (new, update,
        delete), any copy joining an entry, any merge undone. Three index lookups."""
        newest = (
            select(func.max(events.c.id)).where(events.c.story == story).scalar_subquery(),
            select(func.max(entry_items.c.id)).scalar_subquery(),
            select(func.max(kept_apart.c.id)).scalar_subquery(),
        )
        with self._reading() as c:
            row = c.execute(select(*newest)).one()
        return (int(row[0] or 0), int(row[1] or 0), int(row[2] or 0))

    def events_after(self, story: str, after: int, *, limit: int = 100) -> list[StreamEvent]:
        query = (
            select(events.c.id.label("event_id"), events.c.kind.label("event_kind"), entries)
            .join(entries, entries.c.id == events.c.entry_id)
            .where(events.c.story == story, events.c.id > after)
            .order_by(events.c.id)
            .limit(limit)
        )
        with self._reading() as c:
            rows = c.execute(query).all()
            refs = self._source_refs(c)
            also = self._also_from(c, [r.id for r in rows])
        return [StreamEvent(r.event_id, r.event_kind, _feed_entry(r, refs, also)) for r in rows]

    def backlog_start(self, story: str, backlog: int) -> int:
        """The event id after which the last `backlog` events of the story follow."""
        query = (
            select(events.c.id)
            .where(events.c.story == story)
            .order_by(events.c.id.desc())
            .offset(backlog)
            .limit(1)
        )
        with self._reading() as c:
            found = c.execute(query).scalar()
        return int(found or 0)

    def entry_counts(self) -> dict[str, int]:
        query = select(entries.c.story, func.count()).group_by(entries.c.story)
        with self._reading() as c:
            return {story: int(n) for story, n in c.execute(query).all()}

    def source_health(self, names: Sequence[str]) -> list[SourceHealth]:
        query = select(sources).where(sources.c.name.in_(names)).order_by(sources.c.name)
        with self._reading() as c:
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
            )
            for r in rows
        ]

    def find_entry(self, ref: str) -> int | None:
        """The entry named by its public id (urn:uuid:...), its key, or its row id."""
        ref = ref.strip()
        with self._reading() as c:
            if (row_id := read_count(ref, INTEGER_MAX)) is not None:
                found = c.execute(select(entries.c.id).where(entries.c.id == row_id)).scalar()
                return None if found is None else int(found)
            if not ref.startswith("urn:uuid:"):
                found = c.execute(select(entries.c.id).where(entries.c.key == ref)).scalar()
                return None if found is None else int(found)
            # Public ids are one-way (uuid5), so compare against every entry's.
            rows = c.execute(select(entries.c.id, entries.c.story, entries.c.key))
            return next((int(i) for i, s, k in rows if entry_iri(s, k) == ref), None)

    def cluster(self, entry_id: int) -> Cluster | None:
        """An entry and each copy merged into it, with how and how closely it matched."""
        members = (
            select(entry_items).where(entry_items.c.entry_id == entry_id).order_by(entry_items.c.id)
        )
        with self._reading() as c:
            row = c.execute(select(entries).where(entries.c.id == entry_id)).first()
            if row is None:
                return None
            refs = self._source_refs(c)
            also = self._also_from(c, [entry_id])
            copies = c.execute(members).all()
        return Cluster(_feed_entry(row, refs, also), tuple(_member(m) for m in copies))

    def _reading(self) -> AbstractContextManager[Connection]:
        return self._connection(write=False)

    @contextmanager
    def _connection(self, *, write: bool) -> Iterator[Connection]:
        """A connection (in a transaction that commits on success when writing), with
        database errors translated to StoreError."""
        try:
            if not write:
                with self.engine.connect() as c:
                    yield c
                return
            with self._write_lock, self.engine.begin() as c:
                yield c
        except SQLAlchemyError as e:
            action = "write to" if write else "read"
            raise StoreError(f"cannot {action} the store: {e}") from e

    def _source_refs(self, c: Connection) -> dict[str, SourceRef]:
        rows = c.execute(select(sources.c.name, sources.c.kind, sources.c.location)).all()
        return {r.name: _source_ref(r.name, r.kind, r.location) for r in rows}

    def _also_from(self, c: Connection, entry_ids: list[int]) -> dict[int, list[Copy]]:
        """The other sources of each entry, in the order they joined, each with the link
        of its first copy (its own original)."""
        if not entry_ids:
            return {}
        query = (
            select(entry_items.c.entry_id, entry_items.c.source, entry_items.c.url)
            .join(entries, entries.c.id == entry_items.c.entry_id)
            .where(entry_items.c.entry_id.in_(entry_ids), entry_items.c.source != entries.c.source)
            .order_by(entry_items.c.id)
        )
        found: dict[int, list[Copy]] = defaultdict(list)
        for entry_id, source, url in c.execute(query).all():
            if all(source != name for name, _ in found[entry_id]):
                found[entry_id].append((source, url))
        return found


def _member(row: Row[Any]) -> ClusterMember:
    return ClusterMember(
        source=row.source,
        item_key=row.item_key,
        title=row.title or "",
        url=row.url,
        published=row.published,
        match=row.match,
        score=row.score,
        reason=row.reason,
    )


def _source_ref(name: str, kind: str, location: str) -> SourceRef:
    url = location if location.startswith(("http://", "https://")) else None
    return SourceRef(name=name, kind=_kind(kind), url=url)


def _kind(value: str) -> Kind:
    return next((k for k in KINDS if k == value), "feed")


def _feed_entry(
    row: Row[Any],
    refs: dict[str, SourceRef],
    also: dict[int, list[Copy]],
) -> FeedEntry:
    entry_id = int(row.id)
    source = refs.get(row.source) or SourceRef(row.source, "feed", None)
    return FeedEntry(
        id=entry_id,
        key=row.key,
        story=row.story,
        title=row.title,
        text=row.text,
        html=row.html,
        url=row.url,
        author=row.author,
        published=row.published,
        updated=row.updated,
        time_source=row.time_source,
        position=row.position,
        source=source,
        also_from=tuple(
            replace(refs.get(name) or SourceRef(name, "feed", None), link=link)
            for name, link in also.get(entry_id, [])
        ),
        deleted_at=row.deleted_at,
    )
