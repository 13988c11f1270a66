"""PURE: one story's LSH band index, held in memory.

A signed copy is posted under one slot per (band key, day) pair: its band keys, on
every day it may have been published (`similarity.band_days`). A batch looks up its
keys on the days near its entries (`similarity.band_days_near`), so a copy further
apart in time is never even read.

    put(copy_id, bands, days)   index a copy; again for an edited one, whose old slots
                                then stop counting
    drop(copy_id)               a copy that is gone
    find(days_of)               band key -> the copies posted under it on those days

Most postings sit in one sorted run of numpy arrays, 12 bytes each (slot, copy id).
Those added since the run was last rebuilt wait in a dict; copies put again or dropped
since then are kept in `_now` with the slots they have now, which filter the run's
older postings until the next rebuild drops them. A rebuild happens once the waiting
postings reach a quarter of the run, so each posting is sorted O(log n) times.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

# Odd, so distinct days give distinct multiples; XORed into the band key, the pair
# lands on a 64-bit slot where two different pairs meet with chance 2**-64.
_DAY_MIX = 0x9E3779B97F4A7C15
_MASK = (1 << 64) - 1
_MIN_WAITING = 1 << 16
_MAX_NOW = 1024

Slots = npt.NDArray[np.uint64]
Ids = npt.NDArray[np.int64]


def slot(band_key: int, day: int) -> int:
    return (band_key ^ (day * _DAY_MIX)) & _MASK


class BandIndex:
    def __init__(self) -> None:
        self._slots: Slots = np.empty(0, np.uint64)
        self._ids: Ids = np.empty(0, np.int64)
        self._waiting: dict[int, list[int]] = {}
        self._waiting_count = 0
        self._now: dict[int, frozenset[int]] = {}
        self._top = 0  # the highest copy id ever put: a higher one is posted nowhere yet

    def __len__(self) -> int:
        """Postings held, counting those a rebuild will drop."""
        return len(self._slots) + self._waiting_count

    def put(self, copy_id: int, bands: Iterable[int], days: Iterable[int]) -> None:
        day_list = list(days)
        slots = {slot(key, day) for key in bands for day in day_list}
        if copy_id <= self._top:
            self._now[copy_id] = frozenset(slots)
        self._top = max(self._top, copy_id)
        for at in slots:
            self._waiting.setdefault(at, []).append(copy_id)
        self._waiting_count += len(slots)
        self._maybe_rebuild()

    def put_many(self, copy_ids: Sequence[int], bands: Slots, days: Sequence[range]) -> None:
        """Index copies known to be new to the index, in one go: `bands` holds each
        copy's band keys as a row (as unsigned 64-bit), `days` each copy's days."""
        if not copy_ids:
            return
        if min(copy_ids) <= self._top:
            for copy_id, row, span in zip(copy_ids, bands, days, strict=True):
                self.put(copy_id, (int(k) for k in row), span)
            return
        ids = np.asarray(copy_ids, np.int64)
        firsts = np.fromiter((d.start for d in days), np.int64, len(days))
        widths = np.fromiter((len(d) for d in days), np.int64, len(days))
        parts: list[tuple[Slots, Ids]] = []
        for offset in range(int(widths.max(initial=0))):
            rows = widths > offset
            slots = _slots(bands[rows], (firsts[rows] + offset)[:, None]).ravel()
            parts.append((slots, np.repeat(ids[rows], bands.shape[1])))
        self._top = max(self._top, int(ids.max()))
        self._rebuild([(self._slots, self._ids), *parts])

    def drop(self, copy_id: int) -> None:
        if copy_id <= self._top:
            self._now[copy_id] = frozenset()
            self._maybe_rebuild()

    def find(self, days_of: Mapping[int, Collection[int]]) -> dict[int, set[int]]:
        """For each band key, the copies posted under it on any of its days."""
        keys: list[int] = []
        days: list[int] = []
        for key, near in days_of.items():
            for day in near:
                keys.append(key)
                days.append(day)
        found: dict[int, set[int]] = {}
        if not keys:
            return found
        queries = _slots(np.array(keys, np.int64).view(np.uint64), np.array(days, np.int64))
        starts = np.searchsorted(self._slots, queries, side="left")
        ends = np.searchsorted(self._slots, queries, side="right")
        for i in np.flatnonzero(ends > starts).tolist():
            at = int(queries[i])
            for copy_id in self._ids[starts[i] : ends[i]].tolist():
                self._add(found, keys[i], at, copy_id)
        if self._waiting:
            for i, at in enumerate(queries.tolist()):
                for copy_id in self._waiting.get(at, ()):
                    self._add(found, keys[i], at, copy_id)
        return found

    def _add(self, found: dict[int, set[int]], key: int, at: int, copy_id: int) -> None:
        now = self._now.get(copy_id)
        if now is None or at in now:
            found.setdefault(key, set()).add(copy_id)

    def _maybe_rebuild(self) -> None:
        if (
            self._waiting_count >= max(_MIN_WAITING, len(self._slots) // 4)
            or len(self._now) > _MAX_NOW
        ):
            self._rebuild([(self._slots, self._ids)])

    def _rebuild(self, runs: list[tuple[Slots, Ids]]) -> None:
        """One sorted run of every posting that still counts."""
        waiting = [(at, copy_id) for at, ids in self._waiting.items() for copy_id in ids]
        if waiting:
            slots = np.fromiter((at for at, _ in waiting), np.uint64, len(waiting))
            ids = np.fromiter((copy_id for _, copy_id in waiting), np.int64, len(waiting))
            runs = [*runs, (slots, ids)]
        all_slots = np.concatenate([s for s, _ in runs])
        all_ids = np.concatenate([i for _, i in runs])
        if self._now:
            all_slots, all_ids = self._still_counting(all_slots, all_ids)
        order = np.argsort(all_slots, kind="stable")
        self._slots, self._ids = all_slots[order], all_ids[order]
        self._waiting, self._waiting_count, self._now = {}, 0, {}

    def _still_counting(self, slots: Slots, ids: Ids) -> tuple[Slots, Ids]:
        """Without the slots that copies put again or dropped no longer have, and with
        each slot they still have once (a copy put again may hold it twice)."""
        keep = np.ones(len(ids), bool)
        touched = np.flatnonzero(np.isin(ids, np.fromiter(self._now, np.int64, len(self._now))))
        seen: set[tuple[int, int]] = set()
        for i in touched.tolist():
            posting = (int(slots[i]), int(ids[i]))
            keep[i] = posting[0] in self._now[posting[1]] and posting not in seen
            seen.add(posting)
        return slots[keep], ids[keep]


def _slots(keys: Slots, days: npt.NDArray[np.int64]) -> Slots:
    """`slot` over arrays: keys as unsigned 64-bit, days broadcast against them."""
    return keys ^ (days.astype(np.uint64) * np.uint64(_DAY_MIX))
