"""The scheduler's bookkeeping: jobs follow the config; sources in backoff wait their turn."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.config import LiveSettings, load
from aggregator.fetch.http import make_client
from aggregator.fetch.limits import FetchLimits
from aggregator.sources import Fetchers
from aggregator.store import Store
from aggregator.worker import Worker
from tests.conftest import ARTICLE_SEED

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
def worker(store: Store, tmp_path: Path, changed: list[str]) -> Iterator[Worker]:
    path = tmp_path / "aggregator.toml"
    path.write_text(CONFIG.format(article=ARTICLE_SEED, extra=""), encoding="utf-8")
    limits = FetchLimits()
    with make_client(limits) as client:
        live = LiveSettings(load(path, {}), {})
        yield Worker(live, store, Fetchers(client, limits), on_change=changed.append)


def job_ids(worker: Worker) -> list[str]:
    return sorted(job.id for job in worker.scheduler.get_jobs())


def test_config_edits_add_change_and_remove_jobs(worker: Worker, tmp_path: Path) -> None:
    worker.apply_settings(worker.live.current)
    assert job_ids(worker) == ["article"]
    path = tmp_path / "aggregator.toml"
    path.write_text(CONFIG.format(article=ARTICLE_SEED, extra=MISSING), encoding="utf-8")
    worker.check_config()
    assert job_ids(worker) == ["article", "missing"]
    path.write_text(CONFIG.format(article=ARTICLE_SEED, extra="interval = 9"), encoding="utf-8")
    worker.check_config()
    assert job_ids(worker) == ["article"]
    assert worker.scheduler.get_job("article").trigger.interval == timedelta(seconds=9)
    path.write_text("not = [valid", encoding="utf-8")
    worker.check_config()
    assert job_ids(worker) == ["article"]


def test_a_poll_with_news_tells_the_story_changed(worker: Worker, changed: list[str]) -> None:
    worker.apply_settings(worker.live.current)
    report = worker.poll_source("article")
    assert report is not None and report.new == 1
    assert changed == ["s"]
    again = worker.poll_source("article")
    assert again is not None and again.new == 0 and changed == ["s"]


def test_a_failing_source_waits_for_its_retry_time(worker: Worker, tmp_path: Path) -> None:
    path = tmp_path / "aggregator.toml"
    path.write_text(CONFIG.format(article=ARTICLE_SEED, extra=MISSING), encoding="utf-8")
    worker.check_config()
    first = worker.poll_source("missing")
    assert first is not None and first.error and "missing.txt" in first.error
    assert worker.poll_source("missing") is None  # still in backoff: skipped
    status = worker.store.source_status("missing")
    assert status.next_attempt_at is not None
    assert status.next_attempt_at > datetime.now(UTC) + timedelta(seconds=20)
