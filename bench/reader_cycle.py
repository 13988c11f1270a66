"""One update cycle of lemon24/reader over the bench corpus; runs in reader's own venv.

    python bench/reader_cycle.py DB BASE_URL FEEDS    # prints seconds and new entries

The first call on a new DB adds the feeds (not timed) and times a cold update_feeds();
later calls on the same DB time a warm or tick update.
"""

from __future__ import annotations

import json
import resource
import sys
import time

from reader import make_reader


def main() -> None:
    db, base, feeds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    workers = int(sys.argv[4]) if len(sys.argv) > 4 else 16
    reader = make_reader(db)
    urls = [f"{base}/f{n:05d}.xml" for n in range(feeds)]
    known = {f.url for f in reader.get_feeds()}
    for url in urls:
        if url not in known:
            reader.add_feed(url)
    before = reader.get_entry_counts().total
    start = time.perf_counter()
    # scheduled=False: poll every feed now, as a cycle of ours does, not only those due.
    results = list(reader.update_feeds_iter(workers=workers, scheduled=False))
    seconds = time.perf_counter() - start
    errors = sum(1 for r in results if r.error is not None)
    after = reader.get_entry_counts().total
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps(
            {"seconds": seconds, "new": after - before, "errors": errors, "peak_bytes": peak}
        )
    )
    reader.close()


if __name__ == "__main__":
    main()
