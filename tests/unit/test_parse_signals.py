"""Page signals for the scheduler, from plain documents: RSS ttl and skipHours, and a
live page that says its coverage ended."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aggregator.core.types import Document, PageSignals
from aggregator.parse.signals import feed_signals, live_signals

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def doc(body: str, content_type: str = "text/html; charset=utf-8") -> Document:
    return Document("https://news.example/live", body.encode(), content_type, NOW)


def test_a_channel_ttl_and_skip_hours() -> None:
    rss = (
        "<rss version='2.0'><channel><title>W</title><ttl>15</ttl>"
        "<skipHours><hour>0</hour><hour>1</hour><hour>24</hour></skipHours>"
        "<item><title>t</title><description>&lt;ttl&gt;1&lt;/ttl&gt; <ttl>1</ttl></description>"
        "</item></channel></rss>"
    )
    found = feed_signals(doc(rss, "application/rss+xml"))
    assert found == PageSignals(ttl=900.0, skip_hours=frozenset({0, 1}), title="W")


def test_a_feed_without_hints_has_none() -> None:
    assert feed_signals(doc("<rss><channel><item/></channel></rss>")) == PageSignals()


@pytest.mark.parametrize(
    ("page", "ended"),
    [
        (
            '<script type="application/ld+json">{"@type":"LiveBlogPosting",'
            '"coverageEndTime":"2026-11-22T08:00:00Z"}</script>',
            True,
        ),
        (
            '<script type="application/ld+json">{"@type":"LiveBlogPosting",'
            '"coverageEndTime":"2026-11-22T18:00:00+00:00"}</script>',
            False,
        ),
        ('<div itemprop="coverageEndTime" content="2026-11-21T20:00:00+01:00"></div>', True),
        ("<p>This live blog has now closed.</p>", True),
        ("<p>We&#8217;re ending our live coverage here.</p>", True),
        ("<p>We are now closing our live coverage. Thanks for joining us.</p>", True),
        ("<p>The live page will close at 6pm.</p>", False),
        ("<p>Our live coverage continues below.</p>", False),
    ],
)
def test_a_live_page_that_says_it_ended(page: str, ended: bool) -> None:
    assert live_signals(doc(f"<html><body>{page}</body></html>")).ended is ended
