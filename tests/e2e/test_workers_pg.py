"""Many workers on one PostgreSQL: real `aggregator worker` processes share the sources
through leases, keep per-host politeness between them, survive a `kill -9` of one of
them, and follow config changes; plus the pieces that make it so (the shared host gate,
sync_sources from several processes at once).

Every wait is bounded and fails naming what was still missing; nothing asserts speed.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from aggregator.config import FetchSettings, HostSettings
from aggregator.core.types import FetchState, SourceSpec
from aggregator.fetch.http import make_client
from aggregator.fetch.limits import FetchLimits
from aggregator.fetch.politeness import HostHeld
from aggregator.ingest.sources import Fetchers
from aggregator.store import Store, open_store
from aggregator.store.database import create_store_engine
from aggregator.store.hosts import PostgresHosts
from aggregator.store.schema import entry_items, sources
from tests.support.httpserver import Route, Server, serve
from tests.support.paths import ROOT
from tests.support.processes import kill_all

HEAD = """
[service]
database_url = "{db}"
# WebSub discovery GETs a new feed once more after its first poll, outside the host
# gate (aggregator.websub.subscriber): off, so every request here is a poll.
websub_subscribe = false

[[stories]]
id = "wire"
title = "Wire"
"""
SOURCE = """
[[sources]]
name = "{name}"
kind = "feed"
url = "{url}"
interval = "{every}"
min_interval = "{fastest}"
max_interval = "{every}"
"""
ITEMS = 2
NOW = datetime(2026, 11, 30, tzinfo=UTC)


def rss(name: str) -> bytes:
    """Two items whose words are the source's own, so no copy merges with another's."""
    items = "".join(
        f"<item><guid>{name}-{i}</guid><title>{name} item {i} of {ITEMS}</title>"
        f"<link>https://wire.example/{name}/{i}</link>"
        f"<description>Report {i} from {name}: {' '.join(_words(name, i))}.</description>"
        "<pubDate>Mon, 30 Nov 2026 09:00:00 GMT</pubDate></item>"
        for i in range(ITEMS)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{name}</title><link>https://wire.example/</link>{items}</channel></rss>"
    ).encode()


def _words(name: str, i: int) -> list[str]:
    seed = sum(map(ord, name)) * 31 + i
    return [f"w{(seed * 7919 + k * 104729) % 100003}" for k in range(12)]


def feed_route(name: str, delay: float) -> Route:
    return Route(body=rss(name), content_type="application/rss+xml", etag=f'"{name}"', delay=delay)


@dataclass
class Cluster:
    """Worker processes sharing one config file and one database."""

    folder: Path
    server: Server
    store: Store
    config: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def write_config(self, names: dict[str, str]) -> None:
        """`names`: source name -> interval (its fastest and slowest too)."""
        text = HEAD.format(db=self.store.engine.url.render_as_string(hide_password=False))
        for name, every in names.items():
            fastest = every
            url = self.server.url(f"/{name}")
            text += SOURCE.format(name=name, url=url, every=every, fastest=fastest)
        temporary = self.config.with_suffix(".tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(self.config)  # workers never read half a file

    def start_workers(self, count: int, *args: str) -> None:
        for _ in range(count):
            log = self.folder / f"worker-{len(self.processes)}.log"
            command = [sys.executable, "-m", "aggregator", "--config", str(self.config)]
            with log.open("wb") as sink:
                process = subprocess.Popen([*command, "worker", *args], cwd=ROOT, stderr=sink)
            self.processes.append(process)
            self.logs.append(log)

    def requested(self, path: str) -> int:
        return sum(1 for r in list(self.server.requests) if r.path == path)

    def rows(self) -> dict[str, Any]:
        with self.store.engine.connect() as c:
            return {r.name: r for r in c.execute(select(sources))}

    def copies(self) -> dict[tuple[str, str], int]:
        """How many times each (source, item key) is stored."""
        query = select(entry_items.c.source, entry_items.c.item_key, func.count()).group_by(
            entry_items.c.source, entry_items.c.item_key
        )
        with self.store.engine.connect() as c:
            return {(s, k): int(n) for s, k, n in c.execute(query)}

    def logged(self, worker: int, text: str) -> int:
        return self.logs[worker].read_text(encoding="utf-8", errors="replace").count(text)

    def wait(self, what: str, check: Callable[[], object], within: float = 45.0) -> None:
        deadline = time.monotonic() + within
        while not check():
            for n, process in enumerate(self.processes):
                if process.poll() not in (None, -signal.SIGKILL):
                    raise AssertionError(f"worker {n} exited: {self.logs[n].read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {within:g}s: {what}")
            time.sleep(0.05)


@pytest.fixture
def routes() -> dict[str, Route]:
    return {}


@pytest.fixture
def cluster(postgres_url: str, tmp_path: Path, routes: dict[str, Route]) -> Iterator[Cluster]:
    store = open_store(postgres_url)
    with serve(routes) as server:
        running = Cluster(tmp_path, server, store, tmp_path / "aggregator.toml")
        try:
            yield running
        finally:
            kill_all(running.processes)
            store.engine.dispose()


@pytest.mark.slow
def test_three_workers_poll_300_sources_once_each_within_the_host_limit(
    cluster: Cluster, routes: dict[str, Route]
) -> None:
    names = [f"feed-{n:03d}" for n in range(300)]
    routes.update({f"/{name}": feed_route(name, delay=0.02) for name in names})
    cluster.write_config(dict.fromkeys(names, "1h"))
    cluster.start_workers(3)

    def all_stored() -> bool:
        rows = cluster.rows().values()
        return len(rows) == 300 and all(r.last_success_at and not r.lease_owner for r in rows)

    cluster.wait("every source polled and stored", all_stored, within=90)
    assert sorted(r.path for r in cluster.server.requests) == [f"/{name}" for name in names]
    assert set(cluster.server.concurrency.most_by_path.values()) == {1}
    assert cluster.server.concurrency.most <= FetchLimits().per_host
    now = datetime.now(UTC)
    assert all(r.next_attempt_at > now for r in cluster.rows().values())  # none due again
    stored = cluster.copies()
    assert len(stored) == 300 * ITEMS and set(stored.values()) == {1}
    per_worker = [cluster.logged(n, 'msg="poll stored changes"') for n in range(3)]
    assert sum(per_worker) == 300 and all(per_worker), per_worker


@pytest.mark.slow
def test_a_killed_workers_sources_are_polled_again_once_its_leases_run_out(
    cluster: Cluster, routes: dict[str, Route]
) -> None:
    names = [f"feed-{n:02d}" for n in range(24)]
    routes.update({f"/{name}": feed_route(name, delay=0.2) for name in names})
    cluster.write_config(dict.fromkeys(names, "1h"))
    cluster.start_workers(2, "--lease", "5")
    victim = cluster.processes[0]
    mark = f":{victim.pid}:"

    def victim_polling() -> bool:
        busy = [r for r in cluster.rows().values() if r.lease_owner and mark in r.lease_owner]
        return len(cluster.server.requests) >= 5 and bool(busy)

    cluster.wait("the first worker polling", victim_polling)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    orphans = {
        name: row.lease_until
        for name, row in cluster.rows().items()
        if row.lease_owner and mark in row.lease_owner
    }
    assert orphans, "the killed worker held no lease: it was not killed mid-poll"

    def all_stored() -> bool:
        rows = cluster.rows().values()
        return len(rows) == 24 and all(r.last_success_at and not r.lease_owner for r in rows)

    cluster.wait("every source polled by the survivor", all_stored)
    rows = cluster.rows()
    for name, lease_until in orphans.items():
        assert rows[name].last_success_at >= lease_until, f"{name} polled inside the lease"
    assert {r.path for r in cluster.server.requests} == {f"/{name}" for name in names}
    assert set(cluster.server.concurrency.most_by_path.values()) == {1}
    stored = cluster.copies()
    assert len(stored) == 24 * ITEMS and set(stored.values()) == {1}


@pytest.mark.slow
def test_config_changes_reach_every_worker_without_a_restart(
    cluster: Cluster, routes: dict[str, Route]
) -> None:
    for name in ("steady", "doomed", "newcomer", "marker"):
        routes[f"/{name}"] = feed_route(name, delay=0.0)
    cluster.write_config({"steady": "1h", "doomed": "5s"})
    cluster.start_workers(2)
    cluster.wait("both sources polled", lambda: cluster.requested("/doomed") >= 1)

    cluster.write_config({"steady": "1h", "doomed": "5s", "newcomer": "1h"})
    added = 'msg="source added" source=newcomer'
    for n in range(2):
        cluster.wait(f"worker {n} seeing the new source", partial(cluster.logged, n, added))
    cluster.wait("the new source polled", lambda: cluster.requested("/newcomer") >= 1)

    cluster.write_config({"steady": "1h", "newcomer": "1h", "marker": "5s"})

    def doomed_stopped_and_idle() -> bool:
        row = cluster.rows()["doomed"]
        return bool(row.stopped_reason) and row.lease_owner is None

    cluster.wait("the removed source stopped", doomed_stopped_and_idle)
    polls_of_doomed = cluster.requested("/doomed")
    # The marker polls every 5 s, as the removed source did: two of its polls span more
    # than a period in which the removed one would have been due.
    cluster.wait("the marker polled twice", lambda: cluster.requested("/marker") >= 2, 30)
    assert cluster.requested("/doomed") == polls_of_doomed
    assert cluster.requested("/newcomer") == 1
    assert cluster.requested("/steady") == 1


@pytest.mark.slow
def test_politeness_holds_across_gates_on_separate_connections(postgres_url: str) -> None:
    open_store(postgres_url).engine.dispose()  # migrated
    limits = FetchLimits(per_host=2, host_gap=0.25, total_timeout=10)
    engines = [create_store_engine(postgres_url) for _ in range(2)]
    with serve({"/f": Route(body=b"<rss/>", delay=0.05)}) as server:
        clients = [make_client(limits) for _ in engines]
        fetchers = [
            Fetchers(client, limits, PostgresHosts(engine, 2, limits.host_gap, 10))
            for client, engine in zip(clients, engines, strict=True)
        ]

        def fetch(n: int) -> None:
            spec = SourceSpec(f"s{n}", "s", "feed", server.url("/f"), None, 60, "UTC")
            fetchers[n % 2].fetch(spec, FetchState(), now=NOW)

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(fetch, range(8)))
        starts = sorted(r.at for r in server.requests)
        fetchers[0].shared.hold(server.url("/f"), NOW + timedelta(minutes=1))  # type: ignore[union-attr]
        with pytest.raises(HostHeld):
            fetch(1)  # the other gate's process was told to wait
        for client in clients:
            client.close()
    for engine in engines:
        engine.dispose()
    assert len(starts) == 8 and server.concurrency.most <= 2
    # Measured where the server reads each request, which a busy machine delays by some
    # milliseconds either way: the gap is asked for less that margin.
    assert all(b - a >= 0.2 for a, b in itertools.pairwise(starts)), starts


def test_workers_starting_at_once_record_each_source_once(postgres_url: str) -> None:
    open_store(postgres_url).engine.dispose()
    specs = [
        SourceSpec(f"s{n}", "s", "feed", f"https://wire.example/{n}", None, 60, "UTC")
        for n in range(50)
    ]
    stores = [Store(create_store_engine(postgres_url)) for _ in range(6)]
    start = threading.Barrier(len(stores))

    def sync(store: Store) -> None:
        start.wait()
        store.sync_sources(specs)

    with ThreadPoolExecutor(max_workers=len(stores)) as pool:
        list(pool.map(sync, stores))  # re-raises any worker's error
    with stores[0].engine.connect() as c:
        names = list(c.execute(select(sources.c.name)).scalars())
    for store in stores:
        store.engine.dispose()
    assert sorted(names) == sorted(s.name for s in specs)


@pytest.mark.slow
def test_a_lease_too_short_for_a_poll_is_refused() -> None:
    command = [sys.executable, "-m", "aggregator", "worker", "--lease", "2"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, env={**os.environ})
    assert done.returncode == 2 and b"--lease: must be at least 5 seconds" in done.stderr


def test_a_hosts_own_share_holds_across_gates_too(postgres_url: str) -> None:
    """`[[hosts]]` reaches the gate shared on PostgreSQL: one request at a time to the
    host across two gates, though `[fetch]` would allow two."""
    open_store(postgres_url).engine.dispose()  # migrated
    base = FetchLimits(per_host=2, total_timeout=10)
    own = FetchSettings(hosts=(HostSettings("127.0.0.1", per_host=1),))
    engines = [create_store_engine(postgres_url) for _ in range(2)]
    with serve({"/f": Route(body=b"<rss/>", delay=0.05)}) as server:
        clients = [make_client(base) for _ in engines]
        fetchers = [
            Fetchers(client, base, PostgresHosts(engine, 2, 0.0, 10))
            for client, engine in zip(clients, engines, strict=True)
        ]
        for each in fetchers:
            each.reconfigure(own)

        def fetch(n: int) -> None:
            spec = SourceSpec(f"s{n}", "s", "feed", server.url("/f"), None, 60, "UTC")
            fetchers[n % 2].fetch(spec, FetchState(), now=NOW)

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(fetch, range(8)))
        for client in clients:
            client.close()
    for engine in engines:
        engine.dispose()
    assert len(server.requests) == 8 and server.concurrency.most == 1
