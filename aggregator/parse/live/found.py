"""One post as a live page shows it, before it is timed and becomes a Post.

Structured data (JSON-LD, microdata) and the page's rendered blocks each yield `Found`
values; `pairing.merge` joins the two views of one post, and `drop_copies` drops
pinned copies, so every reader can stay ignorant of the others.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from aggregator.parse.html import html_to_text
from aggregator.parse.text import collapse

_DIGITS = "0123456789"
_MAX_COUNT_DIGITS = 6


@dataclass(frozen=True)
class Stamp:
    """A time as the page wrote it: a machine value (ISO 8601 or epoch, from an
    attribute or JSON-LD) and/or the human text shown beside it."""

    machine: str | None = None
    human: str | None = None


@dataclass(frozen=True)
class Found:
    """`html` is the raw, unsanitised body; `guid` the publisher's own id if any."""

    title: str
    html: str
    method: str
    guid: str | None = None
    url: str | None = None
    author: str | None = None
    published: Stamp | None = None
    updated: Stamp | None = None
    is_pinned: bool = False


def anchors(found: Found) -> set[str]:
    """The ids a post answers to: its guid and the fragments of its guid and url, so
    JSON-LD's "https://example.org/live#post-12" meets the block with id="post-12"."""
    keys = set()
    for value in (found.guid, found.url):
        if not value:
            continue
        fragment = urlsplit(value).fragment if "#" in value else ""
        keys.add(fragment or value)
    return {k for k in keys if k}


def headline_key(found: Found) -> str:
    return collapse(found.title).casefold()


def body_key(found: Found) -> str:
    return collapse(html_to_text(found.html)).casefold()


def drop_copies(found: list[Found]) -> list[Found]:
    """One post per id and per (headline, body): a pinned copy at the top of the page
    gives way to the same post in the stream, which keeps its place in time order. A
    pinned copy may carry a label ("Pinned"), so against it the headline alone decides."""
    kept: list[Found | None] = []
    seen: dict[str, int] = {}
    for post in found:
        keys = {f"id:{k}" for k in anchors(post)} | {f"text:{headline_key(post)}|{body_key(post)}"}
        earlier = next((seen[k] for k in keys if k in seen), None)
        title = f"title:{headline_key(post)}"
        if earlier is None and post.title and title in seen:
            candidate = kept[seen[title]]
            if candidate is not None and (candidate.is_pinned or post.is_pinned):
                earlier = seen[title]
        keys.add(title)
        if earlier is not None:
            previous = kept[earlier]
            if previous is None or not previous.is_pinned or post.is_pinned:
                continue
            kept[earlier] = None  # the pinned copy yields its place
        seen.update(dict.fromkeys(keys, len(kept)))
        kept.append(post)
    return [p for p in kept if p is not None]


def without_positional_ids(found: list[Found], newest_first: bool) -> list[Found]:
    """The posts without their ids when the ids only number the posts from the top
    ("post1" the newest, "post2" the next...): every post numbered, 0 or 1 up, one
    each, under one prefix. Such an id passes to the next post whenever one is added,
    so these posts are keyed by their content. A stable id never counts up from the top
    of a newest-first page; on an oldest-first page counting up is what stable ids do.
    Seen within one page: no earlier poll is needed to tell."""
    keys = [_fragment(post.guid) for post in found]
    if not newest_first or len(found) < 2 or not _counts_from_top(keys):
        return found
    return [
        replace(post, guid=None, url=None if _fragment(post.url) == key else post.url)
        for post, key in zip(found, keys, strict=True)
    ]


def _fragment(value: str | None) -> str:
    if not value:
        return ""
    return (urlsplit(value).fragment if "#" in value else "") or value


def _counts_from_top(keys: list[str]) -> bool:
    prefixes = {key.rstrip(_DIGITS) for key in keys}
    digits = [key[len(key.rstrip(_DIGITS)) :] for key in keys]
    if len(prefixes) != 1 or not all(0 < len(d) <= _MAX_COUNT_DIGITS for d in digits):
        return False
    first = int(digits[0])
    return first in (0, 1) and [int(d) for d in digits] == list(range(first, first + len(keys)))
