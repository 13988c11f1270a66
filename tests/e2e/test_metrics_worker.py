"""A worker has no web port: with `metrics = true` and a `metrics_port` it serves its
own /metrics there, counting its polls, and stops serving when it stops."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.paths import ARTICLE_SEED, LIVEBLOG_SEED, ROOT
from tests.support.processes import free_port

CONFIG = """
[service]
database_url = "sqlite:///agg.sqlite"
metrics = true
metrics_port = {port}

[[stories]]
id = "rotherham"
title = "Rotherham"

[[sources]]
name = "itv-live"
kind = "liveblog"
path = "live.txt"

[[sources]]
name = "bbc-article"
kind = "article"
path = "article.txt"
"""


def test_a_worker_serves_its_own_metrics(tmp_path: Path) -> None:
    shutil.copy(LIVEBLOG_SEED, tmp_path / "live.txt")
    shutil.copy(ARTICLE_SEED, tmp_path / "article.txt")
    port = free_port()
    config = tmp_path / "aggregator.toml"
    config.write_text(CONFIG.format(port=port), encoding="utf-8")
    command = [sys.executable, "run.py", "--config", str(config), "worker"]
    with (tmp_path / "worker.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, stderr=log)
    wanted = (
        'aggregator_polls_total{outcome="changed",source="itv-live"}',
        'aggregator_polls_total{outcome="changed",source="bbc-article"}',
        'aggregator_entries_total{change="new",story="rotherham"} 8.0',
    )
    try:
        deadline = time.monotonic() + 60
        text = ""
        while not all(w in text for w in wanted):
            assert time.monotonic() < deadline, f"not all of {wanted} in:\n{text}"
            time.sleep(0.3)
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except httpx.HTTPError:
                continue
        assert "aggregator_sources_failing 0.0" in text
        assert httpx.get(f"http://127.0.0.1:{port}/other", timeout=2).status_code == 404
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    try:
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
        raise AssertionError("metrics still served after the worker stopped")
    except httpx.ConnectError:
        pass
