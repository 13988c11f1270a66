"""The pure scheduling rules, with plain data: bounds, activity, server hints, backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aggregator.core.schedule import Activity, Bounds, Hints, backoff, bounds_of, next_poll
from aggregator.core.types import PageSignals, SourceSpec

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
B = Bounds(interval=300, min_interval=60, max_interval=3600)


def seconds(due: datetime) -> float:
    return (due - T0).total_seconds()


def test_a_publishing_source_is_polled_at_its_minimum() -> None:
    plan = next_poll(B, T0, activity=Activity(new_posts=3, last_new_at=T0))
    assert (seconds(plan.due_at), plan.interval) == (60, 60)
    assert "publishing: 3 new" in plan.reason


@pytest.mark.parametrize(
    ("quiet", "expected"), [(60, 60), (20 * 60, 300), (2 * 3600, 1800), (24 * 3600, 3600)]
)
def test_a_quiet_source_slows_down_within_its_bounds(quiet: int, expected: float) -> None:
    activity = Activity(last_new_at=T0 - timedelta(seconds=quiet))
    plan = next_poll(B, T0, activity=activity)
    assert plan.interval == expected and "quiet for" in plan.reason


def test_a_source_never_seen_publishing_keeps_its_interval() -> None:
    assert next_poll(B, T0).interval == 300


def test_ended_coverage_slows_to_the_maximum() -> None:
    hints = Hints(signals=PageSignals(ended=True))
    plan = next_poll(B, T0, activity=Activity(new_posts=1), hints=hints)
    assert plan.interval == 3600 and "ended" in plan.reason


def test_jitter_spreads_up_to_a_tenth_and_never_passes_the_bounds() -> None:
    assert next_poll(B, T0, jitter=0.5).interval == pytest.approx(315)
    assert (
        next_poll(B, T0, jitter=0.999, hints=Hints(signals=PageSignals(ended=True))).interval
        == 3600
    )
    low = next_poll(B, T0, activity=Activity(new_posts=1), jitter=0.0)
    assert low.interval == B.min_interval


def test_max_age_only_pushes_later_and_is_held_to_the_maximum() -> None:
    publishing = Activity(new_posts=1)
    assert seconds(next_poll(B, T0, activity=publishing, hints=Hints(max_age=600)).due_at) == 600
    assert seconds(next_poll(B, T0, activity=publishing, hints=Hints(max_age=10)).due_at) == 60
    year = next_poll(B, T0, hints=Hints(max_age=365 * 86400))
    assert seconds(year.due_at) == 3600 and "fresh for" in year.reason


def test_retry_after_is_kept_even_past_the_maximum_up_to_a_day() -> None:
    plan = next_poll(B, T0, error_count=1, hints=Hints(retry_after=7200))
    assert seconds(plan.due_at) == 7200 and "asked to wait" in plan.reason
    assert seconds(next_poll(B, T0, error_count=1, hints=Hints(retry_after=10)).due_at) == 300
    assert seconds(next_poll(B, T0, hints=Hints(retry_after=10**9)).due_at) == 86400


def test_rss_ttl_slows_down_but_not_past_the_maximum() -> None:
    ttl = next_poll(B, T0, hints=Hints(signals=PageSignals(ttl=1800)))
    assert ttl.interval == 1800 and "ttl" in ttl.reason
    assert next_poll(B, T0, hints=Hints(signals=PageSignals(ttl=86400))).interval == 3600
    assert next_poll(B, T0, hints=Hints(signals=PageSignals(ttl=60))).interval == 300


def test_skip_hours_move_the_poll_to_the_first_hour_not_skipped() -> None:
    late = datetime(2026, 11, 22, 23, 58, tzinfo=UTC)
    skip = PageSignals(skip_hours=frozenset({0, 1, 2}))
    plan = next_poll(B, late, hints=Hints(signals=skip))
    assert plan.due_at == datetime(2026, 11, 23, 3, 0, tzinfo=UTC) and "skipHours" in plan.reason
    every = PageSignals(skip_hours=frozenset(range(24)))
    assert next_poll(B, late, hints=Hints(signals=every)).due_at == late + timedelta(seconds=300)


def test_errors_back_off_exponentially_and_retry_forever_at_the_maximum() -> None:
    assert [backoff(B, n) for n in (1, 2, 3, 4, 5, 6, 50)] == [
        300,
        600,
        1200,
        2400,
        3600,
        3600,
        3600,
    ]
    plan = next_poll(B, T0, error_count=2, jitter=0.5)
    assert plan.interval == pytest.approx(630) and "error #2" in plan.reason


def test_recovery_resumes_at_the_adaptive_rate_on_the_first_success() -> None:
    failing = next_poll(B, T0, error_count=6)
    recovered = next_poll(B, T0, activity=Activity(new_posts=2))
    assert (failing.interval, recovered.interval) == (3600, 60)


def test_bounds_default_from_the_interval() -> None:
    spec = SourceSpec("a", "s", "feed", "http://x/", None, 300, "UTC")
    assert bounds_of(spec) == Bounds(300, 60, 3600)
    pinned = SourceSpec("a", "s", "feed", "http://x/", None, 300, "UTC", {}, 120, 600)
    assert bounds_of(pinned) == Bounds(300, 120, 600)
