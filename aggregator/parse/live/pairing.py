"""Pair each structured post with the rendered block that shows it, and merge the two.

    structured, rendered --pair_posts--> {structured -> block}, containers
        --merge--> Found...

A pair is found by the first of these that names one block for one post:
  1. the same id: the guid, or a url's fragment ("...#post-12" and id="post-12");
  2. the same id in another form: the last run of letters and digits, without a
     word in front of its digits ("#liveblogPost123" and "post-123", "6462a9" and
     "block-6462a9"), holding a digit, when no other post or block has it;
  3. the same headline, when no other post or block has it;
  4. the same words: runs of four words from the opening of the structured body met
     in the block's text, each run found in no other structured post;
  5. the same machine time, when no other post or block has it.
A block in which the words of two or more structured posts are found is the page's
whole column read as one block, not a post: it is paired with none and dropped.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from string import ascii_letters

from aggregator.parse.html import html_to_text
from aggregator.parse.live.found import Found, anchors, body_key, drop_copies, headline_key
from aggregator.parse.text import collapse

# Reads a stamp's machine value to a moment (None when it cannot).
MomentKey = Callable[[str], datetime | None]
Keys = Callable[[Found], set[str]]

_ALNUM = re.compile(r"[A-Za-z0-9]++")
_WORD = re.compile(r"\w++")
_SHINGLE = 4
_OPENING_WORDS = 40
# A structured body needs this many runs of words to be paired by them.
_MIN_SHINGLES = 3


def merge(
    structured: list[Found], rendered: list[Found], moment: MomentKey | None = None
) -> list[Found]:
    """Structured posts in their order, each filled in from its block; blocks that
    structured data lacks are kept next to their neighbours on the page. Without
    structured data, the rendered blocks."""
    if not structured:
        return drop_copies(rendered)
    pairs, containers = pair_posts(structured, rendered, moment)
    merged: list[Found] = []
    placed: dict[int, int] = {}  # block index -> index in merged
    for index, post in enumerate(structured):
        block = pairs.get(index)
        if block is not None:
            placed[block] = len(merged)
            post = _fill(post, rendered[block])
        merged.append(post)
    return drop_copies(_interleave(merged, rendered, placed, containers))


def _fill(post: Found, block: Found) -> Found:
    """The structured post completed from its block. A structured time wins: it is the
    publisher's record, where a visible time may be a rendering's estimate."""
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


def _interleave(
    merged: list[Found], rendered: list[Found], placed: dict[int, int], dropped: set[int]
) -> list[Found]:
    """Insert each unpaired block after the post its page predecessor became."""
    slots: dict[int, list[Found]] = {}
    anchor = -1
    for index, block in enumerate(rendered):
        if index in placed:
            anchor = placed[index]
        elif index not in dropped:
            slots.setdefault(anchor, []).append(block)
    result = list(slots.get(-1, []))
    for index, post in enumerate(merged):
        result.append(post)
        result.extend(slots.get(index, []))
    return result


def pair_posts(
    structured: list[Found], rendered: list[Found], moment: MomentKey | None = None
) -> tuple[dict[int, int], set[int]]:
    """{structured index: block index}, and the blocks that are whole columns."""
    pairs: dict[int, int] = {}
    taken: set[int] = set()

    def take(post: int, block: int) -> None:
        if post not in pairs and block not in taken:
            pairs[post] = block
            taken.add(block)

    by_anchor = {key: b for b, block in enumerate(rendered) for key in anchors(block)}
    for p, post in enumerate(structured):
        block_index = next((by_anchor[k] for k in anchors(post) if k in by_anchor), None)
        if block_index is not None:
            take(p, block_index)
    for keys in (_id_tokens, _headline):
        for p, b in _unique_pairs(structured, rendered, keys):
            take(p, b)
    votes = _word_votes(structured, rendered)
    containers = {b for b, hits in votes.items() if len(hits) >= 2 and b not in taken}
    for p, b in _best_by_words(votes, containers):
        take(p, b)
    if moment is not None:
        for p, b in _unique_pairs(structured, rendered, _moment_keys(moment)):
            if b not in containers:
                take(p, b)
    return pairs, containers


def _unique_pairs(
    structured: list[Found], rendered: list[Found], keys: Keys
) -> Iterator[tuple[int, int]]:
    """(post, block) sharing a key that no other post and no other block has."""
    posts = _unique_owners(structured, keys)
    blocks = _unique_owners(rendered, keys)
    for key, p in posts.items():
        if key in blocks:
            yield p, blocks[key]


def _unique_owners(found: list[Found], keys: Keys) -> dict[str, int]:
    owners: dict[str, int] = {}
    shared: set[str] = set()
    for index, item in enumerate(found):
        for key in keys(item):
            if key in owners and owners[key] != index:
                shared.add(key)
            owners.setdefault(key, index)
    return {k: i for k, i in owners.items() if k not in shared}


def id_token(value: str) -> str | None:
    """The id's last run of letters and digits, without a word before its digits:
    "...html/#liveblogPost1288914" -> "1288914", "block-646219928f08" -> "646219928f08"."""
    runs: list[str] = _ALNUM.findall(value)
    if not runs:
        return None
    token = runs[-1]
    digits = token.lstrip(ascii_letters)
    return digits if digits and digits[0].isdigit() else token


def _id_tokens(found: Found) -> set[str]:
    # A token without a digit is a word of a URL ("html", "live"), not an id.
    return {t for t in map(id_token, anchors(found)) if t and any(c.isdigit() for c in t)}


def _headline(found: Found) -> set[str]:
    return {headline_key(found)} if found.title else set()


def _moment_keys(moment: MomentKey) -> Keys:
    def keys(found: Found) -> set[str]:
        value = (
            moment(found.published.machine) if found.published and found.published.machine else None
        )
        return {value.isoformat()} if value else set()

    return keys


def _shingles(words: list[str]) -> set[str]:
    return {" ".join(words[i : i + _SHINGLE]) for i in range(len(words) - _SHINGLE + 1)}


def _word_votes(structured: list[Found], rendered: list[Found]) -> dict[int, dict[int, int]]:
    """{block: {post: runs of the post's opening words found in the block}}, counting
    only posts found with enough of their runs. One pass over each block's words."""
    owner: dict[str, int] = {}
    for p, post in enumerate(structured):
        for run in _shingles(_opening(body_key(post))):
            owner[run] = -1 if owner.get(run, p) != p else p  # in two posts: no evidence
    owned = Counter(owner.values())
    needed = {p: max(_MIN_SHINGLES, n // 2) for p, n in owned.items() if n >= _MIN_SHINGLES}
    votes: dict[int, dict[int, int]] = {}
    for b, block in enumerate(rendered):
        hits = Counter(owner.get(run, -1) for run in _shingles(_WORD.findall(body_key(block))))
        found = {p: n for p, n in hits.items() if p in needed and n >= needed[p]}
        if found:
            votes[b] = found
    return votes


def _opening(text: str) -> list[str]:
    words = []
    for match in _WORD.finditer(text):
        words.append(match[0])
        if len(words) == _OPENING_WORDS:
            break
    return words


def _best_by_words(
    votes: dict[int, dict[int, int]], containers: set[int]
) -> Iterator[tuple[int, int]]:
    """For each post, the block with most of its runs, among blocks that hold no other."""
    best: dict[int, tuple[int, int]] = defaultdict(lambda: (0, -1))
    for b, hits in votes.items():
        if b in containers:
            continue
        for p, n in hits.items():
            best[p] = max(best[p], (n, -b))
    for p in sorted(best):
        yield p, -best[p][1]
