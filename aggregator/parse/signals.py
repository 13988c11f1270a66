"""PURE: what a fetched document says about when to poll it again, per source kind.

A separate function beside each kind's parser, not a change to the parser contract:
every parser keeps returning its posts, and the scheduler asks for signals only when
a document changed. A feed's channel gives `<ttl>` (minutes) and `<skipHours>` (RSS
2.0); a live page says its coverage ended by a schema.org `coverageEndTime` in the past
(LiveBlogPosting) or by a closing line ("this live coverage has now ended").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from aggregator.core.types import Document, PageSignals
from aggregator.parse.about import channel_about, page_about
from aggregator.parse.decode import decode_body
from aggregator.parse.entities import unescape
from aggregator.parse.html import replace_tags

Signals = Callable[[Document], PageSignals]

_FIRST_ITEM = re.compile(r"<(?:item|entry)[\s>]", re.IGNORECASE)
_TTL = re.compile(r"<ttl>\s*(\d{1,6})\s*</ttl>", re.IGNORECASE)
_SKIP_HOURS = re.compile(r"<skipHours>(.*?)</skipHours>", re.IGNORECASE | re.DOTALL)
_SKIP_HOURS_END = re.compile(r"</skipHours>", re.IGNORECASE)
_HOUR = re.compile(r"<hour>\s*(\d{1,2})\s*</hour>", re.IGNORECASE)
# The element's attributes after the itemprop are searched up to its ">" but not past
# a second coverageEndTime itemprop: that one's own search covers the rest, so no
# character is scanned twice (with `[^>]*?` alone, a run of such itemprops without a
# ">" was quadratic).
_COVERAGE_PROP = r"""itemprop=["']coverageEndTime["']"""
_COVERAGE_END = re.compile(
    r"""(?:"coverageEndTime"\s*:\s*"([^"]+)")"""
    rf"""|(?:{_COVERAGE_PROP}(?:(?!{_COVERAGE_PROP})[^>])*?"""
    r"""(?:content|datetime)=["']([^"']+)["'])""",
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
_SCRIPT_OR_STYLE_START = re.compile(r"<(?:(script)|style)\b", re.IGNORECASE)
_SCRIPT_END = re.compile(r"</script\s*>", re.IGNORECASE)
_STYLE_END = re.compile(r"</style\s*>", re.IGNORECASE)
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
    # Past the last "</skipHours>" no block can close, and the lazy scan from every
    # opening there would run to the end in vain (quadratic), so the search stops there.
    end = max((m.end() for m in _SKIP_HOURS_END.finditer(channel)), default=0)
    for block in _SKIP_HOURS.findall(channel, 0, end):
        # RSS 2.0 hours are 0-23 GMT; some feeds write 24 for midnight.
        hours.update(int(h) % 24 for h in _HOUR.findall(block) if int(h) <= 24)
    minutes = int(ttl.group(1)) if ttl else 0
    about = channel_about(channel)
    return PageSignals(
        ttl=minutes * 60.0 if minutes else None,
        skip_hours=frozenset(hours),
        title=about.title,
        home=about.home,
        language=about.language,
    )


def live_signals(doc: Document) -> PageSignals:
    """Ended when structured data gives a coverage end at or before the fetch, or the
    page's text carries a closing line."""
    text = decode_body(doc)
    ended = _coverage_ended(text, doc.fetched_at) or _says_closed(text)
    return replace(page_signals(doc, text), ended=ended)


def page_signals(doc: Document, text: str | None = None) -> PageSignals:
    """A page's site name, home page and language (an article says nothing of when
    to look again)."""
    about = page_about(decode_body(doc) if text is None else text, doc.location)
    return PageSignals(title=about.title, home=about.home, language=about.language)


def _coverage_ended(text: str, fetched_at: datetime) -> bool:
    for match in _COVERAGE_END.finditer(text):
        end = _iso_time(match.group(1) or match.group(2))
        if end is not None and end <= fetched_at:
            return True
    return False


def _says_closed(text: str) -> bool:
    words = replace_tags(_without_scripts(text))
    plain = _SPACE.sub(" ", unescape(words)).replace("\u2019", "'")
    return bool(_CLOSING_LINE.search(plain))


def _without_scripts(text: str) -> str:
    r"""Each script and style element replaced by a space, as the regex
    `<(script|style)\b.*?</\1\s*>` (case-insensitive) would replace them, but the end
    of an element is looked for once per element, not from every opening: a kind
    found unclosed is not looked for again (as a regex, a run of unclosed openings
    was quadratic)."""
    parts: list[str] = []
    kept = position = 0
    unclosed: set[bool] = set()
    while (start := _SCRIPT_OR_STYLE_START.search(text, position)) is not None:
        is_script = start[1] is not None
        end_tag = _SCRIPT_END if is_script else _STYLE_END
        end = None if is_script in unclosed else end_tag.search(text, start.end())
        if end is None:
            unclosed.add(is_script)
            position = start.end()
            continue
        parts += (text[kept : start.start()], " ")
        kept = position = end.end()
    parts.append(text[kept:])
    return "".join(parts)


def _iso_time(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    # A time without an offset says nothing reliable; treat it as not ended.
    return moment.astimezone(UTC) if moment.tzinfo else None
