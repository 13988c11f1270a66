"""PURE: near-duplicate evidence. Word shingles, MinHash signatures, LSH band keys, and the
verdict on one candidate pair.

The index lives in the store, not in memory: each stored copy keeps its MinHash
signature and one row per LSH band key, so a batch finds its candidates with one indexed
query (cost independent of the story's size) and the index survives restarts and is
shared by every process. LSH only nominates; the verdict is always taken on the real
shingle sets of the two texts.

    sign(entry)          Entry -> Entry with `signature` and `bands` filled in
    compare(a, b)        real Jaccard and containment of two copies' shingle sets
    judge(...)           length-, time- and fact-aware verdict -> Verdict or None
    time_gap(...)        how close in time two copies can be, given where each time came from
    band_days(...)       the days of the index a copy's band keys are kept under
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from aggregator.core.types import Entry, TimeSource
from aggregator.dedupe.facts import read_facts, swapped
from aggregator.dedupe.minhash import signature
from aggregator.dedupe.normalize import plain_text

# 128 permutations in 42 bands of 3 rows: a pair with Jaccard J becomes a candidate with
# probability 1 - (1 - J^3)^42, i.e. 0.94 at J=0.4, 0.996 at J=0.5, but 0.04 at J=0.1.
# The S-curve sits low (~0.3) on purpose: trimmed copies have a low Jaccard, and false
# candidates only cost a verification, never a wrong merge.
NUM_PERM = 128
BAND_ROWS = 3
BANDS = NUM_PERM // BAND_ROWS
_SEED = 20261123  # fixed forever: stored signatures and band keys depend on it
SHINGLE_WORDS = 3

# Fewer body words than this is too little text to call two updates the same on text
# alone: a one-line update is mostly a name, a number or a template phrase.
MIN_BODY_WORDS = 20
# Jaccard needed for copies whose smaller side has few shingles: there a byline or a
# new headline is a large share, but so is a shared quote, so ask for more.
SHORT_SHINGLES = 40
SHORT_JACCARD = 0.6
JACCARD = 0.5
# A trimmed copy (paragraphs cut from the end) keeps nearly all its shingles inside the
# full copy: accept high containment with a lower Jaccard floor, for longer texts only.
CONTAINMENT = 0.9
CONTAINMENT_FLOOR = 0.3
# Copies of one update arrive within hours; a text far apart in time that resembles an
# earlier one is a recap or a template reused, so it needs more, and past a day it is
# never the same update on text alone.
CLOSE_IN_TIME = timedelta(hours=6)
FAR_PENALTY = 0.2
MAX_GAP = timedelta(hours=24)
# A first-seen time only bounds the real one from above: a page with no times, saved
# later, may carry an update published up to this long before it was read.
FIRST_SEEN_REACH = timedelta(days=3)
# Two copies of one update agree on their facts (figures, clock times, names), bar a
# corrected one; an announcement re-issued from a template ("the gauge was 4.2 metres at
# 1pm, up 10cm"; "Jane Hale will give evidence at 2.30pm") changes several. Even one
# changed fact is a correction only when the rest of the body is the same text.
MAX_CHANGED_FACTS = 1
# Stored copies verified per entry, most shared bands first: bounds the work that a band
# shared by a story's boilerplate could cause.
MAX_CANDIDATES = 50
# The band index is kept per UTC day of publication: copies more than MAX_GAP apart are
# never one update, so an entry looks only in the days within MAX_GAP of its own, and a
# poll writes into its own day's part of the index, whatever the store's size. A
# first-seen copy is kept under each day of its reach, so a dated copy finds it from its
# own days.
BAND_DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_WORD = re.compile(r"\w+")
# Band numbers as the one-byte prefix hashed before each band's rows.
_BAND_PREFIXES = tuple(bytes([band]) for band in range(BANDS))


@dataclass(frozen=True)
class Similarity:
    jaccard: float
    containment: float


@dataclass(frozen=True)
class Verdict:
    """Why two copies are one update: the measure that decided and its value."""

    score: float
    reason: str


def body_words(text: str) -> list[str]:
    """The words of `normalize_text(text)`, without collapsing the spaces between them."""
    return _WORD.findall(plain_text(text).casefold())


def shingles(title: str, text: str) -> frozenset[str]:
    """Word trigrams of title and body, taken separately so none spans the boundary."""
    return _shingles_of(body_words(title), body_words(text))


def _shingles_of(*parts: list[str]) -> frozenset[str]:
    found: set[str] = set()
    for words in parts:
        if len(words) < SHINGLE_WORDS:
            found.update(words)
            continue
        runs = (words[i:] for i in range(SHINGLE_WORDS))
        found.update(map(" ".join, zip(*runs, strict=False)))
    return frozenset(found)


def sign(entry: Entry) -> Entry:
    """The entry with its MinHash signature and LSH band keys; short bodies get none,
    since they are never matched on text alone."""
    return signed_with(entry, signature_and_bands(entry.title, entry.text))


Signed = tuple[bytes, tuple[int, ...]] | None


def signature_and_bands(title: str, text: str) -> Signed:
    """What `sign` adds to an entry with this title and text: its signature and band
    keys, or None for a short body."""
    words = body_words(text)
    if len(words) < MIN_BODY_WORDS:
        return None
    signature = signature_of(_shingles_of(body_words(title), words))
    return signature, band_keys(signature)


def signed_with(entry: Entry, signed: Signed) -> Entry:
    return entry if signed is None else replace(entry, signature=signed[0], bands=signed[1])


def signature_of(shingle_set: frozenset[str]) -> bytes:
    return signature(shingle_set, NUM_PERM, _SEED)


def band_keys(signature: bytes) -> tuple[int, ...]:
    """One signed 64-bit key per band (it fits an SQL BIGINT); the band number is hashed
    in, so equal rows in different bands never collide."""
    width = BAND_ROWS * 4
    blake2b = hashlib.blake2b
    return tuple(
        int.from_bytes(
            blake2b(prefix + signature[at : at + width], digest_size=8).digest(),
            "big",
            signed=True,
        )
        for prefix, at in zip(_BAND_PREFIXES, range(0, BANDS * width, width), strict=True)
    )


def band_day(published: datetime) -> int:
    """Days since 1970-01-01 UTC: the part of the band index a copy published then is in."""
    return (published - _EPOCH) // BAND_DAY


def band_days(published: datetime, source: TimeSource = "feed") -> range:
    """The days a copy's band keys are kept under: every day it may have been published
    (a first-seen copy's reach back), so a copy dated on any of them finds it."""
    earliest, latest = _span(published, source)
    return range(band_day(earliest), band_day(latest) + 1)


def band_day_spans(
    published_us: npt.NDArray[np.int64], first_seen: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """`band_days` of many copies at once, as each one's first and last day: their
    times in microseconds since 1970-01-01 UTC, and which of them were first seen."""
    day = BAND_DAY // timedelta(microseconds=1)
    reach = FIRST_SEEN_REACH // timedelta(microseconds=1)
    return (published_us - np.where(first_seen, reach, 0)) // day, published_us // day


def band_days_near(published: datetime, source: TimeSource = "feed") -> range:
    """The days of the index that hold every copy the judge could find within MAX_GAP
    of a copy published at `published`, a time taken from `source`."""
    earliest, latest = _span(published, source)
    return range(band_day(earliest - MAX_GAP), band_day(latest + MAX_GAP) + 1)


def time_gap(a: datetime, a_source: TimeSource, b: datetime, b_source: TimeSource) -> timedelta:
    """The least time there can be between two copies' publication. A page's or a
    feed's time is exact; a first-seen time says only that the copy was out by then."""
    a_first, a_last = _span(a, a_source)
    b_first, b_last = _span(b, b_source)
    return max(b_first - a_last, a_first - b_last, timedelta(0))


def _span(published: datetime, source: TimeSource) -> tuple[datetime, datetime]:
    if source == "first-seen":
        return published - FIRST_SEEN_REACH, published
    return published, published


def compare(a: frozenset[str], b: frozenset[str]) -> Similarity:
    if not a or not b:
        return Similarity(0.0, 0.0)
    shared = len(a & b)
    return Similarity(shared / len(a | b), shared / min(len(a), len(b)))


def judge(a: tuple[str, str], b: tuple[str, str], gap: timedelta) -> Verdict | None:
    """Are copies `a` and `b` (title, text), published `gap` apart, one update?"""
    gap = abs(gap)
    a_words, b_words = body_words(a[1]), body_words(b[1])
    if gap > MAX_GAP or min(len(a_words), len(b_words)) < MIN_BODY_WORDS:
        return None
    left = _shingles_of(body_words(a[0]), a_words)
    right = _shingles_of(body_words(b[0]), b_words)
    verdict = _on_words(left, right, far=gap > CLOSE_IN_TIME)
    if verdict is None or _swaps_facts(a[1], b[1]):
        return None
    return verdict


def _on_words(left: frozenset[str], right: frozenset[str], *, far: bool) -> Verdict | None:
    sim = compare(left, right)
    short = min(len(left), len(right)) < SHORT_SHINGLES
    needed = (SHORT_JACCARD if short else JACCARD) + (FAR_PENALTY if far else 0.0)
    if sim.jaccard >= needed:
        return Verdict(sim.jaccard, f"word-trigram Jaccard {sim.jaccard:.2f} >= {needed:.2f}")
    trimmed = sim.containment >= CONTAINMENT and sim.jaccard >= CONTAINMENT_FLOOR
    if trimmed and not short and not far:
        reason = f"trimmed copy: containment {sim.containment:.2f}, Jaccard {sim.jaccard:.2f}"
        return Verdict(sim.containment, reason)
    return None


def _swaps_facts(a: str, b: str) -> bool:
    """Whether the bodies state other facts: two swapped, or one in a text that is not
    otherwise the same (a correction changes a fact and nothing around it)."""
    left, right = read_facts(a), read_facts(b)
    changed = swapped(left, right)
    if changed != 1:
        return changed > MAX_CHANGED_FACTS
    frames = compare(_shingles_of(list(left.frame)), _shingles_of(list(right.frame)))
    return frames.containment < CONTAINMENT


def candidates_by_bands(
    bands: Sequence[int], hits: Mapping[int, Sequence[int]], limit: int
) -> list[int]:
    """The stored copies sharing most band keys with `bands`, best first, at most `limit`
    (`hits` maps a band key to the copies that carry it)."""
    counts: dict[int, int] = {}
    for key in bands:
        for copy_id in hits.get(key, ()):
            counts[copy_id] = counts.get(copy_id, 0) + 1
    return sorted(counts, key=lambda c: (-counts[c], c))[:limit]
