"""PURE: (entries, known) -> decisions: new | edited | duplicate | unchanged.

1. The same item key from the same source: unchanged, or edited when its content hash moved.
2. The same fingerprint (normalised text) as any copy of the story: an exact duplicate,
   which joins that entry as one more source carrying it.
3. A keyless-by-publisher post (keyed on its title or opening words) whose key is new but
   whose text closely matches a post of this source that vanished from this fetch: the
   same post with a corrected title or opening, so edited, keeping its identity.
4. A near duplicate of another source's copy: a candidate nominated by the LSH band keys
   the store found, verified on the real texts by `similarity.judge` (length-, time- and
   fact-aware; a first-seen time counts only as an upper bound, `similarity.time_gap`).
   It joins the best-scoring entry, as in step 2.
5. Otherwise new.
Steps 2 and 4 never join an entry that a reader split this source out of (`Known.apart`),
and step 4 never joins a cluster that already holds this source: one publisher's two
items are two updates.

Then, for each page read whole in this fetch, `find_deletions` names the stored posts of
that page that vanished while an older post is still shown: deleted by the publisher.
A post whose older neighbours vanished with it merely scrolled off the page.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime

from aggregator.core.types import Decision, Deletion, Entry, Known, KnownCopy, KnownItem
from aggregator.dedupe.normalize import normalize_text
from aggregator.dedupe.similarity import MAX_CANDIDATES, candidates_by_bands, judge, time_gap

# Word-trigram Jaccard similarity above which a re-keyed post is the same post edited.
REKEY_SIMILARITY = 0.5
_WORD = re.compile(r"\w+")


def decide(entries: Sequence[Entry], known: Known, *, now: datetime) -> list[Decision]:
    keys_now = {e.item_key for e in entries}
    vanished = {
        k: item
        for k, item in known.items.items()
        if k not in keys_now and not k.startswith("guid:")
    }
    fingerprints_now: set[str] = set()
    decisions: list[Decision] = []
    for entry in entries:
        decision = _decide_one(entry, known, vanished, fingerprints_now, now)
        if entry.fingerprint:
            fingerprints_now.add(entry.fingerprint)
        decisions.append(decision)
    return decisions


def _decide_one(
    entry: Entry,
    known: Known,
    vanished: dict[str, KnownItem],
    fingerprints_now: set[str],
    now: datetime,
) -> Decision:
    same = known.items.get(entry.item_key)
    if same is not None:
        if same.deleted:
            return Decision("edited", _as_edit(entry, same, now), same.entry_id, "reappeared")
        if same.content_hash == entry.content_hash:
            return Decision("unchanged", entry, same.entry_id, "same item, same content")
        return Decision("edited", _as_edit(entry, same, now), same.entry_id, "content changed")
    if entry.fingerprint and entry.fingerprint in known.fingerprints:
        target = known.fingerprints[entry.fingerprint]
        if (target, entry.source) not in known.apart:
            reason = f"exact: same normalised text as entry {target}"
            return Decision("duplicate", entry, target, reason, "exact", 1.0)
    if entry.fingerprint and entry.fingerprint in fingerprints_now:
        return Decision("unchanged", entry, None, "same text as another item of this fetch")
    if not entry.item_key.startswith("guid:"):
        match = _closest(entry, vanished)
        if match is not None:
            item, score = match
            del vanished[item.item_key]
            reason = f"re-keyed: text similarity {score:.2f} to a vanished post"
            return Decision("edited", _as_edit(entry, item, now), item.entry_id, reason)
    near = _near(entry, known)
    if near is not None:
        return near
    return Decision("new", entry, None, "not seen before")


def _near(entry: Entry, known: Known) -> Decision | None:
    """The best verified near duplicate among the LSH candidates, if any."""
    best: tuple[KnownCopy, float, str] | None = None
    for copy_id in candidates_by_bands(entry.bands, known.band_hits, MAX_CANDIDATES):
        copy = known.copies.get(copy_id)
        if copy is None or not _may_join(entry, copy, known):
            continue
        gap = time_gap(entry.published, entry.time_source, copy.published, copy.time_source)
        verdict = judge((entry.title, entry.text), (copy.title, copy.text), gap)
        if verdict is not None and (best is None or verdict.score > best[1]):
            best = (copy, verdict.score, verdict.reason)
    if best is None:
        return None
    copy, score, reason = best
    why = f"{reason} with {copy.source}'s copy"
    return Decision("duplicate", entry, copy.entry_id, why, "near", round(score, 4))


def _may_join(entry: Entry, copy: KnownCopy, known: Known) -> bool:
    if (copy.entry_id, entry.source) in known.apart:
        return False
    return entry.source != copy.source and entry.source not in copy.cluster_sources


def find_deletions(
    decisions: Sequence[Decision], known: Known, pages: Collection[str]
) -> list[Deletion]:
    """Stored posts of `pages` (locations read whole) missing from this fetch although a
    post published before them is still on the page."""
    present = {d.entry_id for d in decisions if d.entry_id is not None}
    deletions: list[Deletion] = []
    for page in pages:
        shown = [k for k in known.items.values() if k.location == page and not k.deleted]
        survivors = [k for k in shown if k.entry_id in present]
        for item in shown:
            if item.entry_id in present:
                continue
            older = next((s for s in survivors if _is_older(s, item)), None)
            if older is not None:
                reason = f"gone from {page} while the older {older.title!r} is still there"
                deletions.append(Deletion(item.entry_id, item.item_key, reason))
    return deletions


def _is_older(a: KnownItem, b: KnownItem) -> bool:
    # Pages list newest first, so among posts first seen together, lower is older.
    return a.published < b.published or (a.published == b.published and a.position > b.position)


def _as_edit(entry: Entry, item: KnownItem, now: datetime) -> Entry:
    """An edit keeps the first `published` and moves `updated` forward."""
    updated = entry.updated if entry.updated > item.updated else max(now, item.updated)
    return replace(entry, published=item.published, updated=updated)


def _closest(entry: Entry, candidates: dict[str, KnownItem]) -> tuple[KnownItem, float] | None:
    shingles = _shingles(f"{entry.title} {entry.text}")
    best: tuple[KnownItem, float] | None = None
    for item in candidates.values():
        score = _jaccard(shingles, _shingles(f"{item.title} {item.text}"))
        if score >= REKEY_SIMILARITY and (best is None or score > best[1]):
            best = (item, score)
    return best


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(normalize_text(text))
    return {tuple(words[i : i + 3]) for i in range(max(len(words) - 2, 1))}


def _jaccard(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)
