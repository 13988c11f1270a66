"""`[service] access_log` in the running service: each request to the web role is a
line in the file, beside the config, in the combined log format."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx

from tests.support.processes import free_port, kill_all, seeded_config, start_service, wait_for


def test_the_service_writes_one_line_per_request(tmp_path: Path) -> None:
    port = free_port()
    config = seeded_config(tmp_path, port, 'access_log = "logs/access.log"')
    process = start_service(config, tmp_path / "service.log", "web")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(f"{base}/healthz", timeout=2), timeout=60)
        feed = httpx.get(f"{base}/stories/rotherham.atom", headers={"User-Agent": "e2e/1"})
        # Asked again at once, the kept feed is answered before the app (web/front.py).
        again = {"User-Agent": "e2e/2", "If-None-Match": feed.headers["etag"]}
        assert httpx.get(f"{base}/stories/rotherham.atom", headers=again).status_code == 304
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        kill_all([process])
    lines = (tmp_path / "logs" / "access.log").read_text().splitlines()
    wanted = '"GET /stories/rotherham.atom HTTP/1.1" 200 '
    assert any(wanted in line and line.endswith('"e2e/1"') for line in lines)
    revalidated = '"GET /stories/rotherham.atom HTTP/1.1" 304 - "-" "e2e/2"'
    assert any(line.endswith(revalidated) for line in lines)
    assert all(line.startswith("127.0.0.1 - - [") for line in lines)
