"""Plain-text paragraphs: reading them from text or Markdown, and telling their shapes apart.

A page saved as text keeps one paragraph per line or per blank-line-separated chunk. What
a paragraph *is* (page chrome, an image caption, a quote attribution, a headline) is
decided from its shape alone, never from the words of one particular page.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from aggregator.parse.times import date_of_line, is_time_line, split_leading_clock


@dataclass(frozen=True)
class Block:
    """One paragraph of visible text. `level` is 1-6 for an explicit heading, else 0."""

    text: str
    level: int = 0
    is_caption: bool = False


# Whole lines that are the page's controls, not its writing (compared case-folded).
UI_PHRASES = frozenset(
    {
        "live", "live updates", "latest updates", "follow live", "key events",
        "show key events only", "load more", "load more updates", "load more posts",
        "show more", "show more updates", "see more", "read more", "share", "share this",
        "share this post", "share this page", "share this update", "share this entry",
        "share this article", "share this story", "copy link", "link copied", "skip to content",
        "skip to main content", "skip to navigation", "back to top", "advertisement",
        "advert", "facebook", "twitter", "whatsapp", "email", "pinned", "pinned post", "refresh",
        "more on this story", "related internet links", "related topics", "related stories",
        "media playback is unsupported on your device", "this video can not be played",
    }
)  # fmt: skip
# Publisher furniture that starts a line: BBC media and image credits glue the label to
# the caption ("Media captionEmma, ..."), so these match prefixes.
_CHROME_PATTERNS = re.compile(
    r"media caption.*|image (?:copyright|caption|source)\b.*|(?:video|audio) caption\b.*"
    r"|the \w+ is not responsible for the content of external (?:internet )?sites\.?"
    r"|(?:share|follow us) on \w+",
    re.IGNORECASE,
)
# A trailing picture credit marks an image caption: "... Rotherham. Credit: PA". The
# label is capitalised and the credit is a name, not a clause.
_CAPTION = re.compile(
    r"(?:^|[\s(])(?:Credit|Photograph|Photo|Picture|Pic|Image|Illustration|CREDIT|PHOTO)s?"
    r"\s*:\s*[^\s.!?:,;][^.!?:,;]{0,60}\)?\.?\Z"
)
# A quote attribution starts with an en dash, em dash or horizontal bar.
_ATTRIBUTION = re.compile(r"[\u2013\u2014\u2015]\s*\S")
_CLOSERS = "'\"\u2019\u201d\u00bb)]"
_SENTENCE_END = ".!?…:;,"
_BULLETS = "•*-+·"
_MAX_TITLE_WORDS = 16
_MAX_TITLE_CHARS = 120
_MAX_ATTRIBUTION_WORDS = 25
_HEADLINE_CHARS = 100
_SENTENCE_BREAK = re.compile(
    r"(?:(?<=[.!?])|(?<=[.!?][\"'\u2019\u201d]))\s+(?=[\"'\u2018\u201cA-Z0-9])"
)
_WHITESPACE = re.compile(r"\s+")


def collapse(text: str) -> str:
    """Runs of whitespace (non-breaking spaces too) become one space; ends trimmed."""
    return _WHITESPACE.sub(" ", text).strip()


def is_chrome(line: str) -> bool:
    key = collapse(line).casefold().rstrip(" .:>\u203a\u00bb\u2192")
    return key in UI_PHRASES or _CHROME_PATTERNS.fullmatch(collapse(line)) is not None


def is_caption(paragraph: str) -> bool:
    return _CAPTION.search(paragraph) is not None


def is_attribution(paragraph: str) -> bool:
    return (
        _ATTRIBUTION.match(paragraph) is not None
        and len(paragraph.split()) <= _MAX_ATTRIBUTION_WORDS
    )


def is_stamp_line(line: str) -> bool:
    """A time line ("10:52am BST", "5 mins ago") or a page's date line."""
    return is_time_line(line) or date_of_line(line) is not None


def is_title_shaped(paragraph: str) -> bool:
    """Short, starting with a capital or digit, and not ending a sentence."""
    words = paragraph.split()
    if not 2 <= len(words) <= _MAX_TITLE_WORDS or len(paragraph) > _MAX_TITLE_CHARS:
        return False
    if paragraph[0] in _BULLETS or is_caption(paragraph) or is_attribution(paragraph):
        return False
    if is_stamp_line(paragraph):
        return False
    first = next((c for c in paragraph if c.isalnum()), "")
    last = paragraph.rstrip(_CLOSERS)[-1:]
    return (first.isupper() or first.isdigit()) and last not in _SENTENCE_END


def section_heads(blocks: Sequence[Block]) -> list[bool]:
    """For each block, whether it heads a section: title-shaped, and its next block that
    is no caption is body text. Read from the end, so that a run of captions is passed
    once, not once for every block before it."""
    heads: list[bool] = []
    after: Block | None = None
    for block in reversed(blocks):
        heads.append(is_title_shaped(block.text) and after is not None and is_body(after))
        if not block.is_caption:
            after = block
    heads.reverse()
    return heads


def is_body(block: Block) -> bool:
    return not (
        block.level or block.is_caption or is_title_shaped(block.text) or is_stamp_line(block.text)
    )


def headline_from(text: str) -> str:
    """A title for an untitled post: its first sentence, cut at a word near 100 chars."""
    first = _SENTENCE_BREAK.split(collapse(text), maxsplit=1)[0]
    if len(first) <= _HEADLINE_CHARS:
        return first
    cut = first[:_HEADLINE_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


@dataclass
class _Chunker:
    """Joins wrapped lines into paragraphs; lone-standing lines (headings, captions,
    attributions, time and date lines like "10:52am BST") become their own block.

    Two line breaks are told apart by the line after them: a time line after an
    unfinished sentence stays in it when the sentence goes on in lower case ("which
    began / 20 mins ago / was adjourned"), and a title line just after a time line (or
    opening with one: "14:05 - Title") stands alone when the next line's first word
    would still have fitted on it, so no wrapping broke the line there. `width` is the
    longest line: the wrapping width, if the text was wrapped at all."""

    width: int = 0
    blocks: list[Block] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    held: str | None = None
    after_stamp: bool = False
    is_pending_after_stamp: bool = False

    def add(self, line: str, level: int = 0, starts_block: bool = False) -> None:
        if self.held is not None:
            self._settle(line, bool(level) or starts_block)
        is_stamp = not level and is_stamp_line(line)
        if not line:
            self.flush()
        elif is_chrome(line):
            return
        elif level or is_caption(line) or is_attribution(line) or is_stamp:
            if is_stamp and self._is_in_sentence():
                self.held = line
                return
            self.flush()
            self.blocks.append(Block(line, level=level, is_caption=not level and is_caption(line)))
            self.after_stamp = is_stamp
        else:
            # "14:05 - Title" opens a post as a time line does, with its title on it.
            is_stamped = split_leading_clock(line) is not None
            if starts_block or is_stamped or self._ends_title(line):
                self.flush()
            if not self.pending:
                self.is_pending_after_stamp = self.after_stamp or is_stamped
            self.pending.append(line)
            self.after_stamp = False

    def flush(self) -> None:
        if self.pending:
            joined = " ".join(self.pending)
            self.blocks.append(Block(joined, is_caption=is_caption(joined)))
            self.pending = []
        if self.held is not None:
            self.blocks.append(Block(self.held))
            self.held = None
            self.after_stamp = True

    def _is_in_sentence(self) -> bool:
        return bool(self.pending) and self.pending[-1].rstrip(_CLOSERS)[-1:] not in _SENTENCE_END

    def _settle(self, line: str, is_own_block: bool) -> None:
        """The held time line goes on with the sentence it interrupts, or stands alone."""
        if line and not is_own_block and line[0].islower() and not is_chrome(line):
            self.pending.append(self.held or "")
            self.held = None
        else:
            self.flush()

    def _ends_title(self, line: str) -> bool:
        """Whether the pending title line ends before `line` (see the class docstring)."""
        if not self.is_pending_after_stamp or len(self.pending) != 1 or line[0].islower():
            return False
        title = self.pending[0]
        fits = len(title) + 1 + len(line.split(" ", 1)[0]) <= self.width
        return fits and is_title_shaped(title)


def read_text_blocks(text: str) -> list[Block]:
    """Paragraphs of plain text: blank lines separate them, wrapped lines are joined."""
    lines = [collapse(line) for line in text.splitlines()]
    chunker = _Chunker(width=max(map(len, lines), default=0))
    for line in lines:
        chunker.add(line)
    chunker.flush()
    return chunker.blocks


# Markdown is read in linear time (STYLE.md rule 10): the heading's closing run, links
# and emphasis are found by the small scanners below, not by a regex whose lazy `.*?`
# looks for a closing mark from every opening (quadratic on a line of openings).
_ATX_OPENING = re.compile(r"(#{1,6})\s++")
_IMAGE_LINE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_QUOTE_MARKERS = re.compile(r">[>\s]*+")
_EMPHASIS_MARK = re.compile(r"(?<!\w)[*_`]")
# Delimiters in the order they are tried at one place: the longer first.
_DELIMITERS = ("**", "__", "*", "_", "`")
# Where each may close emphasis: after a non-space, not before a word character.
_CLOSINGS = {mark: re.compile(rf"(?<=\S)(?={re.escape(mark)}(?!\w))") for mark in _DELIMITERS}
# Emphasis nested deeper than this keeps its inner marks: each level costs a pass.
_EMPHASIS_DEPTH = 8
_LIST_ITEM = re.compile(r"(?:[-*+•]|\d{1,3}[.)])\s+")
_RULE = re.compile(r"(?:[-*_]\s*){3,}")
MARKDOWN_HEADING_LINE = re.compile(r"^#{1,6}\s+\S", re.MULTILINE)


def read_markdown_blocks(text: str) -> list[Block]:
    """Paragraphs of Markdown: ATX headings keep their level, image alt text is a
    caption, list items are paragraphs, inline markup is reduced to its text."""
    lines = [collapse(raw) for raw in text.splitlines()]
    chunker = _Chunker(width=max(map(len, lines), default=0))
    for line in lines:
        if quotes := _QUOTE_MARKERS.match(line):
            line = line[quotes.end() :]  # "> > text": every ">" and the space after it
        if _RULE.fullmatch(line):
            chunker.add("")
        elif heading := _atx_heading(line):
            chunker.add(_inline(heading[1]), level=heading[0])
        elif image := _IMAGE_LINE.fullmatch(line):
            chunker.flush()
            if image[1].strip():
                chunker.blocks.append(Block(collapse(image[1]), is_caption=True))
        elif item := _LIST_ITEM.match(line):
            chunker.add(_inline(line[item.end() :]), starts_block=True)
        else:
            chunker.add(_inline(line))
    chunker.flush()
    return chunker.blocks


def _atx_heading(line: str) -> tuple[int, str] | None:
    r"""The level and text of an ATX heading line ("## Text ##"), as the fullmatch of
    `(#{1,6})\s+(.*?)(?:\s+#+)?` gave them: the text loses a closing run of "#" that
    follows whitespace, and that whitespace."""
    opening = _ATX_OPENING.match(line)
    if opening is None:
        return None
    text = line[opening.end() :]
    unclosed = text.rstrip("#")
    if unclosed != text and unclosed[-1:].isspace():
        text = unclosed.rstrip()
    return len(opening[1]), text


def _inline(line: str) -> str:
    line = _without_links(line)
    for _ in range(_EMPHASIS_DEPTH):
        previous, line = line, _without_emphasis(line)
        if line == previous:
            break
    return collapse(line)


def _without_links(line: str) -> str:
    r"""Each link or image `[text](url)` replaced by its text, as
    `!?\[([^\]]*)\]\([^)]*\)` -> `\1` would. Every "[" before one "]" ends its text
    at that "]", so when no "(" follows it they all fail together and none is tried
    again (the regex tried each one, quadratic on a run of "[")."""
    parts: list[str] = []
    kept = 0
    start = line.find("[")
    while start >= 0:
        close = line.find("]", start + 1)
        if close < 0:
            break
        if not line.startswith("(", close + 1):
            start = line.find("[", close + 1)
            continue
        end = line.find(")", close + 2)
        if end < 0:
            break
        begin = start - 1 if start > kept and line[start - 1] == "!" else start
        parts += (line[kept:begin], line[start + 1 : close])
        kept = end + 1
        start = line.find("[", kept)
    parts.append(line[kept:])
    return "".join(parts)


def _without_emphasis(line: str) -> str:
    r"""One pass of `(?<!\w)(\*\*|__|\*|_|`)(\S(?:.*?\S)?)\1(?!\w)` -> `\2` over one
    line: a delimiter not after a word character, then the shortest text of two or
    more characters (or else of one) that starts and ends with a non-space and is
    followed by the same delimiter not before a word character.

    The closing delimiters are listed once, so an opening finds its closing by a
    binary search instead of a lazy scan to the end of the line (which made a line of
    unclosed marks quadratic)."""
    closings = {
        mark: [m.start() for m in _CLOSINGS[mark].finditer(line)]
        for mark in _DELIMITERS
        if mark in line
    }
    parts: list[str] = []
    kept = position = 0
    while (found := _EMPHASIS_MARK.search(line, position)) is not None:
        start = found.start()
        for mark in (m for m in _DELIMITERS if line.startswith(m, start)):
            inner = start + len(mark)
            if inner >= len(line) or line[inner].isspace():
                continue
            ends = closings[mark]
            at = bisect.bisect_left(ends, inner + 2)
            end = ends[at] if at < len(ends) else -1
            if end < 0 and _is_in(ends, inner + 1):
                end = inner + 1
            if end >= 0:
                parts += (line[kept:start], line[inner:end])
                kept = position = end + len(mark)
                break
        else:
            position = start + 1
    parts.append(line[kept:])
    return "".join(parts)


def _is_in(ordered: list[int], value: int) -> bool:
    at = bisect.bisect_left(ordered, value)
    return at < len(ordered) and ordered[at] == value
