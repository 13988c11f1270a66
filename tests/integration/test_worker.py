"""The worker claims due sources from the store: new and edited sources are due at once,
a failing one waits out its backoff, a lease held by a dead worker runs out, and the
schedule survives a restart because it lives in the store."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.config import LiveSettings, load
from aggregator.ingest.sources import Fetchers
from aggregator.ingest.worker import LEASE_SECONDS, Worker
from aggregator.store import Store
from tests.support.paths import ARTICLE_SEED
from tests.support.shortcuts import poll_due

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
CONFIG = """
[[stories]]
id = "s"
[[sources]]
name = "article"
kind = "article"
path = "{article}"
{extra}
"""
MISSING = """
[[sources]]
name = "missing"
kind = "liveblog"
path = "missing.txt"
interval = 30
"""


@pytest.fixture
def changed() -> list[str]:
    return []


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "aggregator.toml"
    path.write_text(CONFIG.format(article=ARTICLE_SEED, extra=""), encoding="utf-8")
    return path


def make_worker(store: Store, fetchers: Fetchers, config: Path, **kw: object) -> Worker:
    live = LiveSettings(load(config, {}), {})
    worker = Worker(live, store, fetchers, rng=random.Random(0), **kw)  # type: ignore[arg-type]
    worker.apply_settings(live.current)
    return worker


@pytest.fixture
def worker(store: Store, fetchers: Fetchers, config: Path, changed: list[str]) -> Iterator[Worker]:
    made = make_worker(store, fetchers, config, on_change=changed.append, owner="w1")
    yield made
    made.shutdown()


def polled(worker: Worker, now: datetime) -> list[str]:
    return [r.source for r in poll_due(worker, now)]


def test_new_and_edited_sources_are_due_at_once(worker: Worker, config: Path) -> None:
    assert polled(worker, T0) == ["article"]
    assert polled(worker, T0 + timedelta(seconds=1)) == []
    config.write_text(CONFIG.format(article=ARTICLE_SEED, extra=MISSING), encoding="utf-8")
    worker.check_config()
    assert polled(worker, T0 + timedelta(seconds=2)) == ["missing"]
    edited = CONFIG.format(article=ARTICLE_SEED, extra='interval = 9\nmax_interval = "1h"')
    config.write_text(edited, encoding="utf-8")
    worker.check_config()
    assert polled(worker, T0 + timedelta(seconds=3)) == ["article"]
    config.write_text("not = [valid", encoding="utf-8")
    worker.check_config()
    assert polled(worker, T0 + timedelta(days=1)) == ["article"]  # "missing" was removed


def test_a_poll_with_news_tells_the_story_changed(worker: Worker, changed: list[str]) -> None:
    [report] = poll_due(worker, T0)
    assert report.new == 1 and changed == ["s"]
    again = worker.poll_source("article", now=T0 + timedelta(minutes=1))
    assert again is not None and again.new == 0 and changed == ["s"]


def test_a_copy_joining_an_entry_tells_the_story_changed(
    worker: Worker, config: Path, changed: list[str]
) -> None:
    """The feeds now name a second source for the entry, so their readers must hear of it."""
    copy = f'[[sources]]\nname = "copy"\nkind = "article"\npath = "{ARTICLE_SEED}"\n'
    config.write_text(CONFIG.format(article=ARTICLE_SEED, extra=copy), encoding="utf-8")
    worker.check_config()
    first = worker.poll_source("article", now=T0)
    assert first is not None and first.new == 1 and changed == ["s"]
    second = worker.poll_source("copy", now=T0)
    assert second is not None and (second.new, second.duplicates) == (0, 1)
    assert changed == ["s", "s"]


def test_a_failing_source_waits_for_its_retry_time(worker: Worker, config: Path) -> None:
    config.write_text(CONFIG.format(article=ARTICLE_SEED, extra=MISSING), encoding="utf-8")
    worker.check_config()
    reports = {r.source: r for r in poll_due(worker, T0)}
    assert reports["missing"].error and "missing.txt" in reports["missing"].error
    status = worker.store.source_status("missing")
    assert status.next_attempt_at is not None
    # The first retry waits the interval (30s), plus up to 10% jitter.
    assert T0 + timedelta(seconds=30) <= status.next_attempt_at <= T0 + timedelta(seconds=33)
    assert "missing" not in polled(worker, T0 + timedelta(seconds=29))
    assert "missing" in polled(worker, status.next_attempt_at)
    second = worker.store.source_status("missing")
    assert second.error_count == 2 and second.next_attempt_at is not None
    assert second.next_attempt_at - status.next_attempt_at >= timedelta(seconds=60)


def test_a_dead_workers_lease_runs_out(
    store: Store, fetchers: Fetchers, config: Path, worker: Worker
) -> None:
    assert store.claim_due(T0, "dead", LEASE_SECONDS, 10) == ["article"]
    assert polled(worker, T0 + timedelta(seconds=LEASE_SECONDS - 1)) == []
    assert polled(worker, T0 + timedelta(seconds=LEASE_SECONDS + 1)) == ["article"]


def test_a_restart_resumes_the_schedule(
    store: Store, fetchers: Fetchers, config: Path, worker: Worker
) -> None:
    assert polled(worker, T0) == ["article"]
    due = store.source_status("article").next_attempt_at
    assert due is not None and due > T0
    worker.shutdown()
    again = make_worker(store, fetchers, config, owner="w2")
    try:
        assert polled(again, due - timedelta(seconds=1)) == []
        assert polled(again, due) == ["article"]
    finally:
        again.shutdown()


def test_a_source_another_config_does_not_know_is_released(
    store: Store, fetchers: Fetchers, config: Path, worker: Worker, tmp_path: Path
) -> None:
    other = tmp_path / "other.toml"
    other.write_text(CONFIG.format(article=ARTICLE_SEED, extra=MISSING), encoding="utf-8")
    store.sync_sources(load(other, {}).sources)
    assert polled(worker, T0) == ["article"]  # "missing" is claimed, not known, released
    assert store.claim_due(T0, "w2", LEASE_SECONDS, 10) == ["missing"]


def test_the_tick_polls_on_the_pool(worker: Worker) -> None:
    assert worker.tick(T0) == ["article"]
    worker.shutdown()  # waits for the pool
    status = worker.store.source_status("article")
    assert status.last_success_at is not None and status.next_attempt_at is not None


@pytest.mark.slow
def test_a_saved_file_waits_for_another_workers_lease(
    store: Store, fetchers: Fetchers, config: Path, worker: Worker, changed: list[str]
) -> None:
    """Two workers watching one file: the second polls only once the first is done, so
    the same new posts are never written by both at once."""
    other = make_worker(store, fetchers, config, owner="w2")
    try:
        assert store.claim("article", datetime.now(UTC), "w2", LEASE_SECONDS)
        saved = threading.Thread(target=worker._file_changed, args=("article",))
        saved.start()
        saved.join(timeout=1.0)  # several claim attempts, all refused
        assert saved.is_alive() and store.entry_counts() == {}
        store.release("article", owner="w2")
        saved.join(timeout=30)
        assert not saved.is_alive()
        assert store.entry_counts() == {"s": 1} and changed == ["s"]
    finally:
        other.shutdown()
