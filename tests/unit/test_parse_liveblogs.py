"""Golden live pages: every tests/data/liveblogs/NAME.<ext> splits as NAME.expected.json says.

expected.json: the document and context used (content_type, location, fetched_at,
timezone, abbreviations), the page's `method` and post `count`, then `posts` in page
order, each with its title and any of guid, url, author, time_source, published and
updated (ISO 8601 in UTC, or null for "no time"), `contains` / `excludes` phrases of
its text, and
`nowhere`: page chrome that must be in no post's title, text or html.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from aggregator.core.types import Document, ParseContext, Post
from aggregator.parse.html import sanitize_html
from aggregator.parse.live.liveblog import split_liveblog
from tests.support.paths import DATA

DATA = DATA / "liveblogs"
PAGES = sorted(p for p in DATA.iterdir() if not p.name.endswith(".json"))
OPTIONAL = ("guid", "url", "author", "time_source")


def _split(path: Path, expected: dict[str, Any]) -> tuple[list[Post], Document]:
    doc = Document(
        location=expected.get("location", str(path)),
        body=path.read_bytes(),
        content_type=expected.get("content_type"),
        fetched_at=datetime.fromisoformat(expected["fetched_at"]),
    )
    context = ParseContext(ZoneInfo(expected["timezone"]), expected["abbreviations"])
    return split_liveblog(doc, context), doc


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _check_post(post: Post, want: dict[str, Any], method: str) -> None:
    assert post.title == want["title"]
    assert post.method == want.get("method", method)
    for name in OPTIONAL:
        if name in want:
            assert getattr(post, name) == want[name], name
    for name in ("published", "updated"):
        if name in want:
            assert getattr(post, name) == _moment(want[name]), name
    assert post.time_source == ("page" if post.published else None)
    for phrase in want.get("contains", []):
        assert phrase in post.text, phrase
    for phrase in want.get("excludes", []):
        assert phrase not in post.text, phrase


def test_the_corpus_covers_the_formats() -> None:
    methods = {json.loads(p.with_suffix(".expected.json").read_text())["method"] for p in PAGES}
    assert (
        len(PAGES) >= 13 and {"jsonld", "microdata", "html-blocks", "markdown", "text"} <= methods
    )


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_liveblog_page(path: Path) -> None:
    expected: dict[str, Any] = json.loads(path.with_suffix(".expected.json").read_text("utf-8"))
    posts, doc = _split(path, expected)
    assert len(posts) == expected["count"] == len(expected["posts"])
    assert [p.title for p in posts] == [w["title"] for w in expected["posts"]]
    assert [p.position for p in posts] == list(range(len(posts)))
    for post, want in zip(posts, expected["posts"], strict=True):
        _check_post(post, want, expected["method"])
        assert post.location == doc.location
        assert post.text == post.text.strip() and "\n\n\n" not in post.text
        assert sanitize_html(post.html) == post.html
        for moment in (post.published, post.updated):
            assert moment is None or moment.utcoffset() == timedelta(0)
        for phrase in expected.get("nowhere", []):
            assert phrase not in f"{post.title}\n{post.text}\n{post.html}", phrase
