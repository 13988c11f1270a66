"""PURE: a story's sources as an OPML 2.0 subscription list (http://opml.org/spec2.opml).

Feeds are outlines of type "rss" with their `xmlUrl`; live pages and articles, which a
feed reader cannot subscribe to, carry their address as `htmlUrl`. Every outline names
its kind in `category` ("/aggregator/liveblog"), so a list exported here and imported
again keeps each source's kind. Local files have no address another reader could use
and are left out; `local_count` says how many.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from aggregator.core.types import SourceSpec, StorySpec

OPML_TYPE = "text/x-opml"
KIND_CATEGORY = "/aggregator/"

# Characters XML 1.0 §2.2 forbids even when escaped.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class SourceList:
    body: bytes
    listed: int
    local_count: int


def render_opml(
    story: StorySpec, sources: Sequence[SourceSpec], titles: Mapping[str, str]
) -> SourceList:
    """`sources`' addresses under one folder named after the story. `titles`: what to
    call each source (name -> title); a source not in it is called by its name."""
    opml = Element("opml", {"version": "2.0"})
    head = SubElement(opml, "head")
    SubElement(head, "title").text = _clean(story.title)
    SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = SubElement(opml, "body")
    folder = SubElement(body, "outline", {"text": _clean(story.title)})
    listed = 0
    for source in sources:
        if source.url is None:
            continue
        title = _clean(titles.get(source.name) or source.name)
        attributes = {"text": title, "title": title, "category": KIND_CATEGORY + source.kind}
        if source.kind == "feed":
            attributes |= {"type": "rss", "xmlUrl": source.url}
        else:
            attributes |= {"htmlUrl": source.url}
        SubElement(folder, "outline", attributes)
        listed += 1
    indent(opml)
    document = tostring(opml, encoding="utf-8", xml_declaration=True) + b"\n"
    return SourceList(document, listed, len(sources) - listed)


def _clean(text: str) -> str:
    return _NOT_XML_CHAR.sub("", text)
