"""Would a second process pay for the CPU-bound part of a poll? Parse + normalize + sign,
one process against a pool of worker processes, on the bench corpus.

    python bench/cpu_split.py                  # --feeds 500 --runs 5 --processes 2

A poll's CPU work outside the store is: parse the fetched feed, give each post its key,
sign it (MinHash). This runs that work for every corpus feed, first in this process, then
spread over a `ProcessPoolExecutor` (documents pickled out, signed entries pickled back,
as a pool in the service would have to), and prints the median (min-max) feeds/s of each
and their ratio. The pool is started before timing (its start-up is paid once per
service). What the ratio means for a whole cycle depends on the share of the cycle this
work is (bench/README.md: about a third of a cold cycle; the store's writes stay in one
process on SQLite).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from parse_rate import documents, summary

from aggregator.core.types import Document, Entry, ParseContext
from aggregator.dedupe.normalize import normalize
from aggregator.dedupe.similarity import sign
from aggregator.parse.feeds.feed import parse_feed

CONTEXT = ParseContext(ZoneInfo("UTC"))
NOW = datetime(2026, 11, 30, tzinfo=UTC)


def signed_entries(doc: Document) -> list[Entry]:
    posts = parse_feed(doc, CONTEXT)
    return [sign(e) for e in normalize(posts, source=doc.location, now=NOW)]


def one_process(docs: Sequence[Document]) -> float:
    start = time.perf_counter()
    for doc in docs:
        signed_entries(doc)
    return len(docs) / (time.perf_counter() - start)


def pooled(pool: ProcessPoolExecutor, docs: Sequence[Document]) -> float:
    start = time.perf_counter()
    for _ in pool.map(signed_entries, docs, chunksize=4):
        pass
    return len(docs) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    docs = documents(args.feeds)
    alone, spread = [], []
    with ProcessPoolExecutor(args.processes) as pool:
        list(pool.map(signed_entries, docs[: args.processes * 4]))  # warm the workers
        for _ in range(args.runs):
            alone.append(one_process(docs))
            spread.append(pooled(pool, docs))
    ratio = statistics.median(spread) / statistics.median(alone)
    print(f"{args.feeds} feeds, parse + normalize + sign, feeds/s, median (min-max) of {args.runs}")
    print(f"  one process:           {summary(alone)}")
    print(f"  pool of {args.processes} processes:    {summary(spread)}  ({ratio:.2f}x)")


if __name__ == "__main__":
    main()
