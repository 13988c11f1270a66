"""The registry: source kind -> parser, and what the kind means for the pipeline.

Adding a kind is one parser module, its name in `Kind` and `KINDS` (core/types.py), and
one line in KINDS_BY_NAME. Apart from ingest/sources.py's fetchers, so that a parse
process imports the parsers and nothing of the network or the config.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aggregator.core.types import Document, Kind, ParseContext, Post
from aggregator.parse.article import parse_article
from aggregator.parse.feeds.feed import parse_feed
from aggregator.parse.live.liveblog import split_liveblog
from aggregator.parse.signals import (
    Signals,
    feed_signals,
    live_signals,
    no_signals,
    page_signals,
)

Parser = Callable[[Document, ParseContext], list[Post]]


@dataclass(frozen=True)
class KindInfo:
    parse: Parser
    # A feed carries everything its publisher writes; pages and articles are chosen by hand.
    filtered_by_keywords: bool
    # A page or article is read whole each time, so a post missing from it was taken
    # down or re-keyed by a correction; a feed is a sliding window, where a missing item
    # proves nothing and only items named by key need looking up.
    reads_whole_pages: bool
    # What a document says about when to poll again (RSS ttl, coverage ended...).
    signals: Signals = no_signals


KINDS_BY_NAME: dict[Kind, KindInfo] = {
    "feed": KindInfo(
        parse_feed, filtered_by_keywords=True, reads_whole_pages=False, signals=feed_signals
    ),
    "liveblog": KindInfo(
        split_liveblog, filtered_by_keywords=False, reads_whole_pages=True, signals=live_signals
    ),
    "article": KindInfo(
        parse_article, filtered_by_keywords=False, reads_whole_pages=True, signals=page_signals
    ),
}
