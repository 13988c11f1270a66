"""RSS and Atom through feedparser; no feedparser value leaves this module."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from xml.parsers.expat import errors as expat_errors
from xml.sax import SAXParseException

import feedparser

from aggregator.errors import ParseError
from aggregator.parse.decode import decode_body
from aggregator.parse.html import html_to_text, paragraphs_to_html, sanitize_html
from aggregator.parse.text import collapse, headline_from, read_text_blocks
from aggregator.types import Document, ParseContext, Post

# Entity declarations are how "billion laughs" and external-entity attacks start; feeds
# have no need of them, so they are refused before any XML parser sees the bytes.
_ENTITY_DECLARATION = re.compile(r"<!DOCTYPE[^\[>]*\[[^\]]*<!ENTITY", re.IGNORECASE)
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


def parse_feed(doc: Document, context: ParseContext) -> list[Post]:
    """The feed's entries in feed order. Times come from the feed itself (UTC); `tz` is
    not needed because RSS and Atom dates carry their own offset."""
    if _ENTITY_DECLARATION.search(decode_body(doc)):
        raise ParseError("", "XML entity declarations are not allowed")
    # A file object, never the bytes themselves: feedparser treats a bytes or str
    # argument that looks like a path or URL as something to open.
    parsed = feedparser.parse(
        io.BytesIO(doc.body),
        response_headers=_response_headers(doc),
        resolve_relative_uris=True,
        sanitize_html=False,
    )
    _check(parsed)
    base = _web_base(doc.location)
    return [_to_post(entry, position, doc, base) for position, entry in enumerate(parsed.entries)]


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


def _to_post(entry: Any, position: int, doc: Document, base: str | None) -> Post:
    link = entry.get("link") or None
    html = sanitize_html(_content_html(entry), base_url=base).strip()
    text = html_to_text(html)
    # dict.get: FeedParserDict.get answers "updated" with "published" when it is absent.
    updated = _utc(dict.get(entry, "updated_parsed"))
    # An Atom entry need only carry <updated> (RFC 4287 4.1.2); that is then its date.
    published = _utc(dict.get(entry, "published_parsed")) or updated
    return Post(
        title=_title(entry) or headline_from(text),
        text=text,
        html=html,
        position=position,
        location=doc.location,
        method="feed",
        guid=entry.get("id") or link,
        url=link,
        author=collapse(entry.get("author", "")) or None,
        published=published,
        updated=updated,
        time_source="feed" if published else None,
    )


def _content_html(entry: Any) -> str:
    """The fullest body the entry has, as HTML: content before summary, and plain text
    escaped into paragraphs."""
    candidates: list[Mapping[str, Any]] = [*entry.get("content", [])]
    if "summary_detail" in entry:
        candidates.append(entry["summary_detail"])
    for detail in candidates:
        value = detail.get("value") or ""
        if value.strip():
            if detail.get("type", "text/html") in _HTML_CONTENT:
                return str(value)
            return paragraphs_to_html([b.text for b in read_text_blocks(value)])
    return ""


def _title(entry: Any) -> str:
    detail = entry.get("title_detail") or {}
    title = str(entry.get("title", ""))
    if detail.get("type") in _HTML_CONTENT:
        return collapse(html_to_text(title))
    return collapse(title)


def _utc(value: time.struct_time | None) -> datetime | None:
    """feedparser normalises dates to UTC struct_time; a leap second is clamped."""
    if value is None:
        return None
    year, month, day, hour, minute, second = value[:6]
    return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
