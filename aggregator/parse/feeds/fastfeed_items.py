"""PURE: one RSS item or Atom entry element -> FeedItem, as feedparser would read it.

Each reader walks the item's children once. A child it has no rule for, a second copy
of a core element, an attribute that changes meaning or a child inside a text element
raises `Declined`; feedparser then reads the feed instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from aggregator.parse.feeds.fastfeed_text import (
    Declined,
    fix_text,
    is_plain_html,
    join_url,
    looks_like_html,
    parse_date,
    resolve_markup,
)

_ATOM = "{http://www.w3.org/2005/Atom}"
_RSS1 = "{http://purl.org/rss/1.0/}"
_RDF_ABOUT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"
_DC = "{http://purl.org/dc/elements/1.1/}"
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
_MEDIA = "{http://search.yahoo.com/mrss/}"
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Children that feedparser files under keys parse/feeds/feed.py never reads; without child
# elements of their own they cannot touch the fields read here.
_IGNORED = frozenset(
    {
        "category", "comments", "enclosure", "{http://wellformedweb.org/CommentAPI/}commentRss",
        "{http://purl.org/rss/1.0/modules/slash/}comments", f"{_MEDIA}content",
        f"{_MEDIA}thumbnail", f"{_DC}subject", f"{_ATOM}category",
    }
)  # fmt: skip
# xml:lang only sets the language feedparser records beside a text construct.
_TEXT_ATTRIBUTES = frozenset({"type", "{http://www.w3.org/XML/1998/namespace}lang"})
# feedparser query-string repair of <link> text ("?a=1&b;=2"), mixin.py pop().
_STRAY_REFERENCE = re.compile(r"&([A-Za-z0-9_]+);")


@dataclass(frozen=True)
class Body:
    """A text construct: its value and feedparser's content type for it."""

    value: str
    type: str


@dataclass(frozen=True)
class FeedItem:
    """One item as parse/feeds/feed.py needs it, from either parser."""

    title: str
    link: str | None
    guid: str | None
    author: str | None
    published: datetime | None
    updated: datetime | None
    contents: tuple[Body, ...] = ()
    summary: Body | None = None
    title_is_html: bool = False


@dataclass
class _Fields:
    seen: set[str] = field(default_factory=set)
    title: str = ""
    link: str | None = None
    guid: str | None = None
    guid_link: str | None = None
    author: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    contents: list[Body] = field(default_factory=list)
    summary: Body | None = None

    def once(self, name: str) -> None:
        if name in self.seen:
            raise Declined(f"second {name}")
        self.seen.add(name)

    def item(self) -> FeedItem:
        link = self.link if "link" in self.seen else self.guid_link
        return FeedItem(
            self.title, link, self.guid, self.author, self.published, self.updated,
            tuple(self.contents), self.summary,
        )  # fmt: skip


def read_rss_item(item: etree._Element, base: str) -> FeedItem:
    """RSS 2.0/0.9x (no namespace) or RSS 1.0 (its namespace) item."""
    fields = _Fields()
    if _RDF_ABOUT in item.attrib:
        fields.guid = item.get(_RDF_ABOUT)  # feedparser keeps rdf:about as given
    rss1 = item.tag.startswith(_RSS1)
    for child in item.iterchildren():
        name = _rss_name(child.tag, rss1)
        if name in _IGNORED:
            _check_childless(child)
        elif name == "title":
            fields.once("title")
            fields.title = _title(child, may_look_like_html=True)
        elif name == "link":
            fields.once("link")
            fields.link = _rss_link(child, base)
        elif name == "guid" and not rss1:
            fields.once("guid")
            _rss_guid(child, base, fields)
        elif name in ("description", _CONTENT):
            fields.once(name)
            body = Body(_html(_text(child, no_attributes=True), base, "text/html"), "text/html")
            if name == _CONTENT:
                fields.contents.append(body)
            else:
                fields.summary = body
        elif name in ("pubDate", f"{_DC}date"):
            fields.once(name)
            moment = parse_date(_text(child, no_attributes=True))
            fields.published, fields.updated = (
                (moment, fields.updated) if name == "pubDate" else (fields.published, moment)
            )
        elif name in ("author", f"{_DC}creator"):
            fields.once("author")
            fields.author = fix_text(_text(child, no_attributes=True))
        else:
            raise Declined(f"item element {child.tag!r}")
    return fields.item()


def _rss_name(tag: object, rss1: bool) -> str:
    if not isinstance(tag, str):
        raise Declined("comment or processing instruction in an item")
    if rss1 and tag.startswith(_RSS1):
        return tag[len(_RSS1) :]
    return tag if rss1 is False or tag.startswith("{") else f"<{tag}>"


def _rss_link(child: etree._Element, base: str) -> str:
    value = _text(child, no_attributes=True)
    link = fix_text(join_url(base, value) if value else value)
    return _STRAY_REFERENCE.sub(r"&\g<1>", link.replace("&amp;", "&"))


def _rss_guid(child: etree._Element, base: str, fields: _Fields) -> None:
    if set(child.attrib) - {"isPermaLink"}:
        raise Declined("guid attribute")
    is_link = child.get("isPermaLink", "true") == "true"
    value = _text(child)
    fields.guid = fix_text(join_url(base, value) if value and is_link else value)
    fields.guid_link = fields.guid if is_link else None


def read_atom_entry(entry: etree._Element, base: str) -> FeedItem:
    fields = _Fields()
    for child in entry.iterchildren():
        name = child.tag
        if name in _IGNORED:
            _check_childless(child)
        elif name == f"{_ATOM}title":
            fields.once("title")
            if child.get("type", "text") != "text" or set(child.attrib) - _TEXT_ATTRIBUTES:
                raise Declined("title type")
            fields.title = _title(child, may_look_like_html=False)
        elif name == f"{_ATOM}link":
            _atom_link(child, base, fields)
        elif name == f"{_ATOM}id":
            fields.once("id")
            value = _text(child, no_attributes=True)
            # Atom ids pass feedparser's guid path: joined to the base, the link if none.
            fields.guid = fields.guid_link = fix_text(join_url(base, value) if value else value)
        elif name in (f"{_ATOM}published", f"{_ATOM}updated"):
            fields.once(name)
            moment = parse_date(_text(child, no_attributes=True))
            if name == f"{_ATOM}published":
                fields.published = moment
            else:
                fields.updated = moment
        elif name in (f"{_ATOM}summary", f"{_ATOM}content"):
            fields.once(name)
            body = _atom_body(child, base)
            if name == f"{_ATOM}content":
                fields.contents.append(body)
            else:
                fields.summary = body
        elif name == f"{_ATOM}author":
            fields.once("author")
            fields.author = _atom_author(child)
        else:
            raise Declined(f"entry element {name!r}")
    return fields.item()


def _atom_link(child: etree._Element, base: str, fields: _Fields) -> None:
    """feedparser _start_link: the last rel=alternate link of an HTML type is the link."""
    _check_childless(child)
    href = child.get("href")
    if href is None or set(child.attrib) - {"href", "rel", "type", "title", "hreflang", "length"}:
        raise Declined("link without href or with other attributes")
    rel = child.get("rel", "alternate")
    kind = child.get("type", "application/atom+xml" if rel == "self" else "text/html")
    if rel == "alternate" and _content_type(kind) in _HTML_TYPES:
        fields.link = join_url(base, href)
        fields.seen.add("link")


def _atom_body(child: etree._Element, base: str) -> Body:
    if set(child.attrib) - _TEXT_ATTRIBUTES:
        raise Declined("content attribute (src, base64...)")
    kind = _content_type(child.get("type", "text"))
    if kind not in ("text/plain", "text/html"):
        raise Declined(f"content type {kind}")
    value = _text(child)
    return Body(_html(value, base, kind) if kind == "text/html" else fix_text(value), kind)


def _atom_author(child: etree._Element) -> str:
    """feedparser's author string: "name (email)", the name, or the email."""
    if (child.text or "").strip() or child.attrib:
        raise Declined("author text or attributes")
    parts: dict[str, str] = {}
    for part in child.iterchildren():
        key = part.tag[len(_ATOM) :] if isinstance(part.tag, str) else ""
        if not part.tag.startswith(_ATOM) or key not in ("name", "email", "uri") or key in parts:
            raise Declined("author element")
        if (part.tail or "").strip():
            raise Declined("author text")
        parts[key] = fix_text(_text(part, no_attributes=True))
    name, email = parts.get("name"), parts.get("email")
    if name and email:
        return f"{name} ({email})"
    return name or email or ""


def _title(child: etree._Element, *, may_look_like_html: bool) -> str:
    value = _text(child, no_attributes=may_look_like_html)
    if may_look_like_html and looks_like_html(value):
        raise Declined("title looks like HTML")  # feedparser would switch it to text/html
    return fix_text(value)


def _html(value: str, base: str, kind: str) -> str:
    """pop(): strip, resolve relative URIs in the markup, then repair the text."""
    if not is_plain_html(value):
        value = resolve_markup(value, base, kind)
    return fix_text(value)


def _text(el: etree._Element, *, no_attributes: bool = False) -> str:
    """The element's text, stripped as feedparser's pop() strips it."""
    if len(el):
        raise Declined(f"child elements in {el.tag!r}")
    if no_attributes and el.attrib:
        raise Declined(f"attributes on {el.tag!r}")
    return (el.text or "").strip()


def _check_childless(el: etree._Element) -> None:
    if len(el):
        raise Declined(f"child elements in {el.tag!r}")


def _content_type(value: str) -> str:
    """feedparser map_content_type."""
    value = value.lower()
    short = {"text": "text/plain", "plain": "text/plain", "html": "text/html"}
    return short.get(value, "application/xhtml+xml" if value == "xhtml" else value)
