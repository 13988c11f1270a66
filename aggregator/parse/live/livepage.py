"""An HTML live page split into posts: structured data, rendered blocks, or both.

    html --parse_tree--> tree --+-- JSON-LD scripts --read_jsonld---+
                                +-- read_microdata -----------------+--with_embed_links--> Found...
                                +-- strip_furniture --find_blocks --+
    Found... --merge--walk_times (newest first)--without_positional_ids--> Post...

Structured data names the posts and their machine times; the rendered blocks hold the
bodies it may lack and the posts it may leave out. Either alone is enough. Structured
data is read before the furniture is stripped, so that no chrome-like container around
the posts can take them along. A post whose body is only an embedded video or quoted
post shows a link to it (`embeds`).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from urllib.parse import urlsplit

from aggregator.core.types import Document, ParseContext, Post
from aggregator.parse.html import html_to_text, sanitize_html
from aggregator.parse.live.blocks import find_blocks
from aggregator.parse.live.embeds import with_embed_links
from aggregator.parse.live.found import Found, Stamp, without_positional_ids
from aggregator.parse.live.microdata import read_microdata
from aggregator.parse.live.pairing import merge
from aggregator.parse.live.stamps import TimeReader, read_machine, walk_times
from aggregator.parse.live.structured import PageData, jsonld_scripts, read_jsonld
from aggregator.parse.live.tree import Element, bold_lead, parse_tree, strip_furniture
from aggregator.parse.text import headline_from


def split_html_page(doc: Document, html: str, context: ParseContext) -> list[Post]:
    """The page's posts, or [] when it has neither structured posts nor a post list
    (the caller then falls back to reading the page as paragraphs)."""
    root = parse_tree(html)
    if root is None:
        return []
    base = doc.location if urlsplit(doc.location).scheme in ("http", "https") else None
    structured, page = read_jsonld(jsonld_scripts(root))
    if not structured:
        structured, page = read_microdata(root)
    strip_furniture(root)
    moment = partial(_machine_moment, context)
    structured = [with_embed_links(f, base) for f in structured]
    rendered = [with_embed_links(f, base) for f in find_blocks(root, base)]
    found = [f for f in merge(structured, rendered, moment) if _has_content(f)]
    if not found:
        return []
    # "5 mins ago" counts from when the page was written: a saved file's mtime (or a
    # response's Last-Modified), else the fetch.
    reader = TimeReader(context, doc.modified_at or doc.fetched_at, _languages(root))
    start = _start_reference(doc, page, reader)
    skip = [f.is_pinned for f in found]
    published = walk_times([f.published for f in found], reader, start, skip)
    updated = [reader.read(f.updated, start).moment for f in found]
    found = without_positional_ids(found, _is_newest_first(published))
    return [post_from(f, i, doc, base, published[i], updated[i]) for i, f in enumerate(found)]


def _machine_moment(context: ParseContext, value: str) -> datetime | None:
    return read_machine(value, context.tz).moment


def _is_newest_first(published: list[datetime | None]) -> bool:
    """Live pages put the newest post on top; a page whose times rise says otherwise."""
    known = [moment for moment in published if moment is not None]
    return len(known) < 2 or known[0] >= known[-1]


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
        title=found.title or _headline(html, text),
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


def _headline(html: str, text: str) -> str:
    """An untitled post's title: a bold lead, else the first sentence of its first
    paragraph (never running on into the next one)."""
    return bold_lead(html) or headline_from(text.split("\n\n", 1)[0])
