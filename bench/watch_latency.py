"""Watched-file latency: a post appended to a local live page, until its SSE event arrives.

    .venv/bin/python bench/watch_latency.py --edits 50

Starts the real service (run.py) on a temp config: one `liveblog` source whose `path`
is a temp Markdown live page, a temp SQLite store, a free port. The source's interval
is an hour, so only the file watcher can pick an edit up in time. An SSE client follows
`/stories/bench/events`; then, one at a time, a new post (a `##` heading, a dated line,
a paragraph) is appended to the page, flushed and fsynced, and the clock runs from the
file's close to the `new` event carrying that post's title. Prints p50, p95 and max.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from corpus import sentence
from serve import aggregator, free_port, write_config

EVENT_TIMEOUT = 10.0
START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
Arrival = tuple[float, str, str]  # (perf_counter at arrival, event type, title)


def post(n: int) -> str:
    """Post `n` in the form the liveblog splitter reads from Markdown: one post per `##`
    heading, a dated line under it, then the text."""
    rng = random.Random(n)
    when = START + timedelta(minutes=n)
    stamp = f"{when.day} {when:%B %Y} {when:%H:%M}"
    body = " ".join(sentence(rng) for _ in range(3))
    return f"\n## Bench post {n} {sentence(rng)[:60].rstrip()}\n\n{stamp}\n\n{body}\n"


def follow(url: str, arrivals: queue.Queue[Arrival]) -> None:
    """Read the SSE stream (WHATWG HTML §9.2): fields until a blank line, then dispatch."""
    kind, data = "message", ""
    try:
        with httpx.stream("GET", url, timeout=httpx.Timeout(30.0, read=None)) as response:
            for line in response.iter_lines():
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data += line[5:].strip()
                elif not line and data:
                    title = str(json.loads(data).get("title", ""))
                    arrivals.put((time.perf_counter(), kind, title))
                    kind, data = "message", ""
    except httpx.HTTPError:
        pass  # the service stopped; the measuring thread times out on its own


def append(page: Path, text: str) -> float:
    """Append `text`, fsync, close; the time of the close."""
    with page.open("a", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    return time.perf_counter()


def wait_for(arrivals: queue.Queue[Arrival], title: str, since: float) -> float | None:
    """Seconds from `since` to the `new` event titled `title`; None after EVENT_TIMEOUT."""
    deadline = time.monotonic() + EVENT_TIMEOUT
    while (left := deadline - time.monotonic()) > 0:
        try:
            arrived, kind, got = arrivals.get(timeout=left)
        except queue.Empty:
            return None
        if kind == "new" and got == title:
            return arrived - since
    return None


def measure(edits: int) -> dict[str, float]:
    """Run the whole measurement in a temp folder; the service stops before returning."""
    with tempfile.TemporaryDirectory(prefix="aggbench-watch-") as tmp:
        folder = Path(tmp)
        page, port = folder / "live.md", free_port()
        # Two posts to start with: the splitter reads a one-heading page as one article.
        page.write_text("# Bench live page\n" + post(0) + post(1), encoding="utf-8")
        source = {"name": "live", "kind": "liveblog", "path": str(page), "interval": "1h"}
        write_config(folder / "aggregator.toml", port, folder / "store.sqlite", [source])
        with aggregator(folder / "aggregator.toml", port, folder / "service.log") as base:
            arrivals: queue.Queue[Arrival] = queue.Queue()
            url = f"{base}/stories/bench/events"
            threading.Thread(target=follow, args=(url, arrivals), daemon=True).start()
            if wait_for(arrivals, title_of(1), time.perf_counter()) is None:
                raise RuntimeError("the first post never reached the event stream")
            seconds, missed = [], 0
            for n in range(2, edits + 2):
                took = wait_for(arrivals, title_of(n), append(page, post(n)))
                if took is None:
                    missed += 1
                else:
                    seconds.append(took)
    return summarise(seconds, missed)


def title_of(n: int) -> str:
    return post(n).split("\n")[1].removeprefix("## ")


def summarise(seconds: list[float], missed: int) -> dict[str, float]:
    if len(seconds) < 2:
        raise RuntimeError(f"only {len(seconds)} edits reached the stream ({missed} missed)")
    return {
        "edits": len(seconds) + missed,
        "missed": missed,
        "p50": statistics.median(seconds),
        "p95": statistics.quantiles(seconds, n=20, method="inclusive")[18],
        "max": max(seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=50)
    args = parser.parse_args()
    result = measure(args.edits)
    print(json.dumps(result), flush=True)
    sys.exit(1 if result["missed"] else 0)


if __name__ == "__main__":
    main()
