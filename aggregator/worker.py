"""The scheduler: one APScheduler job per source, plus a watcher on the config file.

Each job runs on its source's interval with a little jitter; APScheduler never starts a
second run of a job while one is running (max_instances=1) and folds missed runs into
one (coalesce). A source in backoff after errors skips runs until its retry time.
Local files are also watched: a saved change polls its source at once, outside the
schedule, serialised with the scheduled runs by a per-source lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from aggregator.config import LiveSettings, Settings
from aggregator.errors import AggregatorError, ConfigError
from aggregator.pipeline import poll
from aggregator.sources import Fetchers
from aggregator.store import Store
from aggregator.types import PollReport, SourceSpec
from aggregator.watch import FileWatcher

log = logging.getLogger("aggregator.worker")
CONFIG_CHECK_SECONDS = 2.0
OnChange = Callable[[str], None]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Worker:
    def __init__(
        self,
        live: LiveSettings,
        store: Store,
        fetchers: Fetchers,
        *,
        on_change: OnChange | None = None,
    ) -> None:
        self.live = live
        self.store = store
        self.fetchers = fetchers
        self.on_change = on_change
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self.watcher = FileWatcher(self._file_changed)
        self._specs: dict[str, SourceSpec] = {}
        self._locks: dict[str, threading.Lock] = {}

    def start(self) -> None:
        self.store.sync_sources(self.live.current.sources)
        for spec in self.live.current.sources:
            self._add_job(spec)
        self.scheduler.add_job(
            self.check_config,
            IntervalTrigger(seconds=CONFIG_CHECK_SECONDS),
            id="__config__",
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.start()
        self._watch_files()
        log.info("scheduler started", extra={"sources": len(self._specs)})

    def shutdown(self) -> None:
        self.watcher.stop()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
            log.info("scheduler stopped")

    def poll_source(self, name: str, *, despite_backoff: bool = False) -> PollReport | None:
        spec = self._specs.get(name)
        settings = self.live.current
        story = settings.story(spec.story) if spec else None
        if spec is None or story is None:
            return None
        with self._locks.setdefault(name, threading.Lock()):
            now = utcnow()
            status = self.store.source_status(name)
            if status.next_attempt_at and status.next_attempt_at > now and not despite_backoff:
                return None
            report = poll(spec, story, store=self.store, fetchers=self.fetchers, now=now)
        _log_report(report)
        if (report.new or report.updated or report.deleted) and self.on_change:
            self.on_change(spec.story)
        return report

    def check_config(self) -> None:
        try:
            fresh = self.live.reload_if_changed()
        except ConfigError as e:
            log.error("config not reloaded, keeping the last good one", extra={"reason": str(e)})
            return
        if fresh is not None:
            self.apply_settings(fresh)

    def apply_settings(self, settings: Settings) -> None:
        """Add, remove and reschedule jobs so they match `settings.sources`."""
        try:
            self.store.sync_sources(settings.sources)
        except AggregatorError as e:
            log.error("could not record config change", extra={"reason": str(e)})
            return
        wanted = {s.name: s for s in settings.sources}
        for name in sorted(set(self._specs) - set(wanted)):
            self.scheduler.remove_job(name)
            del self._specs[name]
            log.info("source removed", extra={"source": name})
        for name, spec in wanted.items():
            old = self._specs.get(name)
            if old == spec:
                continue
            if old is not None:
                self.scheduler.remove_job(name)
            self._add_job(spec)
            log.info("source changed" if old else "source added", extra={"source": name})
        if self.scheduler.running:
            self._watch_files()

    def _file_changed(self, name: str) -> None:
        try:
            self.poll_source(name, despite_backoff=True)
        except AggregatorError as e:
            log.error("poll after file change failed", extra={"source": name, "reason": str(e)})

    def _watch_files(self) -> None:
        self.watcher.follow({s.name: s.path for s in self._specs.values() if s.path})

    def _add_job(self, spec: SourceSpec) -> None:
        self._specs[spec.name] = spec
        self.scheduler.add_job(
            self.poll_source,
            IntervalTrigger(seconds=spec.interval, jitter=min(spec.interval * 0.1, 30)),
            args=(spec.name,),
            id=spec.name,
            name=f"poll {spec.name}",
            next_run_time=utcnow(),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            replace_existing=True,
        )


def _log_report(report: PollReport) -> None:
    fields = {
        "source": report.source,
        "new": report.new,
        "updated": report.updated,
        "duplicates": report.duplicates,
        "deleted": report.deleted,
        "unchanged": report.unchanged,
    }
    if report.error:
        log.warning("poll failed", extra={**fields, "error": report.error})
    elif report.new or report.updated or report.deleted:
        log.info("poll stored changes", extra=fields)
    else:
        log.debug("poll unchanged", extra=fields)
