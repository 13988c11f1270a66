"""`aggregator poll --once` over the bench corpus, timed as a user times it.

    python bench/once_cycle.py DB_PATH BASE_URL FEEDS

Writes a config that follows the corpus's FEEDS feeds in one story, runs the command in a
process of its own and prints, as JSON, its wall seconds (start-up, imports and the
summary table included: what `time aggregator poll --once` shows), the entries it added
and whether it failed. Every bench feed is on 127.0.0.1, so the config gives that host
the command's POLL_THREADS polls at once, as a user following one big site would; the
worker cycle (ours_cycle.py) runs 16. Run it again on the same database for a warm cycle.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from serve import write_config

from aggregator.ingest.worker import POLL_THREADS

TIMEOUT = 3600.0


def entries_in(database: Path) -> int:
    if not database.exists():
        return 0
    with sqlite3.connect(database) as db:
        return int(db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])


def main() -> None:
    database, base, feeds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    config = database.with_suffix(".toml")
    sources = [
        {"name": f"f{n:05d}", "kind": "feed", "url": f"{base}/f{n:05d}.xml"} for n in range(feeds)
    ]
    write_config(config, 8080, database, sources)  # the port is not opened by `poll`
    host = f'\n[[hosts]]\nname = "127.0.0.1"\nper_host = {POLL_THREADS}\n'
    config.write_text(config.read_text(encoding="utf-8") + host, encoding="utf-8")
    before = entries_in(database)
    command = [sys.executable, "-m", "aggregator", "--config", str(config), "poll", "--once"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)
    seconds = time.perf_counter() - start
    failed = done.returncode != 0
    if failed:
        print(done.stderr[-2000:], file=sys.stderr)
    result = {"seconds": seconds, "new": entries_in(database) - before, "errors": int(failed)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
