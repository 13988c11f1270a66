"""PURE: the readable HTML5 pages: one story's merged timeline, and the story index.

Every text value goes through `html.escape`; entry bodies are already sanitised by
the parser and are cleaned once more with nh3 here, because this page is served from
our own origin where a stray script would run with our cookies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from urllib.parse import quote
from zoneinfo import ZoneInfo

import nh3

from aggregator.core.types import FeedEntry, SourceRef, StorySpec, StoryView
from aggregator.publish.ids import entry_iri, is_web_url
from aggregator.publish.jsonfeed import by_published
from aggregator.publish.page_assets import SCRIPT, STYLE
from aggregator.publish.paging import PageLinks, page_links
from aggregator.publish.timefmt import format_human, format_rfc3339

ATOM_TYPE = "application/atom+xml"
JSONFEED_TYPE = "application/feed+json"


@dataclass(frozen=True)
class SourceLine:
    """A source as the page reports it: failing when its last poll ended in an error."""

    title: str
    last_success_at: datetime | None
    last_error: str | None

    @property
    def failing(self) -> bool:
        return self.last_error is not None


def render_page(view: StoryView, *, story_url: str, sources: Sequence[SourceLine] = ()) -> str:
    """One page of the story's timeline (the newest, or an archive page), newest first by
    publication time, times in the story's zone, as one HTML5 document; `sources` are
    reported under it, a failing one saying since when and why."""
    story = view.story
    zone = ZoneInfo(story.timezone)
    atom_url, json_url = f"{story_url}.atom", f"{story_url}.json"
    links = page_links(view, story_url, "")
    head = _head(story.title, atom_url, json_url)
    intro = (
        f"<header><h1>{escape(story.title)}</h1>"
        f"<p>{_showing(view)} Times are {escape(_zone_name(zone))}. Subscribe: "
        f'<a href="{escape(atom_url)}">Atom</a> · '
        f'<a href="{escape(json_url)}">JSON Feed</a></p>{_failing(sources, zone)}</header>'
    )
    live = ""
    if not links.is_archive:
        # The stream starts after the newest event this page already shows.
        events_url = f"{story_url}/events?after={view.last_event}"
        live = (
            f'<p id="live" hidden data-events="{escape(events_url)}" role="status">'
            '<span></span><a href="">reload</a></p>'
            "<noscript><p>New updates appear when you reload this page.</p></noscript>"
        )
    articles = "".join(_article(e, zone) for e in by_published(view.entries))
    if not articles:
        articles = (
            '<p class="empty">Nothing yet: no source has published anything for this story.</p>'
        )
    script = "" if links.is_archive else f"<script>{SCRIPT}</script>"
    footer = _sources(sources, zone)
    body = f"{intro}{live}<main>{articles}</main>{_pager(links)}{footer}{script}"
    return _document(head, body, story.timezone)


def _zone_name(zone: ZoneInfo) -> str:
    return "UTC" if zone.key == "UTC" else f"{zone.key.replace('_', ' ')} time"


def _failing(sources: Sequence[SourceLine], zone: ZoneInfo) -> str:
    failing = [s for s in sources if s.failing]
    if not failing:
        return ""
    lines = "".join(f"<li>{_status(s, zone)}</li>" for s in failing)
    return f'<ul class="sources failing-now">{lines}</ul>'


def _sources(sources: Sequence[SourceLine], zone: ZoneInfo) -> str:
    if not sources:
        return ""
    items = "".join(
        f'<li class="{"failing" if s.failing else "ok"}">{_status(s, zone)}</li>' for s in sources
    )
    return f'<footer><h2>Sources</h2><ul class="sources">{items}</ul></footer>'


def _status(source: SourceLine, zone: ZoneInfo) -> str:
    name = escape(source.title)
    since = (
        f"since {escape(format_human(source.last_success_at, zone))}"
        if source.last_success_at
        else "ever"
    )
    if source.failing:
        return f"{name}: not updated {since}: error: {escape(source.last_error or '')}"
    if source.last_success_at is None:
        return f"{name}: not read yet"
    return f"{name}: read {escape(format_human(source.last_success_at, zone))}"


def _showing(view: StoryView) -> str:
    count, total = len(view.entries), view.total or len(view.entries)
    noun = "entry" if total == 1 else "entries"
    if view.archive is not None:
        return (
            f"Archive page {view.archive + 1} of {view.archives}: {count} of the "
            f"{total} {noun} from every source following this story."
        )
    if count < total:
        return (
            f"The newest {count} of {total} {noun} from every source following this "
            "story; older ones are on the archive pages linked below."
        )
    return f"{total} {noun} from every source following this story."


def _pager(links: PageLinks) -> str:
    """Links to the older and newer pages of the timeline, when there are any."""
    parts = []
    if links.older:
        parts.append(f'<a rel="prev" href="{escape(links.older)}">Older updates</a>')
    if links.is_archive:
        newer = links.newer or links.current
        parts.append(f'<a rel="next" href="{escape(newer)}">Newer updates</a>')
        parts.append(f'<a href="{escape(links.current)}">Latest</a>')
    return f'<nav class="pager">{" · ".join(parts)}</nav>' if parts else ""


def render_index(
    stories: Sequence[tuple[StorySpec, int, Sequence[SourceLine]]], *, base_url: str
) -> str:
    """The list of stories with their entry counts, feed links and failing sources."""
    base = base_url.rstrip("/")
    items = "".join(_index_item(story, count, base, lines) for story, count, lines in stories)
    listing = f"<ul>{items}</ul>" if items else "<p>No stories are configured.</p>"
    head = _head("Stories", None, None)
    return _document(head, f"<header><h1>Stories</h1></header><main>{listing}</main>", "UTC")


def _index_item(story: StorySpec, count: int, base: str, sources: Sequence[SourceLine]) -> str:
    page = f"{base}/stories/{quote(story.id, safe='')}"
    noun = "entry" if count == 1 else "entries"
    return (
        f'<li><a href="{escape(page)}">{escape(story.title)}</a> '
        f'<span class="meta">{count} {noun} · <a href="{escape(page)}.atom">Atom</a> · '
        f'<a href="{escape(page)}.json">JSON Feed</a></span>'
        f"{_failing(sources, ZoneInfo(story.timezone))}</li>"
    )


def render_not_found(what: str, heading: str = "Not found") -> str:
    """The page a browser gets for a story or page that does not exist (or, with its
    heading, for one that cannot be shown now)."""
    head = _head(heading, None, None)
    body = (
        f"<header><h1>{escape(heading)}</h1></header><main><p>{escape(what)}.</p>"
        '<p><a href="/">All stories</a></p></main>'
    )
    return _document(head, body, "UTC")


def _head(title: str, atom_url: str | None, json_url: str | None) -> str:
    links = ""
    if atom_url is not None:
        links += (
            f'<link rel="alternate" type="{ATOM_TYPE}" title="{escape(title)} (Atom)" '
            f'href="{escape(atom_url)}">'
        )
    if json_url is not None:
        links += (
            f'<link rel="alternate" type="{JSONFEED_TYPE}" title="{escape(title)} (JSON Feed)" '
            f'href="{escape(json_url)}">'
        )
    return (
        '<meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>{links}<style>{STYLE}</style>"
    )


def _document(head: str, body: str, timezone: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n'
        f'<head>{head}</head>\n<body data-timezone="{escape(timezone)}">{body}</body>\n</html>\n'
    )


def _article(entry: FeedEntry, zone: ZoneInfo) -> str:
    title = escape(entry.title)
    if is_web_url(entry.url):
        title = f'<a href="{escape(entry.url)}">{title}</a>'
    body = nh3.clean(entry.html) if entry.html else f"<p>{escape(entry.text)}</p>"
    also = ""
    if entry.also_from:
        names = ", ".join(_source_name(s) for s in entry.also_from)
        also = f'<p class="also">Also reported by {names}</p>'
    lang = f' lang="{escape(entry.source.language)}"' if entry.source.language else ""
    return (
        f'<article id="entry-{entry.id}"{lang} data-id="{entry_iri(entry.story, entry.key)}" '
        f'data-published="{format_rfc3339(entry.published)}" '
        f'data-modified="{format_rfc3339(entry.updated)}"><p class="meta">{_when(entry, zone)} · '
        f"{_byline(entry)}</p><h2>{title}</h2>"
        f'<div class="body">{body}</div>{also}</article>'
    )


def _when(entry: FeedEntry, zone: ZoneInfo) -> str:
    stamp = _time(entry.published, zone)
    if entry.time_source == "first-seen":
        stamp += (
            ' <span class="marker">first seen</span> '
            '<span class="why">the source gave no time; this is when we first saw it</span>'
        )
    if entry.updated > entry.published:
        stamp += f' <span class="marker">updated {_time(entry.updated, zone)}</span>'
    return stamp


def _time(moment: datetime, zone: ZoneInfo) -> str:
    return f'<time datetime="{format_rfc3339(moment)}">{escape(format_human(moment, zone))}</time>'


def _byline(entry: FeedEntry) -> str:
    source = _source_name(entry.source)
    if entry.author and entry.author not in (entry.source.name, entry.source.display_title):
        return f"{escape(entry.author)}, {source}"
    return source


def _source_name(source: SourceRef) -> str:
    """A copy's source, linked to that copy's own original where it gave one (never to
    a feed's XML)."""
    if is_web_url(source.link):
        return f'<a href="{escape(source.link or "")}">{escape(source.display_title)}</a>'
    return escape(source.display_title)
