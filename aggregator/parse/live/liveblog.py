"""Split a saved live-updates page into its posts, top (newest) first.

Two ways to find where a post starts:
  * explicit headings: when some heading level repeats (Markdown `##`, HTML <h2>), each
    heading at that level opens a post; deeper headings are subheadings inside it and
    content above the first one is the page's own header;
  * shape, for plain text: a short line that does not end a sentence, is neither a
    caption nor an attribution, and leads into body text opens a post (of several such
    lines in a row, the first). Body above the first title is an untitled post, unless
    it is the page's header: under a lone top heading, or above posts that all show
    their time first.
Either way, a time line opens a post too (or joins the post whose heading it follows):
a clock ("14:05", "10:52am BST") or relative time ("5 mins ago") becomes its published
time, an update line ("Updated 11:05") its updated time, and a date line ("Tuesday 26
August 2014", "Wednesday 4 February 2015 - Town Hall") gives no time but sets the day
for the clocks below it (`dating`). Only whole lines and post headers are time lines,
never words inside a sentence. A short line repeated with every post is furniture.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from aggregator.core.errors import ParseError
from aggregator.core.types import Document, ParseContext, Post
from aggregator.parse.decode import Format, decode_body, read_blocks, sniff_format
from aggregator.parse.html import render_blocks
from aggregator.parse.live.dating import walk_dates
from aggregator.parse.live.found import Found
from aggregator.parse.live.live_part import live_part
from aggregator.parse.live.livepage import post_from, split_html_page
from aggregator.parse.live.stamps import UPDATE_WORDS, TimeReader
from aggregator.parse.text import Block, is_attribution, is_body, is_title_shaped
from aggregator.parse.times import (
    date_of_line,
    is_relative_time,
    is_time_line,
    split_leading_clock,
)

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
    is_page_header: bool = False

    @property
    def is_fresh(self) -> bool:
        return not self.title and not self.body

    @property
    def has_content(self) -> bool:
        return bool(self.title or self.body)

    @property
    def is_timed(self) -> bool:
        return bool(self.stamp or self.updated)


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
    blocks = list(_split_stamps(blocks))
    # The page was shown when it was saved: "5 mins ago" counts back from then too.
    start = doc.modified_at or doc.fetched_at
    reader = TimeReader(context, start)
    kinds = [None if b.is_caption else _stamp_kind(b.text, reader, start) for b in blocks]
    blocks, kinds = _without_repeats(blocks, kinds)
    level = _post_level(blocks, kinds)
    roles = _roles_by_level(blocks, kinds, level) if level else _roles_by_shape(blocks, kinds)
    _mark_article_around_live_part(blocks, roles)
    has_heading = not level and _mark_page_heading(blocks, roles)
    drafts = _assemble(blocks, roles, keep_preamble=not level and not has_heading)
    if not level:
        _mark_page_header(drafts)
    times = walk_dates(drafts, reader, start)
    timed = [(d, t) for d, t in zip(drafts, times, strict=True) if d.has_content]
    timed = [(d, t) for d, t in timed if not d.is_page_header]
    if not timed:
        raise ParseError("", "no posts found in the live page")
    return [
        _to_post(draft, position, doc, METHODS[found], *moments)
        for position, (draft, moments) in enumerate(timed)
    ]


def _stamp_kind(text: str, reader: TimeReader, start: datetime) -> Role | None:
    """What a time line is: an update label, a date with no time of day, or a time."""
    if not is_time_line(text):
        return None
    if UPDATE_WORDS.search(text):
        return "update"
    if is_relative_time(text):
        return "time"  # "2d ago" is the post's own time, however coarse: no date line
    reading = reader.read_human(text, start)
    return "day" if reading.moment is None and reading.day is not None else "time"


def _split_stamps(blocks: list[Block]) -> Iterator[Block]:
    """Split "14:05 Trains cancelled" and "12.31 Uhr: Minister resigns" into a time and
    the headline or paragraph after it (`split_leading_clock`, the rule time headings
    of HTML pages follow too), and keep only the date of "Wednesday 4 February 2015 -
    Town Hall"."""
    for block in blocks:
        is_whole = block.is_caption or is_time_line(block.text)  # "10:52am BST"
        parts = None if is_whole else split_leading_clock(block.text)
        day = None if is_whole or parts else date_of_line(block.text)
        if day is not None:
            yield Block(day)
        elif parts is None:
            yield block
        else:
            yield Block(parts[0])
            yield Block(parts[1], level=block.level)


_MAX_REPEAT_WORDS = 6
_MAX_REPEAT_CHARS = 60
_DIGIT = re.compile(r"\d")
_MIN_REPEATS = 3


def _without_repeats(
    blocks: list[Block], kinds: list[Role | None]
) -> tuple[list[Block], list[Role | None]]:
    """Without the short line printed with every post ("Share this update", "Report
    this post"): one without digits, repeated verbatim at least three times and in at
    least half as many places as the page has time lines."""
    keys = [None if kind else _repeat_key(block) for block, kind in zip(blocks, kinds, strict=True)]
    counts = Counter(key for key in keys if key)
    least = max(_MIN_REPEATS, sum(1 for kind in kinds if kind in ("time", "update")) // 2)
    kept = [i for i, key in enumerate(keys) if not key or counts[key] < least]
    return [blocks[i] for i in kept], [kinds[i] for i in kept]


def _repeat_key(block: Block) -> str | None:
    text = block.text
    if len(text) > _MAX_REPEAT_CHARS or len(text.split()) > _MAX_REPEAT_WORDS:
        return None
    if block.level or block.is_caption or is_attribution(text) or _DIGIT.search(text):
        return None  # numbers (minutes, scores, times) repeat as content, furniture does not
    return text.casefold()


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


def _mark_article_around_live_part(blocks: list[Block], roles: list[Role]) -> None:
    """Outside the live part of an article with one (`live_part`), headings and text
    are the article's; time and date lines keep their roles."""
    titles = [b.text if r == "title" else None for b, r in zip(blocks, roles, strict=True)]
    part = live_part(titles)
    if part is None:
        return
    start, end = part
    for index, role in enumerate(roles):
        if role in ("title", "body") and not start <= index < end:
            roles[index] = "page"


def _mark_page_heading(blocks: list[Block], roles: list[Role]) -> bool:
    """Whether the page opens with its own heading: an explicit heading that no other
    block matches in rank, with at least two posts below it. It and the standfirst
    under it are then the page's header."""
    first = blocks[0] if blocks else None
    if first is None or not first.level or roles[0] not in ("title", "body"):
        return False
    if any(0 < b.level <= first.level for b in blocks[1:]):
        return False
    if sum(1 for role in roles[1:] if role in ("title", "time", "update")) < 2:
        return False
    roles[0] = "page"
    return True


def _mark_page_header(drafts: list[_Draft]) -> None:
    """On a page whose posts show their times above their text, the untimed drafts
    before the first timed one are the page's title and standfirst, not posts."""
    content = [d for d in drafts if d.has_content]
    first = next((i for i, d in enumerate(content) if d.is_timed), len(content))
    posts = content[first:]
    stamped = sum(1 for d in posts if d.is_timed)
    stamps_lead = not any(d.is_timed and not d.has_content for d in drafts[-1:])
    if first and stamped >= 2 and 2 * stamped >= len(posts) and stamps_lead:
        for draft in content[:first]:
            draft.is_page_header = True


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
