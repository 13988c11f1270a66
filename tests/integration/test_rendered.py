"""The render cache's fast path: served from memory only while confirmed and unsignalled."""

from __future__ import annotations

import gzip
from pathlib import Path

from aggregator.core.types import SourceSpec, StorySpec, StoryView
from aggregator.publish.feeds import render_feed
from aggregator.store import Store
from aggregator.web.changes import StoryChanges
from aggregator.web.rendered import RenderCache
from tests.support.builders import one_live_page, post, store_posts

BASE = "https://agg.example/stories/story"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def add_posts(store: Store, spec: SourceSpec, *titles: str) -> None:
    posts = [post(t, f"{t}: the council said on Friday.", position=i) for i, t in enumerate(titles)]
    store_posts(store, spec, posts)


def render(view: StoryView, base: str) -> bytes:
    return render_feed(view, "atom", story_url=base)


def setup(store: Store, tmp_path: Path) -> tuple[StorySpec, SourceSpec]:
    settings = one_live_page(store, tmp_path)
    add_posts(store, settings.sources[0], "First")
    return settings.stories[0], settings.sources[0]


def test_peek_serves_only_a_confirmed_rendering_within_its_window(
    store: Store, tmp_path: Path
) -> None:
    story, spec = setup(store, tmp_path)
    clock, changes = Clock(), StoryChanges()
    cache = RenderCache(store, changes, fresh_seconds=1.0, clock=clock)
    assert cache.peek(story, "atom", BASE) is None  # nothing kept yet
    first = cache.get(story, "atom", BASE, render)
    assert first is not None
    assert cache.peek(story, "atom", BASE) is first
    assert cache.peek(story, "atom", BASE + "/other") is None  # another base renders afresh
    assert cache.peek(story, "json", BASE) is None

    add_posts(store, spec, "Second")  # a write nobody signals...
    assert cache.peek(story, "atom", BASE) is first  # ...is not seen inside the window
    clock.now += 1.0
    assert cache.peek(story, "atom", BASE) is None  # the window is over: ask the store
    second = cache.get(story, "atom", BASE, render)
    assert second is not None
    assert b"Second" in second.body and second.etag != first.etag
    assert cache.peek(story, "atom", BASE) is second

    add_posts(store, spec, "Third")
    changes.changed(story.id)  # a signalled write ends the window at once
    assert cache.peek(story, "atom", BASE) is None
    third = cache.get(story, "atom", BASE, render)
    assert third is not None
    assert b"Third" in third.body
    changes.changed(None)  # "every story changed" (a listener reconnected) too
    assert cache.peek(story, "atom", BASE) is None
    assert cache.get(story, "atom", BASE, render) is third  # same version: no new render


def test_a_rendering_carries_its_gzip_variant(store: Store, tmp_path: Path) -> None:
    story, _ = setup(store, tmp_path)
    rendered = RenderCache(store).get(story, "atom", BASE, render)
    assert rendered is not None
    assert rendered.gzipped is not None and gzip.decompress(rendered.gzipped) == rendered.body
    assert rendered.gzip_etag != rendered.etag and rendered.gzip_etag.endswith('-gzip"')
