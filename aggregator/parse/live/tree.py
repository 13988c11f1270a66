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

from aggregator.parse.live.embeds import EMBED_TAGS, mark_embed
from aggregator.parse.text import collapse, is_chrome

Element: TypeAlias = _Element

# Tags whose content is never the story: controls, embeds and the page's own frame.
_FURNITURE_TAGS = frozenset(
    {
        "script", "style", "noscript", "template", "nav", "footer", "button", "iframe",
        "svg", "dialog", "select", "input", "object", "embed",
    }
)  # fmt: skip
# Containers that are usually chrome, yet some pages put the whole post list in one
# (an <aside> of updates, a page-wide <form>).
_CONTAINER_TAGS = frozenset({"aside", "form"})
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
# The text of three short posts: less is a panel of links or teasers.
_HOLDER_TEXT = 300
_TIMES = "count(.//time | .//*[@datetime])"
_UPDATES = (
    "count(.//*[@itemscope]"
    "[contains(concat(' ', normalize-space(@itemprop), ' '), ' liveBlogUpdate ')])"
)
# Embeds a page may mark for its posts; past them, a page of embeds costs no more.
_MAX_MARKS = 500
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


def _furniture(element: Element) -> str | None:
    """Why an element is furniture: "sure" for what never holds the story (controls,
    embeds, hidden elements), "named" for containers called chrome by their tag, role
    or class, which a page may still have put its posts in; None when it is not."""
    if not isinstance(element.tag, str):
        return "sure"  # comments and processing instructions
    if element.tag == "footer" and _is_post_footer(element):
        return None
    if element.tag in _FURNITURE_TAGS or element.tag in _MEDIA_TAGS or _is_hidden(element):
        return "sure"
    if element.tag in _CONTAINER_TAGS or (element.get("role") or "").lower() in _FURNITURE_ROLES:
        return "named"
    return "named" if class_words(element) & _FURNITURE_WORDS else None


def _is_hidden(element: Element) -> bool:
    if element.get("hidden") is not None or element.get("aria-hidden") == "true":
        return True
    return _HIDDEN_STYLE.search(element.get("style") or "") is not None


def _is_post_footer(element: Element) -> bool:
    """An <article>'s own footer that carries a time ("Updated at 12.36"), not the page's."""
    return bool(element.xpath("ancestor::article and .//time"))


def is_update_scope(element: Element) -> bool:
    """A microdata item that is a live page's update (itemprop="liveBlogUpdate")."""
    return (
        isinstance(element.tag, str)
        and element.get("itemscope") is not None
        and "liveBlogUpdate" in (element.get("itemprop") or "").split()
    )


def strip_furniture(root: Element) -> None:
    """Remove furniture and chrome-only elements ("Share this post") in place, keeping
    the text that follows each removed element, and a text-less mark where a frame or
    player was. A container named as chrome that holds the page's posts stays
    (`_holds_posts`); the furniture inside it goes."""
    page_times = _count(root, _TIMES)
    doomed: list[Element] = []
    gone: set[Element] = set()  # inside a doomed element: no need to look
    for element in root.iter():
        if element is root or element.tag in ("html", "body", "head", "meta", "link"):
            continue
        if element.getparent() in gone:
            gone.add(element)
            continue
        reason = _furniture(element)
        if reason == "named" and _holds_posts(element, page_times):
            continue
        if reason is not None or _is_chrome_only(element):
            doomed.append(element)
            gone.add(element)
    marks = 0
    for element in doomed:
        mark = _embed_mark(element) if marks < _MAX_MARKS else None
        if mark is not None:
            element.addprevious(mark)
            marks += 1
        element.drop_tree()


def _embed_mark(element: Element) -> Element | None:
    """The mark to leave in a visible embed's place (see `embeds`), if any."""
    if element.tag not in EMBED_TAGS or _is_hidden(element):
        return None
    return mark_embed(element)


def _holds_posts(element: Element, page_times: int) -> bool:
    """Two or more microdata updates, or most of the page's timed elements amid text
    that is mostly not links, where the rest of the page has less than half as many
    (a related-stories rail beside the post list is not the post list). Counted by
    XPath in C; only named containers outside removed ones are asked."""
    if _count(element, _UPDATES) >= 2:
        return True
    times = _count(element, _TIMES)
    if times < 3 or (page_times - times) * 2 >= times:
        return False
    text = len(text_of(element))
    linked = sum(len(text_of(link)) for link in element.iter("a"))
    return text >= _HOLDER_TEXT and linked * 2 < text


def _count(element: Element, path: str) -> int:
    return int(element.xpath(path))


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


def bold_lead(html: str) -> str | None:
    """The bold words a body opens with when they are a headline run into the text:
    "<p><b>Ferries diverted</b> Ships from ...</p>" or "<p><strong>Talks:</strong> ...".
    A bold name inside a sentence ("<b>Ann Berg</b> said") is not one."""
    end = html.find("</p>")
    if not html.startswith("<p>") or end < 0:
        return None
    try:
        paragraph = lxml.html.fragment_fromstring(html[: end + 4])
    except (ParserError, ValueError):
        return None
    if (
        (paragraph.text or "").strip()
        or not len(paragraph)
        or paragraph[0].tag not in ("b", "strong")
    ):
        return None
    lead = text_of(paragraph[0])
    rest = (paragraph[0].tail or "").strip()
    if len(lead.split()) < 2 or not rest:
        return None
    if lead[-1] in ":.!?\u2013\u2014" or rest[0].isupper() or rest[0].isdigit():
        return lead.rstrip(":\u2013\u2014 ")
    return None
