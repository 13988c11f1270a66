"""Feeds parsed per second, one thread: the lxml fast path against feedparser.

    python bench/parse_rate.py                 # --feeds 500 --runs 5 --markup publisher

Parses `corpus.py`'s feeds (written to a temp dir; `--markup plain` for the corpus of
bare paragraphs) with `parse_feed` as the pipeline calls it, once with the fast path on
and once with it off (feedparser for every feed), and prints the median (min-max)
feeds/s of each and how many feeds the fast path declined. Both produce the same
Posts; tests/unit/test_parse_fastfeed.py checks that. bench/real_feeds.py does the same on
real-world feeds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from corpus import MARKUPS, write

from aggregator.core.types import Document, ParseContext
from aggregator.parse.feeds.feed import parse_feed, read_fast

CONTEXT = ParseContext(ZoneInfo("UTC"))


def documents(feeds: int, markup: str = "publisher") -> list[Document]:
    with tempfile.TemporaryDirectory() as tmp:
        paths = write(Path(tmp), feeds, markup=markup)
        now = datetime.now(UTC)
        return [
            Document(f"http://127.0.0.1:8080/{p.name}", p.read_bytes(), "text/xml", now)
            for p in paths
        ]


def rate(docs: list[Document], fast: bool) -> float:
    start = time.perf_counter()
    for doc in docs:
        parse_feed(doc, CONTEXT, fast=fast)
    return len(docs) / (time.perf_counter() - start)


def summary(rates: list[float]) -> str:
    return f"{statistics.median(rates):.1f} ({min(rates):.1f}-{max(rates):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--markup", choices=MARKUPS, default="publisher")
    args = parser.parse_args()
    docs = documents(args.feeds, args.markup)
    declined = sum(1 for doc in docs if read_fast(doc) is None)
    fast, slow = [], []
    for _ in range(args.runs):
        fast.append(rate(docs, fast=True))
        slow.append(rate(docs, fast=False))
    entries = sum(len(parse_feed(doc, CONTEXT)) for doc in docs)
    size = sum(len(doc.body) for doc in docs)
    print(f"{len(docs)} feeds ({args.markup} markup, {size:,} bytes), {entries} entries")
    print(f"{args.runs} runs, one thread")
    print(f"feedparser path: {summary(slow)} feeds/s")
    print(f"fast path:       {summary(fast)} feeds/s (declined {declined} of {len(docs)})")
    print(f"speed-up:        {statistics.median(fast) / statistics.median(slow):.1f}x")


if __name__ == "__main__":
    main()
