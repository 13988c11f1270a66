"""The labelled near-duplicate corpus: pairs of copies on one invented story.

Each line of tests/data/dedupe/*.jsonl holds copies `a` (stored first, by one source) and
`b` (polled later, by another), labelled `duplicate` (syndicated with a new headline and a
byline, trimmed to a summary, HTML against text, a one-word correction) or `distinct`
(hard negatives: different updates sharing a quote, a name, a number or a template
sentence; short bodies). `b` goes through the real normalize | sign | decide path.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from aggregator.core.types import Decision, Known, KnownCopy
from aggregator.dedupe.decide import decide
from aggregator.dedupe.similarity import sign
from tests.support.builders import T0, entries, post
from tests.support.paths import DATA

CORPUS = DATA / "dedupe"
PAIRS = [
    json.loads(line)
    for path in sorted(CORPUS.glob("*.jsonl"))
    for line in path.read_text(encoding="utf-8").splitlines()
    if line.strip()
]


def _copy(side: dict[str, Any], source: str) -> Any:
    when = T0 + timedelta(minutes=side["minutes"])
    [entry] = entries(
        post(side["title"], side["text"], published=when, time_source="feed"),
        source_name=source,
    )
    return sign(entry)


def decide_pair(pair: dict[str, Any]) -> Decision:
    first, second = _copy(pair["a"], "wire"), _copy(pair["b"], "paper")
    stored = KnownCopy(1, 1, "wire", first.title, first.text, first.published, frozenset({"wire"}))
    known = Known(
        fingerprints={first.fingerprint: 1} if first.fingerprint else {},
        band_hits={k: (1,) for k in first.bands},
        copies={1: stored},
    )
    [decision] = decide([second], known, now=second.published)
    return decision


def test_the_corpus_is_big_enough_and_labelled() -> None:
    labels = [p["label"] for p in PAIRS]
    assert len(PAIRS) >= 60 and set(labels) == {"duplicate", "distinct"}
    assert labels.count("distinct") >= 20 and labels.count("duplicate") >= 30


def test_precision_on_hard_negatives_and_recall_on_duplicates() -> None:
    merged = {p["id"]: decide_pair(p).action == "duplicate" for p in PAIRS}
    negatives = [p["id"] for p in PAIRS if p["label"] == "distinct"]
    positives = [p["id"] for p in PAIRS if p["label"] == "duplicate"]
    false_merges = [i for i in negatives if merged[i]]
    found = [i for i in positives if merged[i]]
    true_merges = len(found)
    merges = true_merges + len(false_merges)
    precision = true_merges / merges if merges else 0.0
    recall = true_merges / len(positives)
    print(
        f"\ndedupe corpus: {len(positives)} duplicate pairs, {len(negatives)} hard negatives; "
        f"precision {precision:.3f}, recall {recall:.3f}, "
        f"false merges {false_merges}, missed {sorted(set(positives) - set(found))}"
    )
    assert false_merges == []
    assert recall >= 0.9


@pytest.mark.parametrize("pair", PAIRS, ids=[p["id"] for p in PAIRS])
def test_each_pair_explains_its_decision(pair: dict[str, Any]) -> None:
    """A merge says how and how closely it matched; anything else is a new entry that
    names no match. A hard negative is never merged; a duplicate may be missed (the
    recall above allows a few), but then it is plainly new."""
    decision = decide_pair(pair)
    if decision.action == "duplicate":
        assert pair["label"] == "duplicate", "a hard negative was merged"
        assert decision.match in ("exact", "near") and decision.score is not None
        assert decision.entry_id == 1 and decision.reason
    else:
        shown = (decision.action, decision.entry_id, decision.match, decision.score)
        assert shown == ("new", None, None, None), decision
