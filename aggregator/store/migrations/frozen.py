"""What the migrations use of the code around them, frozen: copies taken on 2026-12-06.

A migration runs long after it was written, against whatever store it finds, while the
package moves on. If it imported live code, renaming or changing a function in
aggregator/ would change what an old migration does (or break it). So migrations import
only SQLAlchemy, Alembic, the standard library and this module
(tests/integration/test_migration_chain.py checks it). Nothing here changes once a
shipped migration uses it: a later migration that needs other behaviour gets its own
copy beside the old one.

    UTCDateTime     from aggregator/store/schema.py
    body_words, shingles, signature_of, band_keys, band_day, MIN_BODY_WORDS
                    from aggregator/dedupe/similarity.py, with the text folding they
                    read (dedupe/normalize.py, parse/entities.py, parse/html.py)

signature_of was written out on 2026-12-07 in place of datasketch's MinHash, whose
default scheme depends on the installed version (2.0 changed it to "affine32"): it
computes what datasketch 2.0 does, which every store since has been signed with.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import numpy as np
from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in Python, naive UTC in the database: the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


# The MinHash scheme: stored signatures and band keys depend on every one of these.
NUM_PERM = 128
BAND_ROWS = 3
BANDS = NUM_PERM // BAND_ROWS
_SEED = 20261123
SHINGLE_WORDS = 3
# Fewer body words than this: the copy is never signed.
MIN_BODY_WORDS = 20
# The band index is kept per UTC day of publication.
BAND_DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_WORD = re.compile(r"\w+")
_SPACE = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]*>")  # linear: only ever run up to the last ">" (_replace_tags)
# A decimal reference too long for int() (over 4,300 digits): written short first.
_LONG_DECIMAL = re.compile(r"&#([0-9]{8,}+);?")
_CODE_POINT_DIGITS = 7
_PAST_UNICODE = "1114112"
_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
    }
)


def body_words(text: str) -> list[str]:
    return _WORD.findall(_normalize_text(text))


def shingles(title: str, text: str) -> frozenset[str]:
    """Word trigrams of title and body, taken separately so none spans the boundary."""
    return _shingles_of(body_words(title), body_words(text))


def _shingles_of(*parts: list[str]) -> frozenset[str]:
    found: set[str] = set()
    for words in parts:
        if len(words) < SHINGLE_WORDS:
            found.update(words)
            continue
        found.update(" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - 2))
    return frozenset(found)


@cache
def _permutations() -> tuple[Any, Any]:
    # datasketch 2.0's "affine32" scheme, written out (dedupe/minhash.py): odd `a`, any
    # `b`, from numpy's legacy RandomState(seed).
    generator = np.random.RandomState(_SEED)
    a = generator.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


def signature_of(shingle_set: frozenset[str]) -> bytes:
    """SHA-1's first 4 bytes (little-endian) of each shingle, fmix32, then per
    permutation the least (a * h + b) mod 2^32."""
    a, b = _permutations()
    digests = b"".join([hashlib.sha1(s.encode("utf-8")).digest()[:4] for s in shingle_set])
    h = np.frombuffer(digests, dtype="<u4").astype(np.uint32)
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    h = h ^ (h >> np.uint32(16))
    least = np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    for start in range(0, len(h), 8192):
        least = np.minimum(least, (h[start : start + 8192, None] * a + b).min(axis=0))
    return bytes(least.astype("<u4").tobytes())


def band_keys(signature: bytes) -> tuple[int, ...]:
    """One signed 64-bit key per band, the band number hashed in."""
    width = BAND_ROWS * 4
    keys = []
    for band in range(BANDS):
        chunk = signature[band * width : (band + 1) * width]
        digest = hashlib.blake2b(bytes([band]) + chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
    return tuple(keys)


def band_day(published: datetime) -> int:
    """Days since 1970-01-01 UTC: the part of the band index a copy published then is in."""
    return (published - _EPOCH) // BAND_DAY


def _normalize_text(text: str) -> str:
    """No tags, entities, curly quotes, case or whitespace differences."""
    return _SPACE.sub(" ", _plain_text(text).casefold()).strip()


def _plain_text(text: str) -> str:
    return unicodedata.normalize("NFKC", _unescape(_replace_tags(text))).translate(_QUOTES)


def _unescape(text: str) -> str:
    """html.unescape, also where a reference has thousands of digits."""
    return html.unescape(_LONG_DECIMAL.sub(_short, text) if "&#" in text else text)


def _short(match: re.Match[str]) -> str:
    digits = match[1].lstrip("0") or "0"
    return f"&#{digits if len(digits) <= _CODE_POINT_DIGITS else _PAST_UNICODE};"


def _replace_tags(text: str) -> str:
    """Each tag replaced by a space; past the last ">" no tag can end, so the regex never
    sees that tail (a run of "<" there would make it quadratic)."""
    end = text.rfind(">") + 1
    return _TAG.sub(" ", text[:end]) + text[end:]
