"""schema.org LiveBlogPosting as publishers embed it: JSON-LD scripts and microdata.

JSON-LD: every `application/ld+json` script is read on its own (one malformed script
spoils nothing else); objects may sit in lists or `@graph` arrays, `@type` may be a
string or a list, and `liveBlogUpdate` one object or a list. An update without `url`
takes its `@id` as its url when that is an absolute http(s) URL. Microdata: the updates are
the `itemprop="liveBlogUpdate"` item scopes inside a LiveBlogPosting scope; property
values come from `content`, `datetime`, `href`/`src`, or the element's text
(HTML Living Standard, "Microdata", §5.2.4 values).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aggregator.parse.found import Found, Stamp
from aggregator.parse.html import paragraphs_to_html
from aggregator.parse.text import collapse
from aggregator.parse.tree import Element, inner_html, text_of

LIVE_TYPE = "LiveBlogPosting"
_LD_JSON = "application/ld+json"


@dataclass(frozen=True)
class PageData:
    """What structured data says about the page as a whole."""

    modified: str | None = None
    start: str | None = None


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
                _string(live.get("dateModified")), _string(live.get("coverageStartTime"))
            )
            posts.extend(
                _update(u) for u in _as_list(live.get("liveBlogUpdate")) if isinstance(u, dict)
            )
    return posts, page


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


def _update(obj: dict[str, Any]) -> Found:
    published = _string(obj.get("datePublished"))
    modified = _string(obj.get("dateModified"))
    node_id = _string(obj.get("@id"))
    return Found(
        title=collapse(_string(obj.get("headline")) or _string(obj.get("name")) or ""),
        html=_body_html(_string(obj.get("articleBody")) or ""),
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


def _body_html(body: str) -> str:
    """articleBody is plain text by the schema, yet some publishers put HTML in it."""
    if "</p>" in body or "<br" in body:
        return body
    paragraphs = [collapse(p) for p in body.replace("\r", "").split("\n")]
    return paragraphs_to_html([p for p in paragraphs if p])


def _author(value: Any) -> str | None:
    names = []
    for item in _as_list(value):
        name = _string(item.get("name")) if isinstance(item, dict) else _string(item)
        if name:
            names.append(name)
    return ", ".join(names) or None


def read_microdata(root: Element) -> tuple[list[Found], PageData]:
    posts: list[Found] = []
    page = PageData()
    for live in root.iter():
        if not _is_scope(live) or not (live.get("itemtype") or "").rstrip("/").endswith(LIVE_TYPE):
            continue
        props = dict(_properties(live))
        page = PageData(_value(props["dateModified"]) if "dateModified" in props else None)
        posts.extend(_micro_update(el) for el in live.iter() if _is_update(el))
    return posts, page


def _is_scope(element: Element) -> bool:
    return isinstance(element.tag, str) and element.get("itemscope") is not None


def _is_update(element: Element) -> bool:
    return _is_scope(element) and "liveBlogUpdate" in (element.get("itemprop") or "").split()


def _properties(scope: Element) -> Iterator[tuple[str, Element]]:
    """The scope's own properties, not those of items nested inside it, in document
    order (a deque: taking from the front of a list is linear in its length)."""
    stack = deque(scope)
    while stack:
        element = stack.popleft()
        if not isinstance(element.tag, str):
            continue
        for name in (element.get("itemprop") or "").split():
            yield name, element
        if not _is_scope(element):
            stack.extendleft(reversed(element))


def _value(element: Element) -> str:
    for attribute in ("content", "datetime"):
        if element.get(attribute) is not None:
            return collapse(element.get(attribute) or "")
    if element.tag in ("a", "link", "area"):
        return element.get("href") or ""
    if element.tag in ("img", "audio", "video", "source"):
        return element.get("src") or ""
    return text_of(element)


def _micro_update(update: Element) -> Found:
    props: dict[str, Element] = {}
    for name, element in _properties(update):
        props.setdefault(name, element)
    body = props.get("articleBody")
    stamp = {
        name: Stamp(machine=_value(props[name]), human=text_of(props[name]))
        for name in ("datePublished", "dateModified")
        if name in props
    }
    author = props.get("author")
    if author is not None and _is_scope(author):
        author = dict(_properties(author)).get("name", author)
    url = _value(props["url"]) if "url" in props else None
    return Found(
        title=_value(props["headline"]) if "headline" in props else "",
        html=inner_html(body) if body is not None else "",
        method="microdata",
        guid=update.get("itemid") or update.get("id") or url,
        url=url,
        author=text_of(author) if author is not None else None,
        published=stamp.get("datePublished"),
        updated=stamp.get("dateModified"),
    )
