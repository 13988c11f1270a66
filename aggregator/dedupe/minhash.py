"""PURE: MinHash signatures of shingle sets.

The scheme is written out here rather than taken from a library's defaults, because
every stored signature and band key depends on each detail of it. It is the one the
store's signatures have been made with (datasketch 2.0's "affine32"):

    shingle  -> SHA-1 of its UTF-8 bytes, the first 4 bytes as a little-endian uint32
             -> MurmurHash3's 32-bit finalizer (fmix32)
             -> for each of the permutations i: (a[i] * h + b[i]) mod 2^32
    signature[i] = the least value over the set's shingles (2^32 - 1 for an empty set)

`a` is odd and `b` any 32-bit value, both drawn from numpy's legacy RandomState(seed),
whose stream numpy keeps fixed for reproducibility.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from functools import cache

import numpy as np
import numpy.typing as npt

_U32 = np.uint32
_EMPTY = 0xFFFFFFFF
# fmix32: shift, multiply, shift, multiply, shift.
_FMIX = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)
# Shingle hashes taken through the permutations at once: bounds the pass's memory
# (rows x permutations x 4 bytes) whatever the size of the set.
_ROWS_PER_PASS = 8192

Hashes = npt.NDArray[np.uint32]


@cache
def permutations(num_perm: int, seed: int) -> tuple[Hashes, Hashes]:
    generator = np.random.RandomState(seed)
    a = generator.randint(0, 1 << 31, num_perm, dtype=_U32) * _U32(2) + _U32(1)
    b = generator.randint(0, 1 << 32, num_perm, dtype=_U32)
    return a, b


def signature(shingles: Collection[str], num_perm: int, seed: int) -> bytes:
    """The set's signature: `num_perm` little-endian uint32 values, 4 * num_perm bytes."""
    a, b = permutations(num_perm, seed)
    hashes = _shingle_hashes(shingles)
    least = np.full(num_perm, _EMPTY, dtype=_U32)
    for start in range(0, len(hashes), _ROWS_PER_PASS):
        part = hashes[start : start + _ROWS_PER_PASS]
        # The permutations wrap modulo 2^32, as uint32 arithmetic does.
        least = np.minimum(least, (part[:, None] * a + b).min(axis=0))
    return least.astype("<u4").tobytes()


def _shingle_hashes(shingles: Collection[str]) -> Hashes:
    digests = b"".join([hashlib.sha1(s.encode("utf-8")).digest()[:4] for s in shingles])
    return _fmix32(np.frombuffer(digests, dtype="<u4").astype(_U32))


def _fmix32(h: Hashes) -> Hashes:
    shift1, multiply1, shift2, multiply2, shift3 = _FMIX
    h = h ^ (h >> _U32(shift1))
    h = h * _U32(multiply1)
    h = h ^ (h >> _U32(shift2))
    h = h * _U32(multiply2)
    return h ^ (h >> _U32(shift3))
