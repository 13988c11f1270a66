"""Near-duplicate clustering at scale: does adding an entry cost the same with 1k, 10k and
100k entries stored?

    .venv/bin/python bench/dedupe.py [--entries 100000] [--batch 100] [--db sqlite:///...]

Ingests synthetic entries (60-90 words drawn from a 5,000-word vocabulary; one in ten is
a near copy of an earlier entry from another source: new headline, byline, one word
changed) through the real path, in polls of `--batch` entries:

    sign (PURE) | store.known_for (EDGE) | decide (PURE) | store.apply (EDGE)

and prints, at 1k, 10k and 100k entries stored, the median per-entry cost over the polls
just before that point, split into the pure part (sign + decide) and the store part
(known_for + apply), plus overall entries/s and peak memory (max RSS).
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator.dedupe import decide
from aggregator.normalize import normalize
from aggregator.similarity import sign
from aggregator.store import open_store
from aggregator.types import FetchState, Post, SourceSpec

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
CHECKPOINTS = (1_000, 10_000, 100_000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--db", help="database URL (default: SQLite in a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        run(url, args.entries, args.batch)


def run(url: str, total: int, batch_size: int) -> None:
    store = open_store(url)
    rng = random.Random(4)
    vocab = [f"w{i}" for i in range(5000)]
    specs = [SourceSpec(f"s{i}", "bench", "feed", None, "/x", 60, "UTC") for i in range(5)]
    store.sync_sources(specs)
    texts: list[str] = []
    samples: list[tuple[int, float, float]] = []  # (stored after, pure s/entry, store s/entry)
    dups = 0
    started = time.perf_counter()
    for start in range(0, total, batch_size):
        spec = specs[(start // batch_size) % len(specs)]
        now = T0 + timedelta(seconds=start)
        posts = [_post(rng, vocab, texts, start + i, now) for i in range(batch_size)]
        t0 = time.perf_counter()
        entries = [sign(e) for e in normalize(posts, source=spec.name, now=now)]
        t1 = time.perf_counter()
        known = store.known_for(spec, entries)
        t2 = time.perf_counter()
        decisions = decide(entries, known, now=now)
        t3 = time.perf_counter()
        report = store.apply(spec, decisions, FetchState(), now)
        t4 = time.perf_counter()
        dups += report.duplicates
        n = len(posts)
        samples.append((start + n, ((t1 - t0) + (t3 - t2)) / n, ((t2 - t1) + (t4 - t3)) / n))
    elapsed = time.perf_counter() - started
    _report(samples, total, elapsed, dups)
    store.engine.dispose()


def _post(rng: random.Random, vocab: list[str], texts: list[str], n: int, now: datetime) -> Post:
    if texts and rng.random() < 0.1:
        # A near copy of a recent entry: byline, new headline, one word changed.
        words = rng.choice(texts[-2000:]).split()
        words[rng.randrange(len(words))] = rng.choice(vocab)
        text = "By Staff Reporter " + " ".join(words)
    else:
        text = " ".join(rng.choices(vocab, k=rng.randint(60, 90)))
        texts.append(text)
    title = " ".join(rng.choices(vocab, k=6))
    return Post(title, text, "", n, "/x", "bench", guid=f"g{n}", published=now, time_source="feed")


def _report(samples: list[tuple[int, float, float]], total: int, elapsed: float, dups: int) -> None:
    print(f"entries: {total}, near/exact duplicates merged: {dups}")
    print(f"total: {elapsed:.1f} s, {total / elapsed:.0f} entries/s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {peak:.0f} MiB")
    print()
    print("| stored entries | polls measured | pure ms/entry (median) | store ms/entry (median) |")
    print("|---:|---:|---:|---:|")
    for point in CHECKPOINTS:
        if point > total:
            continue
        window = [s for s in samples if point * 0.9 < s[0] <= point] or samples[-1:]
        pure = statistics.median(s[1] for s in window) * 1000
        stored = statistics.median(s[2] for s in window) * 1000
        print(f"| {point:,} | {len(window)} | {pure:.3f} | {stored:.3f} |")


if __name__ == "__main__":
    main()
