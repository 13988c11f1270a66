"""PURE: a response body's Content-Encoding undone with every step's output bounded.

httpx decodes each network chunk whole, and decodes stacked codings ("gzip, gzip") one
after another, so 2 KB on the wire can become gigabytes in memory before any size check
runs. Here one coding at most is accepted (RFC 9110 §8.4 allows more; feeds never need
it), and the decompressor is asked for no more than the bytes still allowed under the
cap, so memory stays within a small multiple of `max_bytes` whatever the input.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

# What we ask for (Accept-Encoding) and can undo.
ACCEPTED_CODINGS = "gzip, deflate"
_GZIP = zlib.MAX_WBITS | 16
_ZLIB = zlib.MAX_WBITS
_RAW_DEFLATE = -zlib.MAX_WBITS


class DecodingError(Exception):
    """The body cannot be decoded within the rules; the message says why."""


class TooLarge(Exception):
    """The decoded body passed the cap."""


def codings_of(header: str | None) -> list[str]:
    return [c.strip().lower() for c in (header or "").split(",") if c.strip()]


def decoded(
    chunks: Iterable[bytes], content_encoding: str | None, max_bytes: int
) -> Iterator[bytes]:
    """The decoded body in pieces, raising TooLarge once more than `max_bytes` came out."""
    codings = [c for c in codings_of(content_encoding) if c != "identity"]
    if len(codings) > 1:
        raise DecodingError(f"Content-Encoding {content_encoding!r}: more than one coding refused")
    coding = codings[0] if codings else None
    if coding is None:
        pieces: Iterable[bytes] = chunks
    elif coding in ("gzip", "x-gzip"):
        pieces = _inflate(chunks, _GZIP, max_bytes)
    elif coding == "deflate":
        pieces = _inflate(chunks, _ZLIB, max_bytes)
    else:
        raise DecodingError(f"Content-Encoding {coding!r} is not supported")
    total = 0
    for piece in pieces:
        total += len(piece)
        if total > max_bytes:
            raise TooLarge
        yield piece


def _inflate(chunks: Iterable[bytes], wbits: int, max_bytes: int) -> Iterator[bytes]:
    """Decompress, never producing more than the cap (plus one byte, to see it pass) from
    one input chunk. HTTP "deflate" should be zlib-wrapped; raw deflate is accepted too."""
    decompressor = zlib.decompressobj(wbits)
    produced = 0
    started = False
    for chunk in chunks:
        data = chunk
        while data:
            allowed = max_bytes + 1 - produced
            try:
                piece = decompressor.decompress(data, allowed)
            except zlib.error as e:
                if wbits == _ZLIB and not started:
                    decompressor, wbits = zlib.decompressobj(_RAW_DEFLATE), _RAW_DEFLATE
                    continue
                raise DecodingError(f"body is not valid {_name(wbits)} data: {e}") from e
            started = True
            produced += len(piece)
            yield piece
            if produced > max_bytes:
                return
            data = decompressor.unconsumed_tail
            if decompressor.eof:  # what follows the end marker is ignored, as httpx does
                break


def _name(wbits: int) -> str:
    return "gzip" if wbits == _GZIP else "deflate"
