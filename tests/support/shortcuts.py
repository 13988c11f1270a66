"""Shortcuts into the package that only tests take, built on its public names: each
drives or reads one part in a way the service never needs.

    changed_facts(a, b)           how many facts two bodies swapped (dedupe.facts.swapped)
    retry_delay(interval, n)      the backoff after n errors: default bounds, no jitter
    poll_due(worker, now)         the worker's tick in this thread, at a time the test picks
    is_pushed(subscriber, spec, now)   whether a source's news arrives by push just now
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from aggregator.core.schedule import backoff, bounds_of
from aggregator.core.types import PollReport, SourceSpec
from aggregator.dedupe.facts import read_facts, swapped
from aggregator.ingest.worker import Worker
from aggregator.websub.rules import has_gone_quiet
from aggregator.websub.subscriber import Subscriber

_ANY_SOURCE = SourceSpec("", "", "feed", None, None, 60.0, "UTC")


def changed_facts(a: str, b: str) -> int:
    """How many facts were swapped between two bodies."""
    return swapped(read_facts(a), read_facts(b))


def retry_delay(interval: float, error_count: int) -> timedelta:
    """The backoff after `error_count` earlier errors, with the default bounds and no
    jitter: doubling from the interval, held at an hour (or the interval if longer)."""
    bounds = bounds_of(replace(_ANY_SOURCE, interval=interval))
    return timedelta(seconds=backoff(bounds, error_count + 1))


def poll_due(worker: Worker, now: datetime) -> list[PollReport]:
    """Claim and poll every source due at `now`, one by one in this thread: what the
    worker's tick starts on its thread pool, with the poll's clock set to `now`."""
    limit = len(worker.live.current.sources) or 1
    claimed = worker.store.claim_due(now, worker.owner, worker.lease_seconds, limit)
    reports = []
    for name in claimed:
        report = worker.poll_source(name, now=now)
        if report is None:  # not in this worker's config: leave it to another
            worker.store.release(name, owner=worker.owner)
        else:
            reports.append(report)
    return reports


def is_pushed(subscriber: Subscriber, source: SourceSpec, now: datetime) -> bool:
    """Whether `source` has an active subscription whose lease runs and whose hub has
    not gone quiet: its news then arrives by push (polling goes on all the same)."""
    return any(
        s.state == "active"
        and (s.lease_until is None or s.lease_until > now)
        and not has_gone_quiet(s, source.interval)
        for s in subscriber.subscriptions.for_source(source.name)
    )
