"""PURE: an OPML subscription list (OPML 1.0 or 2.0, as feed readers export them) read
into the addresses it lists.

Readers write the same thing in several shapes: folders nested to any depth, feeds
with `type="rss"` or no type at all, a title in `text`, in `title`, in both or in
neither, a page address as `htmlUrl` or (OPML 2.0 `type="link"`) as `url`. Every
outline with an address is kept, with the folders above it; folders themselves are
not sources. A DTD of its own is refused as for feeds, and entities are never expanded.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from aggregator.parse.feeds.doctype import has_internal_subset

MAX_OPML_BYTES = 10 * 1024 * 1024
KIND_CATEGORY = "/aggregator/"


class OpmlError(ValueError):
    """The bytes are not an OPML list we can read; the message says why."""


@dataclass(frozen=True)
class Outline:
    title: str
    xml_url: str | None
    html_url: str | None
    folders: tuple[str, ...]
    # The kind an aggregator export recorded in `category` ("/aggregator/liveblog").
    kind: str | None


def read_outlines(body: bytes) -> list[Outline]:
    """Every outline that carries an address, in document order."""
    if len(body) > MAX_OPML_BYTES:
        raise OpmlError(f"larger than {MAX_OPML_BYTES // (1024 * 1024)} MB")
    if has_internal_subset(body, body.decode("utf-8", "replace")):
        raise OpmlError("declares a DTD of its own (entities are not expanded here)")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as e:
        raise OpmlError(f"not well-formed XML: {e}") from e
    if not isinstance(root.tag, str) or etree.QName(root).localname != "opml":
        raise OpmlError("the root element is not <opml>")
    body_element = next((c for c in root if _name(c) == "body"), None)
    if body_element is None:
        raise OpmlError("no <body> element")
    found: list[Outline] = []
    # An explicit stack, not recursion: a list nested 100,000 deep must not overflow.
    # Children are pushed in reverse, so outlines are taken in document order.
    stack: list[tuple[etree._Element, tuple[str, ...]]]
    stack = [(c, ()) for c in reversed(_outlines_in(body_element))]
    while stack:
        element, folders = stack.pop()
        outline = _outline(element, folders)
        if outline is not None:
            found.append(outline)
            continue
        inner = (*folders, _title(element))
        stack.extend((c, inner) for c in reversed(_outlines_in(element)))
    return found


def _outlines_in(element: etree._Element) -> list[etree._Element]:
    return [c for c in element if _name(c) == "outline"]


def _outline(element: etree._Element, folders: tuple[str, ...]) -> Outline | None:
    xml_url = _attribute(element, "xmlUrl")
    html_url = _attribute(element, "htmlUrl")
    if html_url is None and (_attribute(element, "type") or "").lower() == "link":
        html_url = _attribute(element, "url")
    if xml_url is None and html_url is None:
        return None
    return Outline(_title(element), xml_url, html_url, folders, _kind(element))


def _kind(element: etree._Element) -> str | None:
    for category in (_attribute(element, "category") or "").split(","):
        category = category.strip()
        if category.startswith(KIND_CATEGORY):
            return category[len(KIND_CATEGORY) :] or None
    return None


def _title(element: etree._Element) -> str:
    return _attribute(element, "title") or _attribute(element, "text") or ""


def _attribute(element: etree._Element, name: str) -> str | None:
    value = element.get(name)
    if value is None:
        # Some writers change the case of attribute names (xmlurl, XMLURL).
        lowered = name.lower()
        value = next((v for k, v in element.attrib.items() if str(k).lower() == lowered), None)
    value = " ".join(str(value).split()) if value is not None else ""
    return value or None


def _name(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""
