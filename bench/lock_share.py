"""How much of a cycle runs inside the story lock: one poll at a time per story.

    python bench/lock_share.py DB_URL BASE_URL FEEDS [ours_cycle.py's options]

Runs ours_cycle.py's cycle (16 polling threads, 2 parse processes) with the store's
`deciding(story)` timed from the moment the lock is held to its release, and prints the
cycle's seconds beside the seconds summed inside the lock. Every bench feed is in one
story, so when the two are close, the cycle is as long as its polls' known_for, decide
and apply one after another, whatever runs beside them. `in_lock_ms` splits a changed
poll's time in the lock (wall time, so threads waiting for the GIL count): known_for
with its band look-up (`candidates`) and the index catching up (`current`), apply with
its inserts of new entries and their copies (`_insert_new`).
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import ours_cycle

from aggregator.store import bands, clusters, writes
from aggregator.store.polls import PollWrites

_held = {"seconds": 0.0, "polls": 0}
_guard = threading.Lock()
_deciding = PollWrites.deciding


def _timed_deciding(self: PollWrites, story: str) -> AbstractContextManager[None]:
    @contextmanager
    def timed() -> Iterator[None]:
        with _deciding(self, story):
            start = time.perf_counter()
            try:
                yield
            finally:
                with _guard:
                    _held["seconds"] += time.perf_counter() - start
                    _held["polls"] += 1

    return timed()


_parts: dict[str, float] = {}


def _timed(owner: object, name: str) -> None:
    call = getattr(owner, name)

    def timed(*args: object, **kwargs: object) -> object:
        start = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            with _guard:
                _parts[name] = _parts.get(name, 0.0) + time.perf_counter() - start

    setattr(owner, name, timed)


def main() -> None:
    PollWrites.deciding = _timed_deciding  # type: ignore[method-assign]
    for owner, name in (
        (PollWrites, "known_for"),
        (clusters, "candidates"),
        (bands.StoryBands, "current"),
        (PollWrites, "apply"),
        (writes, "_insert_new"),
    ):
        _timed(owner, name)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        ours_cycle.main()
    cycle = json.loads(printed.getvalue().strip().splitlines()[-1])
    result = {
        "cycle_seconds": round(cycle["seconds"], 2),
        "in_story_lock_seconds": round(_held["seconds"], 2),
        "polls_in_lock": _held["polls"],
        "in_lock_ms": {
            name: round(seconds * 1000 / max(_held["polls"], 1), 2)
            for name, seconds in _parts.items()
        },
        "new": cycle["new"],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
