"""Many event streams on one story, one change: the streams share the store's reads."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from aggregator.config import LiveSettings
from aggregator.core.types import SourceSpec, StreamEvent
from aggregator.store import Store
from aggregator.web.routes import Live, create_app
from tests.support.appserver import serving
from tests.support.builders import one_live_page, post, store_posts

pytestmark = pytest.mark.slow

STREAMS = 20


def add_post(store: Store, spec: SourceSpec, n: int) -> None:
    text = f"Update {n}: inspectors will return to the council early next year, it said."
    store_posts(store, spec, [post(f"Update {n}", text, position=n)])


async def follow(url: str, ready: asyncio.Event, followers: list[int], want: str) -> None:
    """Follow the stream until an event carrying `want` arrives."""
    async with httpx.AsyncClient(timeout=20) as client, client.stream("GET", url) as response:
        seen_backlog = False
        async for line in response.aiter_lines():
            if line.startswith("data:") and not seen_backlog:
                seen_backlog = True
                followers.append(1)
                if len(followers) == STREAMS:
                    ready.set()
            if line.startswith("data:") and want in line:
                return


def test_streams_woken_by_one_change_share_the_store_read(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = one_live_page(store, tmp_path)
    spec = settings.sources[0]
    add_post(store, spec, 0)
    calls: list[int] = []
    read = store.events_after

    def counted(story: str, after: int, *, limit: int = 100) -> list[StreamEvent]:
        calls.append(after)
        return read(story, after, limit=limit)

    monkeypatch.setattr(store, "events_after", counted)
    streams = Live(recheck_seconds=60.0)  # no periodic re-read during the test
    app = create_app(store, LiveSettings(settings, {}), streams)

    async def scenario(base: str) -> int:
        ready, followers = asyncio.Event(), list[int]()
        url = f"{base}/stories/story/events"
        following = [follow(url, ready, followers, "Update 1") for _ in range(STREAMS)]
        running = [asyncio.ensure_future(f) for f in following]
        await asyncio.wait_for(ready.wait(), 20)
        await asyncio.sleep(0.2)  # every stream has gone back to waiting
        before = len(calls)
        add_post(store, spec, 1)
        streams.changes.changed("story")  # what the worker does after its commit
        await asyncio.wait_for(asyncio.gather(*running), 20)
        return len(calls) - before

    with serving(app) as base:
        reads_after_change = asyncio.run(scenario(base))
    # Each stream reads once for the new event and once more to find nothing after it:
    # 2 reads per stream (40) without sharing; shared, a handful.
    assert 1 <= reads_after_change < STREAMS
