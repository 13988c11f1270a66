"""PURE: when to poll a source next, and why. No clock, no I/O: `now` and the jitter
draw come in as arguments, so every rule is a plain-data test.

    bounds (min <= interval <= max, from the config)
    | rate      error backoff, or activity: publishing -> min, quiet -> slower, ended -> max
    | hints     RSS ttl slows within max; max-age / Retry-After only ever push later
    | skipHours a due time inside a skipped UTC hour moves to the first hour not skipped

Never earlier than `min_interval` after a poll; the server may only make it later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aggregator.core.types import NextPoll, PageSignals, SourceSpec

# A quiet source is polled about this many times over the time it has been quiet.
QUIET_FACTOR = 4.0
# Jitter spreads polls of sources with equal intervals: up to +10%, never below min.
JITTER = 0.1
DEFAULT_MAX = 3600.0
DEFAULT_MIN_SHARE = 0.2
# A Retry-After beyond a day is more likely a bug than a wish; we retry daily at most.
RETRY_AFTER_CAP = 86400.0


@dataclass(frozen=True)
class Bounds:
    """A source's schedule bounds in seconds: min_interval <= interval <= max_interval."""

    interval: float
    min_interval: float
    max_interval: float


@dataclass(frozen=True)
class Activity:
    """What the source published: new posts in this poll, and when it last did."""

    new_posts: int = 0
    last_new_at: datetime | None = None


@dataclass(frozen=True)
class Hints:
    """What the server and the document asked for: freshness lifetime (max-age or
    Expires), Retry-After (from this source or from its host), and page signals."""

    max_age: float | None = None
    retry_after: float | None = None
    signals: PageSignals = field(default_factory=PageSignals)


def bounds_of(source: SourceSpec) -> Bounds:
    """The spec's bounds; a missing min is a fifth of `interval`, a missing max an hour
    (or `interval`, when that is longer)."""
    low = source.min_interval
    high = source.max_interval
    minimum = low if low is not None else source.interval * DEFAULT_MIN_SHARE
    maximum = high if high is not None else max(source.interval, DEFAULT_MAX)
    return Bounds(source.interval, minimum, maximum)


def next_poll(
    bounds: Bounds,
    now: datetime,
    *,
    activity: Activity | None = None,
    hints: Hints | None = None,
    error_count: int = 0,
    jitter: float = 0.0,
) -> NextPoll:
    """When to poll next. `error_count` counts consecutive failures including this
    poll's (0 after a success); `jitter` is a draw from [0, 1)."""
    hints = hints or Hints()
    if error_count > 0:
        interval, reason = backoff(bounds, error_count), f"error #{error_count}: backing off"
    else:
        interval, reason = _rate(bounds, now, activity or Activity(), hints.signals)
    interval = min(interval * (1 + JITTER * jitter), max(interval, bounds.max_interval))
    due = now + timedelta(seconds=interval)
    due, reason = _server_floor(due, now, hints, bounds, reason)
    due, reason = _skip_hours(due, hints.signals.skip_hours, reason)
    return NextPoll(due, interval, reason)


def backoff(bounds: Bounds, error_count: int) -> float:
    """Exponential from `interval`, doubling per consecutive error, held at the maximum
    forever after: a failing source is never given up."""
    exponent = min(max(error_count - 1, 0), 32)
    return min(max(bounds.interval * 2.0**exponent, bounds.min_interval), bounds.max_interval)


def _rate(
    bounds: Bounds, now: datetime, activity: Activity, signals: PageSignals
) -> tuple[float, str]:
    if signals.ended:
        return bounds.max_interval, "coverage has ended: slowest rate"
    if activity.new_posts:
        return bounds.min_interval, f"publishing: {activity.new_posts} new post(s)"
    if activity.last_new_at is None:
        interval, reason = bounds.interval, "no new posts seen yet: configured interval"
    else:
        quiet = max((now - activity.last_new_at).total_seconds(), 0.0)
        interval = _clamp(quiet / QUIET_FACTOR, bounds)
        reason = f"quiet for {_human(quiet)}"
    if signals.ttl and signals.ttl > interval:
        interval = min(signals.ttl, bounds.max_interval)
        reason += f"; feed ttl {_human(signals.ttl)}"
    return interval, reason


def _server_floor(
    due: datetime, now: datetime, hints: Hints, bounds: Bounds, reason: str
) -> tuple[datetime, str]:
    """max-age and Retry-After push the due time later, never earlier. max-age is held
    to max_interval (a live page cached for a day is still polled); Retry-After is the
    server's explicit wish (RFC 9110 §10.2.3) and is kept, up to a day."""
    if hints.max_age:
        fresh_until = now + timedelta(seconds=min(hints.max_age, bounds.max_interval))
        if fresh_until > due:
            due, reason = fresh_until, f"{reason}; server says fresh for {_human(hints.max_age)}"
    if hints.retry_after:
        wait = min(hints.retry_after, RETRY_AFTER_CAP)
        if now + timedelta(seconds=wait) > due:
            due = now + timedelta(seconds=wait)
            reason = f"{reason}; server asked to wait {_human(wait)}"
    return due, reason


def _skip_hours(due: datetime, skip: frozenset[int], reason: str) -> tuple[datetime, str]:
    """RSS 2.0 skipHours: hours (GMT) when aggregators should not read the feed. A feed
    skipping every hour is ignored rather than never read again."""
    if not skip or len(skip) >= 24 or due.hour not in skip:
        return due, reason
    moved = due.replace(minute=0, second=0, microsecond=0)
    while moved.hour in skip:
        moved += timedelta(hours=1)
    return moved, f"{reason}; feed skipHours until {moved:%H:%M} UTC"


def _clamp(seconds: float, bounds: Bounds) -> float:
    return min(max(seconds, bounds.min_interval), bounds.max_interval)


def _human(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.3g}h"
    if seconds >= 60:
        return f"{seconds / 60:.3g}m"
    return f"{seconds:.3g}s"
