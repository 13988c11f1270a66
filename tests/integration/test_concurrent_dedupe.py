"""Two sources carrying the same posts, polled at the same moment, store each post once
(issue 14, item 6): decisions for one story are made one at a time, on SQLite and on
PostgreSQL, across threads and across processes' connections."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from aggregator.core.types import PollReport, SourceSpec, StorySpec
from aggregator.fetch.http import make_client
from aggregator.fetch.limits import FetchLimits
from aggregator.ingest.pipeline import poll
from aggregator.ingest.sources import Fetchers
from aggregator.store import Store, open_store
from aggregator.store.schema import entries, entry_items
from tests.support.builders import T0
from tests.support.paths import LIVEBLOG_SEED

STORY = StorySpec("rotherham", "Rotherham")
ROUNDS = 4


def spec(name: str, path: Path) -> SourceSpec:
    return SourceSpec(name, STORY.id, "liveblog", None, str(path), 5.0, "Europe/London")


def counts(store: Store) -> tuple[int, int]:
    with store.engine.connect() as c:
        merged = c.execute(select(func.count()).select_from(entries)).scalar_one()
        copies = c.execute(select(func.count()).select_from(entry_items)).scalar_one()
    return int(merged), int(copies)


def poll_together(stores: list[Store], specs: list[SourceSpec], fetchers: Fetchers) -> None:
    """Each source polled by its own thread (and store, i.e. its own connections, as
    another worker process would have), released at the same instant."""
    start = threading.Barrier(len(specs))
    reports: list[PollReport] = []

    def run(store: Store, source: SourceSpec) -> None:
        start.wait()
        reports.append(poll(source, STORY, store=store, fetchers=fetchers, now=T0))

    threads = [threading.Thread(target=run, args=pair) for pair in zip(stores, specs, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(reports) == len(specs) and not any(r.error for r in reports), reports


@pytest.mark.slow
def test_concurrent_polls_of_the_same_posts_store_each_once(
    database_url: str, tmp_path: Path
) -> None:
    for round_ in range(ROUNDS):
        folder = tmp_path / f"round{round_}"
        folder.mkdir()
        paths = [folder / "itv.txt", folder / "itv-mirror.txt"]
        for path in paths:
            shutil.copy(LIVEBLOG_SEED, path)
        url = database_url.replace("test.sqlite", f"test{round_}.sqlite")
        stores = [open_store(url), open_store(url)]
        specs = [spec("itv", paths[0]), spec("mirror", paths[1])]
        try:
            stores[0].sync_sources(specs)
            with make_client(FetchLimits()) as client:
                poll_together(stores, specs, Fetchers(client, FetchLimits()))
            assert counts(stores[0]) == (7, 14), f"round {round_}"
        finally:
            for store in stores:
                store.engine.dispose()
        if "postgresql" in url:
            _empty(url)


def _empty(url: str) -> None:
    store = open_store(url)
    try:
        with store.engine.begin() as c:
            c.execute(entries.delete())
    finally:
        store.engine.dispose()


def test_the_story_lock_is_per_story(database_url: str) -> None:
    """Deciding for one story never waits for another's."""
    store = open_store(database_url)
    try:
        held = threading.Event()
        release = threading.Event()

        def hold() -> None:
            with store.deciding("one"):
                held.set()
                release.wait(10)

        holder = threading.Thread(target=hold)
        holder.start()
        assert held.wait(10)
        done = threading.Event()

        def other() -> None:
            with store.deciding("two"):
                done.set()

        threading.Thread(target=other).start()
        assert done.wait(5), "a second story waited for the first one's lock"
        release.set()
        holder.join(10)
    finally:
        store.engine.dispose()
