"""An ordinary article: one entry, its headline as title and everything after as body."""

from __future__ import annotations

from aggregator.core.errors import ParseError
from aggregator.core.types import Document, ParseContext, Post
from aggregator.parse.decode import read_blocks
from aggregator.parse.html import render_blocks
from aggregator.parse.text import Block, section_heads

SUBHEADING_LEVEL = 3


def parse_article(doc: Document, context: ParseContext) -> list[Post]:
    """One Post: title from the first (most important) heading, or the first line of a
    plain-text article; internal subheadings stay in the body. Articles carry no time
    here, so `context` is unused."""
    blocks, _ = read_blocks(doc)
    title_at = _title_index(blocks)
    if title_at is None:
        raise ParseError("", "no text found in the article")
    body = _with_subheadings(blocks[title_at + 1 :])
    text, html = render_blocks(body)
    return [
        Post(
            title=blocks[title_at].text,
            text=text,
            html=html,
            position=0,
            location=doc.location,
            method="article",
        )
    ]


def _title_index(blocks: list[Block]) -> int | None:
    """The first top-level heading; without headings, the first line that is no caption."""
    levels = [b.level for b in blocks if b.level]
    if levels:
        return next(i for i, b in enumerate(blocks) if b.level == min(levels))
    return next((i for i, b in enumerate(blocks) if not b.is_caption), None)


def _with_subheadings(blocks: list[Block]) -> list[Block]:
    """Explicit headings keep being headings; in plain text, a title-shaped line leading
    into body text is one."""
    return [
        Block(block.text, level=block.level or SUBHEADING_LEVEL) if block.level or heads else block
        for block, heads in zip(blocks, section_heads(blocks), strict=True)
    ]
