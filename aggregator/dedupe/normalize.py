"""PURE: Post -> Entry. Gives each post a stable identity, a content hash and a fingerprint.

An item's key must survive re-polls, restarts and body corrections, so it is built from
the publisher's own id when there is one and otherwise from the title (or, for an untitled
post, its opening words), never from its position on the page.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from aggregator.core.types import Entry, Post, StorySpec
from aggregator.parse.entities import unescape
from aggregator.parse.html import replace_tags

# Fewer words than this is too little text to call two items the same copy.
MIN_FINGERPRINT_WORDS = 8
_OPENING_WORDS = 12
# Every character folded is outside ASCII, so an ASCII text is left as it is; in the
# others a regex finds the few to fold (str.translate looks up every character).
_FOLDED = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u2033": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u00a0": " ",
}
_TO_FOLD = re.compile("[" + "".join(_FOLDED) + "]")
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A post's own time is believed between these bounds; outside, it was first seen now.
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_AHEAD = timedelta(days=1)
# A title is a line, not a document: a feed that puts a whole article (or a megabyte)
# in <title> gets it cut at a word, marked with an ellipsis. Authors are names.
MAX_TITLE_CHARS = 300
MAX_AUTHOR_CHARS = 200
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")


def normalize(posts: Sequence[Post], *, source: str, now: datetime) -> list[Entry]:
    """Give every post of one fetch its stable key; `now` stands in for missing times
    and for times no post can have (before 1970, or more than a day ahead)."""
    return numbered(entries_of(posts, source=source, now=now))


def entries_of(posts: Sequence[Post], *, source: str, now: datetime) -> list[Entry]:
    """`normalize` for part of a fetch (one of its documents): keys are not yet
    `numbered`, since a key may repeat in another part."""
    return [
        _entry(post, source=source, key=item_key(post), now=now)
        for post in map(_without_controls, posts)
    ]


def numbered(entries: Sequence[Entry]) -> list[Entry]:
    """A fetch's entries with each repeat of an item key told apart: "key#2", "key#3"."""
    seen: dict[str, int] = {}
    told_apart: list[Entry] = []
    for entry in entries:
        key = entry.item_key
        count = seen[key] = seen.get(key, 0) + 1
        told_apart.append(entry if count == 1 else replace(entry, item_key=f"{key}#{count}"))
    return told_apart


def item_key(post: Post) -> str:
    if post.guid:
        return f"guid:{post.guid.strip()}"
    if post.title.strip():
        return f"title:{_digest(normalize_text(post.title))}"
    opening = " ".join(_WORD.findall(normalize_text(post.text))[:_OPENING_WORDS])
    return f"text:{_digest(opening)}"


def entry_key(source: str, item_key: str) -> str:
    """The story-unique key behind an entry's public id; fixed when the entry is created."""
    return _digest(f"{source}\x00{item_key}")


def normalize_text(text: str) -> str:
    """Text folded so that the same copy compares equal: no tags, entities, curly quotes,
    case or whitespace differences."""
    return _SPACE.sub(" ", plain_text(text).casefold()).strip()


def plain_text(text: str) -> str:
    """The text a reader sees, case kept: no tags or entities, quotes and dashes folded."""
    plain = unicodedata.normalize("NFKC", unescape(replace_tags(text)))
    return plain if plain.isascii() else _TO_FOLD.sub(lambda c: _FOLDED[c.group()], plain)


def fingerprint(title: str, text: str) -> str | None:
    folded = normalize_text(f"{title}\n{text}")
    if len(_WORD.findall(folded)) < MIN_FINGERPRINT_WORDS:
        return None
    return _digest(folded)


def content_hash(post: Post) -> str:
    """Changes when the post is edited: its title, text or link, or its own `updated`
    time (a publisher's dateModified moving is an edit even if we cannot see what)."""
    modified = post.updated.isoformat() if post.updated else ""
    return _digest("\x00".join((post.title, post.text, post.url or "", modified)))


def matches_keywords(post: Post, story: StorySpec) -> bool:
    """True when the post's title or text mentions one of the story's keywords (or the
    story has none) and none of its exclusions."""
    if not story.keywords and not story.exclude:
        return True
    haystack = normalize_text(f"{post.title}\n{post.text}")
    if any(normalize_text(word) in haystack for word in story.exclude):
        return False
    return not story.keywords or any(normalize_text(k) in haystack for k in story.keywords)


def _without_controls(post: Post) -> Post:
    """C0 controls other than tab and line breaks are never text (and PostgreSQL refuses
    NUL): gone from every field, so one such item cannot fail its whole poll."""

    def clean(value: str) -> str:
        return _CONTROLS.sub("", value) if value and not value.isprintable() else value

    def maybe(value: str | None) -> str | None:
        return None if value is None else clean(value)

    return replace(
        post,
        title=clean(post.title),
        text=clean(post.text),
        html=clean(post.html),
        guid=maybe(post.guid),
        url=maybe(post.url),
        author=maybe(post.author),
    )


def _believable(moment: datetime | None, now: datetime) -> datetime | None:
    if moment is None or moment < _EARLIEST or moment > now + _AHEAD:
        return None
    return moment


def _entry(post: Post, *, source: str, key: str, now: datetime) -> Entry:
    post = replace(
        post,
        published=_believable(post.published, now),
        updated=_believable(post.updated, now),
    )
    published = post.published or now
    updated = max(post.updated or published, published)
    return Entry(
        source=source,
        item_key=key,
        title=shortened(post.title.strip(), MAX_TITLE_CHARS),
        text=post.text,
        html=post.html,
        url=post.url,
        author=None if post.author is None else shortened(post.author, MAX_AUTHOR_CHARS),
        published=published,
        updated=updated,
        time_source=(post.time_source or "first-seen") if post.published else "first-seen",
        position=post.position,
        location=post.location,
        method=post.method,
        content_hash=content_hash(post),
        fingerprint=fingerprint(post.title, post.text),
    )


def shortened(text: str, limit: int) -> str:
    """`text` if it fits, else cut at the last space before `limit` (or at `limit`)
    with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", limit // 2, limit)
    return text[: cut if cut > 0 else limit - 1].rstrip() + "…"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
