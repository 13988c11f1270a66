"""PURE: a story as JSON Feed 1.1 (https://jsonfeed.org/version/1.1).

`entry_json` defines the item shape once; the event stream sends the same object.
"""

from __future__ import annotations

import json
from typing import Any

from aggregator import PROJECT_URL
from aggregator.core.types import FeedEntry, SourceRef, StoryView
from aggregator.publish.ids import entry_iri, is_web_url
from aggregator.publish.timefmt import format_rfc3339

VERSION = "https://jsonfeed.org/version/1.1"
# JSON Feed 1.1 "Extensions": a custom object's key starts with an underscore, and it
# should carry an `about` URL describing it.
EXTENSION_KEY = "_aggregator"
EXTENSION_ABOUT = PROJECT_URL


def render_jsonfeed(
    view: StoryView,
    *,
    feed_url: str,
    page_url: str,
    hub_url: str | None = None,
    next_url: str | None = None,
) -> bytes:
    """The story's feed as UTF-8 JSON, items newest first by `date_published`;
    `next_url` is the page holding the entries before these."""
    story = view.story
    feed: dict[str, Any] = {
        "version": VERSION,
        "title": story.title,
        "home_page_url": page_url,
        "feed_url": feed_url,
        "description": f"Every source following {story.title}, merged into one timeline.",
        "authors": [{"name": "aggregator", "url": PROJECT_URL}],
        "items": [entry_json(e) for e in by_published(view.entries)],
    }
    if next_url:
        feed["next_url"] = next_url
    if hub_url:
        feed["hubs"] = [{"type": "WebSub", "url": hub_url}]  # JSON Feed 1.1 "hubs"
    if view.deleted:
        # JSON Feed has no tombstones; readers that know this extension can drop these.
        deleted = [deleted_json(e) for e in view.deleted]
        feed[EXTENSION_KEY] = {"about": EXTENSION_ABOUT, "deleted": deleted}
    return json.dumps(feed, ensure_ascii=False, indent=1).encode("utf-8")


def by_published(entries: tuple[FeedEntry, ...]) -> list[FeedEntry]:
    """Newest first by publication time, keeping the caller's order for ties.

    JSON Feed readers list items by `date_published`; the store orders by `updated`,
    which differs once an older entry is edited.
    """
    return sorted(entries, key=lambda e: e.published, reverse=True)


def deleted_json(entry: FeedEntry) -> dict[str, Any]:
    """What is left of a deleted entry: its id, title and when it went."""
    return {
        "id": entry_iri(entry.story, entry.key),
        "title": entry.title,
        "deleted_at": format_rfc3339(entry.deleted_at or entry.updated),
    }


def entry_json(entry: FeedEntry) -> dict[str, Any]:
    """One JSON Feed 1.1 item, also the `data` of a stream event."""
    item: dict[str, Any] = {"id": entry_iri(entry.story, entry.key)}
    if is_web_url(entry.url):
        item["url"] = entry.url
    item["title"] = entry.title
    if entry.html:
        item["content_html"] = entry.html
    # JSON Feed 1.1 requires content_html or content_text, so text is always present.
    item["content_text"] = entry.text or entry.title
    item["date_published"] = format_rfc3339(entry.published)
    item["date_modified"] = format_rfc3339(entry.updated)
    item["authors"] = [{"name": entry.author or entry.source.display_title}]
    if entry.source.language:
        item["language"] = entry.source.language  # JSON Feed 1.1: an item's own language
    item[EXTENSION_KEY] = {
        "about": EXTENSION_ABOUT,
        "time_source": entry.time_source,
        "source": source_json(entry.source),
        "also_from": [source_json(s) for s in entry.also_from],
    }
    return item


def source_json(source: SourceRef) -> dict[str, Any]:
    """A source as the extension object names it: `url` is its feed (null for local
    files); for a copy, `link` is where that source published it (null if unknown)."""
    return {
        "name": source.name,
        "title": source.display_title,
        "kind": source.kind,
        "url": source.url if is_web_url(source.url) else None,
        "home_page_url": source.home if is_web_url(source.home) else None,
        "link": source.link if is_web_url(source.link) else None,
    }
