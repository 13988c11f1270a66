"""The MinHash scheme is frozen: stored signatures and band keys depend on every detail.
The digests below were taken from datasketch 2.0's MinHash (scheme "affine32") on these
sets, the scheme every store has been signed with; a change to dedupe/minhash.py that
moves one of them would leave every stored copy unmatched by new ones."""

from __future__ import annotations

import hashlib

import pytest

from aggregator.dedupe.minhash import signature
from aggregator.dedupe.similarity import NUM_PERM, band_keys, signature_of

SETS = {
    "empty": (frozenset(), "9f56cda75fefeab9"),
    "one shingle": (frozenset({"a"}), "9b118d1bbe89cc7d"),
    "three": (
        frozenset({"council leader resigns", "leader resigns after", "resigns after report"}),
        "2e145a6677344b4d",
    ),
    # More shingles than one numpy pass takes: the passes' minimum is the set's.
    "twenty thousand": (
        frozenset(f"w{i} w{i + 1} w{i + 2}" for i in range(20000)),
        "5e80ce840b6879f3",
    ),
}


@pytest.mark.parametrize("name", SETS)
def test_signatures_are_the_frozen_scheme(name: str) -> None:
    shingles, digest = SETS[name]
    found = signature_of(shingles)
    assert len(found) == 4 * NUM_PERM
    assert hashlib.sha256(found).hexdigest()[:16] == digest


def test_an_empty_set_has_the_largest_value_everywhere() -> None:
    assert signature_of(frozenset()) == b"\xff" * 4 * NUM_PERM


def test_the_order_of_the_shingles_does_not_matter() -> None:
    words = [f"s{i}" for i in range(300)]
    assert signature(words, 64, seed=7) == signature(words[::-1], 64, seed=7)


def test_similar_sets_share_most_values_and_band_keys() -> None:
    base = {f"w{i} w{i + 1} w{i + 2}" for i in range(200)}
    near = frozenset(base - {"w0 w1 w2", "w1 w2 w3"} | {"x y z"})
    far = frozenset(f"v{i} v{i + 1} v{i + 2}" for i in range(200))
    a, b, c = (signature_of(s) for s in (frozenset(base), near, far))
    same = sum(a[i : i + 4] == b[i : i + 4] for i in range(0, len(a), 4))
    assert same >= 0.9 * NUM_PERM
    assert sum(a[i : i + 4] == c[i : i + 4] for i in range(0, len(a), 4)) <= 0.1 * NUM_PERM
    assert len(set(band_keys(a)) & set(band_keys(b))) >= 30
    assert not set(band_keys(a)) & set(band_keys(c))
