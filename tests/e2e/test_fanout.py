"""Several processes on one PostgreSQL: `aggregator web` nodes stream what any writer
stores, woken by LISTEN/NOTIFY, and a client may resume on another node.

The web nodes run with `--stream-recheck 3600`, so an idle stream re-reads the store only
when notified: an event that arrives within the read timeout came through NOTIFY.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from aggregator.config import Settings, load
from aggregator.ingest.pipeline import poll
from aggregator.publish.timefmt import format_rfc3339
from aggregator.service import http_fetchers
from aggregator.store import Store, open_store
from aggregator.web.changes import StoryChanges
from tests.support.builders import T0
from tests.support.paths import LIVEBLOG_SEED, ROOT
from tests.support.processes import (
    free_port,
    kill_all,
    listening_ports,
    read_events,
    save_like_an_editor,
    wait_for,
)

CONFIG = """
[service]
database_url = "{db}"
port = {port}

[[stories]]
id = "rotherham"
title = "Rotherham"

[[sources]]
name = "itv-live"
kind = "liveblog"
path = "sources/live.txt"
interval = "1s"
"""
NEW_POSTS = [
    (
        "Council leader apologises to victims",
        "The leader of Rotherham Council apologised in person to victims and their "
        "families, saying the authority had let them down for more than a decade.",
    ),
    (
        "Commissioners take over children's services",
        "Government commissioners will run the council's children's services for at "
        "least two years, the communities secretary told MPs on Wednesday afternoon.",
    ),
    (
        "Police watchdog opens inquiry into officers",
        "The Independent Police Complaints Commission has begun investigating how South "
        "Yorkshire officers handled reports made by girls between 1997 and 2013.",
    ),
]
TIMEOUT = httpx.Timeout(5, read=20)


@dataclass
class Deployment:
    folder: Path
    config: Path
    settings: Settings
    store: Store
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        log = self.folder / f"process-{len(self.processes)}.log"
        command = [sys.executable, "-m", "aggregator", "--config", str(self.config), *args]
        with log.open("wb") as sink:
            process = subprocess.Popen(command, cwd=ROOT, stderr=sink)
        self.processes.append(process)
        return process

    def web_node(self) -> str:
        port = free_port()
        self.start("web", "--port", str(port), "--stream-recheck", "3600")
        base = f"http://127.0.0.1:{port}"

        def listening() -> bool:
            health = httpx.get(f"{base}/healthz", timeout=5).json()
            return bool(health["role"] == "web" and health["notifications"] == "listening")

        wait_for(listening)
        return base

    def add_post(self, n: int) -> None:
        """Put post `n` on top of the live page, as its editors would."""
        live = self.folder / "sources" / "live.txt"
        title, body = NEW_POSTS[n]
        text = live.read_text(encoding="utf-8")
        text = text.replace("Live updates\n\n", f"Live updates\n\n{title}\n\n{body}\n\n", 1)
        save_like_an_editor(live, text)

    def poll_here(self, n: int, *, new: int = 1) -> None:
        """This test is the writer: the real pipeline, through Store.apply."""
        source = self.settings.sources[0]
        story = self.settings.stories[0]
        with http_fetchers() as fetchers:
            report = poll(
                source, story, store=self.store, fetchers=fetchers, now=T0 + timedelta(minutes=n)
            )
        assert report.error is None and report.new == new, report


@pytest.fixture
def deployment(postgres_url: str, tmp_path: Path) -> Iterator[Deployment]:
    (tmp_path / "sources").mkdir()
    shutil.copy(LIVEBLOG_SEED, tmp_path / "sources" / "live.txt")
    config = tmp_path / "aggregator.toml"
    config.write_text(CONFIG.format(db=postgres_url, port=free_port()), encoding="utf-8")
    settings = load(config, {})
    store = open_store(postgres_url)
    store.sync_sources(settings.sources)
    running = Deployment(tmp_path, config, settings, store)
    try:
        yield running
    finally:
        kill_all(running.processes)
        store.engine.dispose()


def new_titles(events: list[dict[str, str]]) -> list[str]:
    return [json.loads(e["data"])["title"] for e in events if e["event"] == "new"]


def read_new(lines: Iterator[str], count: int, *, within: float = 30.0) -> list[dict[str, str]]:
    """Events up to and including the `count`th "new" one. The stream pings every 15 s,
    so the deadline is checked at least that often."""
    deadline = time.monotonic() + within
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in lines:
        if time.monotonic() > deadline:
            got = new_titles(events)
            raise AssertionError(f"{len(got)} of {count} new events in {within}s: {got}")
        if line.startswith(":"):
            continue
        if line:
            name, _, value = line.partition(":")
            current[name] = value.removeprefix(" ")
            continue
        if "data" in current:
            events.append(current)
            if len(new_titles(events)) == count:
                return events
        current = {}
    raise AssertionError(f"stream ended after {len(events)} events")


def test_a_change_wakes_the_waiters_of_its_story_from_any_thread() -> None:
    async def scenario() -> tuple[bool, bool, bool, bool]:
        changes = StoryChanges()
        mine, other = changes.token("mine"), changes.token("other")
        threading.Thread(target=changes.changed, args=("mine",)).start()
        woke_mine = await changes.wait(mine, 30)
        other_slept = not await changes.wait(other, 0.01)
        fresh = changes.token("mine")  # a new token: the change above is spent
        threading.Thread(target=changes.changed, args=(None,)).start()
        return woke_mine, other_slept, await changes.wait(fresh, 30), other.is_set()

    assert asyncio.run(scenario()) == (True, True, True, True)


@pytest.mark.slow
def test_each_web_node_streams_every_new_entry_and_a_client_resumes_on_the_other(
    deployment: Deployment,
) -> None:
    deployment.poll_here(0, new=7)
    backlog = len(deployment.store.events_after("rotherham", 0))
    node_a, node_b = deployment.web_node(), deployment.web_node()
    url = "/stories/rotherham/events"
    with ExitStack() as streams:
        a = streams.enter_context(httpx.stream("GET", node_a + url, timeout=TIMEOUT))
        b = streams.enter_context(httpx.stream("GET", node_b + url, timeout=TIMEOUT))
        lines_a, lines_b = a.iter_lines(), b.iter_lines()
        assert read_events(lines_a, backlog) == read_events(lines_b, backlog)

        deployment.add_post(0)
        deployment.poll_here(1)
        first_a = read_new(lines_a, 1)
        a.close()  # this client goes away and will come back to the other node
        for n in (1, 2):
            deployment.add_post(n)
            deployment.poll_here(n + 1)
        seen_b = read_new(lines_b, 3)

    titles = [title for title, _ in NEW_POSTS]
    assert new_titles(seen_b) == titles
    assert first_a == seen_b[: len(first_a)]
    resume = {"Last-Event-ID": first_a[-1]["id"]}
    with httpx.stream("GET", node_b + url, headers=resume, timeout=TIMEOUT) as again:
        resumed = read_new(again.iter_lines(), 2)
    assert first_a + resumed == seen_b
    # No web node polled: the sources' last attempt is still this test's last poll.
    [health] = httpx.get(f"{node_a}/healthz", timeout=5).json()["sources"]
    assert health["last_attempt_at"] == format_rfc3339(T0 + timedelta(minutes=3))


@pytest.mark.slow
def test_a_worker_polls_without_a_port_and_a_web_node_streams_what_it_stores(
    deployment: Deployment,
) -> None:
    heartbeat = deployment.folder / "var" / "worker.heartbeat"
    health = [sys.executable, "-m", "aggregator", "--config", str(deployment.config), "health"]
    beat = [*health, "--heartbeat", str(heartbeat)]
    assert subprocess.run(beat, cwd=ROOT, capture_output=True).returncode == 1  # no file yet
    worker = deployment.start("worker", "--heartbeat", str(heartbeat))
    wait_for(heartbeat.exists)
    wait_for(lambda: deployment.store.entry_counts().get("rotherham"))
    node = deployment.web_node()
    with httpx.stream("GET", f"{node}/stories/rotherham/events", timeout=TIMEOUT) as stream:
        lines = stream.iter_lines()
        backlog = len(deployment.store.events_after("rotherham", 0))
        read_events(lines, backlog)
        deployment.add_post(0)
        arrived = read_new(lines, 1)
    assert new_titles(arrived) == [NEW_POSTS[0][0]]

    assert subprocess.run(beat, cwd=ROOT, capture_output=True).returncode == 0
    # The worker never opens the configured port.
    assert deployment.settings.service.port not in listening_ports(worker.pid)
    for process in (worker, deployment.processes[-1]):
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
