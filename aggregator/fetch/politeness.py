"""EDGE: per-host politeness shared by every thread that fetches.

Whatever the sources' schedules say, at most `per_host` requests run against one host at
once, and each starts at least `gap` seconds after the previous one to that host. A host
that answered 429/503 with Retry-After is held: until then no source on it is fetched
(`HostHeld` is raised at once instead, with the time to come back).

HostGate keeps these limits among one process's threads. Several worker processes on
one PostgreSQL share them through a `SharedHosts` gate (aggregator.store.hosts), which
Fetchers uses in addition to its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

from aggregator.core.errors import FetchError
from aggregator.fetch.limits import HostRule


class HostHeld(FetchError):
    """The source's host asked every client to wait (Retry-After); nothing was sent.
    Not the source's fault: its schedule moves to `until`, its error count stays."""

    def __init__(
        self, source: str, host: str, until: datetime, now: datetime, reason: str | None = None
    ) -> None:
        wait = max((until - now).total_seconds(), 0.0)
        reason = reason or f"host {host} asked us to wait until {until:%Y-%m-%dT%H:%M:%SZ}"
        super().__init__(source, reason, retry_after=wait)
        self.until = until


class HostBusy(HostHeld):
    """Every one of the host's request slots stayed taken by other workers for as long
    as the poll could wait; nothing was sent. Retried at `until`, no error counted."""

    def __init__(self, source: str, host: str, until: datetime, now: datetime) -> None:
        reason = f"host {host} had no free request slot across workers; retrying soon"
        super().__init__(source, host, until, now, reason)


class SharedHosts(Protocol):
    """Politeness shared by every process: slots, the gap and Retry-After holds."""

    def slot(
        self, source: str, url: str, now: datetime, rule: HostRule | None = None
    ) -> AbstractContextManager[None]:
        """Hold one of the host's slots across processes, `rule` saying how many there
        are and the gap (the gate's own defaults without one); raise HostBusy if none
        frees."""
        ...

    def check(self, source: str, url: str, now: datetime) -> None:
        """Raise HostHeld when any process was asked to wait past `now`."""
        ...

    def hold(self, url: str, until: datetime) -> None:
        """Tell every process to fetch nothing from the URL's host before `until`."""
        ...


class HostGate:
    """`rules` gives each host its limits, read at every request, so a reloaded config
    applies to the next one (requests already running keep the slots they hold)."""

    def __init__(
        self,
        per_host: int = 2,
        gap: float = 0.0,
        rules: Callable[[str], HostRule] | None = None,
    ) -> None:
        if per_host < 1:
            raise ValueError("per_host must be at least 1")
        self.rules = rules or (lambda _host: HostRule(per_host, gap))
        self._lock = threading.Lock()
        self._slots: dict[tuple[str, int], threading.BoundedSemaphore] = {}
        self._next_start: dict[str, float] = {}
        self._held: dict[str, datetime] = {}

    @contextmanager
    def slot(self, url: str) -> Iterator[None]:
        """Hold one of the host's request slots for the duration of the block."""
        host = host_of(url)
        rule = self.rules(host)
        with self._lock:
            semaphore = self._slots.setdefault(
                (host, rule.per_host), threading.BoundedSemaphore(rule.per_host)
            )
        with semaphore:
            self._wait_for_gap(host, rule.host_gap)
            yield

    def hold(self, url: str, until: datetime) -> None:
        """Fetch nothing from the URL's host before `until` (a Retry-After it sent)."""
        host = host_of(url)
        with self._lock:
            self._held[host] = max(until, self._held.get(host, until))

    def check(self, source: str, url: str, now: datetime) -> None:
        """Raise HostHeld when the URL's host asked us to wait past `now`."""
        host = host_of(url)
        with self._lock:
            until = self._held.get(host)
            if until is not None and until <= now:
                del self._held[host]
        if until is not None and until > now:
            raise HostHeld(source, host, until, now)

    def _wait_for_gap(self, host: str, gap: float) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start.get(host, now))
            self._next_start[host] = start + gap
        if start > now:
            time.sleep(start - now)


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
