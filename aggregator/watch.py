"""EDGE: watch local source files (inotify through watchfiles) so a saved change is
polled at once instead of at the next interval. Polling stays as the fallback: when
watching is unavailable the watcher logs why and the schedule carries on as before.
"""

from __future__ import annotations

import fnmatch
import glob
import logging
import os
import threading
from collections.abc import Callable, Mapping

from watchfiles import watch

log = logging.getLogger("aggregator.watch")
OnFileChange = Callable[[str], None]


class FileWatcher:
    """Calls `on_change(source_name)` when a file matching that source's path changes."""

    def __init__(self, on_change: OnFileChange) -> None:
        self.on_change = on_change
        self._patterns: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def follow(self, patterns: Mapping[str, str]) -> None:
        """Watch these {source name: absolute path or glob}; replaces what was watched."""
        if dict(patterns) == self._patterns and self._thread is not None:
            return
        self.stop()
        self._patterns = dict(patterns)
        folders = sorted({_folder_of(p) for p in self._patterns.values()})
        folders = [f for f in folders if os.path.isdir(f)]
        if not folders:
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(folders, self._stop), name="file-watcher", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self, folders: list[str], stop: threading.Event) -> None:
        try:
            for changes in watch(*folders, stop_event=stop, debounce=50, step=20, recursive=True):
                changed = {os.path.abspath(path) for _, path in changes}
                for name in self._sources_matching(changed):
                    self.on_change(name)
        except Exception as e:  # watching is an optimisation: polling carries on without it
            log.warning("file watching stopped; polling continues", extra={"reason": str(e)})

    def _sources_matching(self, changed: set[str]) -> list[str]:
        return [
            name
            for name, pattern in self._patterns.items()
            if any(fnmatch.fnmatchcase(path, pattern) for path in changed)
        ]


def _folder_of(pattern: str) -> str:
    """The deepest folder of `pattern` with no glob characters in it."""
    folder = os.path.dirname(pattern)
    while glob.has_magic(folder):
        folder = os.path.dirname(folder)
    return folder or "."
