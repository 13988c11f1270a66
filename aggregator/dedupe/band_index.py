"""PURE: one story's LSH band index, held in memory.

A signed copy is posted under one slot per (band key, day) pair: its band keys, on
every day it may have been published (`similarity.band_days`). A batch looks up its
keys on the days near its entries (`similarity.band_days_near`), so a copy further
apart in time is never even read.

    put(copy_id, bands, days)        index a copy; again for an edited one, whose old
                                     slots then stop counting
    put_many(copy_ids, bands, days)  the same for many copies, band keys as a matrix
    put_spans(ids, bands, firsts, lasts)  the same, each copy's days as two arrays
    drop(copy_id)                    a copy that is gone
    find(days_of)                    band key -> the copies posted under it on those days
    find_pairs(keys, days)           the same for (band key, day) pairs as two arrays

The postings are held in 4 shards by slot, each three sorted runs of numpy arrays, 12
bytes a posting (slot, copy id): a young run that new postings are inserted into, of
at most `_YOUNG_CAP` postings, so that a put copies no more than that however large the
index grows; a middle run the young one is merged into once full; and the old run, that
the other two are merged into once they hold a quarter as many. So each posting is
copied a bounded number of times in young and middle, O(log n) in old, and a merge needs
room for a quarter of the index. Copies put again or dropped are kept in `_now` with the
slots they have now, which filter their older postings until every shard has been
merged without them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# Odd, so distinct days give distinct multiples; XORed into the band key, the pair
# lands on a 64-bit slot where two different pairs meet with chance 2**-64.
_DAY_MIX = 0x9E3779B97F4A7C15
# The index is split by a slot's top bits, so that a merge copies a quarter of it: a
# merge needs room for the old run and the new one at once.
_SHARDS = 4
_SHARD_SHIFT = np.uint64(62)
_MIN_YOUNG = 1 << 14  # postings a shard's newer runs may hold before they are merged
# A put copies the young run: with it bounded (768 KB), a put's cost does not grow with
# the index (an uncapped young run held up to a quarter of a shard).
_YOUNG_CAP = 1 << 16
_MAX_NOW = 1024

Slots = npt.NDArray[np.uint64]
Ids = npt.NDArray[np.int32]  # copy ids: an SQL INTEGER
Run = tuple[Slots, Ids]
_EMPTY: Run = (np.empty(0, np.uint64), np.empty(0, np.int32))


def as_slots(band_keys: Iterable[int]) -> Slots:
    """Signed 64-bit band keys as the unsigned values slots are made from."""
    return np.fromiter(band_keys, np.int64).view(np.uint64)


@dataclass
class _Shard:
    old: Run = _EMPTY
    middle: Run = _EMPTY
    young: Run = _EMPTY

    @property
    def runs(self) -> tuple[Run, Run, Run]:
        return self.old, self.middle, self.young


class BandIndex:
    def __init__(self) -> None:
        self._shards = [_Shard() for _ in range(_SHARDS)]
        self._now: dict[int, frozenset[int]] = {}
        self._top = 0  # the highest copy id ever put: a higher one is posted nowhere yet

    def __len__(self) -> int:
        """Postings held, counting those a merge will drop."""
        return sum(len(run[0]) for s in self._shards for run in s.runs)

    @property
    def nbytes(self) -> int:
        """The bytes the postings' arrays take."""
        return sum(a.nbytes for s in self._shards for run in s.runs for a in run)

    def put(self, copy_id: int, bands: Iterable[int], days: range) -> None:
        keys = as_slots(bands)
        self.put_many([copy_id], keys.reshape(1, -1), [days])

    def put_many(self, copy_ids: Sequence[int], bands: Slots, days: Sequence[range]) -> None:
        """Index copies: `bands` holds each copy's band keys as a row (`as_slots`),
        `days` each copy's days."""
        firsts = np.fromiter((d.start for d in days), np.int64, len(days))
        lasts = np.fromiter((d.stop - 1 for d in days), np.int64, len(days))
        self.put_spans(np.asarray(copy_ids, np.int64), bands, firsts, lasts)

    def put_spans(
        self,
        copy_ids: npt.NDArray[np.int64],
        bands: Slots,
        firsts: npt.NDArray[np.int64],
        lasts: npt.NDArray[np.int64],
    ) -> None:
        """`put_many` with each copy's days as its first and last day, in two arrays."""
        if not len(copy_ids):
            return
        ids = copy_ids.astype(np.int32)
        widths = np.maximum(lasts - firsts + 1, 0)
        slot_parts: list[Slots] = []
        id_parts: list[Ids] = []
        for offset in range(int(widths.max(initial=0))):
            rows = widths > offset
            slot_parts.append(_slots(bands[rows], (firsts[rows] + offset)[:, None]).ravel())
            id_parts.append(np.repeat(ids[rows], bands.shape[1]))
        slots, posted = np.concatenate(slot_parts), np.concatenate(id_parts)
        for row in np.flatnonzero(ids <= self._top).tolist():
            day_numbers = np.arange(firsts[row], lasts[row] + 1)[:, None]
            now = _slots(bands[row][None, :], day_numbers).ravel()
            self._now[int(ids[row])] = frozenset(now.tolist())
        self._top = max(self._top, int(ids.max()))
        for shard, part in self._split(slots):
            shard.young = _merged(shard.young, (slots[part], posted[part]))
            quarter = max(_MIN_YOUNG, len(shard.old[0]) // 4)
            if len(shard.young[0]) >= min(_YOUNG_CAP, quarter):
                shard.middle = _merged(shard.middle, shard.young, presorted=True)
                shard.young = _EMPTY
            if len(shard.middle[0]) >= quarter:
                self._merge(shard)
        self._settle()

    def drop(self, copy_id: int) -> None:
        if copy_id <= self._top:
            self._now[copy_id] = frozenset()
            self._settle()

    def find(self, days_of: Mapping[int, Collection[int]]) -> dict[int, set[int]]:
        """For each band key, the copies posted under it on any of its days."""
        pairs = [(key, day) for key, near in days_of.items() for day in near]
        keys = np.array([key for key, _ in pairs], np.int64)
        return self.find_pairs(keys, np.array([day for _, day in pairs], np.int64))

    def find_pairs(
        self, keys: npt.NDArray[np.int64], days: npt.NDArray[np.int64]
    ) -> dict[int, set[int]]:
        """For each band key, the copies posted under it on the day beside it in `days`
        (a key may come several times, a day each time)."""
        found: dict[int, set[int]] = {}
        if not len(keys):
            return found
        # Sorted, each binary search starts where the last one ended, in cached memory.
        queries, first = np.unique(_slots(keys.view(np.uint64), days), return_index=True)
        keys = keys[first]
        for shard, part in self._split(queries):
            for run in shard.runs:
                at, copy_ids = _postings(run, queries[part])
                at = part[at]
                hit_keys = keys[at]
                if self._now:
                    keep = self._counting(queries[at], copy_ids)
                    hit_keys, copy_ids = hit_keys[keep], copy_ids[keep]
                for key, copy_id in zip(hit_keys.tolist(), copy_ids.tolist(), strict=True):
                    found.setdefault(key, set()).add(copy_id)
        return found

    def _split(self, slots: Slots) -> Iterator[tuple[_Shard, npt.NDArray[np.intp]]]:
        """Each shard that `slots` fall in, with the indexes of those that do."""
        shard_of = (slots >> _SHARD_SHIFT).astype(np.intp)
        order = np.argsort(shard_of, kind="stable")
        bounds = np.searchsorted(shard_of[order], np.arange(_SHARDS + 1))
        for n, shard in enumerate(self._shards):
            if bounds[n + 1] > bounds[n]:
                yield shard, order[bounds[n] : bounds[n + 1]]

    def _settle(self) -> None:
        """Once enough copies wait to have their older postings dropped, merge every
        shard, dropping them."""
        if len(self._now) > _MAX_NOW:
            for shard in self._shards:
                self._merge(shard)
            self._now = {}

    def _merge(self, shard: _Shard) -> None:
        """The shard's newer runs merged into its old one, without the postings that no
        longer count."""
        newer = _merged(shard.middle, shard.young, presorted=True)
        slots, ids = _merged(shard.old, newer, presorted=True)
        if self._now:
            keep = self._counting(slots, ids, once=True)
            slots, ids = slots[keep], ids[keep]
        shard.old, shard.middle, shard.young = (slots, ids), _EMPTY, _EMPTY

    def _counting(self, slots: Slots, ids: Ids, *, once: bool = False) -> npt.NDArray[np.bool_]:
        """Which postings still count: all but the slots that copies put again or
        dropped no longer have; with `once`, also but a repeat of a posting before it
        (a copy put again with a slot it had), so that a merge holds each once."""
        keep = np.ones(len(ids), bool)
        touched = np.flatnonzero(np.isin(ids, np.fromiter(self._now, np.int32, len(self._now))))
        seen: set[tuple[int, int]] = set()
        for i in touched.tolist():
            posting = (int(slots[i]), int(ids[i]))
            keep[i] = posting[0] in self._now[posting[1]] and not (once and posting in seen)
            seen.add(posting)
        return keep


def _merged(run: Run, more: Run, *, presorted: bool = False) -> Run:
    """The sorted run with `more` (`presorted`: a sorted run too) inserted where each
    belongs, after equal slots already there: one pass over the run."""
    if not len(more[0]):
        return run
    if not len(run[0]) and presorted:
        return more
    slots, ids = more
    if not presorted:
        order = np.argsort(slots, kind="stable")
        slots, ids = slots[order], ids[order]
    at = np.searchsorted(run[0], slots, side="right")
    return np.insert(run[0], at, slots), np.insert(run[1], at, ids)


def _postings(run: Run, queries: Slots) -> tuple[npt.NDArray[np.intp], Ids]:
    """Every posting of `run` under one of `queries` (sorted): the query's index and the
    copy."""
    if not len(run[0]):
        return np.empty(0, np.intp), run[1][:0]
    starts = np.searchsorted(run[0], queries, side="left")
    hit = np.flatnonzero(run[0][np.minimum(starts, len(run[0]) - 1)] == queries)
    if not hit.size:
        return hit, run[1][:0]
    per_hit = np.searchsorted(run[0], queries[hit], side="right") - starts[hit]
    at = np.repeat(hit, per_hit)
    firsts = np.repeat(starts[hit] - (np.cumsum(per_hit) - per_hit), per_hit)
    return at, run[1][firsts + np.arange(len(at))]


def _slots(keys: Slots, days: npt.NDArray[np.int64]) -> Slots:
    """Each (band key, day) pair's slot: keys as unsigned 64-bit, days broadcast."""
    return keys ^ (days.astype(np.uint64) * np.uint64(_DAY_MIX))
