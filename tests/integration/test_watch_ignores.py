"""The file watcher hears only files a source's glob would list: the service's own log
file in a watched folder cannot feed on its own lines, and nothing logs each change."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.ingest.watch import FileWatcher, lists


@pytest.fixture
def heard(tmp_path: Path) -> Iterator[tuple[FileWatcher, threading.Event]]:
    (tmp_path / "live").mkdir(exist_ok=True)
    changed = threading.Event()
    watcher = FileWatcher(lambda _name: changed.set())
    watcher.follow({"live": str(tmp_path / "live" / "*.txt")})
    time.sleep(0.3)  # let inotify settle before the first write
    try:
        yield watcher, changed
    finally:
        watcher.stop()


@pytest.fixture
def debug_log_in(tmp_path: Path) -> Iterator[Path]:
    """The process logging everything at DEBUG to live/service.log, as an operator who
    keeps the log beside the pages would have it."""
    (tmp_path / "live").mkdir(exist_ok=True)
    log_file = tmp_path / "live" / "service.log"
    handler = logging.FileHandler(log_file)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield log_file
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


@pytest.mark.slow
def test_the_service_log_in_a_watched_folder_does_not_feed_itself(
    debug_log_in: Path, heard: tuple[FileWatcher, threading.Event], tmp_path: Path
) -> None:
    _, changed = heard
    (tmp_path / "live" / "page.txt").write_text("A saved page.\n")
    assert changed.wait(10)
    logging.getLogger("test").info("one line to the log file")
    time.sleep(1.0)  # any loop has gone round many times by now
    size = debug_log_in.stat().st_size
    time.sleep(1.0)
    assert debug_log_in.stat().st_size == size, debug_log_in.read_text()[-2000:]


@pytest.mark.slow
def test_a_change_to_a_file_the_glob_would_not_list_is_not_heard(
    heard: tuple[FileWatcher, threading.Event], tmp_path: Path
) -> None:
    _, changed = heard
    (tmp_path / "live" / "sub").mkdir()
    (tmp_path / "live" / "sub" / "deeper.txt").write_text("not listed by live/*.txt\n")
    (tmp_path / "live" / ".hidden.txt").write_text("glob's * skips hidden names\n")
    (tmp_path / "live" / "notes.md").write_text("another extension\n")
    assert not changed.wait(1.0)
    (tmp_path / "live" / "page.txt").write_text("listed\n")
    assert changed.wait(10)


def test_changes_are_not_logged_at_info(
    heard: tuple[FileWatcher, threading.Event], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, changed = heard
    with caplog.at_level(logging.INFO):
        (tmp_path / "live" / "other.log").write_text("ignored\n")
        (tmp_path / "live" / "page.txt").write_text("listed\n")
        assert changed.wait(10)
        time.sleep(0.3)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == []


@pytest.mark.parametrize(
    ("pattern", "path", "listed"),
    [
        ("/p/live/*.txt", "/p/live/a.txt", True),
        ("/p/live/*.txt", "/p/live/sub/a.txt", False),
        ("/p/live/*.txt", "/p/live/.a.txt", False),
        ("/p/live/.*.txt", "/p/live/.a.txt", True),
        ("/p/*/page.html", "/p/day2/page.html", True),
        ("/p/live/page.txt", "/p/live/page.txt", True),
        ("/p/live/page.txt", "/p/live/page.txt.swp", False),
        ("/p/live/[ab].txt", "/p/live/b.txt", True),
    ],
)
def test_lists_follows_glob(pattern: str, path: str, listed: bool) -> None:
    assert lists(pattern, path) is listed
