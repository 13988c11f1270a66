"""EDGE: watch local source files (inotify through watchfiles) so a saved change is
polled at once instead of at the next interval. Polling stays as the fallback: when
watching is unavailable the watcher logs why and the schedule carries on as before.

Only changes to files a source's path or glob would list get through; the rest of a
watched folder (the service's own log file, an editor's swap files) is ignored without
a log line, so a log kept beside the pages cannot feed on its own lines.
"""

from __future__ import annotations

import fnmatch
import glob
import logging
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import PurePath

from watchfiles import Change, watch

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
        wanted = {name: os.path.normpath(p) for name, p in patterns.items()}
        if wanted == self._patterns and self._thread is not None:
            return
        self.stop()
        self._patterns = wanted
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
        # watchfiles logs every batch of changes at INFO (and each filtered-out one at
        # DEBUG): with our log file in a watched folder, each line would log another.
        logging.getLogger("watchfiles").setLevel(logging.WARNING)
        try:
            for changes in watch(
                *folders,
                watch_filter=self._is_source_file,
                stop_event=stop,
                debounce=50,
                step=20,
                recursive=True,
            ):
                changed = {os.path.abspath(path) for _, path in changes}
                for name in self._sources_matching(changed):
                    log.debug("source file changed", extra={"source": name})
                    self.on_change(name)
        except Exception as e:  # watching is an optimisation: polling carries on without it
            log.warning("file watching stopped; polling continues", extra={"reason": str(e)})

    def _is_source_file(self, _change: Change, path: str) -> bool:
        absolute = os.path.abspath(path)
        return any(lists(pattern, absolute) for pattern in self._patterns.values())

    def _sources_matching(self, changed: set[str]) -> list[str]:
        return [
            name
            for name, pattern in self._patterns.items()
            if any(lists(pattern, path) for path in changed)
        ]


def lists(pattern: str, path: str) -> bool:
    """Whether `glob.glob(pattern)` would list `path` (both absolute and normalised):
    as many parts, each matched by its wildcard part ("*" never crosses a "/"), and a
    name starting with "." only by a part that starts with one too."""
    names, parts = PurePath(path).parts, PurePath(pattern).parts
    return len(names) == len(parts) and all(map(_part_lists, parts, names))


def _part_lists(part: str, name: str) -> bool:
    if not glob.has_magic(part):
        return part == name
    if name.startswith(".") and not part.startswith("."):
        return False  # glob's wildcards skip hidden names
    return fnmatch.fnmatchcase(name, part)


def _folder_of(pattern: str) -> str:
    """The deepest folder of `pattern` with no glob characters in it."""
    folder = os.path.dirname(pattern)
    while glob.has_magic(folder):
        folder = os.path.dirname(folder)
    return folder or "."
