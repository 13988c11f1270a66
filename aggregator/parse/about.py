"""PURE: what a document says about itself: its publisher's name for it, its home page,
its language. A feed's channel gives `<title>`, `<link>` and `<language>` (Atom: the
feed's `<title>`, `<link rel="alternate">`, `xml:lang`); a web page its `og:site_name`
and `<html lang>`, and is its own home page when it was fetched from the web.

Every search is bounded: an element's text is cut at the first closing tag found by
`str.find`, and tag patterns read at most a fixed number of characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from aggregator.parse.entities import unescape
from aggregator.parse.html import replace_tags

MAX_TITLE = 200
_MAX_ELEMENT = 4000
_SPACE = re.compile(r"\s++")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,4}")
_RSS_LANGUAGE = re.compile(r"<(?:dc:)?language>\s*+([^<\s]{1,40})\s*+</(?:dc:)?language>")
_TAG_ATTRIBUTE = r"""\s{name}\s*+=\s*+(?:"([^"]{{0,2000}})"|'([^']{{0,2000}})')"""
_HREF = re.compile(_TAG_ATTRIBUTE.format(name="href"), re.IGNORECASE)
_REL = re.compile(_TAG_ATTRIBUTE.format(name="rel"), re.IGNORECASE)
_LANG = re.compile(_TAG_ATTRIBUTE.format(name="(?:xml:)?lang"), re.IGNORECASE)
_CONTENT = re.compile(_TAG_ATTRIBUTE.format(name="content"), re.IGNORECASE)
_PROPERTY = re.compile(_TAG_ATTRIBUTE.format(name="(?:property|name)"), re.IGNORECASE)
_RSS_LINK = re.compile(r"<link>\s*+([^<\s]{1,2000})\s*+</link>")
_MAX_TAG = 2000
_LINK_TAG = re.compile(r"<link\b", re.IGNORECASE)
_META_TAG = re.compile(r"<meta\b", re.IGNORECASE)
_ROOT_TAG = re.compile(r"<(?:feed|rss|rdf:RDF|html)\b", re.IGNORECASE)


@dataclass(frozen=True)
class About:
    title: str | None = None
    home: str | None = None
    language: str | None = None


def channel_about(channel: str) -> About:
    """A feed's own title, home page and language, from the part before its first item."""
    return About(
        title=_element_text(channel, "title"),
        home=_rss_link(channel) or _atom_alternate(channel),
        language=_rss_language(channel) or _root_language(channel),
    )


def page_about(html: str, location: str) -> About:
    """A web page's site name and language; a page fetched from the web is its own home."""
    home = location if location.startswith(("http://", "https://")) else None
    return About(title=_site_name(html), home=home, language=_root_language(html))


def _element_text(text: str, name: str) -> str | None:
    """The text of the first `<name>` element, CDATA unwrapped, entities decoded once,
    tags removed, whitespace collapsed; None when there is none or it is empty."""
    start = re.search(rf"<{name}[\s>]", text)
    if start is None:
        return None
    opened = text.find(">", start.start())
    closed = text.find(f"</{name}", opened, opened + _MAX_ELEMENT)
    if opened < 0 or closed < 0:
        return None
    raw = text[opened + 1 : closed].replace("<![CDATA[", "").replace("]]>", "")
    plain = _SPACE.sub(" ", unescape(replace_tags(raw))).strip()
    return plain[:MAX_TITLE] or None


def _rss_link(channel: str) -> str | None:
    match = _RSS_LINK.search(channel)
    return _web_url(unescape(match[1])) if match else None


def _atom_alternate(channel: str) -> str | None:
    for tag in _tags(channel, _LINK_TAG):
        rel = _attribute(_REL, tag) or "alternate"
        href = _attribute(_HREF, tag)
        if rel.lower() == "alternate" and href:
            return _web_url(unescape(href))
    return None


def _rss_language(channel: str) -> str | None:
    match = _RSS_LANGUAGE.search(channel)
    return _language(match[1]) if match else None


def _root_language(text: str) -> str | None:
    root = next(_tags(text, _ROOT_TAG), None)
    value = _attribute(_LANG, root) if root else None
    return _language(value) if value else None


def _site_name(html: str) -> str | None:
    for tag in _tags(html, _META_TAG):
        if (_attribute(_PROPERTY, tag) or "").lower() == "og:site_name":
            name = _SPACE.sub(" ", unescape(_attribute(_CONTENT, tag) or "")).strip()
            return name[:MAX_TITLE] or None
    return None


def _tags(text: str, opening: re.Pattern[str]) -> Iterator[str]:
    """Each tag `opening` starts, up to its ">", when it is at most _MAX_TAG long. The
    next ">" is looked for again only once a tag starts past it, so the text is read
    once however many openings lack their ">"."""
    close = -1
    for start in opening.finditer(text):
        if close < start.start():
            close = text.find(">", start.start())
            if close < 0:
                return
        if close - start.start() <= _MAX_TAG:
            yield text[start.start() : close + 1]


def _attribute(pattern: re.Pattern[str], tag: str) -> str | None:
    match = pattern.search(tag)
    return (match[1] if match[1] is not None else match[2]) if match else None


def _language(value: str) -> str | None:
    value = value.strip()
    return value.replace("_", "-") if _LANGUAGE.fullmatch(value) else None


def _web_url(value: str) -> str | None:
    value = value.strip()
    return value if value.startswith(("http://", "https://")) and len(value) <= 2000 else None
