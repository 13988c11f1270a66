"""EDGE: per-host politeness shared by every thread that fetches.

Whatever the sources' schedules say, at most `per_host` requests run against one host at
once, and each starts at least `gap` seconds after the previous one to that host.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit


class HostGate:
    def __init__(self, per_host: int = 2, gap: float = 0.0) -> None:
        if per_host < 1:
            raise ValueError("per_host must be at least 1")
        self.per_host = per_host
        self.gap = gap
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._next_start: dict[str, float] = {}

    @contextmanager
    def slot(self, url: str) -> Iterator[None]:
        """Hold one of the host's request slots for the duration of the block."""
        host = (urlsplit(url).hostname or "").lower()
        with self._lock:
            semaphore = self._slots.setdefault(host, threading.BoundedSemaphore(self.per_host))
        with semaphore:
            self._wait_for_gap(host)
            yield

    def _wait_for_gap(self, host: str) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start.get(host, now))
            self._next_start[host] = start + self.gap
        if start > now:
            time.sleep(start - now)
