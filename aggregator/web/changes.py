"""The web side's "story changed" signal, per process, for its event streams.

    feeders:  the worker of this process (on_change), the PostgreSQL Listener
              (store/notify.py) for writes of other processes  -> changes.changed(story)
    stream:   token = changes.token(story); read the store; await changes.wait(token, s)

A signal only says "read again": the store stays the source of truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class StoryChanges:
    """A per-process "story changed" signal for the event streams of one event loop.

    `changed` may be called from any thread; waiters live on the loop that took their
    token. Take the token before reading the store, so that a change committed between
    the read and the wait still wakes the waiter.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._events: dict[str, asyncio.Event] = {}
        self._lock = threading.Lock()
        self._counts: dict[str | None, int] = {}

    def generation(self, story: str) -> tuple[int, int]:
        """Moves on with every signal for `story` (or for every story): a reader that
        saw the same generation before and after its read saw no signal in between."""
        with self._lock:
            return self._counts.get(story, 0), self._counts.get(None, 0)

    def token(self, story: str) -> asyncio.Event:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._loop is not loop:
                self._loop, self._events = loop, {}
            return self._events.setdefault(story, asyncio.Event())

    def changed(self, story: str | None) -> None:
        """Wake the waiters of `story`, or of every story when it is None."""
        with self._lock:
            self._counts[story] = self._counts.get(story, 0) + 1
            loop = self._loop
        # A loop closed in between has nobody waiting on it.
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake, story)

    @staticmethod
    async def wait(token: asyncio.Event, timeout: float) -> bool:
        """True when woken, False when `timeout` seconds passed first."""
        try:
            await asyncio.wait_for(token.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def _wake(self, story: str | None) -> None:
        with self._lock:
            names = list(self._events) if story is None else [story]
            woken = [e for e in (self._events.pop(n, None) for n in names) if e is not None]
        for event in woken:
            event.set()
