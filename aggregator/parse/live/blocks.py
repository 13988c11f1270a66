"""The repeated blocks of a live page's post list, found by shape, not by selectors.

A post list is a parent whose children repeat a tag and class signature, and where
many of those children carry a time (a `<time>` element, a date or timestamp attribute,
or time-like text at their start) and a paragraph's worth of text that is not links.
The parent with most such children wins (more text breaks a tie). It may hold several
shapes side by side (commentary entries between result boxes): every shape that repeats
there is a kind of post. Key-event and summary lists fail the test by construction:
their items are mostly link text; and a box of links in the list with neither a heading
nor a time is a menu ("News Home", "English | Cymraeg"), not a post. Blocks of the same
signature elsewhere on the page (a pinned post above the stream) are gathered too;
`found.drop_copies` then keeps one copy of each post. Pages whose posts are flat runs
of siblings are left to `sections`.

A block's title, byline, permalink and id are read here, its times in `block_times`.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from urllib.parse import urljoin

from aggregator.parse.live.block_times import machine_time, take_stamps
from aggregator.parse.live.embeds import MARK
from aggregator.parse.live.found import Found
from aggregator.parse.live.sections import find_sections
from aggregator.parse.live.tree import Element, class_words, inner_html, link_density, text_of

_MIN_TEXT = 40
_MAX_LINK_DENSITY = 0.5
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_MAX_CLASS_TOKENS = 8
_ID_ATTRIBUTES = ("data-post-id", "data-block-id", "data-entry-id", "data-id", "data-post")
_AUTHOR_WORDS = frozenset({"author", "authors", "byline", "contributor"})
_PINNED_WORDS = frozenset({"pinned", "sticky", "featured"})
_BY = re.compile(r"^(?:by|von|par|por)\s+", re.IGNORECASE)
# Human time text at the start of a block: clocks, "5 mins ago", "vor 5 Minuten". The
# number, the unit and the spaces between are possessive: `\d+\s*\w*\s+` let a run of
# digits (or spaces) split between two quantifiers in every way (quadratic).
_TIME_TEXT = re.compile(
    r"^(?:\w++\s++){0,2}?"
    r"(?:\d{1,2}[:.h]\d{2}(?!\d)|\d++(?:\s*+\w++)?\s++ago\b|vor\s+\d+|il y a\s+\d+|hace\s+\d+)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Signature:
    tag: str
    words: frozenset[str]

    def fits(self, element: Element) -> bool:
        return element.tag == self.tag and self.words <= class_words(element)


def find_blocks(root: Element, base: str | None) -> list[Found]:
    """The page's posts in page order, or [] when no post list is found."""
    blocks = _repeated_blocks(root, base)
    sections = find_sections(root)
    return sections if len(sections) > len(blocks) else blocks


def _repeated_blocks(root: Element, base: str | None) -> list[Found]:
    found = _best_container(root)
    if found is None:
        return []
    container, signatures = found
    matches = [el for el in root.iter() if _is_post(el, container, signatures)]
    chosen = set(matches)
    outermost = [el for el in matches if not any(a in chosen for a in el.iterancestors())]
    return [_read_block(el, base) for el in outermost]


def _is_post(element: Element, container: Element, signatures: list[_Signature]) -> bool:
    """A block of a post shape: in the list itself any with text (a one-line entry) or
    an embed, elsewhere (a pinned copy) only a classed one with a body."""
    shapes = [s for s in signatures if s.fits(element)]
    if not shapes:
        return False
    if element.getparent() is container:
        is_linked = link_density(element) >= _MAX_LINK_DENSITY
        if not text_of(element):
            return next(element.iter(MARK), None) is not None  # a video and nothing else
        return not is_linked or _is_link_post(element, shapes)
    return any(s.words for s in shapes) and _has_body(element)


def _is_link_post(element: Element, shapes: list[_Signature]) -> bool:
    """A list of links is a post ("Catch up with our coverage") when it is classed as
    one and has a post's heading or time; with neither it is a menu ("News Home",
    "English | Cymraeg"), whatever box it sits in."""
    if not any(s.words for s in shapes):
        return False
    return _has_time(element) or next(element.iterdescendants(*_HEADINGS), None) is not None


def _best_container(root: Element) -> tuple[Element, list[_Signature]] | None:
    best: tuple[int, int] = (0, 0)
    found = None
    for parent in root.iter():
        posts = [
            child
            for child in parent
            if isinstance(child.tag, str)
            and child.tag not in _HEADINGS  # headings open sections, see `sections`
            and _has_time(child)
            and _has_body(child)
        ]
        shapes = [shape for shape in _shapes(posts) if len(shape) >= 2]  # one is no list
        score = (sum(map(len, shapes)), sum(len(text_of(p)) for shape in shapes for p in shape))
        if shapes and score > best:
            best = score
            found = parent, [_signature(shape) for shape in shapes]
    return found


def _shapes(children: list[Element]) -> list[list[Element]]:
    """Children grouped by tag and a shared class name: a child joins the first group
    of its tag that has one of its class names, so "post" and "post pinned" meet."""
    groups: list[list[Element]] = []
    index: dict[tuple[str, str], int] = {}
    for child in children:
        tokens = (child.get("class") or "").lower().split()[:_MAX_CLASS_TOKENS] or [""]
        keys = [(child.tag, t) for t in tokens if t not in _PINNED_WORDS] or [(child.tag, "")]
        group = next((index[k] for k in keys if k in index), None)
        if group is None:
            group = len(groups)
            groups.append([])
        groups[group].append(child)
        index.update(dict.fromkeys((k for k in keys if k not in index), group))
    return groups


def _signature(shape: list[Element]) -> _Signature:
    common = frozenset.intersection(*(frozenset(class_words(p)) for p in shape))
    return _Signature(shape[0].tag, common - _PINNED_WORDS)


def _has_body(element: Element) -> bool:
    return len(text_of(element)) >= _MIN_TEXT and link_density(element) < _MAX_LINK_DENSITY


def _has_time(element: Element) -> bool:
    if any(el.tag == "time" or machine_time(el) for el in element.iter()):
        return True
    return _TIME_TEXT.match(text_of(element)[:60]) is not None


def _read_block(element: Element, base: str | None) -> Found:
    block = copy.deepcopy(element)
    title = _take_title(block)
    author = _take_author(block)
    permalink = _permalink(block)
    published, updated = take_stamps(block)
    for link in block.iterdescendants("a"):
        if link.get("href") == permalink and len(text_of(link)) < _MIN_TEXT:
            link.drop_tree()
            break
    fragment = permalink.split("#", 1)[1] if permalink and "#" in permalink else None
    return Found(
        title=title,
        html=inner_html(block),
        method="html-blocks",
        guid=_block_id(element) or fragment or None,
        url=urljoin(base, permalink) if base and permalink else permalink,
        author=author,
        published=published,
        updated=updated,
        is_pinned=_is_pinned(element),
    )


def _is_pinned(element: Element) -> bool:
    return bool(class_words(element) & _PINNED_WORDS) or element.get("data-pinned") == "true"


def _take_author(block: Element) -> str | None:
    for element in block.iterdescendants():
        if not isinstance(element.tag, str):
            continue
        if class_words(element) & _AUTHOR_WORDS or element.get("rel") == "author":
            text = _BY.sub("", text_of(element))
            element.drop_tree()
            return text or None
    return None


def _take_title(block: Element) -> str:
    heading = next(block.iterdescendants(*_HEADINGS), None)
    if heading is None:
        heading = next(
            (el for el in block.iterdescendants() if {"title", "headline"} & class_words(el)), None
        )
    if heading is None:
        return ""
    title = text_of(heading)
    heading.drop_tree()
    return title


def _permalink(block: Element) -> str | None:
    """A short link to the post's own anchor ("Link to this post", the time)."""
    for link in block.iterdescendants("a"):
        href = link.get("href") or ""
        if "#" in href and len(text_of(link)) < _MIN_TEXT:
            return href
    return None


def _block_id(element: Element) -> str | None:
    for attribute in (*_ID_ATTRIBUTES, "id"):
        value = element.get(attribute)
        if value and value.strip():
            return str(value).strip()
    return None
