"""PURE: the common shapes of RSS 2.0/0.9x, RSS 1.0 and Atom 1.0 read with lxml, giving
exactly the items feedparser would give, or declining.

    bytes --lxml--> tree --(rss | rdf | atom item reader)--> FeedItem...

feedparser (a SAX parser driving Python handlers per element) made parsing the largest
part of a cold poll; most feeds use a dozen elements it treats in a fixed way. This
reader copies feedparser's treatment of those (whitespace stripped, links and permalink
guids joined to the base, its mojibake and cp1252 repairs, embedded markup through its
own relative-URI resolver) and raises `Declined` on anything else: an element it does
not know, a duplicate, xml:base, a DOCTYPE, a date format of its own, markup in a
title, an encoding feedparser would read differently. parse/feeds/feed.py then hands the
feed to feedparser, so declining is always safe.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from lxml import etree

from aggregator.parse.feeds.fastfeed_items import Body, FeedItem, read_atom_entry, read_rss_item
from aggregator.parse.feeds.fastfeed_text import Declined

__all__ = ["Body", "Declined", "FeedItem", "read_feed"]

_ATOM = "{http://www.w3.org/2005/Atom}"
_RSS1 = "{http://purl.org/rss/1.0/}"
_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
_RSS_VERSIONS = frozenset({"2.0", "0.91", "0.92", "0.93", "0.94"})
_XML_DECLARATION = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([\w.:-]+)["']""")
_ASCII_COMPATIBLE = frozenset({"", "utf-8", "ascii", "latin-1", "iso8859-1", "cp1252"})


# feedparser lower-cases element names, so <Item> or <ENTRY> anywhere is an item to it.
_COUNT_ITEM_LIKE = (
    "count(//*[translate(local-name(), 'EINMRTY', 'einmrty') = 'item'"
    " or translate(local-name(), 'EINMRTY', 'einmrty') = 'entry'])"
)


@dataclass(frozen=True)
class _Shape:
    items: list[etree._Element]
    is_atom: bool


def read_feed(body: bytes, content_type: str | None, base: str) -> list[FeedItem]:
    """The feed's items in order. `content_type` is the header feedparser is given and
    `base` the URL it resolves relative links against ("" when there is none)."""
    _check_encoding(body, content_type)
    if b"<!DOCTYPE" in body or b"<!doctype" in body or b"xml:base" in body:
        raise Declined("DOCTYPE or xml:base")
    # A parser per call: lxml parser objects must not be shared between threads.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as e:
        raise Declined(f"not well-formed: {e}") from e
    if root.getroottree().docinfo.doctype:
        raise Declined("DOCTYPE")
    shape = _shape(root)
    if not shape.items:
        raise Declined("no items")  # feedparser's verdict on an empty feed is the fallback's
    read = read_atom_entry if shape.is_atom else read_rss_item
    return [read(item, base) for item in shape.items]


def _shape(root: etree._Element) -> _Shape:
    """The item elements, when the document is one of the shapes read here and has no
    item or entry anywhere else (feedparser would treat those as items too)."""
    if root.tag == f"{_ATOM}feed":
        items, is_atom = root.findall(f"{_ATOM}entry"), True
    elif root.tag == "rss" and root.get("version") in _RSS_VERSIONS:
        channel = root.findall("channel")
        if len(channel) != 1:
            raise Declined("rss without exactly one channel")
        items, is_atom = channel[0].findall("item"), False
    elif root.tag == f"{_RDF}RDF" and root.find(f"{_RSS1}channel") is not None:
        items, is_atom = root.findall(f"{_RSS1}item"), False
    else:
        raise Declined(f"root element {root.tag!r}")
    if int(root.xpath(_COUNT_ITEM_LIKE)) != len(items):
        raise Declined("items outside the usual place")
    return _Shape(items, is_atom)


def _check_encoding(body: bytes, content_type: str | None) -> None:
    """Decline unless feedparser (RFC 3023 rules, then its fallbacks) and lxml (the XML
    declaration, else UTF-8) decode the body alike. ASCII reads alike in both."""
    if body.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise Declined("byte order mark")
    match = _XML_DECLARATION.match(body)
    declared = _codec(match.group(1).decode("ascii")) if match else ""
    _, _, params = (content_type or "").partition(";")
    charset = _codec(_charset(params)) if _charset(params) else ""
    if declared not in ("", "utf-8", "ascii") or charset not in _ASCII_COMPATIBLE:
        raise Declined(f"encoding {declared or charset}")
    if body.isascii():
        return
    # RFC 3023 §3: a header charset wins; text/* without one means us-ascii, which
    # fails on this body, so feedparser tries the declaration, then UTF-8.
    first = charset or declared or "utf-8"
    if first != "utf-8":
        raise Declined(f"encoding {first}")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Declined("not UTF-8") from e


def _charset(params: str) -> str:
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip("'\"").lower()
    return ""


def _codec(label: str) -> str:
    try:
        return codecs.lookup(label).name
    except LookupError:
        return label
