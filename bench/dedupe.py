"""Near-duplicate clustering at scale: does adding an entry cost the same with 1k, 10k and
100k entries stored?

    .venv/bin/python bench/dedupe.py [--entries 100000] [--days 14] [--batch 100] [--db URL]

Ingests synthetic entries (60-90 words drawn from a 5,000-word vocabulary; one in ten is
a near copy of one of the last 1,000 entries, from another source: new headline, byline,
one word changed) through the real path, in polls of `--batch` entries published at an
even pace over `--days` days (a breaking story followed for two weeks):

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

from sqlalchemy import Engine, text

from aggregator.core.types import FetchState, Post, SourceSpec
from aggregator.dedupe.decide import decide
from aggregator.dedupe.normalize import normalize
from aggregator.dedupe.similarity import sign
from aggregator.store import open_store

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
CHECKPOINTS = (1_000, 10_000, 100_000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--days", type=float, default=14.0, help="time the entries span")
    parser.add_argument("--db", help="database URL (default: SQLite in a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        run(url, args.entries, args.batch, timedelta(days=args.days))


def run(url: str, total: int, batch_size: int, span: timedelta) -> None:
    store = open_store(url)
    analyze = _autovacuum_is_off(store.engine)
    next_analyze = 1_000
    rng = random.Random(4)
    vocab = [_word(i) for i in range(5000)]
    specs = [SourceSpec(f"s{i}", "bench", "feed", None, "/x", 60, "UTC") for i in range(5)]
    store.sync_sources(specs)
    texts: list[str] = []
    samples: list[tuple[int, float, float]] = []  # (stored after, pure s/entry, store s/entry)
    dups = 0
    started = time.perf_counter()
    for start in range(0, total, batch_size):
        spec = specs[(start // batch_size) % len(specs)]
        now = T0 + span * (start / total)
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
        if analyze and start + n >= next_analyze:
            with store.engine.begin() as c:
                c.execute(text("ANALYZE"))
            next_analyze = int((start + n) * 1.1)
    elapsed = time.perf_counter() - started
    _report(samples, total, elapsed, dups, span)
    store.engine.dispose()


def _autovacuum_is_off(engine: Engine) -> bool:
    """A PostgreSQL server run with autovacuum off (as CI's is) never gathers the table
    statistics its planner needs to use the band index; then the benchmark runs ANALYZE
    each time the store has grown by 10 %, as autovacuum's defaults would, and says so."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as c:
        off = c.execute(text("SHOW autovacuum")).scalar() == "off"
    if off:
        print("autovacuum is off on this server: ANALYZE after each 10 % of growth")
    return off


def _word(n: int) -> str:
    """The n-th word of the vocabulary, letters only: a word with digits in it reads as
    a figure (dedupe/facts.py), and a copy with one figure changed is not merged."""
    letters = ""
    while True:
        n, digit = divmod(n, 26)
        letters += "abcdefghijklmnopqrstuvwxyz"[digit]
        if not n:
            return "w" + letters


def _post(rng: random.Random, vocab: list[str], texts: list[str], n: int, now: datetime) -> Post:
    if texts and rng.random() < 0.1:
        # A near copy of a recent entry: byline, new headline, one word changed.
        words = rng.choice(texts[-1000:]).split()
        words[rng.randrange(len(words))] = rng.choice(vocab)
        text = "By Staff Reporter " + " ".join(words)
    else:
        text = " ".join(rng.choices(vocab, k=rng.randint(60, 90)))
        texts.append(text)
    title = " ".join(rng.choices(vocab, k=6))
    return Post(title, text, "", n, "/x", "bench", guid=f"g{n}", published=now, time_source="feed")


def _report(
    samples: list[tuple[int, float, float]], total: int, elapsed: float, dups: int, span: timedelta
) -> None:
    print(f"entries: {total} over {span.total_seconds() / 86400:g} days, duplicates merged: {dups}")
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
