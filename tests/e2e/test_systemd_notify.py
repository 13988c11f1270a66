"""Under systemd (`Type=notify`, `WatchdogSec=`): the service says READY once it
answers, pings the watchdog while it runs, and says STOPPING on SIGTERM, exiting 0.
A datagram socket of the test's stands in for systemd's $NOTIFY_SOCKET."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.paths import ROOT
from tests.support.processes import free_port, kill_all, seeded_config, start_service, wait_for


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify")
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(path)
    try:
        yield receiver, path
    finally:
        receiver.close()


def messages_until(receiver: socket.socket, wanted: str, timeout: float) -> list[str]:
    """Every field received until one equals `wanted` (AssertionError on timeout)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while wanted not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {wanted} within {timeout}s; got {seen}")
        receiver.settimeout(left)
        try:
            seen.extend(receiver.recv(4096).decode().split("\n"))
        except TimeoutError:
            continue
    return seen


@pytest.mark.parametrize("role", ["run", "worker"])
@pytest.mark.slow
def test_ready_then_watchdog_pings_then_stopping(
    role: str, tmp_path: Path, notify_socket: tuple[socket.socket, str]
) -> None:
    receiver, address = notify_socket
    port = free_port()
    config = seeded_config(tmp_path, port)
    environ = {**os.environ, "NOTIFY_SOCKET": address, "WATCHDOG_USEC": "1000000"}
    environ.pop("WATCHDOG_PID", None)
    process = start_service(config, tmp_path / "service.log", role, env=environ)
    try:
        ready = messages_until(receiver, "READY=1", timeout=60)
        assert f"MAINPID={process.pid}" in ready
        assert any(field.startswith("STATUS=") for field in ready)
        if role == "run":
            # Ready means listening: the first request after READY is answered.
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        # A 1 s watchdog is pinged every half second: two pings well within 5 s.
        started = time.monotonic()
        messages_until(receiver, "WATCHDOG=1", timeout=5)
        messages_until(receiver, "WATCHDOG=1", timeout=5)
        assert time.monotonic() - started < 5
        process.send_signal(signal.SIGTERM)
        messages_until(receiver, "STOPPING=1", timeout=30)
        assert process.wait(timeout=30) == 0
    finally:
        kill_all([process])


@pytest.mark.slow
def test_without_notify_socket_nothing_is_sent(tmp_path: Path) -> None:
    # The service starts and stops as always; the notify code must not need systemd.
    port = free_port()
    config = seeded_config(tmp_path, port)
    environ = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    process = start_service(config, tmp_path / "service.log", env=environ)
    try:

        def answering() -> bool:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200

        wait_for(answering, timeout=60)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        kill_all([process])


def test_the_shipped_unit_file_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    unit = (ROOT / "deploy" / "aggregator.service").read_text()
    assert "Type=notify" in unit and "WatchdogSec=" in unit
    # The unit names the install location; point it at this checkout's command.
    command = Path(sys.executable).parent / "aggregator"
    unit = unit.replace("/opt/aggregator/.venv/bin/aggregator", str(command))
    (tmp_path / "aggregator.service").write_text(unit)
    checked = subprocess.run(
        [analyze, "verify", str(tmp_path / "aggregator.service")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
    assert "aggregator.service" not in checked.stderr, checked.stderr
