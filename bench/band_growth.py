"""What a poll's work on the in-memory band index costs as the index grows.

    .venv/bin/python bench/band_growth.py --polls 5000

Posts `--polls` batches of 35 new copies (42 random band keys each, on one to three
days, as a cold cycle of the bench corpus does) into one BandIndex, each batch looked
up first as a poll's `known_for` does, and prints JSON: for each tenth of the run, the
median milliseconds of a look-up and of a put, and the postings held by then. A put
that copies a run which grows with the index shows as a put time that grows too.
Pure numpy in this process: no store, no network.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from aggregator.dedupe.band_index import BandIndex
from aggregator.dedupe.similarity import BANDS

COPIES_PER_POLL = 35


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    draw = np.random.default_rng(args.seed)
    index = BandIndex()
    tenth = max(1, args.polls // 10)
    rows, finds, puts = [], [], []
    for poll in range(args.polls):
        first_id = poll * COPIES_PER_POLL + 1
        ids = list(range(first_id, first_id + COPIES_PER_POLL))
        keys = draw.integers(-(2**63), 2**63 - 1, (COPIES_PER_POLL, BANDS), np.int64)
        day = 20_000 + poll // 500
        days = [range(day - int(w) + 1, day + 1) for w in draw.integers(1, 4, COPIES_PER_POLL)]
        query_keys = np.repeat(keys.ravel(), 3)
        query_days = np.tile(np.arange(day - 1, day + 2), keys.size)
        start = time.perf_counter()
        index.find_pairs(query_keys, query_days)
        finds.append(time.perf_counter() - start)
        start = time.perf_counter()
        index.put_many(ids, keys.view(np.uint64), days)
        puts.append(time.perf_counter() - start)
        if (poll + 1) % tenth == 0:
            rows.append(
                {
                    "polls": poll + 1,
                    "postings": len(index),
                    "find_ms": round(statistics.median(finds) * 1000, 3),
                    "put_ms": round(statistics.median(puts) * 1000, 3),
                    "put_mean_ms": round(statistics.mean(puts) * 1000, 3),
                }
            )
            finds, puts = [], []
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
