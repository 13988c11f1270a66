"""The scheduler: an APScheduler job that ticks every second and claims due sources
from the store, beside two slower ones that re-read the config file when it changed
(every CONFIG_CHECK_SECONDS) and tend WebSub subscriptions (every WEBSUB_CHECK_SECONDS).

    tick        every TICK_SECONDS (APScheduler is the clock)
    | claim     store.claim_due: sources whose next_attempt_at has come and that no
                live lease holds, leased to this worker for LEASE_SECONDS
    | poll      on a bounded thread pool; the poll's own transaction writes the next
                due time (aggregator.core.schedule) and ends the lease

The schedule lives in the store, so a restart resumes it and several workers can share
the sources: a worker that dies leaves leases that run out, and the sources are
claimable again. Local files are also watched: a saved change polls its source at once,
once this worker holds its lease, so no two workers ever poll one source together.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from aggregator.config import LiveSettings, Settings
from aggregator.core.errors import AggregatorError, ConfigError
from aggregator.core.types import PollReport, SourceSpec
from aggregator.ingest.parsing import INLINE, Parsing
from aggregator.ingest.pipeline import poll
from aggregator.ingest.sources import Fetchers
from aggregator.ingest.watch import FileWatcher
from aggregator.store.roles import WorkerStore
from aggregator.websub.subscriber import Subscriber

log = logging.getLogger("aggregator.worker")
CONFIG_CHECK_SECONDS = 2.0
WEBSUB_CHECK_SECONDS = 60.0
TICK_SECONDS = 1.0
# Longer than any one poll may take (slot wait + fetch deadline + parse + write), so a
# live worker's lease never runs out under it; service.fetch_limits fits the fetch
# deadline to a shorter lease (`--lease`).
LEASE_SECONDS = 300.0
POLL_THREADS = 8
# A saved file waits this long at most for a running poll of its source to end.
CLAIM_RETRY_SECONDS = 0.25
CLAIM_ATTEMPTS = 240
OnChange = Callable[[str], None]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Worker:
    def __init__(
        self,
        live: LiveSettings,
        store: WorkerStore,
        fetchers: Fetchers,
        *,
        on_change: OnChange | None = None,
        threads: int = POLL_THREADS,
        owner: str | None = None,
        rng: random.Random | None = None,
        subscriber: Subscriber | None = None,
        lease_seconds: float = LEASE_SECONDS,
        parsing: Parsing = INLINE,
    ) -> None:
        self.live = live
        self.parsing = parsing
        self.store = store
        self.fetchers = fetchers
        self.on_change = on_change
        self.threads = threads
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.random = rng or random.Random()
        self.subscriber = subscriber
        self.lease_seconds = lease_seconds
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self.watcher = FileWatcher(self._file_changed)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="poll")
        self._specs: dict[str, SourceSpec] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._busy: set[str] = set()
        self._guard = threading.Lock()
        self._stopping = threading.Event()
        self._claiming = threading.Lock()
        # Called at each scheduled tick: a sign of life for the service manager's watchdog.
        self.on_tick: Callable[[], None] | None = None

    def start(self) -> None:
        self.apply_settings(self.live.current)
        self._free_abandoned_leases()
        for job_id, job, seconds in (
            ("__tick__", self.tick, TICK_SECONDS),
            ("__config__", self.check_config, CONFIG_CHECK_SECONDS),
            ("__websub__", self.tend_subscriptions, WEBSUB_CHECK_SECONDS),
        ):
            self.scheduler.add_job(
                job, IntervalTrigger(seconds=seconds), id=job_id, max_instances=1, coalesce=True
            )
        self.scheduler.start()
        self._watch_files()
        log.info("scheduler started", extra={"sources": len(self._specs), "owner": self.owner})

    def _free_abandoned_leases(self) -> None:
        try:
            freed = self.store.release_abandoned(self.owner, process_alive)
        except AggregatorError as e:
            log.error("could not free abandoned leases", extra={"reason": str(e)})
            return
        if freed:
            log.info("freed leases of a process that is gone", extra={"sources": len(freed)})

    def shutdown(self) -> None:
        self._stopping.set()
        self.watcher.stop()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
            log.info("scheduler stopped")
        self._pool.shutdown(wait=True)

    def tick(self, now: datetime | None = None) -> list[str]:
        """Claim the due sources this worker has threads for and start their polls.
        Called each second and whenever a poll ends; one claim at a time, so the
        claims never outnumber the free threads."""
        if self.on_tick is not None:
            self.on_tick()
        with self._claiming:
            claimed = self._claim(now or utcnow(), self._free_threads())
            for name in claimed:
                with self._guard:
                    self._busy.add(name)
                self._pool.submit(self._poll_claimed, name, None)
        return claimed

    def poll_source(self, name: str, *, now: datetime | None = None) -> PollReport | None:
        """Poll one configured source now, whatever its schedule (None if unknown)."""
        spec = self._specs.get(name)
        story = self.live.current.story(spec.story) if spec else None
        if spec is None or story is None:
            return None
        with self._locks.setdefault(name, threading.Lock()):
            jitter = self.random.random()
            at = now or utcnow()
            hubs = self.subscriber is not None and self.subscriber.wants_hubs(spec, at)
            report = poll(
                spec,
                story,
                store=self.store,
                fetchers=self.fetchers,
                now=at,
                jitter=jitter,
                parsing=self.parsing,
                find_hubs=hubs,
            )
        _log_report(report)
        if self.subscriber is not None:
            self.subscriber.after_poll(spec, report, at)
        if report.changed_story and self.on_change:
            self.on_change(spec.story)
        return report

    def tend_subscriptions(self, now: datetime | None = None) -> None:
        """WebSub: renew leases before they end; re-subscribe where the hub went quiet
        (those sources are polled on their schedule all along)."""
        if self.subscriber is None:
            return
        at = now or utcnow()
        try:
            self.subscriber.renew_due(at)
            self.subscriber.quiet(at)
        except AggregatorError as e:
            log.error("could not tend websub subscriptions", extra={"reason": str(e)})

    def check_config(self) -> None:
        try:
            fresh = self.live.reload_if_changed()
        except ConfigError as e:
            log.error("config not reloaded, keeping the last good one", extra={"reason": str(e)})
            return
        if fresh is not None:
            self.apply_settings(fresh)

    def apply_settings(self, settings: Settings) -> None:
        """Record the sources in the store: new and edited ones become due at once,
        removed ones stop being claimed. The `[fetch]` choices apply from the next poll."""
        self.fetchers.reconfigure(settings.fetch)
        try:
            self.store.sync_sources(settings.sources)
        except AggregatorError as e:
            log.error("could not record config change", extra={"reason": str(e)})
            return
        wanted = {s.name: s for s in settings.sources}
        for name in sorted(set(self._specs) - set(wanted)):
            log.info("source removed", extra={"source": name})
            if self.subscriber is not None:
                self.subscriber.unsubscribe(name, utcnow())
        for name, spec in wanted.items():
            old = self._specs.get(name)
            if old != spec:
                log.info("source changed" if old else "source added", extra={"source": name})
        self._specs = wanted
        if self.scheduler.running:
            self._watch_files()

    def _claim(self, now: datetime, limit: int) -> list[str]:
        try:
            return self.store.claim_due(now, self.owner, self.lease_seconds, limit)
        except AggregatorError as e:
            log.error("could not claim due sources", extra={"reason": str(e)})
            return []

    def _free_threads(self) -> int:
        with self._guard:
            return self.threads - len(self._busy)

    def _poll_claimed(self, name: str, now: datetime | None) -> PollReport | None:
        try:
            report = self.poll_source(name, now=now)
            if report is None:  # not in this worker's config: leave it to another
                self.store.release(name, owner=self.owner)
            return report
        except AggregatorError as e:
            log.error("scheduled poll failed", extra={"source": name, "reason": str(e)})
            self._give_back(name)
            return None
        except Exception:  # a pool thread's exception would otherwise vanish unseen
            log.exception("scheduled poll crashed", extra={"source": name})
            self._give_back(name)
            return None
        finally:
            with self._guard:
                self._busy.discard(name)
            if now is None and self.scheduler.running and not self._stopping.is_set():
                self.tick()  # a thread is free: claim the next due source without waiting

    def _give_back(self, name: str) -> None:
        """A poll that raised ends its lease, so a fixed config is not kept waiting out
        the lease's five minutes."""
        try:
            self.store.release(name, owner=self.owner)
        except AggregatorError as e:
            log.error("could not end a lease", extra={"source": name, "reason": str(e)})

    def _file_changed(self, name: str) -> None:
        """Poll a saved file's source at once, once its lease is ours: a poll already
        running (here or in another worker) may have read the file before the save."""
        try:
            for _ in range(CLAIM_ATTEMPTS):
                if self.store.claim(name, utcnow(), self.owner, self.lease_seconds):
                    self._poll_claimed(name, None)
                    return
                if self._stopping.wait(CLAIM_RETRY_SECONDS):
                    return
            log.warning("file changed but its source stayed busy", extra={"source": name})
        except AggregatorError as e:
            log.error("poll after file change failed", extra={"source": name, "reason": str(e)})

    def _watch_files(self) -> None:
        self.watcher.follow({s.name: s.path for s in self._specs.values() if s.path})


def _log_report(report: PollReport) -> None:
    fields = {
        "source": report.source,
        "new": report.new,
        "updated": report.updated,
        "duplicates": report.duplicates,
        "deleted": report.deleted,
        "unchanged": report.unchanged,
        "filtered": report.filtered,
    }
    if report.error:
        log.warning("poll failed", extra={**fields, "error": report.error})
    elif report.new or report.updated or report.deleted:
        log.info("poll stored changes", extra=fields)
    else:
        log.debug("poll unchanged", extra=fields)


def process_alive(pid: int) -> bool:
    """Whether a process with this pid runs on this machine (signal 0 checks only)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True
