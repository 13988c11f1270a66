"""PURE: a decimal count from untrusted text (HTTP headers, query strings, ids).

`str.isdigit()` accepts "²" and "٣", which int() then refuses, and int() of more than
4,300 digits raises in Python 3.11; a 20-digit id overflows a 64-bit column. This reads
ASCII digits only and holds the value at `limit`, so no such input raises anywhere.
Ids compared with the store's INTEGER columns are held at INTEGER_MAX.
"""

from __future__ import annotations

BIGINT_MAX = 2**63 - 1
INTEGER_MAX = 2**31 - 1  # SQL INTEGER: the store's row and event ids


def read_count(raw: str | None, limit: int = BIGINT_MAX) -> int | None:
    """The non-negative integer `raw` spells (surrounding spaces allowed), at most
    `limit`; None when it is not one."""
    text = (raw or "").strip()
    if not text or not text.isascii() or not text.isdigit():
        return None
    if len(text.lstrip("0")) > len(str(limit)):
        return limit
    return min(int(text), limit)
