"""Watched local files: a saved change is polled at once, without waiting for the interval."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.config import LiveSettings, load
from aggregator.core.types import StorySpec
from aggregator.fetch.http import make_client
from aggregator.fetch.limits import FetchLimits
from aggregator.ingest.sources import Fetchers
from aggregator.ingest.watch import FileWatcher
from aggregator.ingest.worker import Worker
from aggregator.store import Store
from tests.support.paths import LIVEBLOG_SEED
from tests.support.processes import save_like_an_editor, wait_for

CONFIG = """
[[stories]]
id = "s"
[[sources]]
name = "live"
kind = "liveblog"
path = "pages/*.txt"
interval = "1h"
"""
NEW_POST = (
    "Council leader apologises to victims\n\n"
    "The leader of the council has apologised in person to victims and their families, "
    "saying the authority had let them down for more than a decade.\n\n"
)


def test_the_watcher_names_the_source_whose_file_changed(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    seen: list[str] = []
    changed = threading.Event()

    def record(name: str) -> None:
        seen.append(name)
        changed.set()

    watcher = FileWatcher(record)
    watcher.follow({"a": str(tmp_path / "a" / "*.txt"), "b": str(tmp_path / "b.txt")})
    try:
        time.sleep(0.3)  # let inotify settle before the first write
        (tmp_path / "a" / "other.md").write_text("not mine")
        (tmp_path / "a" / "page.txt").write_text("mine")
        assert changed.wait(10)
    finally:
        watcher.stop()
    assert set(seen) == {"a"}


@pytest.fixture
def running(store: Store, tmp_path: Path) -> Iterator[Worker]:
    (tmp_path / "pages").mkdir()
    shutil.copy(LIVEBLOG_SEED, tmp_path / "pages" / "live.txt")
    config = tmp_path / "aggregator.toml"
    config.write_text(CONFIG, encoding="utf-8")
    limits = FetchLimits()
    with make_client(limits) as client:
        worker = Worker(LiveSettings(load(config, {}), {}), store, Fetchers(client, limits))
        worker.start()
        try:
            yield worker
        finally:
            worker.shutdown()


@pytest.mark.slow
def test_a_saved_edit_is_ingested_without_waiting_an_hour(
    running: Worker, store: Store, tmp_path: Path
) -> None:
    # `running` polls into `store`: the test reads what it stored there.
    story = StorySpec("s", "s")

    def count() -> int:
        return len(store.story_view(story).entries)

    wait_for(lambda: count() == 7, timeout=15, step=0.05)
    page = tmp_path / "pages" / "live.txt"
    text = page.read_text(encoding="utf-8").replace(
        "Live updates\n\n", "Live updates\n\n" + NEW_POST
    )
    save_like_an_editor(page, text)

    def edit_picked_up() -> bool:
        return count() == 8

    wait_for(edit_picked_up, timeout=15, step=0.05)
    assert store.story_view(story).entries[0].title == "Council leader apologises to victims"
