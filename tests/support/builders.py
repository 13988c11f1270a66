"""Small builders for test values: posts, entries and sources with sensible defaults."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aggregator.config import Settings, load
from aggregator.core.types import Entry, FetchState, Post, SourceSpec, StorySpec
from aggregator.dedupe.decide import decide
from aggregator.dedupe.normalize import normalize
from aggregator.store import Store

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
STORY = StorySpec(id="story", title="A story", keywords=())


def source(name: str = "live", kind: Any = "liveblog", **changes: Any) -> SourceSpec:
    spec = SourceSpec(
        name=name,
        story="story",
        kind=kind,
        url=None,
        path=f"/data/{name}.txt",
        interval=5,
        timezone="Europe/London",
    )
    return replace(spec, **changes)


def post(title: str, text: str, position: int = 0, **changes: Any) -> Post:
    base = Post(
        title=title,
        text=text,
        html=f"<p>{text}</p>",
        position=position,
        location="/data/live.txt",
        method="text",
    )
    return replace(base, **changes)


def entries(*posts: Post, source_name: str = "live", now: datetime = T0) -> list[Entry]:
    return normalize(list(posts), source=source_name, now=now)


ONE_LIVE_PAGE = """
[[stories]]
id = "story"
title = "A story"
[[sources]]
name = "live"
kind = "liveblog"
path = "live.txt"
"""


def one_live_page(store: Store, folder: Path) -> Settings:
    """A config of one story followed through one live page, loaded and synced."""
    path = folder / "aggregator.toml"
    path.write_text(ONE_LIVE_PAGE, encoding="utf-8")
    settings = load(path, {})
    store.sync_sources(settings.sources)
    return settings


def store_posts(store: Store, spec: SourceSpec, posts: list[Post], now: datetime = T0) -> None:
    """Write `posts` as one poll of `spec` would: keyed, judged against the store, stored."""
    batch = entries(*posts, source_name=spec.name, now=now)
    store.apply(spec, decide(batch, store.known_for(spec, batch), now=now), FetchState(), now)
