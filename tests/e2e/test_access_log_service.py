"""`[service] access_log` in the running service: each request to the web role is a
line in the file, beside the config, in the combined log format."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.paths import ROOT
from tests.support.processes import free_port

CONFIG = """
[service]
database_url = "sqlite:///agg.sqlite"
port = {port}
access_log = "logs/access.log"

[[stories]]
id = "s"
title = "A story"
"""


def test_the_service_writes_one_line_per_request(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "aggregator.toml"
    config.write_text(CONFIG.format(port=port), encoding="utf-8")
    command = [sys.executable, "run.py", "--config", str(config), "web"]
    with (tmp_path / "service.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the web role did not start"
                time.sleep(0.2)
        httpx.get(f"http://127.0.0.1:{port}/stories/s.atom", headers={"User-Agent": "e2e/1"})
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    lines = (tmp_path / "logs" / "access.log").read_text().splitlines()
    assert any(
        '"GET /stories/s.atom HTTP/1.1" 200 ' in line and line.endswith('"e2e/1"') for line in lines
    )
    assert all(line.startswith("127.0.0.1 - - [") for line in lines)
