"""An HTML page as an lxml tree, with the page's furniture taken out.

Furniture is recognised by what it is, never by one publisher's markup: navigation
and asides (HTML elements and ARIA roles), hidden elements, and elements whose class or
id names a well-known kind of chrome (cookie consent, share and social buttons,
newsletters, adverts, "related" panels, pagination and "load more" controls).
"""

from __future__ import annotations

import re
from html import escape
from typing import TypeAlias

# lxml ships no type information (and lxml-stubs is not a dependency), so its
# element type is Any to mypy; `Element` names it for readers.
import lxml.html
from lxml.etree import ParserError, _Element

from aggregator.parse.text import collapse, is_chrome

Element: TypeAlias = _Element

# Tags whose content is never the story: controls, embeds and the page's own frame.
_FURNITURE_TAGS = frozenset(
    {
        "script", "style", "noscript", "template", "nav", "footer", "aside", "form",
        "button", "iframe", "svg", "dialog", "select", "input", "object", "embed",
    }
)  # fmt: skip
# A saved page's media files are not carried (their captions are): the paragraph
# reader of `html` drops them the same way.
_MEDIA_TAGS = frozenset({"img", "picture", "video", "audio", "source", "track"})
_FURNITURE_ROLES = frozenset(
    {"navigation", "banner", "contentinfo", "complementary", "dialog", "alertdialog", "search"}
)
# Words in class and id names that mark chrome; matched as whole words of the name.
_FURNITURE_WORDS = frozenset(
    {
        "cookie", "cookies", "consent", "gdpr", "share", "sharing", "sharetools", "social",
        "newsletter", "promo", "advert", "advertisement", "ad", "ads", "related",
        "breadcrumb", "breadcrumbs", "subscribe", "paywall", "pagination", "loadmore",
        "skip", "toolbar", "outbrain", "taboola",
    }
)  # fmt: skip
# Words split at separators only: "post_664ad2" holds no word "ad".
_NAME_WORDS = re.compile(r"[a-z0-9]+")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


def parse_tree(html: str) -> Element | None:
    """The document's root element, or None when there is nothing to parse."""
    # lxml refuses a str that still declares its byte encoding.
    html = _XML_DECLARATION.sub("", html, count=1)
    try:
        root: Element = lxml.html.document_fromstring(html)
        return root
    except (ParserError, ValueError):
        return None


def class_words(element: Element) -> set[str]:
    """The words of an element's class and id names: "lx-share-tools" -> lx, share, tools."""
    names = f"{element.get('class') or ''} {element.get('id') or ''}".lower()
    words = set(_NAME_WORDS.findall(names))
    # "loadMore" and "load-more" alike.
    words.update(w.replace("-", "") for w in names.split())
    return words


def is_furniture(element: Element) -> bool:
    if not isinstance(element.tag, str):
        return True  # comments and processing instructions
    if element.tag in _FURNITURE_TAGS | _MEDIA_TAGS or element.get("hidden") is not None:
        return True
    if (element.get("role") or "").lower() in _FURNITURE_ROLES:
        return True
    if element.get("aria-hidden") == "true" or _HIDDEN_STYLE.search(element.get("style") or ""):
        return True
    return bool(class_words(element) & _FURNITURE_WORDS)


def strip_furniture(root: Element) -> None:
    """Remove furniture and chrome-only elements ("Share this post") in place, keeping
    the text that follows each removed element."""
    doomed = [
        el
        for el in root.iter()
        if el is not root
        and el.tag not in ("html", "body", "head", "meta", "link")
        and (is_furniture(el) or _is_chrome_only(el))
    ]
    for element in doomed:
        if element.getparent() is not None:
            element.drop_tree()


def _is_chrome_only(element: Element) -> bool:
    text = collapse(element.text_content()) if isinstance(element.tag, str) else ""
    return bool(text) and len(text) < 60 and is_chrome(text)


def text_of(element: Element) -> str:
    return collapse(element.text_content())


def inner_html(element: Element) -> str:
    """The element's content as HTML, without its own tag."""
    parts = [lxml.html.tostring(child, encoding="unicode") for child in element]
    return escape(element.text or "", quote=False) + "".join(parts)


def link_density(element: Element) -> float:
    """The share of an element's text that sits inside links (1.0 for a list of links)."""
    total = len(text_of(element))
    if not total:
        return 0.0
    linked = sum(len(text_of(a)) for a in element.iter("a"))
    return linked / total
