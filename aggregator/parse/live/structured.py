"""schema.org LiveBlogPosting as publishers embed it in JSON-LD scripts (microdata is
read by `microdata`), and the rules both share.

JSON-LD: every `application/ld+json` script is read on its own (one malformed script
spoils nothing else); objects may sit in lists or `@graph` arrays, `@type` may be a
string or a list, and `liveBlogUpdate` one object or a list. An update without `url`
takes its `@id` as its url when that is an absolute http(s) URL.

Text fields are read as the HTML path reads a page: a headline or name is text (tags
removed, character references decoded once); an articleBody holding markup is HTML,
one of plain text is decoded and escaped once. Values the page copies into every update
(its own headline, one publication time for all) say nothing about the update and are
dropped by `without_page_values`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from aggregator.parse.entities import unescape
from aggregator.parse.html import paragraphs_to_html, replace_tags
from aggregator.parse.live.found import Found, Stamp
from aggregator.parse.live.tree import Element
from aggregator.parse.text import collapse

LIVE_TYPE = "LiveBlogPosting"
_LD_JSON = "application/ld+json"
# Markup that makes an articleBody HTML: a closing tag or a common opening one. Each
# alternative is a fixed word, so a search tries a bounded match from each start.
_MARKUP = re.compile(
    r"</[a-z]|<(?:p|br|a|div|ul|ol|li|em|strong|b|i|img|h[1-6]|blockquote)[\s/>]", re.I
)


@dataclass(frozen=True)
class PageData:
    """What structured data says about the page as a whole."""

    modified: str | None = None
    start: str | None = None
    headline: str | None = None


def jsonld_scripts(root: Element) -> list[str]:
    return [
        script.text or ""
        for script in root.iter("script")
        if (script.get("type") or "").split(";")[0].strip().lower() == _LD_JSON
    ]


def read_jsonld(scripts: list[str]) -> tuple[list[Found], PageData]:
    posts: list[Found] = []
    page = PageData()
    for script in scripts:
        try:
            data = json.loads(script)
        except (ValueError, RecursionError):  # json refuses ~1,000 levels of nesting
            continue  # one publisher's broken script must not cost the others
        for live in (o for o in _objects(data) if LIVE_TYPE in _types(o)):
            page = PageData(
                _string(live.get("dateModified")),
                _string(live.get("coverageStartTime")),
                text_field(live.get("headline")),
            )
            posts.extend(
                _update(u) for u in _as_list(live.get("liveBlogUpdate")) if isinstance(u, dict)
            )
    return without_page_values(posts, page), page


def _objects(data: Any) -> Iterator[dict[str, Any]]:
    """Every object in document order, inside lists and `@graph` arrays: a stack, not
    recursion, so that no depth of nesting reaches the recursion limit."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            yield item
            if "@graph" in item:
                stack.append(item["@graph"])


def _types(obj: dict[str, Any]) -> set[str]:
    # "http://schema.org/LiveBlogPosting" and "LiveBlogPosting" alike.
    return {str(t).rstrip("/").rsplit("/", 1)[-1] for t in _as_list(obj.get("@type"))}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _string(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str | int | float) and str(value).strip():
        return str(value).strip()
    return None


def text_field(value: Any) -> str | None:
    """A text property as a reader sees it: "Fans&#39; <a href=x>vote</a>" -> "Fans' vote"."""
    raw = _string(value)
    if raw is None:
        return None
    return collapse(unescape(replace_tags(raw))) or None


def _update(obj: dict[str, Any]) -> Found:
    published = _string(obj.get("datePublished"))
    modified = _string(obj.get("dateModified"))
    node_id = _string(obj.get("@id"))
    return Found(
        title=text_field(obj.get("headline")) or text_field(obj.get("name")) or "",
        html=body_html(_string(obj.get("articleBody")) or ""),
        method="jsonld",
        guid=node_id or _string(obj.get("url")),
        url=_string(obj.get("url")) or _absolute(node_id),
        author=_author(obj.get("author")),
        published=Stamp(machine=published) if published else None,
        updated=Stamp(machine=modified) if modified and modified != published else None,
    )


def _absolute(node_id: str | None) -> str | None:
    """An @id that is an absolute http(s) URL names the post's page; a relative one
    ("#update-81") or a URN is only an identifier (JSON-LD 1.1 §3.3, node identifiers)."""
    if node_id is None:
        return None
    parts = urlsplit(node_id)
    return node_id if parts.scheme in ("http", "https") and parts.netloc else None


def body_html(body: str) -> str:
    """articleBody is plain text by the schema, yet some publishers put HTML in it:
    markup stays HTML (the sanitiser reads it as the page's own), plain text is
    decoded once and escaped once, one paragraph per line."""
    if _MARKUP.search(body):
        return body
    paragraphs = [collapse(p) for p in unescape(body).replace("\r", "").split("\n")]
    return paragraphs_to_html([p for p in paragraphs if p])


def _author(value: Any) -> str | None:
    names = []
    for item in _as_list(value):
        name = text_field(item.get("name") if isinstance(item, dict) else item)
        if name:
            names.append(name)
    return ", ".join(names) or None


def without_page_values(posts: list[Found], page: PageData) -> list[Found]:
    """The updates without the values the page copied into each of them: a headline
    equal to the page's own or shared by most updates, and a time, id or url shared
    by most updates. Such a value names the page, not the update; the rendered block
    (or nothing) then gives the update's own."""
    titles = _repeated(posts, lambda p: p.title.casefold())
    if page.headline:
        titles.add(page.headline.casefold())
    published = _repeated(posts, lambda p: p.published.machine if p.published else None)
    updated = _repeated(posts, lambda p: p.updated.machine if p.updated else None)
    guids = _repeated(posts, lambda p: p.guid)
    urls = _repeated(posts, lambda p: p.url)
    return [
        replace(
            post,
            title="" if post.title.casefold() in titles else post.title,
            published=_unless(post.published, published),
            updated=_unless(post.updated, updated),
            guid=None if post.guid in guids else post.guid,
            url=None if post.url in urls else post.url,
        )
        for post in posts
    ]


def _unless(stamp: Stamp | None, copied: set[str]) -> Stamp | None:
    return None if stamp is None or stamp.machine in copied else stamp


def _repeated(posts: list[Found], key: Callable[[Found], str | None]) -> set[str]:
    """Values carried by at least two updates and by more than half of them."""
    counts = Counter(k for k in map(key, posts) if k)
    return {k for k, n in counts.items() if n >= 2 and n * 2 > len(posts)}
