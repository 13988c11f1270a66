"""schema.org LiveBlogPosting in microdata: the updates are the item scopes with
itemprop="liveBlogUpdate" inside a LiveBlogPosting scope; property values come from
`content`, `datetime`, `href`/`src`, or the element's text (HTML Living Standard,
"Microdata", §5.2.4 values).

Read before the page's furniture is stripped: a post list whose container looks like
chrome (an "ad-free" section, an aside) is still the post list. Each body is taken from
a copy of its element with the furniture inside it stripped.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Iterator

from aggregator.parse.live.found import Found, Stamp
from aggregator.parse.live.structured import LIVE_TYPE, PageData, without_page_values
from aggregator.parse.live.tree import (
    Element,
    inner_html,
    is_update_scope,
    strip_furniture,
    text_of,
)
from aggregator.parse.text import collapse


def read_microdata(root: Element) -> tuple[list[Found], PageData]:
    lives, updates = _scopes(root)
    if not lives:
        return [], PageData()
    props = dict(_properties(lives[0]))
    page = PageData(
        modified=_value(props["dateModified"]) if "dateModified" in props else None,
        headline=_value(props["headline"]) if "headline" in props else None,
    )
    return without_page_values([_micro_update(u) for u in updates], page), page


def _scopes(root: Element) -> tuple[list[Element], list[Element]]:
    """The LiveBlogPosting scopes and the updates inside them, in document order, in one
    walk that does not enter an update (an update inside an update is part of its body)."""
    lives: list[Element] = []
    updates: list[Element] = []
    stack: list[tuple[Element, bool]] = [(root, False)]
    while stack:
        element, inside = stack.pop()
        if not isinstance(element.tag, str):
            continue
        if inside and is_update_scope(element):
            updates.append(element)
            continue
        if _is_scope(element) and (element.get("itemtype") or "").rstrip("/").endswith(LIVE_TYPE):
            lives.append(element)
            inside = True
        stack.extend((child, inside) for child in reversed(element))
    return lives, updates


def _is_scope(element: Element) -> bool:
    return isinstance(element.tag, str) and element.get("itemscope") is not None


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
        html=_body(props["articleBody"]) if "articleBody" in props else "",
        method="microdata",
        guid=update.get("itemid") or update.get("id") or url,
        url=url,
        author=text_of(author) if author is not None else None,
        published=stamp.get("datePublished"),
        updated=stamp.get("dateModified"),
    )


def _body(element: Element) -> str:
    body = copy.deepcopy(element)
    strip_furniture(body)
    return inner_html(body)
