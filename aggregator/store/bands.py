"""EDGE: each story's LSH band index, held in a Store's memory, kept in step with the store.

The store stays the truth, shared by every process: each signed copy keeps its band
keys (`entry_items.bands`), and `band_changes` logs every copy whose keys were written,
in commit order per story. A story's index is loaded once, from the story's signed
copies; before each use it reads the log past the last row it read, so copies stored or
edited since, by any process, are posted again, and a copy deleted since is dropped.

Writers log inside the transaction that writes the copies, and both they and the
readers hold the story's deciding lock (store/deciding.py) around it, so a reader
never sees a later log row before an earlier one; on PostgreSQL the story's id lock
(story_order.py) keeps that true for any writer. A copy deleted without a log row
(forgetting a source) drops out the first time a look-up names it.

The log is trimmed as it is written: every `trim_every` writes, a process keeps the
story's newest `keep` rows and turns the oldest of them into a marker (item_id
`TRIMMED`), so it holds a story's recent changes, not every copy ever stored. An index
that last read a row older than the marker meets it first and loads again, whole.

    StoryBands.current(c, story)   the story's index, caught up with the store
    StoryBands.wrote(c, story)     after a writer logged changes: trims the log now and then
    log_changes(c, story, ids)     inside a writer's transaction: these copies' keys changed
    packed(bands)                  band keys as stored in `entry_items.bands`
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    Connection,
    Row,
    bindparam,
    case,
    delete,
    func,
    insert,
    select,
    type_coerce,
    update,
)
from sqlalchemy.types import NullType

from aggregator.dedupe.band_index import BandIndex
from aggregator.dedupe.similarity import band_day_spans, band_keys
from aggregator.store.rows import TIME_SOURCES
from aggregator.store.schema import band_changes, entries, entry_items
from aggregator.store.story_order import hold_story_events

log = logging.getLogger("aggregator.store")
_KEY = np.dtype(">i8")
# Copies indexed at once while loading: bounds the arrays built for them (about 1.4 MB).
_BATCH = 4096


def packed(bands: Sequence[int]) -> bytes | None:
    return np.array(bands, _KEY).tobytes() if bands else None


_LOG = insert(band_changes)
# The item_id of the row that stands where the trimmed log began.
TRIMMED = -1
_NTH_NEWEST = (
    select(band_changes.c.id)
    .where(band_changes.c.story == bindparam("story"))
    .order_by(band_changes.c.id.desc())
    .limit(1)
    .offset(bindparam("keep"))
)
_TRIM = delete(band_changes).where(
    band_changes.c.story == bindparam("story"), band_changes.c.id < bindparam("below")
)
_MARK = update(band_changes).where(band_changes.c.id == bindparam("at")).values(item_id=TRIMMED)


def log_changes(c: Connection, story: str, item_ids: Sequence[int]) -> None:
    if item_ids:
        hold_story_events(c, story)
        c.execute(_LOG, [{"story": story, "item_id": i} for i in item_ids])


@dataclass
class _Held:
    index: BandIndex
    read_up_to: int  # the last band_changes id applied


class StoryBands:
    # A process that has not looked at a story for this many logged copies loads it
    # again (0.24 s for 17,222 copies, bench/band_load.py); one poll logs a few dozen.
    keep = 10_000
    trim_every = 200

    def __init__(self) -> None:
        self._held: dict[str, _Held] = {}
        self._guard = threading.Lock()
        self._writes: dict[str, int] = {}

    def wrote(self, c: Connection, story: str) -> None:
        """Count a write that logged changes; every `trim_every`th, inside that write's
        transaction and the story's deciding lock, drop the story's log rows older than
        its newest `keep` and mark where it now begins."""
        with self._guard:
            count = self._writes[story] = self._writes.get(story, 0) + 1
        if count % self.trim_every:
            return
        oldest_kept = c.execute(_NTH_NEWEST, {"story": story, "keep": self.keep - 1}).scalar()
        if oldest_kept is None:
            return
        trimmed = c.execute(_TRIM, {"story": story, "below": oldest_kept}).rowcount
        c.execute(_MARK, {"at": oldest_kept})
        log.debug("band log trimmed", extra={"story": story, "rows": trimmed})

    def current(self, c: Connection, story: str) -> BandIndex:
        """The story's index with every change the store has logged applied. Call it
        holding the story's deciding lock."""
        held = self._loaded(c, story)
        _catch_up(c, story, held)
        return held.index

    def _loaded(self, c: Connection, story: str) -> _Held:
        """Loaded on the first look-up, inside its story lock: a background load when a
        worker starts was tried, and cost a fresh process's all-304 cycle 0.78 -> 1.21 s
        (bench/run.py) for nothing in the tick cycle."""
        with self._guard:
            held = self._held.get(story)
        if held is None:
            started = time.perf_counter()
            held = _load(c, story)
            with self._guard:
                self._held[story] = held
            log.info(
                "band index loaded",
                extra={
                    "story": story,
                    "postings": len(held.index),
                    "seconds": round(time.perf_counter() - started, 3),
                },
            )
        return held


# The copy's columns a posting needs; the signature only where older code wrote no keys.
# Its times are read as the driver gives them (text on SQLite, naive UTC datetimes on
# PostgreSQL) and turned into numbers by numpy for a batch at once: per row, SQLAlchemy's
# processing and the days worked out in Python were most of loading an index.
# `first_seen` is read only where a row has no time label (older code wrote none).
_COPY = (
    entry_items.c.bands,
    case((entry_items.c.bands.is_(None), entry_items.c.signature)).label("signature"),
    type_coerce(func.coalesce(entry_items.c.published, entries.c.published), NullType()).label(
        "published"
    ),
    entry_items.c.time_source,
    type_coerce(
        case((entry_items.c.time_source.is_(None), entry_items.c.first_seen)), NullType()
    ).label("first_seen"),
)


def _load(c: Connection, story: str) -> _Held:
    """Every signed copy of the story, from the log's last row on (read first: a change
    committed between the two reads is applied again by the catch-up, which is harmless)."""
    last = c.execute(
        select(func.max(band_changes.c.id)).where(band_changes.c.story == story)
    ).scalar()
    query = (
        select(entry_items.c.id.label("item_id"), *_COPY)
        .join(entries, entries.c.id == entry_items.c.entry_id)
        .where(
            entries.c.story == story,
            (entry_items.c.bands.is_not(None)) | (entry_items.c.signature.is_not(None)),
        )
        .order_by(entry_items.c.id)  # new to the index, in order: none is taken for an edit
    )
    index = BandIndex()
    _post(index, c.execute(query).partitions(_BATCH))
    return _Held(index, int(last or 0))


_Copy = Row[Any, *tuple[Any, ...]]  # a copy's `_COPY` columns with its `item_id`
_CHANGES = (
    select(band_changes.c.id.label("change"), band_changes.c.item_id, *_COPY)
    .outerjoin(entry_items, entry_items.c.id == band_changes.c.item_id)
    .outerjoin(entries, entries.c.id == entry_items.c.entry_id)
    .where(band_changes.c.story == bindparam("story"), band_changes.c.id > bindparam("after"))
    .order_by(band_changes.c.id)
)


def _catch_up(c: Connection, story: str, held: _Held) -> None:
    """Apply the log's rows past the last one read; each names a copy, read as it is
    now (a copy logged twice is put once)."""
    rows = c.execute(_CHANGES, {"story": story, "after": held.read_up_to}).all()
    if rows and rows[0].item_id == TRIMMED:  # rows this index had not read are gone
        loaded = _load(c, story)
        held.index, held.read_up_to = loaded.index, loaded.read_up_to
        log.info("band index loaded again", extra={"story": story})
        return
    latest: dict[int, _Copy] = {}
    read_up_to = held.read_up_to
    for row in rows:
        latest[int(row.item_id)] = row
        read_up_to = int(row.change)
    _post(held.index, [list(latest.values())])
    held.read_up_to = read_up_to  # only once applied: a failed read is read again


def _post(index: BandIndex, parts: Iterable[Sequence[_Copy]]) -> None:
    """Index each copy (a row with `item_id`) as stored, a part of the rows at a time in
    batches of copies with as many keys; drop those gone or left without keys or a time."""
    for rows in parts:
        by_width: dict[int, list[tuple[_Copy, bytes]]] = {}
        for row in rows:
            keys = _keys_of(row)
            if keys is None or row.published is None:
                index.drop(int(row.item_id))
            else:
                by_width.setdefault(len(keys), []).append((row, keys))
        for width, batch in sorted(by_width.items()):
            _put(index, width, batch)


def _put(index: BandIndex, width: int, batch: list[tuple[_Copy, bytes]]) -> None:
    rows = [row for row, _ in batch]
    matrix = np.frombuffer(b"".join([keys for _, keys in batch]), _KEY)
    published = _microseconds([row.published for row in rows])
    labels = [TIME_SOURCES.get(row.time_source) for row in rows]
    first_seen = np.array([label == "first-seen" for label in labels], bool)
    # rows.copy_time_source's rule for a batch: a row without a label (older code) was
    # first seen when its time is when it was stored.
    unlabelled = np.array([label is None for label in labels], bool)
    if unlabelled.any():
        first_seen |= unlabelled & (published == _microseconds([r.first_seen for r in rows]))
    firsts, lasts = band_day_spans(published, first_seen)
    ids = np.array([row.item_id for row in rows], np.int64)
    keys = matrix.reshape(-1, width // _KEY.itemsize).astype(np.int64).view(np.uint64)
    index.put_spans(ids, keys, firsts, lasts)


def _microseconds(times: list[Any]) -> npt.NDArray[np.int64]:
    """Stored naive UTC times (text or datetimes; None is NaT) as microseconds since 1970."""
    return np.array(times, "datetime64[us]").astype(np.int64)


def _keys_of(row: _Copy) -> bytes | None:
    """The copy's band keys as stored; computed from its signature for a row that older
    code wrote without them."""
    if row.bands is not None:
        return bytes(row.bands)
    if row.signature is not None:
        return packed(band_keys(bytes(row.signature)))
    return None
