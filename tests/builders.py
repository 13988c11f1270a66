"""Small builders for test values: posts, entries and sources with sensible defaults."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from aggregator.normalize import normalize
from aggregator.types import Entry, Post, SourceSpec, StorySpec

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
