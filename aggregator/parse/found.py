"""One post as a live page shows it, before it is timed and becomes a Post.

Structured data (JSON-LD, microdata) and the page's rendered blocks each yield `Found`
values; `merge` joins the two views of one post and drops pinned copies, so every
reader can stay ignorant of the others.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from aggregator.parse.html import html_to_text
from aggregator.parse.text import collapse


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


def merge(structured: list[Found], rendered: list[Found]) -> list[Found]:
    """Structured posts in their order, each filled in from its rendered block (matched
    by id, else by headline); rendered blocks that structured data lacks are kept next
    to their neighbours on the page. Without structured data, the rendered blocks."""
    if not structured:
        return drop_copies(rendered)
    by_anchor = {key: r for r in rendered for key in anchors(r)}
    by_title = {headline_key(r): r for r in rendered if r.title}
    merged: list[Found] = []
    placed: dict[int, int] = {}  # id(rendered block) -> index in merged
    for post in structured:
        match = next((by_anchor[k] for k in anchors(post) if k in by_anchor), None)
        if match is None and post.title:
            match = by_title.get(headline_key(post))
        if match is not None and id(match) not in placed:
            placed[id(match)] = len(merged)
            post = _fill(post, match)
        merged.append(post)
    return drop_copies(_interleave(merged, rendered, placed))


def _fill(post: Found, block: Found) -> Found:
    has_body = bool(collapse(html_to_text(post.html)))
    return replace(
        post,
        title=post.title or block.title,
        html=post.html if has_body else block.html,
        guid=post.guid or block.guid,
        url=post.url or block.url,
        author=post.author or block.author,
        published=post.published or block.published,
        updated=post.updated or block.updated,
        is_pinned=post.is_pinned and block.is_pinned,
    )


def _interleave(merged: list[Found], rendered: list[Found], placed: dict[int, int]) -> list[Found]:
    """Insert each unmatched block after the post its page predecessor became."""
    slots: dict[int, list[Found]] = {}
    anchor = -1
    for block in rendered:
        if id(block) in placed:
            anchor = placed[id(block)]
        else:
            slots.setdefault(anchor, []).append(block)
    result = list(slots.get(-1, []))
    for index, post in enumerate(merged):
        result.append(post)
        result.extend(slots.get(index, []))
    return result


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
