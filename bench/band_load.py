"""What a poller's in-memory band index costs: the time to load a story's index when a
process starts, and the memory it then holds.

    .venv/bin/python bench/band_load.py --feeds 500 --markup plain

Fills a fresh SQLite store with one cold cycle of `corpus.py`'s feeds (ours_cycle.py,
served by nginx), then, in this process, loads the story's band index the way a poller's
first look-up does (`StoryBands.current`), `--runs` times into fresh indexes, and prints
JSON: the copies and postings indexed, the median load seconds, the bytes the postings
take, and how much this process's resident and peak memory grew over the first load.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from corpus import write
from serve import nginx
from sqlalchemy import func, select

from aggregator.store import open_store
from aggregator.store.bands import StoryBands
from aggregator.store.schema import entry_items

HERE = Path(__file__).resolve().parent


def resident_kib() -> int:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--markup", choices=("plain", "publisher"), default="plain")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aggbench-bands-") as tmp:
        folder = Path(tmp)
        write(folder / "corpus", args.feeds, markup=args.markup)
        url = f"sqlite:///{folder / 'store.sqlite'}"
        with nginx(folder / "corpus") as base:
            cycle = [sys.executable, str(HERE / "ours_cycle.py"), url, base, str(args.feeds)]
            subprocess.run(cycle, check=True, capture_output=True)
        store = open_store(url)
        with store.connections.reading() as c:
            copies = c.execute(
                select(func.count()).where(entry_items.c.bands.is_not(None))
            ).scalar_one()
            resident, peak = resident_kib(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            seconds = []
            for _ in range(args.runs):
                bands = StoryBands()
                start = time.perf_counter()
                index = bands.current(c, "bench")
                seconds.append(time.perf_counter() - start)
                if len(seconds) == 1:
                    grew = resident_kib() - resident
                    peak_grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak
        store.engine.dispose()
    print(
        json.dumps(
            {
                "feeds": args.feeds,
                "markup": args.markup,
                "copies": copies,
                "postings": len(index),
                "postings_bytes": index.nbytes,
                "load_seconds_median": round(statistics.median(seconds), 3),
                "load_seconds": [round(s, 3) for s in seconds],
                "resident_grew_kib": grew,
                "peak_grew_kib": peak_grew,
            }
        )
    )


if __name__ == "__main__":
    main()
