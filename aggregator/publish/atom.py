"""PURE: a story as an Atom 1.0 feed (RFC 4287).

Each entry keeps its origin: `atom:source` (RFC 4287 §4.2.11) names the source it
came from, `link rel="via"` (§4.2.7.2) the other sources that carried the same copy,
and foreign elements in our namespace (§6.4) say where its time came from.
"""

from __future__ import annotations

import re
from datetime import datetime
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from aggregator import PROJECT_URL, __version__
from aggregator.core.types import FeedEntry, SourceRef, StoryView
from aggregator.publish.ids import entry_iri, feed_iri, is_web_url, source_iri
from aggregator.publish.paging import PageLinks
from aggregator.publish.timefmt import format_rfc3339

ATOM_NS = "http://www.w3.org/2005/Atom"
AGG_NS = f"{PROJECT_URL}/ns"
TOMBSTONE_NS = "http://purl.org/atompub/tombstones/1.0"
HISTORY_NS = "http://purl.org/syndication/history/1.0"
ATOM_TYPE = "application/atom+xml"
FEED_AUTHOR = "aggregator"

# Characters XML 1.0 §2.2 forbids even when escaped; scraped titles do carry them.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render_atom(
    view: StoryView,
    *,
    self_url: str,
    page_url: str,
    fallback_updated: datetime,
    hub_url: str | None = None,
    links: PageLinks | None = None,
) -> bytes:
    """The story's feed as UTF-8 Atom, entries in the order given (newest first).

    The feed's `updated` is when the story last changed, or `fallback_updated` when
    nothing is recorded, so an unchanged story renders to the same bytes. `links`: the
    page's place among the story's archive pages (RFC 5005).
    """
    # Namespace declarations written as plain attributes with prefixed tags: avoids
    # ElementTree's process-wide register_namespace, which publish must not touch.
    namespaces = {"xmlns": ATOM_NS, "xmlns:agg": AGG_NS, "xmlns:at": TOMBSTONE_NS}
    feed = Element("feed", namespaces | {"xmlns:fh": HISTORY_NS})
    _text(feed, "id", feed_iri(view.story.id))
    _text(feed, "title", view.story.title)
    _text(feed, "updated", format_rfc3339(view.updated or fallback_updated))
    _person(feed, "author", FEED_AUTHOR, PROJECT_URL)
    _link(feed, "self", self_url, ATOM_TYPE)
    _link(feed, "alternate", page_url, "text/html")
    if hub_url:
        # WebSub §4: the hub and the self link tell subscribers where to subscribe.
        _link(feed, "hub", hub_url, None)
    if links is not None:
        _history(feed, links)
    generator = _text(feed, "generator", "aggregator")
    generator.set("uri", PROJECT_URL)
    generator.set("version", __version__)
    # RFC 4287's schema puts extension elements before the first entry (Appendix B).
    for gone in view.deleted:
        feed.append(_tombstone(gone))
    for entry in view.entries:
        feed.append(_entry(entry))
    indent(feed, space=" ")
    body = tostring(feed, encoding="unicode")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body.encode("utf-8")


def _history(feed: Element, links: PageLinks) -> None:
    """RFC 5005 §4: an archive page says so and links to the current document and to its
    neighbours; the current document links to the newest archive page."""
    if links.is_archive:
        SubElement(feed, "fh:archive")
        _link(feed, "current", links.current, ATOM_TYPE)
    if links.older:
        _link(feed, "prev-archive", links.older, ATOM_TYPE)
    if links.newer:
        _link(feed, "next-archive", links.newer, ATOM_TYPE)


def _entry(entry: FeedEntry) -> Element:
    node = Element("entry")
    if entry.source.language:  # RFC 4287 §2: xml:lang on any element
        node.set("xml:lang", entry.source.language)
    _text(node, "id", entry_iri(entry.story, entry.key))
    _text(node, "title", entry.title)
    _text(node, "published", format_rfc3339(entry.published))
    _text(node, "updated", format_rfc3339(entry.updated))
    _person(node, "author", entry.author or entry.source.display_title, None)
    if entry.html:
        _text(node, "content", entry.html).set("type", "html")
    else:
        _text(node, "content", entry.text).set("type", "text")
    if is_web_url(entry.url):
        _link(node, "alternate", entry.url, "text/html")
    for other in entry.also_from:  # §4.2.7.2: where else this came from, the copy itself
        if is_web_url(other.link):
            _link(node, "via", other.link, "text/html").set("title", _clean(other.display_title))
    node.append(_source(entry.source))
    _text(node, "agg:time-source", entry.time_source)
    for other in entry.also_from:
        _also_from(node, other)
    return node


def _tombstone(entry: FeedEntry) -> Element:
    """RFC 6721 §2: the entry `ref` was deleted at `when`, so readers can drop it."""
    when = format_rfc3339(entry.deleted_at or entry.updated)
    node = Element("at:deleted-entry", {"ref": entry_iri(entry.story, entry.key), "when": when})
    _text(node, "at:comment", f"Removed from {entry.source.display_title}: {entry.title}")
    node.append(_source(entry.source))
    return node


def _source(source: SourceRef) -> Element:
    """RFC 4287 §4.2.11: the originating feed's metadata, as much of it as we know."""
    node = Element("source")
    _text(node, "id", source_iri(source))
    _text(node, "title", source.display_title)
    if is_web_url(source.home):  # the source's own home page
        _link(node, "alternate", source.home or "", "text/html")
    if is_web_url(source.url):  # the feed itself; its home page is not known to us
        _link(node, "self", source.url, None)
    return node


def _also_from(parent: Element, source: SourceRef) -> None:
    # A structured extension element (RFC 4287 §6.4.2): attributes plus a text name.
    node = _text(parent, "agg:also-from", source.name)
    node.set("kind", source.kind)
    if is_web_url(source.link):
        node.set("href", _clean(source.link or ""))
    if is_web_url(source.url):
        node.set("feed", _clean(source.url or ""))


def _text(parent: Element, tag: str, value: str) -> Element:
    node = SubElement(parent, tag)
    node.text = _clean(value)
    return node


def _person(parent: Element, tag: str, name: str, uri: str | None) -> None:
    node = SubElement(parent, tag)
    _text(node, "name", name)
    if uri is not None:
        _text(node, "uri", uri)


def _link(parent: Element, rel: str, href: str, media_type: str | None) -> Element:
    node = SubElement(parent, "link", {"rel": rel, "href": _clean(href)})
    if media_type is not None:
        node.set("type", media_type)
    return node


def _clean(value: str) -> str:
    return _NOT_XML_CHAR.sub("", value)
