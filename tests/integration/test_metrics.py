"""/metrics as Prometheus scrapes it: off unless configured, only to metrics_allow,
and every number the operator's toolkit asks for moves when the service works."""

from __future__ import annotations

import shutil
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from aggregator import service
from aggregator.config import LiveSettings, Settings, load
from aggregator.core.errors import ConfigError
from aggregator.core.types import PollReport
from aggregator.ingest.pipeline import poll
from aggregator.metrics import REGISTRY, Allowed, document_of, outcome_of
from aggregator.store import Store
from aggregator.web.routes import Live, create_app
from tests.support.appserver import serving
from tests.support.builders import T0
from tests.support.paths import LIVEBLOG_SEED

CONFIG = """
[service]
metrics = {metrics}
metrics_allow = {allow}

[[stories]]
id = "story"
title = "A story"

[[sources]]
name = "live"
kind = "liveblog"
path = "live.txt"

[[sources]]
name = "broken"
kind = "article"
path = "missing/*.txt"
"""


def configured(folder: Path, metrics: bool = True, allow: str = '["127.0.0.0/8"]') -> Settings:
    shutil.copy(LIVEBLOG_SEED, folder / "live.txt")
    path = folder / "aggregator.toml"
    path.write_text(CONFIG.format(metrics=str(metrics).lower(), allow=allow), encoding="utf-8")
    return load(path, {})


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(base: str) -> dict[str, float]:
    response = httpx.get(f"{base}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            key = sample.name + "".join(f"|{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[key] = sample.value
    return samples


def test_polls_entries_timings_failures_and_requests_are_counted(
    store: Store, tmp_path: Path
) -> None:
    settings = configured(tmp_path)
    store.sync_sources(settings.sources)
    story = settings.stories[0]
    live, broken = settings.sources
    before = {
        "changed": value("aggregator_polls_total", source="live", outcome="changed"),
        "error": value("aggregator_polls_total", source="broken", outcome="error"),
        "new": value("aggregator_entries_total", story="story", change="new"),
        "polls": value("aggregator_poll_duration_seconds_count", kind="liveblog"),
        "parses": value("aggregator_parse_duration_seconds_count", kind="liveblog"),
        "writes": value("aggregator_store_write_duration_seconds_count"),
        "lag": value("aggregator_poll_lag_seconds_count"),
    }
    with service.http_fetchers() as fetchers:
        for source in (live, broken):
            poll(source, story, store=store, fetchers=fetchers, now=T0)
        # Polled again two minutes after it was due: the lag is seen.
        due = store.source_status("live").next_attempt_at
        assert due is not None
        poll(live, story, store=store, fetchers=fetchers, now=due + timedelta(minutes=2))
    with serving(create_app(store, LiveSettings(settings, {}), Live())) as base:
        httpx.get(f"{base}/stories/story.atom", timeout=10)
        httpx.get(f"{base}/no/such/path", timeout=10)
        samples = scrape(base)
    assert samples["aggregator_polls_total|outcome=changed|source=live"] == before["changed"] + 1
    assert samples["aggregator_polls_total|outcome=error|source=broken"] == before["error"] + 1
    assert samples["aggregator_entries_total|change=new|story=story"] == before["new"] + 7
    assert samples["aggregator_poll_duration_seconds_count|kind=liveblog"] == before["polls"] + 2
    assert samples["aggregator_parse_duration_seconds_count|kind=liveblog"] >= before["parses"] + 1
    assert samples["aggregator_store_write_duration_seconds_count"] >= before["writes"] + 2
    assert samples["aggregator_poll_lag_seconds_count"] >= before["lag"] + 1
    assert (
        samples["aggregator_poll_lag_seconds_bucket|le=60.0"]
        < samples["aggregator_poll_lag_seconds_bucket|le=300.0"]
    )
    assert samples["aggregator_sources_failing"] == 1
    assert samples["aggregator_http_requests_total|document=atom|status=200"] >= 1
    assert samples["aggregator_http_requests_total|document=other|status=404"] >= 1
    assert not any("no/such" in key for key in samples)  # labels never carry a path


def test_off_by_default_and_only_to_allowed_networks(store: Store, tmp_path: Path) -> None:
    settings = configured(tmp_path, metrics=False)
    with serving(create_app(store, LiveSettings(settings, {}), Live())) as base:
        assert httpx.get(f"{base}/metrics", timeout=10).status_code == 404
    settings = configured(tmp_path, allow='["10.0.0.0/8", "fd00::/8"]')
    with serving(create_app(store, LiveSettings(settings, {}), Live())) as base:
        refused = httpx.get(f"{base}/metrics", timeout=10)
    assert refused.status_code == 403 and "metrics_allow" in refused.text


def test_open_streams_are_a_gauge(store: Store, tmp_path: Path) -> None:
    settings = configured(tmp_path)
    store.sync_sources(settings.sources)
    open_before = value("aggregator_stream_clients")
    with serving(create_app(store, LiveSettings(settings, {}), Live())) as base:
        with httpx.stream("GET", f"{base}/stories/story/events", timeout=10) as stream:
            # Kept in a name: a dropped line iterator closes the response with it.
            lines = stream.iter_lines()
            assert next(lines) == "retry: 2000"  # the stream is open
            assert scrape(base)["aggregator_stream_clients"] == open_before + 1
        for _ in range(50):
            if value("aggregator_stream_clients") == open_before:
                break
            time.sleep(0.1)
        assert value("aggregator_stream_clients") == open_before


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.1.2.3", False),
        ("testclient", False),
        (None, False),
        ("fe80::1%eth0", False),
    ],
)
def test_allowed_addresses(address: str | None, allowed: bool) -> None:
    assert Allowed(["127.0.0.0/8", "::1/128"])(address) is allowed


@pytest.mark.parametrize(
    ("path", "document"),
    [
        ("/stories/x.atom", "atom"),
        ("/stories/x/archive/3.json", "json"),
        ("/stories/x", "page"),
        ("/stories/x/events", "events"),
        ("/", "index"),
        ("/healthz", "healthz"),
        ("/websub/abc", "websub"),
        ("/wp-login.php", "other"),
        ("/stories/x.opml", "opml"),
    ],
)
def test_request_labels_are_bounded(path: str, document: str) -> None:
    assert document_of(path) == document


@pytest.mark.parametrize(
    ("line", "where", "reason"),
    [
        ('metrics = "yes"', "[service].metrics", "true or false"),
        ('metrics_allow = ["10.0.0.5/8"]', "[service].metrics_allow", "not a network"),
        ('metrics_allow = "127.0.0.1"', "[service].metrics_allow", "list of networks"),
        ("metrics_port = 0", "[service].metrics_port", "1 to 65535"),
    ],
)
def test_metric_keys_are_validated(tmp_path: Path, line: str, where: str, reason: str) -> None:
    path = tmp_path / "aggregator.toml"
    path.write_text(f'[service]\n{line}\n[[stories]]\nid = "s"\ntitle = "S"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load(path, {})
    assert caught.value.where == where and reason in caught.value.reason


@pytest.mark.parametrize(
    ("report", "outcome"),
    [
        (PollReport("s", new=1), "changed"),
        (PollReport("s", duplicates=1), "changed"),
        (PollReport("s", unchanged=4), "unchanged"),
        (PollReport("s"), "unchanged"),
        (PollReport("s", held=True), "held"),
        (PollReport("s", error="HTTP 500"), "error"),
    ],
)
def test_poll_outcomes(report: PollReport, outcome: str) -> None:
    assert outcome_of(report) == outcome
