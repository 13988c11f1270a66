"""RSS and Atom: the fast lxml reader when it is sure, feedparser otherwise; no
feedparser value leaves this module.

    Document --refuse a DTD subset--> (fastfeed | feedparser) --> FeedItem... --> Post...

Both readers give FeedItems and one function makes Posts of them, so the path taken
never shows in the output; a debug log line names it.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from xml.parsers.expat import errors as expat_errors
from xml.sax import SAXParseException

import feedparser

from aggregator.core.errors import ParseError
from aggregator.core.types import Document, ParseContext, Post
from aggregator.parse.decode import decode
from aggregator.parse.feeds.doctype import has_internal_subset
from aggregator.parse.feeds.fastfeed import Body, Declined, FeedItem, read_feed
from aggregator.parse.html import html_to_text, paragraphs_to_html, sanitize_html
from aggregator.parse.text import collapse, headline_from, read_text_blocks

log = logging.getLogger("aggregator.parse.feed")
_HTML_CONTENT = frozenset({"text/html", "application/xhtml+xml"})
# expat's messages for input that stops inside an element, a tag or a character.
_ENDS_EARLY = frozenset(
    {
        expat_errors.XML_ERROR_NO_ELEMENTS,
        expat_errors.XML_ERROR_UNCLOSED_TOKEN,
        expat_errors.XML_ERROR_UNCLOSED_CDATA_SECTION,
        expat_errors.XML_ERROR_PARTIAL_CHAR,
    }
)


def parse_feed(doc: Document, context: ParseContext, *, fast: bool = True) -> list[Post]:
    """The feed's entries in feed order. Times come from the feed itself (UTC): the
    `context`'s timezone is not needed, as RSS and Atom dates carry their own offset.
    `fast=False` skips the lxml reader (for comparing the two)."""
    # A DTD subset is where "billion laughs" and external-entity attacks start; feeds
    # have no need of one, so it is refused before any XML parser sees the feed.
    decoded = decode(doc)
    if has_internal_subset(doc.body, decoded.text):
        raise ParseError("", "XML entity declarations are not allowed")
    if decoded.repaired:  # both readers would take all of it as windows-1252
        doc = replace(doc, body=decoded.text.encode("utf-8"))
    items = read_fast(doc) if fast else None
    if items is None:
        if not _could_be_a_feed(decoded.text):
            raise ParseError("", "not an RSS or Atom feed: no rss, feed or RDF element")
        items = _read_with_feedparser(doc)
    return to_posts(items, doc)


def read_fast(doc: Document) -> list[FeedItem] | None:
    """The items as the lxml reader finds them, or None where it declines."""
    try:
        items = read_feed(doc.body, _response_headers(doc)["content-type"], _base(doc))
    except Declined as e:
        log.debug("feedparser reads the feed", extra={"location": doc.location, "why": e.reason})
        return None
    log.debug("lxml reads the feed", extra={"location": doc.location, "items": len(items)})
    return items


def to_posts(items: list[FeedItem], doc: Document) -> list[Post]:
    base = _web_base(doc.location)
    return [_to_post(item, position, doc, base) for position, item in enumerate(items)]


def _could_be_a_feed(text: str) -> bool:
    """False when feedparser could not find a feed in `text` either: it names the feed
    type only from an `rss` or `feed` element, the RSS 0.9/1.0 or Atom namespace, or a
    Netscape doctype. Saves its lenient reader a slow walk through a page of tags."""
    lowered = text.lower()
    return any(word in lowered for word in ("rss", "feed", "atom", "netscape"))


def _read_with_feedparser(doc: Document) -> list[FeedItem]:
    # A file object, never the bytes themselves: feedparser treats a bytes or str
    # argument that looks like a path or URL as something to open.
    try:
        parsed = feedparser.parse(
            io.BytesIO(doc.body),
            response_headers=_response_headers(doc),
            resolve_relative_uris=True,
            sanitize_html=False,
        )
    except ValueError as e:
        # Its SGML reader converts "&#" and digits with int(), which Python refuses past
        # 4,300 digits: such a feed cannot be read.
        raise ParseError("", f"unreadable character reference: {e}") from e
    _check(parsed)
    return [_item_of(entry) for entry in parsed.entries]


def _base(doc: Document) -> str:
    """What feedparser resolves against: the Content-Location header given to it."""
    return _web_base(doc.location) or ""


def _response_headers(doc: Document) -> dict[str, str]:
    headers = {"content-type": doc.content_type or "application/xml"}
    base = _web_base(doc.location)
    if base:
        headers["content-location"] = base
    return headers


def _web_base(location: str) -> str | None:
    return location if urlsplit(location).scheme in ("http", "https") else None


def _check(parsed: Any) -> None:
    """Refuse what is no feed, broken beyond use, or cut short. Other slips (a stray
    `&`, an undefined `&nbsp;`) are left to feedparser's lenient parser to recover."""
    problem = parsed.get("bozo_exception")
    detail = f": {problem}" if problem else ""
    if not parsed.get("version"):
        raise ParseError("", f"not an RSS or Atom feed{detail}") from problem
    if parsed.get("bozo") and not parsed.entries:
        raise ParseError("", f"malformed feed{detail}") from problem
    if isinstance(problem, SAXParseException) and problem.getMessage() in _ENDS_EARLY:
        # A truncated body would store its last entry cut off mid-sentence.
        raise ParseError("", f"malformed feed, ends early{detail}") from problem


def _item_of(entry: Any) -> FeedItem:
    title_type = (entry.get("title_detail") or {}).get("type")
    summary = entry.get("summary_detail")
    # dict.get: FeedParserDict.get answers "updated" with "published" when it is absent.
    return FeedItem(
        title=str(entry.get("title", "")),
        link=entry.get("link") or None,
        guid=entry.get("id") or None,
        author=entry.get("author"),
        published=_utc(dict.get(entry, "published_parsed")),
        updated=_utc(dict.get(entry, "updated_parsed")),
        contents=tuple(_body(detail) for detail in entry.get("content", [])),
        summary=_body(summary) if summary is not None else None,
        title_is_html=title_type in _HTML_CONTENT,
    )


def _body(detail: Mapping[str, Any]) -> Body:
    return Body(str(detail.get("value") or ""), str(detail.get("type", "text/html")))


def _to_post(item: FeedItem, position: int, doc: Document, base: str | None) -> Post:
    link = item.link or None
    html = sanitize_html(_content_html(item), base_url=base).strip()
    text = html_to_text(html)
    # An Atom entry need only carry <updated> (RFC 4287 4.1.2); that is then its date.
    published = item.published or item.updated
    title = html_to_text(item.title) if item.title_is_html else item.title
    return Post(
        title=collapse(title) or headline_from(text),
        text=text,
        html=html,
        position=position,
        location=doc.location,
        method="feed",
        guid=item.guid or link,
        url=link,
        author=collapse(item.author or "") or None,
        published=published,
        updated=item.updated,
        time_source="feed" if published else None,
    )


def _content_html(item: FeedItem) -> str:
    """The fullest body the entry has, as HTML: content before summary, and plain text
    escaped into paragraphs."""
    candidates = [*item.contents, *([item.summary] if item.summary else [])]
    for body in candidates:
        if body.value.strip():
            if body.type in _HTML_CONTENT:
                return body.value
            return paragraphs_to_html([b.text for b in read_text_blocks(body.value)])
    return ""


def _utc(value: time.struct_time | None) -> datetime | None:
    """feedparser normalises dates to UTC struct_time; a leap second is clamped."""
    if value is None:
        return None
    year, month, day, hour, minute, second = value[:6]
    return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
