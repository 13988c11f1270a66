"""PURE: a story's feed in either format, given the story's public URL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Literal

from aggregator.core.types import FeedEntry, SourceRef, StoryView
from aggregator.publish.atom import render_atom
from aggregator.publish.jsonfeed import render_jsonfeed
from aggregator.publish.paging import page_links

FeedFormat = Literal["atom", "json"]
FEED_FORMATS: tuple[FeedFormat, ...] = ("atom", "json")
# An empty story's feed still needs an atom:updated (RFC 4287 §4.1.1).
EMPTY_FEED_UPDATED = datetime(1970, 1, 1, tzinfo=UTC)


def render_feed(
    view: StoryView, fmt: FeedFormat, *, story_url: str, hub_url: str | None = None
) -> bytes:
    """`story_url` is the story page; the feeds live at `story_url + ".atom"` / `".json"`,
    their archive pages under `story_url + "/archive/"`. `hub_url`: the WebSub hub the
    subscription feeds announce their changes to, if any."""
    page_url = page_links(view, story_url, "").this
    if fmt == "atom":
        links = page_links(view, story_url, ".atom")
        return render_atom(
            view,
            self_url=links.this,
            page_url=page_url,
            fallback_updated=EMPTY_FEED_UPDATED,
            hub_url=None if links.is_archive else hub_url,
            links=links,
        )
    links = page_links(view, story_url, ".json")
    return render_jsonfeed(
        view,
        feed_url=links.current,
        page_url=page_url,
        hub_url=None if links.is_archive else hub_url,
        next_url=links.older,
    )


def titled(view: StoryView, titles: Mapping[str, str]) -> StoryView:
    """The view with each source named by its display title (config name -> title)."""

    entries = tuple(titled_entry(e, titles) for e in view.entries)
    return replace(
        view, entries=entries, deleted=tuple(titled_entry(e, titles) for e in view.deleted)
    )


def titled_entry(entry: FeedEntry, titles: Mapping[str, str]) -> FeedEntry:
    """The entry with its source and copies named by their display titles."""

    def source(ref: SourceRef) -> SourceRef:
        title = titles.get(ref.name)
        return replace(ref, title=title) if title and title != ref.name else ref

    return replace(
        entry, source=source(entry.source), also_from=tuple(map(source, entry.also_from))
    )
