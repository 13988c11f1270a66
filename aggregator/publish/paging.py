"""PURE: where each page of a story lives, and which pages a page links to (RFC 5005).

The subscription document (`/stories/ID.atom`, `.json`, the page `/stories/ID`) holds the
newest entries; closed archive pages (`/stories/ID/archive/N.atom` ...) hold the rest,
N = 0 the oldest. The subscription document links to the newest archive page
(`prev-archive`, JSON Feed `next_url`), each archive page to the one before it, so a
reader following the links from the subscription document reaches every entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from aggregator.core.types import StoryView


@dataclass(frozen=True)
class PageLinks:
    """URLs of one page of a story in one format (`suffix` ".atom", ".json" or "")."""

    this: str
    current: str
    # The archive page holding the entries just before this page's (older), if any.
    older: str | None
    # The archive page just after this one (newer), if this is an archive page and one is.
    newer: str | None
    is_archive: bool


def page_links(view: StoryView, story_url: str, suffix: str) -> PageLinks:
    current = f"{story_url}{suffix}"
    page = view.archive

    def archive(number: int) -> str:
        return f"{story_url}/archive/{number}{suffix}"

    if page is None:
        older = archive(view.archives - 1) if view.archives else None
        return PageLinks(current, current, older, None, is_archive=False)
    older = archive(page - 1) if page > 0 else None
    newer = archive(page + 1) if page + 1 < view.archives else None
    return PageLinks(archive(page), current, older, newer, is_archive=True)
