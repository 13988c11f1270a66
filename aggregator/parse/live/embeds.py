"""Embedded items (a video, a player's frame, a quoted social post) as links to follow.

A post whose whole body is an embed shows no text of its own: frames and players are
furniture to the splitter and the sanitiser drops them. So `tree.strip_furniture`
leaves a text-less mark where each one was (`mark_embed`), and a post that ends up
with no text gets a link to each item it embedded (`with_embed_links`): "Video:
https://...", or the link a quoted post's markup carries. A post with text of its own
is left as it is.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from html import escape
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree
from lxml.etree import ParserError, _Element

from aggregator.parse.html import html_to_text
from aggregator.parse.live.found import Found

EMBED_TAGS = frozenset({"iframe", "video", "audio", "embed", "object"})
# The mark left in an embed's place: an element no sanitiser keeps and with no text.
MARK = "embedded-item"
_MARKUP_HINTS = (f"<{MARK}", "<iframe", "<video", "<audio", "<embed", "<object", "<blockquote")
# Where frames and players keep their address; lazy loaders move it to data-src.
_SOURCE_ATTRIBUTES = ("src", "data-src", "data", "data-url")
# A post is one update: past this many items (or items looked at) none is linked.
_MAX_LINKS = 10
_MAX_ITEMS = 100
# A frame this small is a tracking pixel, not something to watch.
_TINY = frozenset({"0", "1", "0px", "1px"})


def mark_embed(element: _Element) -> _Element | None:
    """A text-less mark for an embed with an address (None for one without, or a
    tracking frame): `<embedded-item data-kind="Video" data-src="...">`."""
    source = _source(element)
    if source is None or {element.get("width"), element.get("height")} & _TINY:
        return None
    mark: _Element = lxml.html.Element(MARK)
    mark.set("data-kind", _kind(element))
    mark.set("data-src", source)
    return mark


def with_embed_links(found: Found, base: str | None) -> Found:
    """The post with each embedded item as a link paragraph, in the item's place, when
    the post shows no text; a quote that only held the item's link goes."""
    if not any(hint in found.html for hint in _MARKUP_HINTS) or html_to_text(found.html):
        return found
    try:
        root = lxml.html.fragment_fromstring(found.html, create_parent="div")
    except (ParserError, ValueError):
        return found
    links: dict[str, tuple[str, _Element]] = {}
    for kind, address, anchor in itertools.islice(_items(root), _MAX_ITEMS):
        url = _absolute(address, base)
        if url is not None:
            links.setdefault(url, (kind, anchor))
        if len(links) == _MAX_LINKS:
            break
    slots: dict[_Element, None] = {}
    for url, (kind, element) in links.items():
        slot = _slot(element, root)
        slot.addprevious(_paragraph(kind, url))
        slots[slot] = None
    for slot in slots:
        slot.drop_tree()
    for mark in list(root.iter(MARK)):
        mark.drop_tree()  # those not linked: no reader of the post needs them
    return replace(found, html=_inner_html(root)) if links else found


def _slot(element: _Element, root: _Element) -> _Element:
    """What an item's link replaces: the item and the wrappers that hold nothing else
    (a <p> around a frame), up to the post's top level or a figure with its caption.
    Each wrapper holds one child, so no wrapper is climbed for two items."""
    top = element
    while (parent := top.getparent()) is not None and parent is not root:
        if parent.tag == "figure" or len(parent) != 1 or (parent.text or "").strip():
            break
        if (top.tail or "").strip():
            break
        top = parent
    return top


def _items(root: _Element) -> Iterator[tuple[str, str, _Element]]:
    """(kind, address, where it stands) for each item, in page order. Inside a quote
    (a quoted post's markup before its script ran) every link and frame stands where
    the outermost quote does."""
    quote: _Element | None = None
    depth = 0
    for event, element in etree.iterwalk(root, events=("start", "end")):
        if element.tag == "blockquote":
            depth += 1 if event == "start" else -1
            quote = element if depth == 1 and event == "start" else quote
        elif event != "start":
            continue
        elif element.tag == "a" and depth:
            yield "", element.get("href") or "", quote
        elif element.tag == MARK:
            kind = element.get("data-kind") or "Embed"
            yield kind, element.get("data-src") or "", quote if depth else element
        elif element.tag in EMBED_TAGS and (source := _source(element)):
            yield _kind(element), source, quote if depth else element


def _source(element: _Element) -> str | None:
    candidates = [element, *element.iter("source")] if element.tag in ("video", "audio") else []
    for node in candidates or [element]:
        for name in _SOURCE_ATTRIBUTES:
            value = (node.get(name) or "").strip()
            if value:
                return value
    return None


def _kind(element: _Element) -> str:
    if element.tag in ("video", "audio"):
        return str(element.tag).capitalize()
    allowed = (element.get("allow") or "").lower()
    is_player = element.get("allowfullscreen") is not None or "fullscreen" in allowed
    return "Video" if is_player else "Embed"


def _absolute(address: str, base: str | None) -> str | None:
    """An http(s) address, resolved against the page's; None for any other."""
    url = urljoin(base, address) if base else address
    if url.startswith("//"):
        url = f"https:{url}"
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def _inner_html(root: _Element) -> str:
    # As `tree.inner_html` writes it; tree imports this module, not the other way.
    parts = [lxml.html.tostring(child, encoding="unicode") for child in root]
    return escape(root.text or "", quote=False) + "".join(parts)


def _paragraph(kind: str, url: str) -> _Element:
    paragraph: _Element = lxml.html.Element("p")
    link = lxml.html.Element("a", href=url)
    link.text = url
    paragraph.text = f"{kind}: " if kind else None
    paragraph.append(link)
    return paragraph
