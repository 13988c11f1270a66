"""An HTML live page split into posts: structured data, rendered blocks, or both.

    html --parse_tree--> tree --+-- JSON-LD scripts --read_jsonld--+
                                +-- strip_furniture --read_microdata+--merge--> Found...
                                +-------------------- find_blocks --+
    Found... --walk_times (newest first)--> Post...

Structured data names the posts and their machine times; the rendered blocks hold the
bodies it may lack and the posts it may leave out. Either alone is enough.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from aggregator.parse.blocks import find_blocks
from aggregator.parse.found import Found, Stamp, merge
from aggregator.parse.html import html_to_text, sanitize_html
from aggregator.parse.stamps import TimeReader, walk_times
from aggregator.parse.structured import PageData, jsonld_scripts, read_jsonld, read_microdata
from aggregator.parse.text import headline_from
from aggregator.parse.tree import Element, parse_tree, strip_furniture
from aggregator.types import Document, ParseContext, Post


def split_html_page(doc: Document, html: str, context: ParseContext) -> list[Post]:
    """The page's posts, or [] when it has neither structured posts nor a post list
    (the caller then falls back to reading the page as paragraphs)."""
    root = parse_tree(html)
    if root is None:
        return []
    base = doc.location if urlsplit(doc.location).scheme in ("http", "https") else None
    structured, page = read_jsonld(jsonld_scripts(root))
    strip_furniture(root)
    if not structured:
        structured, page = read_microdata(root)
    found = [f for f in merge(structured, find_blocks(root, base)) if _has_content(f)]
    if not found:
        return []
    reader = TimeReader(context, doc.fetched_at, _languages(root))
    start = _start_reference(doc, page, reader)
    skip = [f.is_pinned for f in found]
    published = walk_times([f.published for f in found], reader, start, skip)
    updated = [reader.read(f.updated, start).moment for f in found]
    return [post_from(f, i, doc, base, published[i], updated[i]) for i, f in enumerate(found)]


def _has_content(found: Found) -> bool:
    return bool(found.title or html_to_text(found.html))


def _languages(root: Element) -> tuple[str, ...]:
    """The page's declared language ("de-DE" -> "de"), for dateparser."""
    declared = root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang") or ""
    language = declared.split("-")[0].strip().lower()
    return (language,) if language.isalpha() and len(language) in (2, 3) else ()


def _start_reference(doc: Document, page: PageData, reader: TimeReader) -> datetime:
    """Where the newest-first walk starts: the page's own last-modified time when the
    structured data gives one no later than the fetch, else the document's."""
    fallback = doc.modified_at or doc.fetched_at
    modified = reader.read(Stamp(machine=page.modified), fallback).moment if page.modified else None
    return modified if modified is not None and modified <= doc.fetched_at else fallback


def post_from(
    found: Found,
    position: int,
    doc: Document,
    base: str | None,
    published: datetime | None,
    updated: datetime | None,
) -> Post:
    """The one place a found post becomes a Post: sanitised, its text read from its
    HTML, and `time_source` "page" exactly when the page gave a published time."""
    html = sanitize_html(found.html, base_url=base).strip()
    text = html_to_text(html)
    return Post(
        title=found.title or headline_from(text),
        text=text,
        html=html,
        position=position,
        location=doc.location,
        method=found.method,
        guid=found.guid,
        url=found.url,
        author=found.author,
        published=published,
        updated=updated,
        time_source="page" if published is not None else None,
    )
