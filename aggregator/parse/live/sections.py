"""Posts that are runs of sibling elements, not one element each.

Two shapes of live page keep their posts flat inside one article body:
  * time headings: sibling headings that open with a clock ("12.31 Uhr: Minister
    resigns", "14:05 - Trains cancelled"), each followed by its paragraphs up to the
    next heading of that tag. The clock is the post's time (read on the page's date),
    the rest of the heading its title. A heading of that tag without a clock (a closing
    "Earlier developments") ends the post above and opens none.
  * rule-separated runs: paragraphs split by rule paragraphs ("___", the wire-service
    "The Latest" style). A run may open with a paragraph that is only a time ("10
    p.m.", "4:14 p.m."), which becomes the post's time. A run with no sentence of body
    text (a "what you need to know" link list, a "follow our coverage" line) is page
    furniture, not a post.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence

import lxml.html

from aggregator.parse.live.found import Found, Stamp
from aggregator.parse.live.tree import Element, link_density, text_of
from aggregator.parse.times import is_time_line, split_leading_clock

HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
METHOD = "html-sections"
_RULE = re.compile(r"[_\-\u2013\u2014*=~]{3,80}")
_SENTENCE_ENDS = (".", "!", "?", '"', "\u201d", "'", "\u2019", ")")
_MIN_SENTENCE = 60


def find_sections(root: Element) -> list[Found]:
    """Time-headed, rule-separated or time-paragraph posts, whichever shape yields
    most (or [])."""
    shapes = (_headed_posts(root), _ruled_posts(root), _timed_posts(root))
    return max(shapes, key=len)


def _headed_posts(root: Element) -> list[Found]:
    best: list[Found] = []
    for parent in root.iter():
        by_tag: dict[str, list[Element]] = defaultdict(list)
        for child in parent:
            if child.tag in HEADINGS and split_leading_clock(text_of(child)):
                by_tag[child.tag].append(child)
        for tag, heads in by_tag.items():
            if len(heads) >= 2 and len(heads) > len(best):
                best = [_headed_post(head, tag) for head in heads]
    return best


def _headed_post(head: Element, tag: str) -> Found:
    parts = split_leading_clock(text_of(head))
    stamp, title = parts if parts else ("", text_of(head))
    body = list(_until(head, lambda el: el.tag == tag))
    return Found(
        title=title,
        html=_outer_html(body),
        method=METHOD,
        guid=head.get("id") or None,
        published=Stamp(human=stamp) if stamp else None,
    )


def _until(start: Element, stop: Callable[[Element], bool]) -> Iterator[Element]:
    """The siblings after `start` up to (not including) the first one `stop` accepts."""
    sibling = start.getnext()
    while sibling is not None and not stop(sibling):
        yield sibling
        sibling = sibling.getnext()


def _ruled_posts(root: Element) -> list[Found]:
    best: list[Found] = []
    for parent in root.iter():
        runs = _runs(parent)
        if len(runs) < 2:
            continue
        posts = [_ruled_post(run, is_first=i == 0) for i, run in enumerate(runs)]
        kept = [post for post in posts if post is not None]
        is_timed = all(post.published is not None for post in kept)
        if len(kept) >= 2 and (len(runs) >= 3 or is_timed) and len(kept) > len(best):
            best = kept
    return best


def _runs(parent: Element) -> list[list[Element]]:
    """The parent's children split at rule paragraphs, or [] when it holds none."""
    runs: list[list[Element]] = [[]]
    for child in parent:
        if not isinstance(child.tag, str):
            continue
        if child.tag == "p" and _is_rule(child):
            runs.append([])
        else:
            runs[-1].append(child)
    return runs if len(runs) > 1 else []


def _is_rule(element: Element) -> bool:
    return _RULE.fullmatch(element.text_content()[:100].strip()) is not None


def _ruled_post(run: Sequence[Element], *, is_first: bool) -> Found | None:
    """A run as a post: from its time paragraph on, when it has one (in the first run,
    what precedes it is the page's lead-in); None for a run with no body sentence."""
    texts = [text_of(el) for el in run]
    opening = next((i for i, t in enumerate(texts) if t), None)
    time_at = next((i for i, t in enumerate(texts) if _is_time_paragraph(t)), None)
    if time_at is not None and (time_at == opening or is_first):
        stamp: Stamp | None = Stamp(human=texts[time_at])
        body = run[time_at + 1 :]
    else:
        stamp, body = None, run
    if not any(_is_sentence(el) for el in body):
        return None
    return Found(title="", html=_outer_html(body), method=METHOD, published=stamp)


def _timed_posts(root: Element) -> list[Found]:
    """Posts that each open with a paragraph holding only a time, with no rules between
    them: the first save of a "The Latest" page has one post and no rule yet."""
    best: list[Found] = []
    for parent in root.iter():
        children = [c for c in parent if isinstance(c.tag, str)]
        starts = [i for i, c in enumerate(children) if c.tag == "p" and _is_time_child(c)]
        posts = []
        for n, start in enumerate(starts):
            end = starts[n + 1] if n + 1 < len(starts) else len(children)
            run = list(itertools.takewhile(lambda c: not _is_rule(c), children[start + 1 : end]))
            if any(_is_sentence(el) for el in run):
                stamp = Stamp(human=text_of(children[start]))
                posts.append(Found(title="", html=_outer_html(run), method=METHOD, published=stamp))
        if len(posts) > len(best):
            best = posts
    return best


def _is_time_child(element: Element) -> bool:
    return _is_time_paragraph(text_of(element))


def _is_time_paragraph(text: str) -> bool:
    return 0 < len(text) < 40 and is_time_line(text)


def _is_sentence(element: Element) -> bool:
    text = text_of(element)
    return (
        len(text) >= _MIN_SENTENCE and text.endswith(_SENTENCE_ENDS) and link_density(element) < 0.5
    )


def _outer_html(elements: Sequence[Element]) -> str:
    return "".join(lxml.html.tostring(el, encoding="unicode", with_tail=True) for el in elements)
