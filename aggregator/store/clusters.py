"""Clusters: the copies (entry_items) behind each merged entry, their LSH band keys
(looked up in the story's in-memory index, store/bands.py), and the split that undoes
a wrong merge. Functions here run inside the caller's connection, so a poll's copies
commit with its entries.

An entry row shows its cluster: the best `published` of its copies with its
`time_source` (a page's or a feed's time before a first-seen one, the earliest of each)
and the fullest text (another copy's text replaces the first source's only when clearly
longer), while `source` stays the first carrier, whose edits rewrite it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Row, bindparam, insert, select, update

from aggregator.core.errors import StoreError
from aggregator.core.types import Entry, KnownCopy, TimeSource
from aggregator.dedupe.band_index import BandIndex
from aggregator.dedupe.normalize import entry_key
from aggregator.dedupe.similarity import (
    MAX_CANDIDATES,
    band_days_near,
    body_words,
    candidates_by_bands,
)
from aggregator.store import bands
from aggregator.store.rows import TIME_SOURCES, copy_time_source
from aggregator.store.schema import entries, entry_items, kept_apart

# Another copy's text replaces the shown one only when it has this many times the words:
# a full copy beats a trimmed one, but a byline or one changed word does not.
FULLER = 1.2
_COPY_COLUMNS = ("title", "text", "html", "url", "author", "published", "updated", "location")


def candidates(
    c: Connection, index: BandIndex, batch: Sequence[Entry]
) -> tuple[dict[int, tuple[int, ...]], dict[int, KnownCopy]]:
    """The stored copies sharing an LSH band key with an entry of the batch: per band key,
    the copies carrying it, and the copies themselves (at most MAX_CANDIDATES per entry).
    Only the index's days within MAX_GAP of an entry are read for its keys: a copy
    further apart in time is never the same update (`similarity.judge`)."""
    key_parts: list[npt.NDArray[np.int64]] = []
    day_parts: list[npt.NDArray[np.int64]] = []
    for entry in batch:
        near = band_days_near(entry.published, entry.time_source)
        key_parts.append(np.repeat(np.array(entry.bands, np.int64), len(near)))
        days = np.arange(near.start, near.stop, dtype=np.int64)
        day_parts.append(np.tile(days, len(entry.bands)))
    if not key_parts:
        return {}, {}
    found = index.find_pairs(np.concatenate(key_parts), np.concatenate(day_parts))
    hits = {k: tuple(sorted(v)) for k, v in found.items()}
    wanted = {i for e in batch for i in candidates_by_bands(e.bands, hits, MAX_CANDIDATES)}
    rows = _copy_rows(c, wanted)
    for gone in wanted - {int(r.id) for r in rows}:
        index.drop(gone)  # deleted without a logged change: a source forgotten
    return hits, _copies(c, rows)


_COPIES = select(entry_items).where(entry_items.c.id.in_(bindparam("ids", expanding=True)))
_MEMBERS = select(entry_items.c.entry_id, entry_items.c.source).where(
    entry_items.c.entry_id.in_(bindparam("ids", expanding=True))
)
_INSERT_COPIES = insert(entry_items).returning(
    entry_items.c.id, entry_items.c.source, entry_items.c.item_key
)
_KEPT_APART = select(kept_apart.c.entry_id, kept_apart.c.source, entries.c.story).join(
    entries, entries.c.id == kept_apart.c.entry_id
)


def _copy_rows(c: Connection, item_ids: set[int]) -> list[Row[Any]]:
    if not item_ids:
        return []
    return list(c.execute(_COPIES, {"ids": sorted(item_ids)}))


def _copies(c: Connection, rows: Sequence[Row[Any]]) -> dict[int, KnownCopy]:
    if not rows:
        return {}
    entry_ids = {int(r.entry_id) for r in rows}
    members: dict[int, set[str]] = defaultdict(set)
    for entry_id, source in c.execute(_MEMBERS, {"ids": sorted(entry_ids)}).all():
        members[int(entry_id)].add(source)
    return {
        int(r.id): KnownCopy(
            copy_id=int(r.id),
            entry_id=int(r.entry_id),
            source=r.source,
            title=r.title or "",
            text=r.text or "",
            published=r.published,
            cluster_sources=frozenset(members[int(r.entry_id)]),
            time_source=copy_time_source(r),
        )
        for r in rows
        if r.published is not None
    }


def kept_apart_in(c: Connection, story: str) -> frozenset[tuple[int, str]]:
    """The splits made by hand in the story. Read whole and checked for the story here:
    the table is small, and a story names nearly every entry."""
    rows = c.execute(_KEPT_APART).all()
    return frozenset((int(e), s) for e, s, in_story in rows if in_story == story)


def insert_copies(
    c: Connection,
    story: str,
    copies: Sequence[tuple[int, Entry]],
    now: datetime,
    **why: Any,
) -> list[int]:
    """Store sources' copies in entries' clusters, (entry id, copy) each, with their band
    keys, in one multi-row INSERT per table; returns the copies' ids in order. `why` holds
    match, score and reason for copies that joined an existing entry."""
    if not copies:
        return []
    rows = [
        {
            "entry_id": entry_id,
            "source": entry.source,
            "item_key": entry.item_key,
            "content_hash": entry.content_hash,
            "first_seen": now,
            "last_seen": now,
            **_copy_values(entry),
            "published": entry.published,
            "time_source": entry.time_source,
            **why,
        }
        for entry_id, entry in copies
    ]
    # Matched on the unique (source, item_key): a multi-row INSERT returns ids unordered.
    found = c.execute(_INSERT_COPIES, rows).all()
    ids = {(source, key): int(item_id) for item_id, source, key in found}
    item_ids = [ids[(entry.source, entry.item_key)] for _, entry in copies]
    bands.log_changes(c, story, [i for i, (_, e) in zip(item_ids, copies, strict=True) if e.bands])
    return item_ids


def update_copy(c: Connection, story: str, entry_id: int, entry: Entry, now: datetime) -> None:
    """An edited copy: new text and bands, same first `published` and its label."""
    where = (entry_items.c.entry_id == entry_id, entry_items.c.source == entry.source)
    stored = c.execute(select(entry_items).where(*where)).all()
    ids = [int(r.id) for r in stored]
    c.execute(
        update(entry_items)
        .where(*where)
        .values(
            item_key=entry.item_key,
            content_hash=entry.content_hash,
            last_seen=now,
            **_copy_values(entry),
        )
    )
    bands.log_changes(c, story, ids)


def refresh(c: Connection, entry_id: int, now: datetime) -> bool:
    """Show the cluster's best time and fullest text; True when the text changed
    (then `updated` moves to `now`, so readers see the change)."""
    row = c.execute(select(entries).where(entries.c.id == entry_id)).one()
    members = _members(c, entry_id)
    shown: Row[Any] | None = next((m for m in members if m.source == row.source), None)
    for member in members:
        if member.text is None or (shown is not None and member.id == shown.id):
            continue
        if shown is None or len(body_words(member.text)) > FULLER * _words(shown):
            shown = member
    published, time_source = _best_time(members, row)
    values: dict[str, Any] = {"published": published, "time_source": time_source}
    changed = shown is not None and (shown.title, shown.text) != (row.title, row.text)
    if changed and shown is not None:
        values.update(title=shown.title, text=shown.text, html=shown.html or "")
        values["updated"] = max(row.updated, now)
    c.execute(update(entries).where(entries.c.id == entry_id).values(**values))
    return changed


def split(c: Connection, entry_id: int, source: str, now: datetime) -> int:
    """Move `source`'s copies out of the entry into an entry of their own (or, when
    `source` created the entry, move the other copies out), record both sides as kept
    apart, and return the id of the entry created."""
    row = c.execute(select(entries).where(entries.c.id == entry_id)).first()
    if row is None:
        raise StoreError(f"no entry {entry_id}")
    members = _members(c, entry_id)
    named = [m for m in members if m.source == source]
    others = [m for m in members if m.source != source]
    if not named or not others:
        what = "carries no copy from" if not named else "has no other source than"
        raise StoreError(f"entry {entry_id} {what} {source!r}; nothing to split")
    leaving, staying = (others, named) if row.source == source else (named, others)
    new_id = _entry_from_copy(c, row, leaving[0], now)
    for member in leaving:
        why = {"match": None, "score": None} if member is leaving[0] else {}
        c.execute(
            update(entry_items)
            .where(entry_items.c.id == member.id)
            .values(entry_id=new_id, reason=f"split out of entry {entry_id} by hand", **why)
        )
    pairs = {(new_id, m.source) for m in staying} | {(entry_id, m.source) for m in leaving}
    for apart_id, name in sorted(pairs):
        c.execute(insert(kept_apart).values(entry_id=apart_id, source=name, created_at=now))
    refresh(c, new_id, now)
    refresh(c, entry_id, now)
    c.execute(update(entries).where(entries.c.id == entry_id).values(updated=now))
    return new_id


def _entry_from_copy(c: Connection, row: Row[Any], copy: Row[Any], now: datetime) -> int:
    values = {k: v for k, v in row._mapping.items() if k != "id"}
    values.update({k: getattr(copy, k) for k in _COPY_COLUMNS if getattr(copy, k) is not None})
    values.update(
        key=entry_key(copy.source, copy.item_key),
        source=copy.source,
        content_hash=copy.content_hash,
        fingerprint=copy.fingerprint,
        first_seen=now,
        updated=max(row.updated, now),
        deleted_at=None,
    )
    result = c.execute(insert(entries).values(**values).returning(entries.c.id))
    return int(result.scalar_one())


def _members(c: Connection, entry_id: int) -> list[Row[Any]]:
    query = select(entry_items).where(entry_items.c.entry_id == entry_id)
    return list(c.execute(query.order_by(entry_items.c.id)).all())


def _best_time(members: Sequence[Row[Any]], row: Row[Any]) -> tuple[datetime, TimeSource]:
    """A page's or a feed's time beats a first-seen one, which only bounds the real time
    from above; among either kind, the earliest."""
    stamps = [(m.published, copy_time_source(m)) for m in members if m.published is not None]
    return min(stamps, key=lambda s: (s[1] == "first-seen", s[0]), default=_entry_time(row))


def _entry_time(row: Row[Any]) -> tuple[datetime, TimeSource]:
    return row.published, TIME_SOURCES.get(row.time_source, "first-seen")


def _words(member: Row[Any]) -> int:
    return len(body_words(member.text or ""))


def _copy_values(entry: Entry) -> dict[str, Any]:
    return {
        "title": entry.title,
        "text": entry.text,
        "html": entry.html,
        "url": entry.url,
        "author": entry.author,
        "updated": entry.updated,
        "location": entry.location,
        "fingerprint": entry.fingerprint,
        "signature": entry.signature,
        "bands": bands.packed(entry.bands),
    }
