"""Rendered feeds kept in memory per process, keyed by the story's version in the store.

Rendering a story of 500 entries takes tens of milliseconds; asking the store whether
anything changed takes three index lookups. So a request whose story has not changed is
answered from memory: 200 with the kept bytes, or 304 on its kept ETag. The store stays
the source of truth: a write from any process changes the version, and the next request
renders afresh.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aggregator.store import Store
from aggregator.types import StorySpec, StoryView

Renderer = Callable[[StoryView, str], bytes]


@dataclass(frozen=True)
class Rendered:
    body: bytes
    etag: str
    modified: datetime | None


class RenderCache:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._kept: dict[tuple[str, str], tuple[object, Rendered]] = {}

    def get(self, story: StorySpec, form: str, base: str, render: Renderer) -> Rendered:
        """The story rendered by `render` (named `form`), from memory when still current.
        Blocking: call it from a worker thread."""
        # Read the version before the view: a write landing in between leaves a newer
        # document under an older version, which costs one more render, never staleness.
        version = (self.store.story_version(story.id), story, base)
        key = (story.id, form)
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and kept[0] == version:
            return kept[1]
        view = self.store.story_view(story)
        body = render(view, base)
        rendered = Rendered(body, etag_of(body), view.updated)
        with self._lock:
            self._kept[key] = (version, rendered)
        return rendered


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
