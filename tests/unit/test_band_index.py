"""The in-memory band index: what it finds is what a table of (day, band key, copy) rows
would give, through copies put again, dropped, loaded in bulk, and rebuilds; and the
days a stored batch is posted under are each copy's `band_days`."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from aggregator.core.types import TimeSource
from aggregator.dedupe import band_index
from aggregator.dedupe.band_index import BandIndex
from aggregator.dedupe.similarity import band_day_spans, band_days

Rows = set[tuple[int, int, int]]  # (day, band key, copy id)


def _rows(copy_id: int, bands: list[int], days: range) -> Rows:
    return {(day, key, copy_id) for key in bands for day in days}


def _expected(rows: Rows, days_of: dict[int, set[int]]) -> dict[int, set[int]]:
    found: dict[int, set[int]] = {}
    for day, key, copy_id in rows:
        if day in days_of.get(key, ()):
            found.setdefault(key, set()).add(copy_id)
    return found


# Signed 64-bit, as band keys are; a small pool, so that copies share some and a copy
# put again may keep some of its old keys.
POOL = [random.Random(1).randrange(-(2**63), 2**63) for _ in range(60)]


def _keys(draw: random.Random, n: int) -> list[int]:
    return draw.sample(POOL, n)


def test_a_copy_is_found_under_its_keys_on_its_days_only() -> None:
    index = BandIndex()
    index.put(7, [-3, 11], range(100, 101))
    index.put(8, [11], range(97, 101))  # a first-seen copy, kept under its reach
    assert index.find({11: {100}, -3: {99, 100}}) == {11: {7, 8}, -3: {7}}
    assert index.find({11: {97}}) == {11: {8}}
    assert index.find({-3: {101}, 12: {100}}) == {}


def test_a_copy_put_again_counts_under_its_new_keys_only_and_a_dropped_one_nowhere() -> None:
    index = BandIndex()
    index.put(1, [5, 6], range(10, 11))
    index.put(2, [5], range(10, 11))
    index.put(1, [6, 9], range(11, 12))  # edited: new keys, and a new day
    assert index.find({5: {10}, 6: {10, 11}, 9: {11}}) == {5: {2}, 6: {1}, 9: {1}}
    index.drop(2)
    index.drop(99)  # never put: nothing to do
    assert index.find({5: {10}}) == {}


def test_random_puts_and_drops_agree_with_a_table_of_rows_across_rebuilds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Small thresholds force many rebuilds through all three runs; each step is checked
    against the rows a table would hold (a copy put again replaces its rows, a dropped
    one has none)."""
    monkeypatch.setattr(band_index, "_MIN_YOUNG", 40)
    monkeypatch.setattr(band_index, "_YOUNG_CAP", 25)  # young -> middle -> old, all used
    monkeypatch.setattr(band_index, "_MAX_NOW", 3)
    draw = random.Random(20261207)
    index = BandIndex()
    table: dict[int, Rows] = {}
    for step in range(600):
        copy_id = draw.randrange(1, 80)
        if draw.random() < 0.15:
            index.drop(copy_id)
            table.pop(copy_id, None)
        else:
            bands = _keys(draw, draw.randrange(1, 6))
            first = draw.randrange(0, 6)
            days = range(first, first + draw.choice((1, 1, 4)))
            index.put(copy_id, bands, days)
            table[copy_id] = _rows(copy_id, bands, days)
        if step % 10 == 0:
            rows = set().union(*table.values()) if table else set()
            keys = {key for _, key, _ in rows} | set(_keys(draw, 3))
            days_of = {key: set(draw.sample(range(8), 3)) for key in keys}
            assert index.find(days_of) == _expected(rows, days_of), step
            # As pairs, in any order and with repeats, as a poll's batch asks.
            pairs = [(k, d) for k, near in days_of.items() for d in near for _ in range(2)]
            draw.shuffle(pairs)
            keys_a, days_a = (np.array(column, np.int64) for column in zip(*pairs, strict=True))
            assert index.find_pairs(keys_a, days_a) == _expected(rows, days_of), step


def test_a_bulk_load_finds_what_one_put_at_a_time_finds() -> None:
    draw = random.Random(7)
    copies = [
        (i, _keys(draw, 4), range(d, d + draw.choice((1, 4))))
        for i, d in ((i, draw.randrange(0, 5)) for i in range(1, 200))
    ]
    one_by_one, bulk = BandIndex(), BandIndex()
    for copy_id, bands, days in copies:
        one_by_one.put(copy_id, bands, days)
    matrix = np.array([bands for _, bands, _ in copies], np.int64).view(np.uint64)
    bulk.put_many([i for i, _, _ in copies], matrix, [days for _, _, days in copies])
    keys = {key for _, bands, _ in copies for key in bands}
    days_of = {key: {0, 2, 5} for key in keys}
    assert bulk.find(days_of) == one_by_one.find(days_of) != {}
    # Loaded again over a copy it holds, the copy's old keys stop finding it.
    bulk.put_many([1], np.array([[3, 4, 5, 6]], np.int64).view(np.uint64), [range(0, 1)])
    assert bulk.find({3: {0}}) == {3: {1}}
    old = {key: {0, 1, 2, 3, 4, 5, 6, 7} for key in copies[0][1]}
    assert all(1 not in found for found in bulk.find(old).values())


def test_a_copy_put_again_and_again_holds_its_postings_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(band_index, "_MAX_NOW", 0)  # a rebuild after every put
    index = BandIndex()
    for _ in range(5):
        index.put(1, [4, 5, 6], range(10, 14))
    index.put(2, [4], range(10, 11))
    assert len(index) == 3 * 4 + 1
    assert index.nbytes == (3 * 4 + 1) * 12  # a 64-bit slot and a 32-bit copy id each
    assert index.find({4: {10}, 6: {13}}) == {4: {1, 2}, 6: {1}}


def test_new_copies_are_found_in_whichever_run_holds_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only new copies (nothing put again, so no rebuild): postings move from the young
    run, capped small here, to the middle one and on to the old one, and each look-up
    finds every copy wherever its postings are at that moment."""
    monkeypatch.setattr(band_index, "_MIN_YOUNG", 40)
    monkeypatch.setattr(band_index, "_YOUNG_CAP", 10)
    draw = random.Random(6)
    index = BandIndex()
    rows: Rows = set()
    held_in: set[str] = set()
    for copy_id in range(1, 300):
        bands = _keys(draw, draw.randrange(1, 4))
        day = draw.randrange(0, 3)
        index.put(copy_id, bands, range(day, day + 1))
        rows |= _rows(copy_id, bands, range(day, day + 1))
        held_in |= {
            name
            for shard in index._shards
            for name, run in zip(("old", "middle", "young"), shard.runs, strict=True)
            if len(run[0])
        }
        days_of = {key: {0, 1, 2} for _, key, _ in rows}
        assert index.find(days_of) == _expected(rows, days_of), copy_id
    assert held_in == {"old", "middle", "young"}


def test_day_spans_of_a_batch_are_each_copys_band_days() -> None:
    """The arrays a stored batch is posted with give every copy the days `band_days`
    gives it, for each kind of time, across midnights and before 1970."""
    draw = random.Random(3)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    moments = [epoch + timedelta(seconds=draw.randrange(-5 * 86_400, 60 * 365 * 86_400))]
    moments += [
        datetime(2026, 12, 7, 0, 0, tzinfo=UTC),
        datetime(2026, 12, 6, 23, 59, 59, 999_999, tzinfo=UTC),
    ]
    moments += [
        epoch + timedelta(microseconds=draw.randrange(-(10**12), 10**16)) for _ in range(300)
    ]
    sources: list[TimeSource] = [draw.choice(("page", "feed", "first-seen")) for _ in moments]
    micros = np.array([(m - epoch) // timedelta(microseconds=1) for m in moments], np.int64)
    firsts, lasts = band_day_spans(micros, np.array([s == "first-seen" for s in sources]))
    for i, (moment, source) in enumerate(zip(moments, sources, strict=True)):
        days = band_days(moment, source)
        assert (int(firsts[i]), int(lasts[i])) == (days.start, days.stop - 1), (moment, source)
