"""Golden files: every tests/data/<kind>/NAME.<ext> parses to what NAME.expected.json says.

expected.json: optional document fields (content_type, location, fetched_at, timezone),
then method, count, posts (title plus any of guid, url, author, published, updated,
time_source, contains, excludes, html_contains, html_excludes), `nowhere`: phrases in
no post's title or text, and `nowhere_html`: phrases in no post's html (captions stay
in the html as <figcaption>, so they belong only in `nowhere`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from aggregator.core.types import Document, ParseContext, Post
from aggregator.parse.article import parse_article
from aggregator.parse.feeds.feed import parse_feed
from aggregator.parse.html import sanitize_html
from aggregator.parse.live.liveblog import split_liveblog
from tests.support.paths import DATA

FETCHED_AT = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
PARSERS: dict[str, Callable[[Document, ParseContext], list[Post]]] = {
    "liveblog": split_liveblog,
    "article": parse_article,
    "feed": parse_feed,
}
OPTIONAL_FIELDS = ("guid", "url", "author", "time_source")


def golden_files(kind: str) -> list[Path]:
    found = sorted(
        p for p in (DATA / kind).iterdir() if p.is_file() and not p.name.endswith(".json")
    )
    assert found, f"no golden files for {kind}"
    return found


def expected_for(path: Path) -> dict[str, Any]:
    expected: dict[str, Any] = json.loads(path.with_suffix(".expected.json").read_text("utf-8"))
    return expected


def parse_golden(kind: str, path: Path) -> tuple[list[Post], dict[str, Any], Document]:
    expected = expected_for(path)
    fetched_at = expected.get("fetched_at")
    doc = Document(
        location=expected.get("location", str(path)),
        body=path.read_bytes(),
        content_type=expected.get("content_type"),
        fetched_at=datetime.fromisoformat(fetched_at) if fetched_at else FETCHED_AT,
    )
    context = ParseContext(
        ZoneInfo(expected.get("timezone", "Europe/London")), expected.get("abbreviations", {})
    )
    return PARSERS[kind](doc, context), expected, doc


def optional_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def check_invariants(posts: list[Post], doc: Document, method: str) -> None:
    assert [p.position for p in posts] == list(range(len(posts)))
    for post in posts:
        assert post.method == method
        assert post.location == doc.location
        assert post.title and post.title == post.title.strip()
        assert post.text == post.text.strip() and "\n\n\n" not in post.text
        assert sanitize_html(post.html) == post.html
        for moment in (post.published, post.updated):
            assert moment is None or moment.utcoffset() == timedelta(0)
        assert (post.time_source is None) == (post.published is None)


def check_post(post: Post, want: dict[str, Any]) -> None:
    assert post.title == want["title"]
    for name in OPTIONAL_FIELDS:
        if name in want:
            assert getattr(post, name) == want[name], name
    for name in ("published", "updated"):
        if name in want:
            assert getattr(post, name) == optional_time(want[name]), name
    for phrase in want.get("contains", []):
        assert phrase in post.text
    for phrase in want.get("excludes", []):
        assert phrase not in post.text
    for phrase in want.get("html_contains", []):
        assert phrase in post.html
    for phrase in want.get("html_excludes", []):
        assert phrase not in post.html


def check_golden(kind: str, path: Path) -> None:
    posts, expected, doc = parse_golden(kind, path)
    assert len(posts) == expected["count"] == len(expected["posts"])
    assert [p.title for p in posts] == [w["title"] for w in expected["posts"]]
    check_invariants(posts, doc, expected["method"])
    for post, want in zip(posts, expected["posts"], strict=True):
        check_post(post, want)
    for post in posts:
        for phrase in expected.get("nowhere", []):
            assert phrase not in post.title and phrase not in post.text, phrase
        for phrase in expected.get("nowhere_html", []):
            assert phrase not in post.html, phrase


@pytest.mark.parametrize("path", golden_files("liveblog"), ids=lambda p: p.name)
def test_liveblog_golden(path: Path) -> None:
    check_golden("liveblog", path)


@pytest.mark.parametrize("path", golden_files("article"), ids=lambda p: p.name)
def test_article_golden(path: Path) -> None:
    check_golden("article", path)


@pytest.mark.parametrize("path", golden_files("feed"), ids=lambda p: p.name)
def test_feed_golden(path: Path) -> None:
    check_golden("feed", path)
