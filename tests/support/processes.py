"""Whole processes as a user runs them: the `aggregator` command, the service started on
a free port, waiting until it shows something, its event stream, and stopping it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TypeVar

import httpx

from tests.support.paths import ARTICLE_SEED, LIVEBLOG_SEED, ROOT

T = TypeVar("T")


def aggregator(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m aggregator ARGS` from the repository, as a user types it."""
    return subprocess.run(
        [sys.executable, "-m", "aggregator", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def start_service(
    config: Path, log: Path, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`python run.py --config CONFIG ARGS` (in `env`, if given) with its stderr in `log`;
    stop it with kill_all."""
    command = [sys.executable, "run.py", "--config", str(config), *args]
    with log.open("wb") as sink:
        return subprocess.Popen(command, cwd=ROOT, env=env, stderr=sink)


SEEDED = """
[service]
database_url = "sqlite:///{db}"
port = {port}
{service}

[[stories]]
id = "rotherham"
title = "Rotherham"

[[sources]]
name = "itv-live"
kind = "liveblog"
path = "sources/live.txt"

[[sources]]
name = "bbc-article"
kind = "article"
path = "sources/article.txt"
"""


def seeded_config(folder: Path, port: int, service: str = "") -> Path:
    """A config following the two seeds (copied into `folder`/sources) on `port`, with
    `service` added to its [service] table; its store beside it."""
    sources = folder / "sources"
    sources.mkdir(exist_ok=True)
    shutil.copy(LIVEBLOG_SEED, sources / "live.txt")
    shutil.copy(ARTICLE_SEED, sources / "article.txt")
    config = folder / "aggregator.toml"
    text = SEEDED.format(db=folder / "agg.sqlite", port=port, service=service)
    config.write_text(text, encoding="utf-8")
    return config


def listening_ports(pid: int) -> set[int]:
    """The TCP ports a process listens on (Linux: its socket descriptors in /proc matched
    to the kernel's tables). Unlike trying to connect, this is about that process only:
    a free port handed out again to another server, or a connection to a closed port
    that the kernel joins to itself, cannot pass for it."""
    sockets = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed since the listing
        if target.startswith("socket:["):
            sockets.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in sockets:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def free_port() -> int:
    """A loopback port free now, for a child process to listen on. (A server in the test's
    own process takes a socket already listening instead: tests/support/appserver.py.)"""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kill_all(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGKILL what is still running and reap it."""
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def wait_for(check: Callable[[], T], timeout: float = 30.0, step: float = 0.2) -> T:
    """The first truthy result of `check()`, tried every `step` seconds; an HTTP error
    counts as "not yet" (the service may still be starting). Fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            name = getattr(check, "__name__", repr(check))
            raise AssertionError(f"timed out after {timeout}s waiting for {name}")
        time.sleep(step)


def save_like_an_editor(path: Path, text: str) -> None:
    """Write a new version and rename it over the old, as most editors save."""
    temporary = path.with_suffix(".swp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def read_events(lines: Iterator[str], count: int) -> list[dict[str, str]]:
    """The next `count` events of an event stream's lines, each as its fields."""
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in lines:
        if not line:
            if "data" in current:
                events.append(current)
                if len(events) == count:
                    return events
            current = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            current[field] = value.removeprefix(" ")
    raise AssertionError(f"stream ended after {len(events)} of {count} events")


def parse_children(pid: int) -> set[int]:
    """The processes `pid` started that run the parse loop (aggregator.ingest.parsing),
    read from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            status = (entry / "status").read_text()
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):  # gone meanwhile, or not a process
            continue
        if (
            int(status.split("PPid:")[1].split()[0]) == pid
            and b"aggregator.ingest.parsing" in command
        ):
            found.add(int(entry.name))
    return found
