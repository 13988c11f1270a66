"""PURE: the value-level rules feedparser applies to an item's text, copied or called.

Dates: RFC 822 (RSS 2.0) and RFC 3339 (Atom) in their usual spellings only; anything
else is left to feedparser's many date handlers by declining.
"""

from __future__ import annotations

import contextlib
import functools
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.entities import name2codepoint

from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin, resolve_relative_uris

from aggregator.parse.feeds.fastfeed_markup import resolve


class Declined(Exception):
    """The fast reader is not sure it would read this feed as feedparser does."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# feedparser pop() maps the C1 controls that windows-1252 defines to its characters.
_CP1252 = {
    code: bytes([code]).decode("cp1252")
    for code in range(0x80, 0xA0)
    if code not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}
_RFC822 = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{1,2} "
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d{2}:\d{2}(?::\d{2})? (?:GMT|UT|UTC|[ECMP][SD]T|[+-]\d{4})"
)
_RFC3339 = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")
# Markup that feedparser's resolver (an SGML round trip) and the sanitiser's HTML5
# parser read alike: bare tags without attributes (no raw-text elements), <br/>, and
# the references both decode the same way. Anything else goes through the resolver.
# Linear time: every token starts with its own character ("<", "&" or text) and ends
# at the first ">", ";" or "<"/"&", so a string splits into tokens one way only and
# the possessive quantifiers just forbid retrying other splits (with `+` and `*` the
# failing search was exponential in the length of a text run).
_RAW_TEXT = r"(?!(?:script|style|textarea|title|xmp|iframe|noembed|noframes|noscript|plaintext)\b)"
_PLAIN_HTML = re.compile(
    rf"(?:[^<&]++|</?{_RAW_TEXT}[a-zA-Z][a-zA-Z0-9]*+>|<(?:br|hr)\s*+/?>"
    r"|&(?:[a-zA-Z]++|#[0-9]{1,6}|#[xX][0-9a-fA-F]{1,6});)*+",
    re.IGNORECASE,
)
# The references _PLAIN_HTML accepts, so at most six digits reach int() (Python
# refuses to convert more than 4,300).
_REFERENCE = re.compile(r"&(?:#[xX]([0-9a-fA-F]{1,6})|#([0-9]{1,6})|([a-zA-Z]+));")
# feedparser's resolver reads a decimal reference (";" optional in attribute values)
# with int(), which Python 3.11 refuses past 4,300 digits: ValueError on its path too.
# A code point needs 7 digits; longer ones are left to parse/feeds/feed.py's fallback.
_LONG_DECIMAL = re.compile(r"&#[0-9]{8}")


def fix_text(value: str) -> str:
    """feedparser pop() with its 'utf-8' encoding: undo UTF-8 read as latin-1, then map
    windows-1252's C1 characters."""
    if value.isascii():
        return value
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        value = value.encode("iso-8859-1").decode("utf-8")
    return value.translate(_CP1252)


def is_plain_html(value: str) -> bool:
    if "<" not in value and "&" not in value:
        return True
    return _PLAIN_HTML.fullmatch(value) is not None and _references_are_plain(value)


def _references_are_plain(value: str) -> bool:
    for match in _REFERENCE.finditer(value):
        hexadecimal, decimal, name = match.groups()
        if name is not None:
            if name not in name2codepoint and name != "apos":
                return False
            continue
        code = int(hexadecimal, 16) if hexadecimal else int(decimal)
        if not (0x20 <= code < 0x7F or 0xA0 <= code < 0xD800 or 0xE000 <= code <= 0x10FFFF):
            return False
    return True


def looks_like_html(value: str) -> bool:
    return bool(_FeedParserMixin.looks_like_html(value))


@functools.lru_cache(maxsize=1024)
def join_url(base: str, url: str) -> str:
    """feedparser's own join, so links resolve exactly as on its path."""
    return str(_urljoin(base, url))


def resolve_markup(html: str, base: str, content_type: str) -> str:
    """Embedded markup as feedparser leaves it with resolve_relative_uris on: written by
    `fastfeed_markup` where it can be sure, by feedparser otherwise."""
    if _LONG_DECIMAL.search(html):
        raise Declined("a decimal character reference of 8 or more digits")
    written = resolve(html, base, content_type)
    if written is None:
        written = str(resolve_relative_uris(html, base, "utf-8", content_type))
    return written


def parse_date(value: str) -> datetime | None:
    """An aware UTC datetime, whole seconds (feedparser keeps no fraction); None for an
    empty element, which feedparser leaves undated too."""
    if not value:
        return None
    try:
        if _RFC822.fullmatch(value):
            return parsedate_to_datetime(value).astimezone(UTC)
        match = _RFC3339.fullmatch(value)
        if match:
            moment = datetime.fromisoformat(match.group(1) + match.group(2))
            return moment.astimezone(UTC)
    except ValueError as e:  # a leap second, 31 February...
        raise Declined(f"date {value!r}") from e
    raise Declined(f"date {value!r}")
