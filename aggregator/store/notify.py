"""EDGE: "story changed" signals between processes, over PostgreSQL LISTEN/NOTIFY.

    writer:  Store.apply ... announce(c, story) ... COMMIT   -> NOTIFY aggregator_events
    web:     Listener (one LISTEN connection per process)    -> StoryChanges.changed(story)
    stream:  token = changes.token(story); read the store; await changes.wait(token, s)

The store stays the source of truth: a notification only says "read again", so one that
is lost (listener reconnecting, a process started late) delays an event by at most the
stream's fallback re-read, and never loses it. PostgreSQL delivers a NOTIFY issued in a
transaction only when it commits, and folds identical ones of a transaction into one.
On SQLite there is one process, and the worker's on_change callback feeds StoryChanges.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import Connection, func, make_url, select

CHANNEL = "aggregator_events"
RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)
# How long one wait for notifications lasts before the stop flag is checked again.
_LISTEN_SLICE_SECONDS = 1.0

log = logging.getLogger("aggregator.notify")


def announce(connection: Connection, story: str) -> None:
    """Tell every listening process that `story` changed, once this transaction commits."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_notify(CHANNEL, story)))


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


class Listener:
    """One LISTEN connection (autocommit) in a daemon thread, reconnecting on failure.

    After every (re)connect it reports "every story changed", since notifications sent
    while it was away are gone.
    """

    def __init__(self, database_url: str, on_change: Callable[[str | None], None]) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)
        self._on_change = on_change
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="aggregator-listen", daemon=True)
        self.listening = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=_LISTEN_SLICE_SECONDS * 3)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._listen()
                failures = 0
            except psycopg.Error as e:
                self.listening = False
                delay = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
                failures += 1
                log.warning("listener lost", extra={"reason": str(e).strip(), "retry_in": delay})
                self._stop.wait(delay)

    def _listen(self) -> None:
        with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self.listening = True
            log.info("listening", extra={"channel": CHANNEL})
            self._on_change(None)
            while not self._stop.is_set():
                for note in conn.notifies(timeout=_LISTEN_SLICE_SECONDS):
                    self._on_change(note.payload)
        self.listening = False


def listener_for(database_url: str, on_change: Callable[[str | None], None]) -> Listener | None:
    """A Listener on PostgreSQL; None on SQLite, where one process does all the writing."""
    if make_url(database_url).get_backend_name() != "postgresql":
        return None
    return Listener(database_url, on_change)
