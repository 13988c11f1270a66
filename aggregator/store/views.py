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

from aggregator.core.digits import INTEGER_MAX, read_count
from aggregator.core.errors import StoreError
from aggregator.core.types import (
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
from aggregator.publish.ids import entry_iri
from aggregator.store.failures import db_reason
from aggregator.store.hints import signals_from_json
from aggregator.store.schema import (
    entries,
    entry_items,
    events,
    kept_apart,
    sources,
    story_changes,
)

# Newest first: by updated, then published, then page order.
_ORDER = (
    entries.c.updated.desc(),
    entries.c.published.desc(),
    entries.c.position.asc(),
    entries.c.id.desc(),
)


class _Pages:
    """How a story's entries fall into pages: by the order they were added (row id),
    `page_size` to a page, counting deleted entries too so that a deletion never moves
    an entry to another page. The page holding the newest entry stays open."""

    def __init__(self, c: Connection, story: StorySpec) -> None:
        self.c = c
        self.story = story
        count = select(func.count()).where(entries.c.story == story.id)
        total = int(c.execute(count).scalar() or 0)
        live = count.where(entries.c.deleted_at.is_(None))
        self.live = int(c.execute(live).scalar() or 0)
        self.closed = (total - 1) // story.page_size if total else 0

    def first_id(self, page: int) -> int:
        """The row id the page starts at (past every id when it has none yet)."""
        query = (
            select(entries.c.id)
            .where(entries.c.story == self.story.id)
            .order_by(entries.c.id)
            .offset(page * self.story.page_size)
            .limit(1)
        )
        found = self.c.execute(query).scalar()
        return int(found) if found is not None else INTEGER_MAX


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

    def story_view(self, story: StorySpec, *, everything: bool = False) -> StoryView:
        """The story's subscription document: its newest `page_size` entries by updated,
        then published, then page order, with every entry added since the newest archive
        page closed; and the entries its sources deleted, most recently deleted first.
        `everything`: every entry, on one page (for export)."""
        with self._reading() as c:
            pages = _Pages(c, story)
            shown = [self._live(story).order_by(*_ORDER)]
            if not everything:
                since = self._live(story).where(entries.c.id >= pages.first_id(pages.closed))
                shown = [shown[0].limit(story.page_size), since.order_by(*_ORDER)]
            gone = select(entries).where(
                entries.c.story == story.id, entries.c.deleted_at.is_not(None)
            )
            gone = gone.order_by(entries.c.deleted_at.desc()).limit(story.page_size)
            return self._view(c, story, shown, gone, pages, None, everything)

    def archive_view(self, story: StorySpec, page: int) -> StoryView | None:
        """Archive page `page` (0 = the oldest) of the story: the `page_size` entries
        added after those of the page before it, in feed order; None if it is not closed.
        Which entries a page holds never changes; an entry shows as it is now."""
        with self._reading() as c:
            pages = _Pages(c, story)
            if not 0 <= page < pages.closed:
                return None
            first, end = pages.first_id(page), pages.first_id(page + 1)
            rows = self._live(story).where(entries.c.id >= first, entries.c.id < end)
            return self._view(c, story, [rows.order_by(*_ORDER)], None, pages, page, False)

    @staticmethod
    def _live(story: StorySpec) -> Any:
        return select(entries).where(entries.c.story == story.id, entries.c.deleted_at.is_(None))

    def _view(
        self,
        c: Connection,
        story: StorySpec,
        shown: list[Any],
        gone: Any,
        pages: _Pages,
        archive: int | None,
        everything: bool,
    ) -> StoryView:
        """The entries of the `shown` queries (each in _ORDER), once each, merged in order."""
        found = {r.id: r for query in shown for r in c.execute(query).all()}
        rows = sorted(found.values(), key=lambda r: r.id, reverse=True)
        rows.sort(key=lambda r: r.position)
        rows.sort(key=lambda r: (r.updated, r.published), reverse=True)
        deleted = c.execute(gone).all() if gone is not None else []
        refs = self._source_refs(c)
        also = self._also_from(c, [r.id for r in rows])
        changed = select(story_changes.c.changed_at).where(story_changes.c.story == story.id)
        newest_event = select(func.max(events.c.id)).where(events.c.story == story.id)
        return StoryView(
            story,
            tuple(_feed_entry(r, refs, also) for r in rows),
            tuple(_feed_entry(r, refs, {}) for r in deleted),
            changed_at=c.execute(changed).scalar(),
            archives=0 if everything else pages.closed,
            archive=archive,
            total=pages.live,
            last_event=int(c.execute(newest_event).scalar() or 0),
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
        """Each story's entries, those its sources deleted left out (as its pages count)."""
        query = (
            select(entries.c.story, func.count())
            .where(entries.c.deleted_at.is_(None))
            .group_by(entries.c.story)
        )
        with self._reading() as c:
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
        with self._reading() as c:
            return {source: int(n) for source, n in c.execute(query).all()}

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
                signals_from_json(r.hints).title,
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
            raise StoreError(f"cannot {action} the store: {db_reason(e)}") from e

    def _source_refs(self, c: Connection) -> dict[str, SourceRef]:
        columns = (sources.c.name, sources.c.kind, sources.c.location, sources.c.hints)
        rows = c.execute(select(*columns)).all()
        return {r.name: _source_ref(r.name, r.kind, r.location, r.hints) for r in rows}

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


def _source_ref(name: str, kind: str, location: str, hints: str | None) -> SourceRef:
    """A source as its entries name it: its own title, home page and language, as its
    last changed document gave them."""
    url = location if location.startswith(("http://", "https://")) else None
    about = signals_from_json(hints)
    return SourceRef(
        name=name,
        kind=_kind(kind),
        url=url,
        title=about.title,
        home=about.home,
        language=about.language,
    )


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
