"""The project's own checks of what it publishes, written from the specs.

    check_atom(bytes)      Atom 1.0, RFC 4287 (plus RFC 3339 dates, newest first)
    check_jsonfeed(obj)    JSON Feed 1.1, https://jsonfeed.org/version/1.1
    parse_sse(text)        the WHATWG "Server-sent events" parser (§9.2.6), for tests
    check_sse(events)      every event has an increasing id and one JSON object as data

Each check returns a list of problems; an empty list means the document passed.
Nothing here imports `aggregator`, so a bug in the renderer cannot hide in both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from xml.etree.ElementTree import Element, ParseError, fromstring

ATOM = "{http://www.w3.org/2005/Atom}"
JSONFEED_VERSION = "https://jsonfeed.org/version/1.1"

# RFC 3339 §5.6 date-time, with the uppercase T and Z RFC 4287 §3.3 insists on.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
# RFC 3987 §2.2: an absolute IRI starts with a scheme, and no IRI contains a space.
_ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")


def parse_rfc3339(value: object) -> datetime | None:
    """The aware datetime `value` spells, or None when it is not an RFC 3339 date-time."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def is_absolute_iri(value: object) -> bool:
    return isinstance(value, str) and _ABSOLUTE_IRI.fullmatch(value) is not None


def check_atom(document: bytes, *, order: str = "updated") -> list[str]:
    """Problems of an Atom feed document; `order` is "updated", "published" or "none"."""
    try:
        root = fromstring(document)
    except ParseError as e:
        return [f"not well-formed XML: {e}"]
    if root.tag != f"{ATOM}feed":
        return [f"root element is {root.tag}, not atom:feed"]
    problems = _check_feed_head(root) + _check_children_order(root)
    has_feed_author = root.find(f"{ATOM}author") is not None
    ids: set[str] = set()
    for n, entry in enumerate(root.findall(f"{ATOM}entry")):
        where = f"entry {n}"
        entry_id = _one_text(entry, "id", where, problems)
        if entry_id is not None:
            if entry_id in ids:
                problems.append(f"{where}: duplicate id {entry_id}")
            ids.add(entry_id)
        problems += _check_entry(entry, where, has_feed_author)
    if order != "none":
        problems += _check_order(root, order)
    return problems


def _check_children_order(feed: Element) -> list[str]:
    """RFC 4287 Appendix B: atom:feed holds its metadata and extensions, then entries;
    nothing but entries may follow the first entry."""
    tags = [child.tag for child in feed]
    first = next((i for i, tag in enumerate(tags) if tag == f"{ATOM}entry"), len(tags))
    late = [tag for tag in tags[first:] if tag != f"{ATOM}entry"]
    return [f"feed: {tag} after the first entry" for tag in late]


def _check_feed_head(feed: Element) -> list[str]:
    problems: list[str] = []
    _one_text(feed, "id", "feed", problems)
    _one_text(feed, "title", "feed", problems)
    _one_date(feed, "updated", "feed", problems)
    links = feed.findall(f"{ATOM}link")
    selfs = [link for link in links if link.get("rel") == "self"]
    if len(selfs) != 1:
        problems.append(f"feed: {len(selfs)} link rel=self, expected one")
    elif not is_absolute_iri(selfs[0].get("href")):
        problems.append("feed: link rel=self href is not absolute")
    problems += _check_alternates(feed, "feed")
    return problems


def _check_entry(entry: Element, where: str, has_feed_author: bool) -> list[str]:
    problems: list[str] = []
    _one_text(entry, "title", where, problems)
    _one_date(entry, "updated", where, problems)
    _one_date(entry, "published", where, problems)
    # RFC 4287 §4.1.2: an entry without an author takes the feed's (or its source's).
    if entry.find(f"{ATOM}author") is None and not has_feed_author:
        problems.append(f"{where}: no author and the feed has none")
    links = entry.findall(f"{ATOM}link")
    has_alternate = any(link.get("rel", "alternate") == "alternate" for link in links)
    if entry.find(f"{ATOM}content") is None and not has_alternate:
        problems.append(f"{where}: neither content nor an alternate link (RFC 4287 §4.1.2)")
    problems += _check_alternates(entry, where)
    source = entry.find(f"{ATOM}source")
    if source is None:
        problems.append(f"{where}: no atom:source")
    else:
        _one_text(source, "id", f"{where} source", problems)
        if source.find(f"{ATOM}updated") is not None:
            _one_date(source, "updated", f"{where} source", problems)
    return problems


def _check_alternates(parent: Element, where: str) -> list[str]:
    # RFC 4287 §4.1.1: at most one alternate link per type and hreflang.
    seen: set[tuple[str | None, str | None]] = set()
    problems = []
    for link in parent.findall(f"{ATOM}link"):
        if not link.get("href"):
            problems.append(f"{where}: link without href")
        if link.get("rel", "alternate") != "alternate":
            continue
        key = (link.get("type"), link.get("hreflang"))
        if key in seen:
            problems.append(f"{where}: two alternate links of type {key[0]}")
        seen.add(key)
    return problems


def _check_order(feed: Element, order: str) -> list[str]:
    times = [parse_rfc3339(e.findtext(f"{ATOM}{order}")) for e in feed.findall(f"{ATOM}entry")]
    return _newest_first(times, order)


def _newest_first(times: Iterable[datetime | None], field: str) -> list[str]:
    known = [(n, t) for n, t in enumerate(times) if t is not None]
    return [
        f"not newest first: {field} of #{n} ({t.isoformat()}) is newer than the one before"
        for (_, before), (n, t) in pairwise(known)
        if t > before
    ]


def _one_text(parent: Element, name: str, where: str, problems: list[str]) -> str | None:
    found = parent.findall(f"{ATOM}{name}")
    if len(found) != 1:
        problems.append(f"{where}: {len(found)} atom:{name} elements, expected one")
        return None
    text = (found[0].text or "").strip()
    if name == "id" and not is_absolute_iri(text):
        problems.append(f"{where}: id {text!r} is not an absolute IRI")
    return text


def _one_date(parent: Element, name: str, where: str, problems: list[str]) -> None:
    text = _one_text(parent, name, where, problems)
    if text is not None and parse_rfc3339(text) is None:
        problems.append(f"{where}: {name} {text!r} is not RFC 3339 with an offset")


def check_jsonfeed(feed: object, *, order: str = "date_published") -> list[str]:
    """Problems of a decoded JSON Feed 1.1 document; `order` is a date field or "none"."""
    if not isinstance(feed, dict):
        return ["the feed is not a JSON object"]
    problems: list[str] = []
    if feed.get("version") != JSONFEED_VERSION:
        problems.append(f"version is {feed.get('version')!r}, not {JSONFEED_VERSION}")
    if not isinstance(feed.get("title"), str) or not feed["title"]:
        problems.append("title is missing or empty")
    for key in ("home_page_url", "feed_url"):
        if key in feed and not is_absolute_iri(feed[key]):
            problems.append(f"{key} is not an absolute URL")
    problems += _check_authors(feed, "feed")
    items = feed.get("items")
    if not isinstance(items, list):
        return [*problems, "items is not an array"]
    ids: set[str] = set()
    for n, item in enumerate(items):
        problems += _check_item(item, f"item {n}", ids)
    if order != "none":
        dated = [i.get(order) for i in items if isinstance(i, dict)]
        problems += _newest_first((parse_rfc3339(d) for d in dated), order)
    return problems


def _check_item(item: object, where: str, ids: set[str]) -> list[str]:
    if not isinstance(item, dict):
        return [f"{where}: not an object"]
    problems: list[str] = []
    item_id = item.get("id")
    # JSON Feed 1.1: "id (required, string)"; a number is not allowed.
    if not isinstance(item_id, str) or not item_id:
        problems.append(f"{where}: id {item_id!r} is not a non-empty string")
    elif item_id in ids:
        problems.append(f"{where}: duplicate id {item_id}")
    else:
        ids.add(item_id)
    if not any(isinstance(item.get(k), str) for k in ("content_html", "content_text")):
        problems.append(f"{where}: neither content_html nor content_text")
    for key in ("date_published", "date_modified"):
        if key in item and parse_rfc3339(item[key]) is None:
            problems.append(f"{where}: {key} {item[key]!r} is not RFC 3339")
    if "url" in item and not is_absolute_iri(item["url"]):
        problems.append(f"{where}: url {item['url']!r} is not absolute")
    return problems + _check_authors(item, where)


def _check_authors(owner: dict[str, object], where: str) -> list[str]:
    if "authors" not in owner:
        return []
    authors = owner["authors"]
    if not isinstance(authors, list):
        return [f"{where}: authors is not an array"]
    fields = ("name", "url", "avatar")
    return [
        f"{where}: author {n} is not an object with name, url or avatar"
        for n, a in enumerate(authors)
        if not isinstance(a, dict) or not any(isinstance(a.get(f), str) for f in fields)
    ]


@dataclass(frozen=True)
class SseEvent:
    """One dispatched event: `id` is the last event id in force when it was dispatched."""

    id: str
    event: str
    data: str


def parse_sse(stream: str) -> tuple[list[SseEvent], list[str], int | None]:
    """Events, comments and the last retry value of a text/event-stream body.

    Follows the WHATWG interpretation steps: lines end at CRLF, LF or CR; one space
    after the colon is dropped; data lines join with LF; a blank line dispatches;
    an event with empty data is not dispatched; an unfinished last event is dropped.
    """
    events: list[SseEvent] = []
    comments: list[str] = []
    retry: int | None = None
    last_id, kind = "", ""
    data: list[str] = []
    for line in re.split("\r\n|\r|\n", stream):
        if not line:
            if data:
                events.append(SseEvent(last_id, kind or "message", "\n".join(data)))
            kind, data = "", []
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if not name:
            comments.append(value)
        elif name == "data":
            data.append(value)
        elif name == "event":
            kind = value
        elif name == "id" and "\0" not in value:
            last_id = value
        elif name == "retry" and value.isdigit():
            retry = int(value)
    return events, comments, retry


def check_sse(events: list[SseEvent]) -> list[str]:
    """Every event carries an increasing integer id and one JSON object as data."""
    problems: list[str] = []
    previous = -1
    for n, event in enumerate(events):
        if not event.id.isdigit():
            problems.append(f"event {n}: id {event.id!r} is not an integer")
        elif int(event.id) <= previous:
            problems.append(f"event {n}: id {event.id} does not increase")
        else:
            previous = int(event.id)
        try:
            if not isinstance(json.loads(event.data), dict):
                problems.append(f"event {n}: data is not a JSON object")
        except ValueError:
            problems.append(f"event {n}: data is not JSON")
    return problems
