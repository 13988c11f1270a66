"""Real-world feeds: on every file of the shared development corpus the lxml fast path
gives exactly feedparser's entries, or declines and feedparser reads the feed.

The corpus (RSS, Atom and RDF files from public projects' test fixtures) lives outside
this repository, beside it in `shared/corpus/feeds/`; its SOURCES.md allows evaluation
and testing only, so nothing of it is copied here. Without the folder the case skips,
unless CI=true, where a missing corpus fails.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from aggregator.core.errors import ParseError
from aggregator.core.types import Document, ParseContext, Post
from aggregator.parse.feeds.fastfeed import Declined, read_feed
from aggregator.parse.feeds.feed import (
    _base,
    _read_with_feedparser,
    _response_headers,
    parse_feed,
    to_posts,
)
from tests.support.paths import SHARED_CORPUS

pytestmark = pytest.mark.slow

CORPUS = SHARED_CORPUS / "feeds"
CONTEXT = ParseContext(ZoneInfo("Europe/London"))
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
TYPES = {".rss": "application/rss+xml", ".atom": "application/atom+xml"}
_DECLARATION = re.compile(rb"""^(<\?xml[^>]*?encoding\s*=\s*["'])([\w.:-]+)(["'])""")


def corpus_files() -> list[Path | None]:
    """Every file in the corpus, or [None] when there is none (one case that says so)."""
    if not CORPUS.is_dir():
        return [None]
    files: list[Path | None] = [p for p in sorted(CORPUS.iterdir()) if p.is_file()]
    return files or [None]


def fast_or_reason(doc: Document) -> list[Post] | str:
    """The fast path's Posts, or the reason it declines."""
    headers = _response_headers(doc)
    try:
        items = read_feed(doc.body, headers["content-type"], _base(doc))
    except Declined as e:
        assert e.reason, "a decline names its reason"
        return e.reason
    reference = _read_with_feedparser(doc)
    # Field by field (every body, the summary beside the content, raw HTML), not only
    # the Posts made of them.
    for position, (mine, theirs) in enumerate(zip(items, reference, strict=True)):
        assert mine == theirs, f"{doc.location}: item {position}"
    return to_posts(items, doc)


def tidied(body: bytes) -> bytes | None:
    """The feed with the two slips that make the fast path decline whole files undone
    (blank lines before the XML declaration; an encoding other than UTF-8, re-encoded),
    so more real markup goes through it; None when there is nothing to undo."""
    tidy = body.lstrip()
    match = _DECLARATION.match(tidy)
    if match and match.group(2).lower() not in (b"utf-8", b"utf8"):
        with contextlib.suppress(LookupError, UnicodeDecodeError):
            text = tidy.decode(match.group(2).decode("ascii"))
            tidy = _DECLARATION.sub(rb"\g<1>utf-8\g<3>", text.encode("utf-8"), count=1)
    return tidy if tidy != body else None


def outcome(doc: Document, *, fast: bool) -> list[Post] | str:
    """parse_feed's Posts, or the ParseError it raises."""
    try:
        return parse_feed(doc, CONTEXT, fast=fast)
    except ParseError as e:
        return f"ParseError: {e}"


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name if p else "no-corpus")
def test_real_feeds_are_read_as_feedparser_reads_them_or_declined(path: Path | None) -> None:
    if path is None:
        if CORPUS.is_dir():
            pytest.fail(f"the real-feed corpus {CORPUS} has no files")
        why = f"no real-feed corpus at {CORPUS}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why} (CI=true: it must be there)")
        pytest.skip(why)
    body = path.read_bytes()
    bodies = {"as published": body, "tidied": tidied(body)}
    # As fetched from a web address (links resolve against it) with the type a server
    # would give it, and as a local file: no base, no content type.
    places = [
        (f"https://feeds.example.org/dir/{path.name}", TYPES.get(path.suffix, "application/xml")),
        (f"/srv/feeds/{path.name}", None),
    ]
    for (version, text), (location, content_type) in itertools.product(bodies.items(), places):
        if text is None:
            continue
        doc = Document(location, text, content_type, NOW)
        expected = outcome(doc, fast=False)
        fast = fast_or_reason(doc)
        where = f"{path.name} {version} at {location[:6]}"
        if isinstance(fast, str):
            print(f"{where}: declined, {fast}")
            assert outcome(doc, fast=True) == expected  # feedparser reads it
        else:
            print(f"{where}: fast, {len(fast)} entries")
            assert fast == expected, where
