"""Parse time on real-world feeds: the lxml fast path against feedparser.

    .venv/bin/python bench/real_feeds.py        # --runs 5 --corpus ../shared/corpus/feeds

Reads every file of the shared development corpus (`shared/corpus/feeds/` beside the
repository: third-party test fixtures, for evaluation only, see its SOURCES.md) as if
fetched from a web address, prints how many files the fast path takes and why it
declines the others, then times each file `--runs` times, interleaved, one thread:
`parse_feed` with the fast path (feedparser where it declines) and without it, and the
readers alone (FeedItems, before sanitising) on the files taken fast. Per file the
median run counts; the table sums those medians and gives the median per-file speed-up.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from aggregator.core.types import Document, ParseContext
from aggregator.parse.feeds.fastfeed import Declined, read_feed
from aggregator.parse.feeds.feed import _base, _read_with_feedparser, _response_headers, parse_feed

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "feeds"
CONTEXT = ParseContext(ZoneInfo("UTC"))
TYPES = {".rss": "application/rss+xml", ".atom": "application/atom+xml"}


def documents(folder: Path) -> list[Document]:
    now = datetime.now(UTC)
    return [
        Document(
            f"https://feeds.example.org/{p.name}",
            p.read_bytes(),
            TYPES.get(p.suffix, "application/xml"),
            now,
        )
        for p in sorted(folder.iterdir())
        if p.is_file()
    ]


def fast_items(doc: Document) -> object:
    return read_feed(doc.body, _response_headers(doc)["content-type"], _base(doc))


def declined_why(doc: Document) -> str | None:
    try:
        fast_items(doc)
    except Declined as e:
        return e.reason
    return None


def seconds(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def row(name: str, fast: dict[str, list[float]], slow: dict[str, list[float]]) -> str:
    f = {k: 1000 * statistics.median(v) for k, v in fast.items()}
    s = {k: 1000 * statistics.median(v) for k, v in slow.items()}
    ratio = statistics.median(s[k] / f[k] for k in f)
    return (
        f"| {name} | {len(f)} | {sum(f.values()):.1f} | {sum(s.values()):.1f} "
        f"| {statistics.median(f.values()):.2f} | {statistics.median(s.values()):.2f} "
        f"| {ratio:.1f}x |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()
    if not args.corpus.is_dir():
        raise SystemExit(f"no real-feed corpus at {args.corpus} (--corpus DIR)")
    docs = documents(args.corpus)
    why = {doc.location: declined_why(doc) for doc in docs}
    taken = [doc for doc in docs if why[doc.location] is None]
    reasons = Counter(r for r in why.values() if r is not None)
    print(f"{len(docs)} files: {len(taken)} taken fast, {len(docs) - len(taken)} declined")
    for reason, count in reasons.most_common():
        print(f"  {count:3d}  {reason[:90]}")
    times: dict[str, dict[str, list[float]]] = {
        k: {doc.location: [] for doc in docs} for k in ("fast", "slow")
    }
    reads: dict[str, dict[str, list[float]]] = {
        k: {doc.location: [] for doc in taken} for k in ("fast", "slow")
    }
    for _ in range(args.runs):
        for doc in docs:
            fast = functools.partial(parse_feed, doc, CONTEXT)
            times["fast"][doc.location].append(seconds(fast))
            times["slow"][doc.location].append(seconds(functools.partial(fast, fast=False)))
        for doc in taken:
            reads["fast"][doc.location].append(seconds(functools.partial(fast_items, doc)))
            slow = functools.partial(_read_with_feedparser, doc)
            reads["slow"][doc.location].append(seconds(slow))
    only = {k: {doc.location: v[doc.location] for doc in taken} for k, v in times.items()}
    print(f"\nmedians of {args.runs} runs, one thread, ms")
    print("| files | n | fast path total | feedparser total | fast median | fp median | speed-up |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(row("taken fast, reader alone", reads["fast"], reads["slow"]))
    print(row("taken fast, parse_feed", only["fast"], only["slow"]))
    print(row("all, parse_feed (fallback)", times["fast"], times["slow"]))


if __name__ == "__main__":
    main()
