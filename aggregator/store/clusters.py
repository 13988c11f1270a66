"""Clusters: the copies (entry_items) behind each merged entry, their LSH band index,
and the split that undoes a wrong merge. Functions here run inside the caller's
connection, so a poll's copies commit with its entries.

An entry row shows its cluster: the earliest `published` of its copies and the fullest
text (another copy's text replaces the first source's only when clearly longer), while
`source` stays the first carrier, whose edits rewrite it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update

from aggregator.errors import StoreError
from aggregator.normalize import entry_key
from aggregator.similarity import MAX_CANDIDATES, body_words, candidates_by_bands
from aggregator.store.schema import entries, entry_bands, entry_items, kept_apart
from aggregator.types import Entry, KnownCopy

# Another copy's text replaces the shown one only when it has this many times the words:
# a full copy beats a trimmed one, but a byline or one changed word does not.
FULLER = 1.2
_COPY_COLUMNS = ("title", "text", "html", "url", "author", "published", "updated", "location")


def candidates(
    c: Connection, story: str, batch: Sequence[Entry]
) -> tuple[dict[int, tuple[int, ...]], dict[int, KnownCopy]]:
    """The stored copies sharing an LSH band key with an entry of the batch: per band key,
    the copies carrying it, and the copies themselves (at most MAX_CANDIDATES per entry)."""
    keys = sorted({k for e in batch for k in e.bands})
    if not keys:
        return {}, {}
    found: dict[int, list[int]] = defaultdict(list)
    for start in range(0, len(keys), 1000):  # stay under SQLite's bound-parameter limit
        query = select(entry_bands.c.band_key, entry_bands.c.item_id).where(
            entry_bands.c.story == story, entry_bands.c.band_key.in_(keys[start : start + 1000])
        )
        for key, item_id in c.execute(query).all():
            found[int(key)].append(int(item_id))
    hits = {k: tuple(v) for k, v in found.items()}
    wanted = {i for e in batch for i in candidates_by_bands(e.bands, hits, MAX_CANDIDATES)}
    return hits, _copies(c, wanted)


def _copies(c: Connection, item_ids: set[int]) -> dict[int, KnownCopy]:
    if not item_ids:
        return {}
    rows = c.execute(select(entry_items).where(entry_items.c.id.in_(sorted(item_ids)))).all()
    entry_ids = {int(r.entry_id) for r in rows}
    members: dict[int, set[str]] = defaultdict(set)
    query = select(entry_items.c.entry_id, entry_items.c.source).where(
        entry_items.c.entry_id.in_(sorted(entry_ids))
    )
    for entry_id, source in c.execute(query).all():
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
        )
        for r in rows
        if r.published is not None
    }


def kept_apart_in(c: Connection, story: str) -> frozenset[tuple[int, str]]:
    query = (
        select(kept_apart.c.entry_id, kept_apart.c.source)
        .join(entries, entries.c.id == kept_apart.c.entry_id)
        .where(entries.c.story == story)
    )
    return frozenset((int(e), s) for e, s in c.execute(query).all())


def insert_copy(
    c: Connection, story: str, entry_id: int, entry: Entry, now: datetime, **why: Any
) -> int:
    """Store one source's copy in an entry's cluster, with its band keys; `why` holds
    match, score and reason for a copy that joined an existing entry."""
    result = c.execute(
        insert(entry_items)
        .values(
            entry_id=entry_id,
            source=entry.source,
            item_key=entry.item_key,
            content_hash=entry.content_hash,
            first_seen=now,
            last_seen=now,
            **_copy_values(entry),
            published=entry.published,
            **why,
        )
        .returning(entry_items.c.id)
    )
    item_id = int(result.scalar_one())
    _index(c, story, item_id, entry)
    return item_id


def update_copy(c: Connection, story: str, entry_id: int, entry: Entry, now: datetime) -> None:
    """An edited copy: new text and bands, same first `published`."""
    where = (entry_items.c.entry_id == entry_id, entry_items.c.source == entry.source)
    ids = [int(i) for i in c.execute(select(entry_items.c.id).where(*where)).scalars()]
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
    for item_id in ids:
        c.execute(delete(entry_bands).where(entry_bands.c.item_id == item_id))
        _index(c, story, item_id, entry)


def refresh(c: Connection, entry_id: int, now: datetime) -> bool:
    """Show the cluster's earliest time and fullest text; True when the text changed
    (then `updated` moves to `now`, so readers see the change)."""
    row = c.execute(select(entries).where(entries.c.id == entry_id)).one()
    members = _members(c, entry_id)
    times = [m.published for m in members if m.published is not None]
    shown: Row[Any] | None = next((m for m in members if m.source == row.source), None)
    for member in members:
        if member.text is None or (shown is not None and member.id == shown.id):
            continue
        if shown is None or len(body_words(member.text)) > FULLER * _words(shown):
            shown = member
    values: dict[str, Any] = {"published": min(times, default=row.published)}
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


def members_of(c: Connection, entry_id: int) -> list[Row[Any]]:
    return _members(c, entry_id)


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
    }


def _index(c: Connection, story: str, item_id: int, entry: Entry) -> None:
    if entry.bands:
        rows = [{"story": story, "band_key": k, "item_id": item_id} for k in set(entry.bands)]
        c.execute(insert(entry_bands), rows)
