"""EDGE: "story changed" signals between processes, over PostgreSQL LISTEN/NOTIFY.

    writer:  Store.apply ... announce(c, story) ... COMMIT   -> NOTIFY aggregator_events
    web:     Listener (one LISTEN connection per process)    -> on_change(story)
             on_change: StoryChanges.changed, waking the event streams (web/changes.py)

The store stays the source of truth: a notification only says "read again", so one that
is lost (listener reconnecting, a process started late) delays an event by at most the
stream's fallback re-read, and never loses it. PostgreSQL delivers a NOTIFY issued in a
transaction only when it commits, and folds identical ones of a transaction into one.
On SQLite there is one process, and the worker's on_change callback feeds the web side.
"""

from __future__ import annotations

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
