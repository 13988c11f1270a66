"""A worker has no web port: with `metrics = true` and a `metrics_port` it serves its
own /metrics there, counting its polls, and stops serving when it stops."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from tests.support.processes import free_port, kill_all, seeded_config, start_service, wait_for

WANTED = (
    'aggregator_polls_total{outcome="changed",source="itv-live"}',
    'aggregator_polls_total{outcome="changed",source="bbc-article"}',
    'aggregator_entries_total{change="new",story="rotherham"} 8.0',
)


def test_a_worker_serves_its_own_metrics(tmp_path: Path) -> None:
    port = free_port()
    config = seeded_config(tmp_path, free_port(), f"metrics = true\nmetrics_port = {port}")
    process = start_service(config, tmp_path / "worker.log", "worker")
    url = f"http://127.0.0.1:{port}/metrics"
    try:

        def all_counted() -> str:
            text = httpx.get(url, timeout=2).text
            return text if all(w in text for w in WANTED) else ""

        text = wait_for(all_counted, timeout=60, step=0.3)
        assert "aggregator_sources_failing 0.0" in text
        assert httpx.get(f"http://127.0.0.1:{port}/other", timeout=2).status_code == 404
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        kill_all([process])
    with pytest.raises(httpx.ConnectError):  # no longer served once the worker stopped
        httpx.get(url, timeout=2)
