"""One source cannot flood what subscribers read: in the subscription document no
source takes more than half of the `page_size` newest while another has entries to
show; the rest of the flood stays on the archive pages."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from aggregator.core.types import StorySpec
from aggregator.store import Store
from tests.support.builders import T0, post, source, store_posts

STORY = StorySpec("story", "A story", page_size=10)


def test_a_flooding_source_leaves_room_for_the_others(store: Store) -> None:
    quiet = replace(source("quiet", "feed"), story="story")
    flood = replace(source("flood", "feed"), story="story")
    store.sync_sources([quiet, flood])
    store_posts(
        store, quiet, [post(f"Quiet {i}", f"A measured report number {i}.", i) for i in range(3)]
    )
    flood_posts = [
        post(f"Flood {i}", f"Item {i} of a feed that never stops.", i) for i in range(40)
    ]
    store_posts(store, flood, flood_posts, now=T0 + timedelta(hours=1))

    shown = [e.source.name for e in store.story_view(STORY).entries]
    # 40 flood entries are newer; without a share all 10 slots would be theirs.
    assert shown.count("quiet") == 3
    assert shown.count("flood") >= 7
    # Everything is still reachable: the closed archive pages hold every entry.
    archived = {
        e.title
        for n in range(store.story_view(STORY).archives)
        for e in (store.archive_view(STORY, n) or store.story_view(STORY)).entries
    }
    everything = {e.title for e in store.story_view(STORY, everything=True).entries}
    assert len(everything) == 43 and archived <= everything


def test_one_source_alone_fills_every_slot(store: Store) -> None:
    only = replace(source("only", "feed"), story="story")
    store.sync_sources([only])
    store_posts(store, only, [post(f"Item {i}", f"Body of item {i}.", i) for i in range(25)])
    newest = store.story_view(STORY).entries
    assert len(newest) >= 10 and {e.source.name for e in newest} == {"only"}
