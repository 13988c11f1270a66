"""Reads for one poll: what the store knows that a batch could match.

Every query here is driven by an index on what the batch carries (item keys,
fingerprints; band keys are looked up in memory, store/bands.py), so a poll reads the
same handful of rows whether the story holds a hundred entries or a hundred thousand.
A story names nearly every row, so it is never what a query is driven by: it is
checked on the rows found.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import BindParameter, Connection, Row, bindparam, case, func, select

from aggregator.core.types import Entry, Known, KnownItem, SourceSpec
from aggregator.store import clusters
from aggregator.store.bands import StoryBands
from aggregator.store.schema import entries, entry_items


def known_for(
    c: Connection,
    source: SourceSpec,
    batch: Sequence[Entry],
    pages: Collection[str],
    bands: StoryBands,
) -> Known:
    items = _items_of(c, source, [e.item_key for e in batch], pages)
    found = _fingerprints_in(c, source.story, {e.fingerprint for e in batch})
    signed = [e for e in batch if e.bands]
    hits, copies = (
        clusters.candidates(c, bands.current(c, source.story), signed) if signed else ({}, {})
    )
    apart = clusters.kept_apart_in(c, source.story)
    return Known(items, found, hits, copies, apart)


def item_hashes(c: Connection, source: SourceSpec, keys: Sequence[str]) -> dict[str, str]:
    """The content hash of each of the source's stored items named in `keys` and still
    shown (a deleted one is left out: its return is news)."""
    rows = c.execute(_HASHES, {"source": source.name, "keys": list(keys)}).all()
    return {row.item_key: row.content_hash for row in rows}


_SOURCE: BindParameter[str] = bindparam("source")
# Built once (SQLAlchemy then compiles each once): by key, and on the pages read whole;
# the hashes of items by key; the copies holding fingerprints.
_ITEMS = (
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
        case((entries.c.source == _SOURCE, entries.c.location)).label("page"),
    )
    .join(entries, entries.c.id == entry_items.c.entry_id)
    .where(entry_items.c.source == _SOURCE)
)
_ITEMS_BY_KEY = _ITEMS.where(entry_items.c.item_key.in_(bindparam("keys", expanding=True)))
_ITEMS_ON_PAGES = _ITEMS.where(
    entries.c.source == _SOURCE, entries.c.location.in_(bindparam("pages", expanding=True))
)
_HASHES = (
    select(entry_items.c.item_key, entry_items.c.content_hash)
    .join(entries, entries.c.id == entry_items.c.entry_id)
    .where(
        entry_items.c.source == _SOURCE,
        entry_items.c.item_key.in_(bindparam("keys", expanding=True)),
        entries.c.deleted_at.is_(None),
    )
)
_BY_FINGERPRINT = (
    select(entry_items.c.fingerprint, entry_items.c.entry_id, entry_items.c.id, entries.c.story)
    .join(entries, entries.c.id == entry_items.c.entry_id)
    .where(entry_items.c.fingerprint.in_(bindparam("prints", expanding=True)))
)


def _items_of(
    c: Connection, source: SourceSpec, keys: Sequence[str], pages: Collection[str]
) -> dict[str, KnownItem]:
    """By (source, key), then on the pages read whole, in two queries: with the two
    joined by OR, SQLite read every item the source ever sent."""
    rows = list(c.execute(_ITEMS_BY_KEY, {"source": source.name, "keys": list(keys)}).all())
    if pages:
        rows += c.execute(_ITEMS_ON_PAGES, {"source": source.name, "pages": list(pages)}).all()
    return {r.item_key: _known_item(r) for r in rows}


def _fingerprints_in(c: Connection, story: str, prints: Collection[str | None]) -> dict[str, int]:
    """The entry holding each fingerprint in the story, the first copy stored winning.
    With the story in the WHERE clause, SQLite walked every entry of the story."""
    wanted = sorted(p for p in prints if p)
    if not wanted:
        return {}
    first: dict[str, tuple[int, int]] = {}
    for fingerprint, entry_id, item_id, in_story in c.execute(
        _BY_FINGERPRINT, {"prints": wanted}
    ).all():
        seen = first.get(fingerprint)
        if in_story == story and (seen is None or item_id < seen[0]):
            first[fingerprint] = (int(item_id), int(entry_id))
    return {fp: entry_id for fp, (_, entry_id) in first.items()}


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
