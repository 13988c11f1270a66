"""Split a saved live-updates page into its posts, top (newest) first.

Two ways to find where a post starts:
  * explicit headings: when some heading level repeats (Markdown `##`, HTML <h2>), each
    heading at that level opens a post; deeper headings are subheadings inside it and
    content above the first one is the page's own header;
  * shape, for plain text: a short line that does not end a sentence, is neither a
    caption nor an attribution, and leads into body text opens a post (of several such
    lines in a row, the first). Body above the first title is an untitled post.
Either way, a time line opens a post too (or joins the post whose heading it follows):
a clock ("14:05", "10:52am BST") or relative time ("5 mins ago") becomes its published
time, an update line ("Updated 11:05") its updated time, and a date line ("Tuesday 26
August 2014") gives no time but sets the day for later clocks. They are read by
`stamps` exactly as on HTML pages, walking the page newest first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from aggregator.errors import ParseError
from aggregator.parse.decode import Format, decode_body, read_blocks, sniff_format
from aggregator.parse.found import Found, Stamp
from aggregator.parse.html import render_blocks
from aggregator.parse.livepage import post_from, split_html_page
from aggregator.parse.stamps import UPDATE_WORDS, TimeReader, walk_times
from aggregator.parse.text import Block, is_body, is_title_shaped
from aggregator.parse.times import is_time_line, split_leading_clock
from aggregator.types import Document, ParseContext, Post

Role = Literal["time", "update", "day", "title", "body", "page"]
METHODS: dict[Format, str] = {"text": "text", "markdown": "markdown", "html": "html-text"}


@dataclass
class _Draft:
    """A post being put together: `stamp` and `updated` are time lines as printed,
    `days` the date lines met before its stamp."""

    title: str = ""
    stamp: str | None = None
    updated: str | None = None
    days: list[str] = field(default_factory=list)
    body: list[Block] = field(default_factory=list)

    @property
    def is_fresh(self) -> bool:
        return not self.title and not self.body

    @property
    def has_content(self) -> bool:
        return bool(self.title or self.body)


def split_liveblog(doc: Document, context: ParseContext) -> list[Post]:
    """The page's posts in page order; `published` is set only where a post shows a time.

    HTML is first read for structured data and a repeated post list (`livepage`); a
    page with neither, and plain text or Markdown, is split by the paragraph rules."""
    text = decode_body(doc)
    if sniff_format(doc, text) == "html":
        posts = split_html_page(doc, text, context)
        if posts:
            return posts
    return _split_paragraphs(doc, context)


def _split_paragraphs(doc: Document, context: ParseContext) -> list[Post]:
    blocks, found = read_blocks(doc)
    blocks = list(_split_clocks(blocks))
    reader = TimeReader(context, doc.fetched_at)
    start = doc.modified_at or doc.fetched_at
    kinds = [None if b.is_caption else _stamp_kind(b.text, reader, start) for b in blocks]
    level = _post_level(blocks, kinds)
    roles = _roles_by_level(blocks, kinds, level) if level else _roles_by_shape(blocks, kinds)
    drafts = _assemble(blocks, roles, keep_preamble=not level)
    published = _walk(drafts, reader, start)
    timed = [(d, p) for d, p in zip(drafts, published, strict=True) if d.has_content]
    if not timed:
        raise ParseError("", "no posts found in the live page")
    return [
        _to_post(draft, position, doc, METHODS[found], moment, _updated(draft, reader, start))
        for position, (draft, moment) in enumerate(timed)
    ]


def _stamp_kind(text: str, reader: TimeReader, start: datetime) -> Role | None:
    """What a time line is: an update label, a date with no time of day, or a time."""
    if not is_time_line(text):
        return None
    if UPDATE_WORDS.search(text):
        return "update"
    reading = reader.read_human(text, start)
    return "day" if reading.moment is None and reading.day is not None else "time"


def _walk(drafts: list[_Draft], reader: TimeReader, start: datetime) -> list[datetime | None]:
    """Each draft's published time, newest first; date lines move the walk's day."""
    stamps: list[Stamp | None] = []
    owners: list[bool] = []
    for draft in drafts:
        stamps.extend(Stamp(human=day) for day in draft.days)
        owners.extend(False for _ in draft.days)
        stamps.append(Stamp(human=draft.stamp) if draft.stamp else None)
        owners.append(True)
    moments = walk_times(stamps, reader, start, [False] * len(stamps))
    return [m for m, is_owner in zip(moments, owners, strict=True) if is_owner]


def _updated(draft: _Draft, reader: TimeReader, start: datetime) -> datetime | None:
    return reader.read_human(draft.updated, start).moment if draft.updated else None


def _split_clocks(blocks: list[Block]) -> Iterator[Block]:
    """Split "14:05 Trains cancelled" into a time and the headline or paragraph after it."""
    for block in blocks:
        is_whole = block.is_caption or is_time_line(block.text)  # "10:52am BST"
        parts = None if is_whole else split_leading_clock(block.text)
        if parts is None:
            yield block
        else:
            yield Block(parts[0])
            yield Block(parts[1], level=block.level)


def _post_level(blocks: list[Block], kinds: list[Role | None]) -> int:
    """The heading level that repeats (the shallowest such), or 0 when none does;
    headings that are time lines ("## 10:52am BST") do not count."""
    levels = [b.level for b, kind in zip(blocks, kinds, strict=True) if b.level and not kind]
    repeated = [level for level in set(levels) if levels.count(level) >= 2]
    return min(repeated, default=0)


def _roles_by_level(blocks: list[Block], kinds: list[Role | None], post_level: int) -> list[Role]:
    roles: list[Role] = []
    for block, kind in zip(blocks, kinds, strict=True):
        if kind is not None:
            roles.append(kind)
        elif block.level == post_level:
            roles.append("title")
        elif 0 < block.level < post_level:
            roles.append("page")
        else:
            roles.append("body")
    return roles


def _roles_by_shape(blocks: list[Block], kinds: list[Role | None]) -> list[Role]:
    """Of a run of title-shaped lines, the first is a title if the run leads into body
    text or follows a time; a run that trails off is the end of the post above."""
    roles: list[Role] = []
    previous: Role | None = None
    for index, block in enumerate(blocks):
        if block.is_caption:
            roles.append("body")
            continue
        kind = kinds[index]
        if kind is not None:
            role: Role = kind
        elif _opens_post(blocks, index, previous):
            role = "title"
        else:
            role = "body"
        roles.append(role)
        previous = "title" if role == "body" and _may_title(block) else role
    return roles


def _may_title(block: Block) -> bool:
    # A lone explicit heading is a title whatever its punctuation.
    return block.level > 0 or is_title_shaped(block.text)


def _opens_post(blocks: list[Block], index: int, previous: Role | None) -> bool:
    if not _may_title(blocks[index]) or previous == "title":
        return False
    if previous in ("time", "update", "day"):
        return True
    # Indexes, not a slice: a copy of the rest of the page for every title would be
    # quadratic on a page of short posts.
    following = (blocks[i] for i in range(index + 1, len(blocks)) if not blocks[i].is_caption)
    for block in following:
        if is_body(block):
            return True
        if not _may_title(block):
            return False
    return False


def _assemble(blocks: list[Block], roles: list[Role], *, keep_preamble: bool) -> list[_Draft]:
    """Posts from roles. Body before the first title is an untitled post on a plain page,
    where an untitled newest post is common, and the page's header on a headed page.
    Time lines belong to the post whose header they are in (before its body); an update
    line after a body opens the next post, which may show no other time. All drafts are
    returned, empty ones too, so that their date lines still move the walk."""
    drafts: list[_Draft] = []
    days: list[str] = []
    for block, role in zip(blocks, roles, strict=True):
        current = drafts[-1] if drafts else None
        in_header = current is not None and not current.body
        if role == "page":
            continue
        if role == "day":
            if current is not None and in_header and current.stamp is None:
                current.days.append(block.text)
            else:
                days.append(block.text)
        elif role == "time" and current is not None and in_header and current.stamp is None:
            current.stamp = block.text
        elif role == "update" and current is not None and in_header and not current.updated:
            current.updated = block.text
        elif role in ("time", "update"):
            stamp, updated = (block.text, None) if role == "time" else (None, block.text)
            drafts.append(_Draft(stamp=stamp, updated=updated, days=days))
            days = []
        elif role == "title":
            if current is not None and current.is_fresh:
                current.title = block.text
            else:
                drafts.append(_Draft(title=block.text, days=days))
                days = []
        elif current is not None:
            current.body.append(block)
        elif keep_preamble:
            drafts.append(_Draft(body=[block], days=days))
            days = []
    return drafts


def _to_post(
    draft: _Draft,
    position: int,
    doc: Document,
    method: str,
    published: datetime | None,
    updated: datetime | None,
) -> Post:
    _, html = render_blocks(draft.body)
    found = Found(title=draft.title or "", html=html, method=method)
    return post_from(found, position, doc, None, published, updated)
