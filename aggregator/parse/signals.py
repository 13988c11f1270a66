"""PURE: what a fetched document says about when to poll it again, per source kind.

A separate function beside each kind's parser, not a change to the parser contract:
every parser keeps returning its posts, and the scheduler asks for signals only when
a document changed. A feed's channel gives `<ttl>` (minutes) and `<skipHours>` (RSS
2.0); a live page says its coverage ended by a schema.org `coverageEndTime` in the past
(LiveBlogPosting) or by a closing line ("this live coverage has now ended").
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime

from aggregator.parse.decode import decode_body
from aggregator.types import Document, PageSignals

Signals = Callable[[Document], PageSignals]

_FIRST_ITEM = re.compile(r"<(?:item|entry)[\s>]", re.IGNORECASE)
_TTL = re.compile(r"<ttl>\s*(\d{1,6})\s*</ttl>", re.IGNORECASE)
_SKIP_HOURS = re.compile(r"<skipHours>(.*?)</skipHours>", re.IGNORECASE | re.DOTALL)
_HOUR = re.compile(r"<hour>\s*(\d{1,2})\s*</hour>", re.IGNORECASE)
_COVERAGE_END = re.compile(
    r"""(?:"coverageEndTime"\s*:\s*"([^"]+)")"""
    r"""|(?:itemprop=["']coverageEndTime["'][^>]*?(?:content|datetime)=["']([^"']+)["'])""",
    re.IGNORECASE,
)
_LIVE = r"live (?:coverage|blog|page|updates?|reporting|text)"
_ENDED = r"(?:ended|closed|finished|concluded|over)"
_CLOSING_LINE = re.compile(
    rf"\b(?:this|our|the|today's) {_LIVE}\b[^.!\n]{{0,40}}?"
    rf"\b(?:has|have|is|are) (?:now )?{_ENDED}\b"
    rf"|\bwe(?:'re| are|'ve| have) (?:now )?(?:ended|closed|closing|ending|finished|wrapping up)"
    rf" (?:our|this|the) {_LIVE}\b",
    re.IGNORECASE,
)
_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def no_signals(doc: Document) -> PageSignals:
    return PageSignals()


def feed_signals(doc: Document) -> PageSignals:
    """The channel's ttl and skipHours, read from the part before the first item (where
    channel elements sit), so an item's text can never be mistaken for them."""
    text = decode_body(doc)
    first = _FIRST_ITEM.search(text)
    channel = text[: first.start()] if first else text
    ttl = _TTL.search(channel)
    hours: set[int] = set()
    for block in _SKIP_HOURS.findall(channel):
        # RSS 2.0 hours are 0-23 GMT; some feeds write 24 for midnight.
        hours.update(int(h) % 24 for h in _HOUR.findall(block) if int(h) <= 24)
    minutes = int(ttl.group(1)) if ttl else 0
    return PageSignals(ttl=minutes * 60.0 if minutes else None, skip_hours=frozenset(hours))


def live_signals(doc: Document) -> PageSignals:
    """Ended when structured data gives a coverage end at or before the fetch, or the
    page's text carries a closing line."""
    text = decode_body(doc)
    return PageSignals(ended=_coverage_ended(text, doc.fetched_at) or _says_closed(text))


def _coverage_ended(text: str, fetched_at: datetime) -> bool:
    for match in _COVERAGE_END.finditer(text):
        end = _iso_time(match.group(1) or match.group(2))
        if end is not None and end <= fetched_at:
            return True
    return False


def _says_closed(text: str) -> bool:
    words = _TAG.sub(" ", _SCRIPT_OR_STYLE.sub(" ", text))
    plain = _SPACE.sub(" ", html.unescape(words)).replace("\u2019", "'")
    return bool(_CLOSING_LINE.search(plain))


def _iso_time(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    # A time without an offset says nothing reliable; treat it as not ended.
    return moment.astimezone(UTC) if moment.tzinfo else None
