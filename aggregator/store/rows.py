"""Stored rows as the core's types: entries as FeedEntry (with the sources that carry
them), copies as ClusterMember. No SQLAlchemy row leaves the store any other way."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Row, select

from aggregator.core.types import KINDS, ClusterMember, FeedEntry, Kind, SourceRef, TimeSource
from aggregator.store.hints import signals_from_json
from aggregator.store.schema import entries, entry_items, sources

TIME_SOURCES: dict[str | None, TimeSource] = {t: t for t in ("page", "feed", "first-seen")}
# Another source's copy of an entry: its name and the link it gave (its own original).
Copy = tuple[str, str | None]


def source_refs(c: Connection) -> dict[str, SourceRef]:
    columns = (sources.c.name, sources.c.kind, sources.c.location, sources.c.hints)
    rows = c.execute(select(*columns)).all()
    return {r.name: _source_ref(r.name, r.kind, r.location, r.hints) for r in rows}


def also_from(c: Connection, entry_ids: list[int]) -> dict[int, list[Copy]]:
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


def feed_entry(
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


def member(row: Row[Any]) -> ClusterMember:
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


def copy_time_source(row: Row[Any, *tuple[Any, ...]]) -> TimeSource:
    """A copy's label (`time_source`); a row older code wrote has none: if its time
    (`published`) is when it was stored (`first_seen`), it was first seen then."""
    found = TIME_SOURCES.get(row.time_source)
    if found is not None:
        return found
    return "first-seen" if row.published == row.first_seen else "feed"


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
