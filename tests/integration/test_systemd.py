"""The notify protocol's parts against a real datagram socket: a stuck part stops the
watchdog pings (so systemd restarts the service), and only the process systemd names
is asked to ping."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.systemd import Beat, Notifications, Notifier, Watchdog, watchdog_seconds


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.05)
    try:
        yield sock, path
    finally:
        sock.close()


def drain(sock: socket.socket, seconds: float) -> list[str]:
    got: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(TimeoutError):
            got.extend(sock.recv(4096).decode().split("\n"))
    return got


@pytest.mark.slow
def test_pings_stop_while_a_part_is_stuck_and_resume_when_it_moves(
    receiver: tuple[socket.socket, str],
) -> None:
    sock, path = receiver
    beat = Beat("the worker's scheduler", limit=0.3)
    watchdog = Watchdog(Notifier(path), period=0.2, probes=[beat.probe])
    watchdog.start()
    try:
        assert "WATCHDOG=1" in drain(sock, 1.0)
        time.sleep(0.4)  # no beat for longer than its limit: the part looks stuck
        drain(sock, 0.1)
        assert "WATCHDOG=1" not in drain(sock, 0.4)
        beat.limit = 60.0
        assert "WATCHDOG=1" in drain(sock, 1.0)
    finally:
        watchdog.stop()


@pytest.mark.parametrize(
    ("environ", "seconds"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "4242"}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_period_only_for_the_process_systemd_names(
    environ: dict[str, str], seconds: float | None
) -> None:
    assert watchdog_seconds(environ, 4242) == seconds


@pytest.mark.slow
def test_ready_carries_status_and_stopping_ends_the_pings(
    receiver: tuple[socket.socket, str],
) -> None:
    sock, path = receiver
    notes = Notifications({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"})
    notes.beat("a part")
    notes.ready("serving")
    got = drain(sock, 0.3)
    assert got[:2] == ["READY=1", "STATUS=serving"] and "WATCHDOG=1" in got
    notes.stopping()
    assert drain(sock, 0.1)[-2:] == ["STOPPING=1", "STATUS=stopping"]
    assert drain(sock, 0.3) == []


def test_no_socket_no_messages() -> None:
    notes = Notifications({"WATCHDOG_USEC": "200000"})
    notes.ready("serving")  # nothing to send to, and nothing fails
    notes.stopping()
    assert notes.notifier is None and notes.period is None
