"""EDGE: per-host politeness across every worker process on one PostgreSQL database.

HostGate (aggregator.fetch.politeness) keeps the limits among one process's threads;
this gate keeps them among processes, with the database as the only shared state:

    slot    one of `per_host` session advisory locks on (hash of the host, slot number),
            taken with pg_try_advisory_lock on a connection of its own and held while
            the request runs; a worker that dies loses its session, and the lock with it
    turn    host_turns.next_start, moved on by `gap` in one atomic upsert, so requests
            to a host start `gap` apart whichever worker sends them; the database's
            clock is the only one read, so workers' clocks need not agree
    held    host_turns.held_until: a Retry-After one worker met holds all of them

A slot that does not free within `wait` seconds raises HostBusy: the poll moves a little
later and counts no error. Advisory locks with two int4 keys never meet the one-bigint
keys that serialise migrations and sync_sources (the two key spaces do not overlap).
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from aggregator.core.errors import StoreError
from aggregator.fetch.limits import HostRule
from aggregator.fetch.politeness import HostBusy, HostHeld, host_of
from aggregator.store.failures import db_reason

log = logging.getLogger("aggregator.store.hosts")
# How often a waiting poll tries the host's slots again (with jitter, so the waiters of
# several processes do not try in lockstep), and how soon a poll that found none retries.
SLOT_RETRY_SECONDS = 0.02
BUSY_RETRY_SECONDS = 5.0

_TRY = text("SELECT pg_try_advisory_lock(:host, :slot)")
_UNLOCK = text("SELECT pg_advisory_unlock(:host, :slot)")
_NOW = "(clock_timestamp() AT TIME ZONE 'UTC')"
_GAP = "make_interval(secs => CAST(:gap AS double precision))"
_TURN = text(
    f"INSERT INTO host_turns (host, next_start) VALUES (:host, {_NOW} + {_GAP}) "
    "ON CONFLICT (host) DO UPDATE "
    f"SET next_start = GREATEST(host_turns.next_start, {_NOW}) + {_GAP} "
    f"RETURNING EXTRACT(EPOCH FROM host_turns.next_start - {_GAP} - {_NOW})"
)
_HOLD = text(
    f"INSERT INTO host_turns (host, next_start, held_until) VALUES (:host, {_NOW}, :until) "
    "ON CONFLICT (host) DO UPDATE "
    "SET held_until = GREATEST(COALESCE(host_turns.held_until, :until), :until)"
)
_HELD = text("SELECT held_until FROM host_turns WHERE host = :host")


class PostgresHosts:
    """A SharedHosts gate on PostgreSQL; `wait` bounds how long a poll waits for a slot."""

    def __init__(self, engine: Engine, per_host: int, gap: float, wait: float) -> None:
        if per_host < 1:
            raise ValueError("per_host must be at least 1")
        self.engine = engine
        self.per_host = per_host
        self.gap = gap
        self.wait = wait

    @contextmanager
    def slot(
        self, source: str, url: str, now: datetime, rule: HostRule | None = None
    ) -> Iterator[None]:
        """Hold one of the host's slots (and wait for its turn) for the block. `rule`:
        the host's share and gap as this process's config says (every process reads
        the same file); the gate's own defaults without one."""
        host = host_of(url)
        key = host_key(host)
        per_host, gap = (rule.per_host, rule.host_gap) if rule else (self.per_host, self.gap)
        with self._session() as c:
            number = self._acquire(c, key, source, host, now, per_host)
            try:
                if gap > 0:
                    self._wait_for_turn(c, host, gap)
                yield
            finally:
                _release(c, key, number)

    def check(self, source: str, url: str, now: datetime) -> None:
        host = host_of(url)
        with self._session() as c:
            until = _held_until(c, host)
        if until is not None and until > now:
            raise HostHeld(source, host, until, now)

    def hold(self, url: str, until: datetime) -> None:
        naive_utc = until.astimezone(UTC).replace(tzinfo=None)  # as UTCDateTime stores it
        with self._session() as c:
            c.execute(_HOLD, {"host": host_of(url), "until": naive_utc})

    def _acquire(
        self, c: Connection, key: int, source: str, host: str, now: datetime, per_host: int
    ) -> int:
        deadline = time.monotonic() + self.wait
        first = random.randrange(per_host)  # spread the holders over the slots
        while True:
            for offset in range(per_host):
                number = (first + offset) % per_host
                if c.execute(_TRY, {"host": key, "slot": number}).scalar():
                    return number
            if time.monotonic() >= deadline:
                log.info("no free slot for host", extra={"source": source, "host": host})
                raise HostBusy(source, host, now + timedelta(seconds=BUSY_RETRY_SECONDS), now)
            time.sleep(SLOT_RETRY_SECONDS * (0.5 + random.random()))

    def _wait_for_turn(self, c: Connection, host: str, gap: float) -> None:
        wait = float(c.execute(_TURN, {"host": host, "gap": gap}).scalar() or 0.0)
        if wait > 0:
            time.sleep(wait)

    @contextmanager
    def _session(self) -> Iterator[Connection]:
        """A pooled connection in autocommit: advisory locks are the session's, and no
        transaction stays open while a request runs."""
        try:
            with self.engine.connect() as c:
                yield c.execution_options(isolation_level="AUTOCOMMIT")
        except SQLAlchemyError as e:
            raise StoreError(f"host politeness: {db_reason(e)}") from e


def host_key(host: str) -> int:
    """A stable signed 32-bit key for the host (Python's hash() differs per process)."""
    digest = hashlib.blake2b(host.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def _release(c: Connection, key: int, number: int) -> None:
    try:
        c.execute(_UNLOCK, {"host": key, "slot": number})
    except SQLAlchemyError:
        # The session must not go back to the pool still holding the lock: closing it
        # ends the session, which releases every advisory lock it held.
        c.invalidate()
        raise


def _held_until(c: Connection, host: str) -> datetime | None:
    value = c.execute(_HELD, {"host": host}).scalar()
    return None if value is None else value.replace(tzinfo=UTC)
