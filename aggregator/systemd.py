"""EDGE: the service manager's notify protocol (sd_notify(3)), without libsystemd.

Under a unit with `Type=notify`, systemd passes a datagram socket in `$NOTIFY_SOCKET`:
`READY=1` says start-up is over, `STOPPING=1` that shutdown began, `STATUS=...` is shown
by `systemctl status`, and with `WatchdogSec=` set (`$WATCHDOG_USEC`), `WATCHDOG=1`
must arrive more often than that or the service is killed and restarted. Pings are sent
only while every liveness probe says its part still moves (the worker's scheduler
ticks, the web server's event loop turns), so a hung process stops pinging.
Without `$NOTIFY_SOCKET` all of this does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

log = logging.getLogger("aggregator.service")

Probe = Callable[[], str | None]  # None when alive, else what is stuck


class Notifier:
    """Sends notify messages to one socket path (a leading "@" is an abstract socket)."""

    def __init__(self, address: str) -> None:
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Notifier | None:
        address = environ.get("NOTIFY_SOCKET", "")
        return cls(address) if address.startswith(("/", "@")) else None

    def send(self, *fields: str) -> bool:
        try:
            self._socket.sendto("\n".join(fields).encode(), self.address)
        except OSError as e:
            log.warning("service manager notification failed", extra={"reason": str(e)})
            return False
        return True

    def close(self) -> None:
        self._socket.close()


def watchdog_seconds(environ: Mapping[str, str], pid: int) -> float | None:
    """The watchdog period systemd asks for, if it asks this process."""
    owner = environ.get("WATCHDOG_PID")
    if owner and owner != str(pid):
        return None
    try:
        microseconds = int(environ.get("WATCHDOG_USEC", "")[:20])
    except ValueError:
        return None
    return microseconds / 1_000_000 if microseconds > 0 else None


class Watchdog:
    """Pings at half the watchdog period while every probe answers None."""

    def __init__(self, notifier: Notifier, period: float, probes: list[Probe]) -> None:
        self.notifier = notifier
        self.period = period
        self.probes = probes
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="aggregator-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.period / 2):
            stuck = [reason for probe in self.probes if (reason := probe()) is not None]
            if stuck:
                log.error("not pinging the watchdog", extra={"stuck": "; ".join(stuck)})
                continue
            self.notifier.send("WATCHDOG=1")


class Beat:
    """A part's last sign of life, and how old it may get."""

    def __init__(self, name: str, limit: float) -> None:
        self.name = name
        self.limit = limit
        self.last = time.monotonic()

    def __call__(self) -> None:
        self.last = time.monotonic()

    def probe(self) -> str | None:
        age = time.monotonic() - self.last
        return None if age <= self.limit else f"{self.name}: no sign of life for {age:.0f}s"


class Notifications:
    """What the service tells its manager over one run: READY once, WATCHDOG while alive,
    STOPPING once."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.notifier = Notifier.from_environ(environ)
        period = watchdog_seconds(environ, os.getpid()) if self.notifier else None
        self.period = period
        self.beats: list[Beat] = []
        self._watchdog: Watchdog | None = None

    def beat(self, name: str) -> Beat:
        """A probe the watchdog checks; call it at least every few seconds."""
        beat = Beat(name, limit=max(10.0, (self.period or 0) / 2))
        self.beats.append(beat)
        return beat

    def ready(self, status: str) -> None:
        if self.notifier is None:
            return
        self.notifier.send("READY=1", f"STATUS={status}", f"MAINPID={os.getpid()}")
        if self.period is not None:
            self._watchdog = Watchdog(self.notifier, self.period, [b.probe for b in self.beats])
            self._watchdog.start()

    def stopping(self) -> None:
        if self.notifier is None:
            return
        if self._watchdog is not None:
            self._watchdog.stop()
        self.notifier.send("STOPPING=1", "STATUS=stopping")
        self.notifier.close()
