"""Reads of what publish renders: a story's page, its archive pages, its events. No
writes here."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from aggregator.core.digits import INTEGER_MAX
from aggregator.core.types import StorySpec, StoryView, StreamEvent
from aggregator.store.connections import Part
from aggregator.store.rows import also_from, feed_entry, source_refs
from aggregator.store.schema import entries, entry_items, events, kept_apart, story_changes

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


class StoryViews(Part):
    def story_view(self, story: StorySpec, *, everything: bool = False) -> StoryView:
        """The story's subscription document: its newest `page_size` entries by updated,
        then published, then page order, no source taking more than half of them while
        others have entries to show (`_newest_shared`), with every entry added since the
        newest archive page closed; and the entries its sources deleted, most recently
        deleted first. `everything`: every entry, on one page (for export)."""
        with self.connections.reading() as c:
            pages = _Pages(c, story)
            shown = [_live(story).order_by(*_ORDER)]
            if not everything:
                newest = _live(story).where(entries.c.id.in_(_newest_shared(c, story)))
                since = _live(story).where(entries.c.id >= pages.first_id(pages.closed))
                shown = [newest.order_by(*_ORDER), since.order_by(*_ORDER)]
            gone = select(entries).where(
                entries.c.story == story.id, entries.c.deleted_at.is_not(None)
            )
            gone = gone.order_by(entries.c.deleted_at.desc()).limit(story.page_size)
            return _view(c, story, shown, gone, pages, None, everything)

    def archive_view(self, story: StorySpec, page: int) -> StoryView | None:
        """Archive page `page` (0 = the oldest) of the story: the `page_size` entries
        added after those of the page before it, in feed order; None if it is not closed.
        Which entries a page holds never changes; an entry shows as it is now."""
        with self.connections.reading() as c:
            pages = _Pages(c, story)
            if not 0 <= page < pages.closed:
                return None
            first, end = pages.first_id(page), pages.first_id(page + 1)
            rows = _live(story).where(entries.c.id >= first, entries.c.id < end)
            return _view(c, story, [rows.order_by(*_ORDER)], None, pages, page, False)

    def story_version(self, story: str) -> tuple[int, int, int]:
        """Changes whenever `story_view` could: a new event of the story (new, update,
        delete), any copy joining an entry, any merge undone. Three index lookups."""
        newest = (
            select(func.max(events.c.id)).where(events.c.story == story).scalar_subquery(),
            select(func.max(entry_items.c.id)).scalar_subquery(),
            select(func.max(kept_apart.c.id)).scalar_subquery(),
        )
        with self.connections.reading() as c:
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
        with self.connections.reading() as c:
            rows = c.execute(query).all()
            refs = source_refs(c)
            also = also_from(c, [r.id for r in rows])
        return [StreamEvent(r.event_id, r.event_kind, feed_entry(r, refs, also)) for r in rows]

    def backlog_start(self, story: str, backlog: int) -> int:
        """The event id after which the last `backlog` events of the story follow."""
        query = (
            select(events.c.id)
            .where(events.c.story == story)
            .order_by(events.c.id.desc())
            .offset(backlog)
            .limit(1)
        )
        with self.connections.reading() as c:
            found = c.execute(query).scalar()
        return int(found or 0)


def _newest_shared(c: Connection, story: StorySpec) -> list[int]:
    """The ids of the newest `page_size` entries, each source at most half of them
    before the rest is filled by age: a source that floods the story (a feed of 100,000
    items) cannot push every other source out of what subscribers read. The entries
    left out stay on the archive pages."""
    share = max(1, story.page_size // 2)
    rank = func.row_number().over(partition_by=entries.c.source, order_by=_ORDER)
    ranked = (
        select(entries.c.id, entries.c.updated, entries.c.published, entries.c.position)
        .add_columns(rank.label("rank"))
        .where(entries.c.story == story.id, entries.c.deleted_at.is_(None))
        .subquery()
    )
    order = (
        ranked.c.updated.desc(),
        ranked.c.published.desc(),
        ranked.c.position.asc(),
        ranked.c.id.desc(),
    )
    capped = select(ranked.c.id).where(ranked.c.rank <= share).order_by(*order)
    ids = [int(i) for i in c.execute(capped.limit(story.page_size)).scalars()]
    if len(ids) < story.page_size:
        rest = (
            select(entries.c.id)
            .where(entries.c.story == story.id, entries.c.deleted_at.is_(None))
            .where(entries.c.id.not_in(ids))
            .order_by(*_ORDER)
            .limit(story.page_size - len(ids))
        )
        ids += [int(i) for i in c.execute(rest).scalars()]
    return ids


def _live(story: StorySpec) -> Any:
    return select(entries).where(entries.c.story == story.id, entries.c.deleted_at.is_(None))


def _view(
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
    refs = source_refs(c)
    also = also_from(c, [r.id for r in rows])
    # An archive page holds the same entries for good: it changed when one of them last
    # did, not when the story did (its Last-Modified and ETag must not move with the story).
    changed_at = None
    if archive is None:
        changed = select(story_changes.c.changed_at).where(story_changes.c.story == story.id)
        changed_at = c.execute(changed).scalar()
    newest_event = select(func.max(events.c.id)).where(events.c.story == story.id)
    return StoryView(
        story,
        tuple(feed_entry(r, refs, also) for r in rows),
        tuple(feed_entry(r, refs, {}) for r in deleted),
        changed_at=changed_at,
        archives=0 if everything else pages.closed,
        archive=archive,
        total=pages.live,
        last_event=int(c.execute(newest_event).scalar() or 0),
    )
