"""The render cache's fast path: served from memory only while confirmed and unsignalled."""

from __future__ import annotations

import asyncio
import gzip
import time
from pathlib import Path

from aggregator.core.errors import StoreError
from aggregator.core.types import SourceSpec, StorySpec, StoryView
from aggregator.publish.feeds import render_feed
from aggregator.store import Store
from aggregator.web.changes import StoryChanges
from aggregator.web.rendered import RenderCache, Rendered
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


class SlowVersions:
    """The store, with a story version that takes a while and may fail, counted."""

    def __init__(self, store: Store, fail: bool = False) -> None:
        self.store = store
        self.fail = fail
        self.asked = 0

    def story_version(self, story_id: str) -> tuple[object, ...]:
        self.asked += 1
        time.sleep(0.3)
        if self.fail:
            raise StoreError("the store is away")
        return self.store.story_version(story_id)

    def story_view(self, story: StorySpec) -> StoryView:
        return self.store.story_view(story)


def test_requests_that_come_while_one_confirms_share_its_answer(
    store: Store, tmp_path: Path
) -> None:
    story, _ = setup(store, tmp_path)
    slow = SlowVersions(store)
    cache = RenderCache(slow, StoryChanges())  # type: ignore[arg-type]

    async def many() -> list[Rendered | None]:
        return await asyncio.gather(
            *(cache.confirmed(story, "atom", BASE, render) for _ in range(8))
        )

    answers = asyncio.run(many())
    assert slow.asked == 1
    assert answers[0] is not None and all(a is answers[0] for a in answers)
    asyncio.run(many())
    assert slow.asked == 2, "a confirmation that ended is not shared with later requests"

    slow.fail = True

    async def failing() -> list[Rendered | BaseException | None]:
        calls = (cache.confirmed(story, "atom", BASE, render) for _ in range(8))
        return await asyncio.gather(*calls, return_exceptions=True)

    errors = asyncio.run(failing())
    assert slow.asked == 3
    assert all(isinstance(e, StoreError) for e in errors)
