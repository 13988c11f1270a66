"""Posts whose whole body is an embedded item, on the paths the golden page
`rb_embed_only` does not take: structured bodies, time headings, hidden frames, and a
post with text of its own, which an embed leaves as it is."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from aggregator.core.types import Document, ParseContext, Post
from aggregator.parse.live.embeds import with_embed_links
from aggregator.parse.live.found import Found
from aggregator.parse.live.liveblog import split_liveblog

FETCHED = datetime(2024, 6, 1, 16, 0, tzinfo=UTC)
BODY = "The harbour board said the ferries would sail again once the crews were back."
PLAYER = "https://player.example.net/embed/board-statement"


def split(html: str) -> list[Post]:
    doc = Document(
        location="https://news.example.org/live", body=html.encode(),
        content_type="text/html", fetched_at=FETCHED,
    )  # fmt: skip
    return split_liveblog(doc, ParseContext(ZoneInfo("Europe/London"), {}))


def test_a_structured_body_that_is_only_a_frame_links_to_it() -> None:
    updates = [
        {"@type": "BlogPosting", "headline": "Board statement in full", "@id": "#p2",
         "datePublished": "2024-06-01T15:00:00Z",
         "articleBody": f"<iframe src='{PLAYER}' allowfullscreen></iframe>"},
        {"@type": "BlogPosting", "headline": "Crews meet", "@id": "#p1",
         "datePublished": "2024-06-01T14:00:00Z", "articleBody": BODY},
    ]  # fmt: skip
    data = {"@type": "LiveBlogPosting", "liveBlogUpdate": updates}
    html = (
        f"<html><head><script type='application/ld+json'>{json.dumps(data)}</script></head></html>"
    )
    posts = split(html)
    assert [p.title for p in posts] == ["Board statement in full", "Crews meet"]
    assert posts[0].text == f"Video: {PLAYER}" and "<iframe" not in posts[0].html


def test_a_time_heading_over_only_a_frame_is_a_post_with_its_link() -> None:
    html = (
        "<html><body><article>"
        f"<h2>15:00 - Board statement in full</h2><p><iframe src='{PLAYER}'></iframe></p>"
        f"<h2>14:00 - Crews meet</h2><p>{BODY}</p>"
        "</article></body></html>"
    )
    posts = split(html)
    assert [p.title for p in posts] == ["Board statement in full", "Crews meet"]
    assert posts[0].text == f"Embed: {PLAYER}"
    assert posts[0].published == datetime(2024, 6, 1, 14, 0, tzinfo=UTC)  # 15:00 BST


def test_hidden_and_tracking_frames_and_frames_beside_text_add_nothing() -> None:
    entries = (
        f"<div class='entry'><time>15:30</time><iframe hidden src='{PLAYER}'></iframe></div>"
        f"<div class='entry'><time>15:00</time><p>{BODY}</p><iframe src='{PLAYER}'></iframe></div>"
        f"<div class='entry'><time>14:00</time><p>{BODY} Again.</p>"
        "<iframe src='https://ads.example.com/x' width='1' height='1'></iframe></div>"
    )
    posts = split(f"<html><body><div class='stream'>{entries}</div></body></html>")
    assert [p.text for p in posts] == [BODY, f"{BODY} Again."]


def test_only_http_addresses_become_links() -> None:
    found = Found(title="", html="<iframe src='javascript:alert(1)'></iframe>", method="x")
    assert with_embed_links(found, "https://news.example.org/live") == found
    found = Found(title="", html="<video src='//cdn.example.net/a.mp4'></video>", method="x")
    assert "https://cdn.example.net/a.mp4" in with_embed_links(found, None).html
