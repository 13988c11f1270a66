"""A rendered post block's times, taken out of its body: machine values first.

The block's own attributes (`data-post-time`, epoch milliseconds in `data-sort-time`)
or those of a box inside it that holds the body (the block being a wrapper row around
the timed entry), then `<time datetime>` and time-shaped `title` attributes in it; a
last-modified attribute or a time labelled "Updated" is the update time. Visible text
is read only where no machine value is, and only a whole time line leading the block.
"""

from __future__ import annotations

import re

from aggregator.parse.live.found import Stamp
from aggregator.parse.live.stamps import UPDATE_WORDS, is_labelled_time
from aggregator.parse.live.tree import Element, class_words, text_of
from aggregator.parse.times import is_time_line

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
# What a post's body is made of; no time stamp holds one.
_CONTENT_TAGS = ("p", "ul", "ol", "figure", "blockquote", "table", *_HEADINGS)
# Attributes publishers put machine times in, most specific first.
_TIME_ATTRIBUTES = (
    "datetime", "data-post-time", "data-published-time", "data-publish-time",
    "data-sort-time", "data-timestamp", "data-time", "data-datetime", "data-published",
    "data-date", "data-epoch", "data-utc", "data-posted",
)  # fmt: skip
_UPDATE_ATTRIBUTES = (
    "data-last-modified-time", "data-modified-time", "data-update-time", "data-updated-time",
    "data-last-modified", "data-modified", "data-updated",
)  # fmt: skip
# A `title` attribute holding a date and time ("2014-09-02 16:10"); matched at its start.
_TITLE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_TIME_WORDS = frozenset({"time", "timestamp", "date", "datetime", "posted", "published"})


def take_stamps(block: Element) -> tuple[Stamp | None, Stamp | None]:
    """The block's time elements, removed from its body: the first plain one is the
    published time, one labelled as an update ("Updated 11:05") the updated time."""
    own, own_update = machine_time(block), _update_time(block)
    if own is None and own_update is None:
        box = next((el for el in block.iterdescendants() if _is_timed_box(el)), None)
        if box is not None:
            own, own_update = machine_time(box), _update_time(box)
    published = Stamp(machine=own) if own else None
    updated = Stamp(machine=own_update) if own_update and own_update != own else None
    for element in list(block.iterdescendants()):
        if not _is_time_element(element):
            continue
        if machine_time(element) is None and _update_time(element):
            updated = updated or Stamp(machine=_update_time(element), human=text_of(element))
            _drop_with_label(element, block)
            continue
        stamp = Stamp(machine=machine_time(element), human=text_of(element))
        parent = element.getparent()
        label = f"{element.get('class') or ''} {text_of(parent)[:40] if parent is not None else ''}"
        if UPDATE_WORDS.search(text_of(element)) or (published and UPDATE_WORDS.search(label)):
            updated = updated or stamp
        else:
            published = published or stamp
        _drop_with_label(element, block)
    # Text like "5 minutes ago" leading the block is a time even when an attribute
    # gave a better one; it is not body text either way.
    leading = _leading_text_stamp(block)
    return published or leading, updated


def _is_time_element(element: Element) -> bool:
    if not isinstance(element.tag, str) or element.getparent() is None:
        return False
    if element.tag == "time" or machine_time(element) or _update_time(element):
        return not _holds_content(element)  # a box around the body is the post's own
    text = text_of(element)
    if len(text) >= 60 or any(
        machine_time(d) or d.tag == "time" for d in element.iterdescendants()
    ):
        return False  # a wrapper: the time inside it is the stamp
    if len(text) < 40 and is_labelled_time(text):
        return True  # "Updated 11:05" with no markup of its own
    return bool(class_words(element) & _TIME_WORDS)


def _is_timed_box(element: Element) -> bool:
    """A box inside the block that carries the post's times and holds its body (the
    block is a wrapper row around the timed entry)."""
    is_timed = isinstance(element.tag, str) and (machine_time(element) or _update_time(element))
    return bool(is_timed) and _holds_content(element)


def _holds_content(element: Element) -> bool:
    return next(element.iterdescendants(*_CONTENT_TAGS), None) is not None


def _drop_with_label(element: Element, block: Element) -> None:
    """Remove a time and a short wrapper around it ("Updated <time>"); a block whose
    ancestors were already removed is skipped."""
    parent = element.getparent()
    element.drop_tree()
    if parent is None or parent is block or parent.getparent() is None:
        return
    if len(text_of(parent)) < 25 and parent.tag not in _HEADINGS:
        parent.drop_tree()


def _leading_text_stamp(block: Element) -> Stamp | None:
    """A first short paragraph that is a time, like "10:52am BST" or "5 mins ago"."""
    first = next((el for el in block.iterdescendants() if text_of(el)), None)
    if first is None:
        return None
    text = text_of(first)
    # Only a whole time line: "65.06 sec." or a clock inside a sentence is no stamp.
    if len(text) > 40 or not is_time_line(text):
        return None
    first.drop_tree()
    return Stamp(human=text)


def machine_time(element: Element) -> str | None:
    if not isinstance(element.tag, str):
        return None
    value = _attribute(element, _TIME_ATTRIBUTES)
    if value is None and _TITLE_TIME.match(element.get("title") or ""):
        value = str(element.get("title")).strip()
    return value


def _update_time(element: Element) -> str | None:
    return _attribute(element, _UPDATE_ATTRIBUTES) if isinstance(element.tag, str) else None


def _attribute(element: Element, names: tuple[str, ...]) -> str | None:
    for name in names:
        value = element.get(name)
        if value and value.strip():
            return str(value).strip()
    return None
