"""Tick-to-event latency: feeds gain posts; how long until the posts are on the SSE stream.

    .venv/bin/python bench/tick_latency.py --feeds 500 --interval 30

The real service (run.py, a temp config and SQLite store) follows `--feeds` corpus feeds
served by nginx, each polled every `--interval` seconds (interval = min = max, so the
schedule cannot drift). Once every feed has been fetched twice (the cycle is warm), a
tick adds two posts to every tenth feed. For each changed feed two clocks run to the
`new` SSE event of its newest post:

    fetch-to-event   from nginx's log line of the feed's first 200 after the tick: what the
                     service adds once the bytes are out (parse, dedupe, store, notify)
    change-to-event  from the tick itself: that, plus the wait until the feed is due
                     again (up to one interval, by design)

Prints p50, p95 and max of both as JSON. Everything runs on 127.0.0.1 and is bounded in
time: a feed whose event has not come within three intervals of the tick is missed.
"""

from __future__ import annotations

import argparse
import html
import json
import queue
import statistics
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from corpus import entries_of, write
from serve import aggregator, free_port, nginx, write_config
from watch_latency import Arrival, follow

WARM_TIMEOUT = 900.0


def served(log: Path) -> list[tuple[float, int, str]]:
    """nginx's log lines: (time served, status, feed file name)."""
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    found = []
    for line in lines:
        when, status, uri = line.split(" ", 2)
        found.append((float(when), int(status), uri.rsplit("/", 1)[-1]))
    return found


def wait_until_warm(log: Path, feeds: int) -> None:
    deadline = time.monotonic() + WARM_TIMEOUT
    while time.monotonic() < deadline:
        counts = Counter(name for _, _, name in served(log))
        if len(counts) == feeds and min(counts.values()) >= 2:
            return
        time.sleep(0.5)
    raise RuntimeError(f"not every feed was fetched twice within {WARM_TIMEOUT:.0f} s")


def newest_title(feed: int, markup: str) -> str:
    """The title the service shows for the post a tick puts on top of `feed`."""
    newest = entries_of(feed, 2, markup)[0]
    # The corpus cuts titles at 90 characters, sometimes after a space; titles are shown
    # with their spaces collapsed and trimmed.
    return " ".join(html.unescape(str(newest.get("xml_title", newest["title"]))).split())


def measure(feeds: int, interval: int, markup: str = "plain") -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="aggbench-tick-") as tmp:
        folder = Path(tmp)
        corpus, log = folder / "corpus", folder / "access.log"
        write(corpus, feeds, markup=markup)
        with nginx(corpus, log=log) as base_url:
            port = free_port()
            every = f"{interval}s"
            sources = [
                {
                    "name": f"f{n:05d}",
                    "kind": "feed",
                    "url": f"{base_url}/f{n:05d}.xml",
                    "interval": every,
                    "min_interval": every,
                    "max_interval": every,
                }
                for n in range(feeds)
            ]
            config = folder / "aggregator.toml"
            write_config(config, port, folder / "store.sqlite", sources)
            with aggregator(config, port, folder / "service.log") as base:
                arrivals: queue.Queue[Arrival] = queue.Queue()
                url = f"{base}/stories/bench/events"
                threading.Thread(target=follow, args=(url, arrivals), daemon=True).start()
                wait_until_warm(log, feeds)
                wall = time.time() - time.perf_counter()  # follow() stamps perf_counter
                changed = {newest_title(n, markup): f"f{n:05d}.xml" for n in range(0, feeds, 10)}
                ticked = time.time()
                write(corpus, feeds, tick=1, markup=markup)
                seen = _events_for(changed, arrivals, ticked + 3 * interval, wall)
                fetched = _first_200s(served(log), ticked)
    return summarise(changed, seen, fetched, ticked, feeds, interval)


def _events_for(
    changed: dict[str, str], arrivals: queue.Queue[Arrival], until: float, wall: float
) -> dict[str, float]:
    """Wall-clock arrival of the `new` event of each changed feed's newest post."""
    seen: dict[str, float] = {}
    while len(seen) < len(changed) and (left := until - time.time()) > 0:
        try:
            arrived, kind, title = arrivals.get(timeout=left)
        except queue.Empty:
            break
        if kind == "new" and title in changed:
            seen.setdefault(changed[title], arrived + wall)
    return seen


def _first_200s(lines: list[tuple[float, int, str]], since: float) -> dict[str, float]:
    first: dict[str, float] = {}
    for when, status, name in lines:
        if status == 200 and when >= since:
            first.setdefault(name, when)
    return first


def summarise(
    changed: dict[str, str],
    seen: dict[str, float],
    fetched: dict[str, float],
    ticked: float,
    feeds: int,
    interval: int,
) -> dict[str, Any]:
    names = [n for n in changed.values() if n in seen and n in fetched]
    if len(names) < 2:
        raise RuntimeError(f"only {len(names)} of {len(changed)} changed feeds reached the stream")
    to_event = [seen[n] - fetched[n] for n in names]
    from_change = [seen[n] - ticked for n in names]
    result: dict[str, Any] = {
        "feeds": feeds,
        "interval": interval,
        "changed": len(changed),
        "missed": len(changed) - len(names),
    }
    for label, values in (("fetch", to_event), ("change", from_change)):
        result[f"{label}_p50"] = statistics.median(values)
        result[f"{label}_p95"] = statistics.quantiles(values, n=20, method="inclusive")[18]
        result[f"{label}_max"] = max(values)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--interval", type=int, default=30, help="seconds, at least 5")
    parser.add_argument("--markup", choices=("plain", "publisher"), default="plain")
    args = parser.parse_args()
    print(json.dumps(measure(args.feeds, args.interval, args.markup)), flush=True)


if __name__ == "__main__":
    main()
