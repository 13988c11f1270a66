"""PURE: the readable HTML5 pages: one story's merged timeline, and the story index.

Every text value goes through `html.escape`; entry bodies are already sanitised by
the parser and are cleaned once more with nh3 here, because this page is served from
our own origin where a stray script would run with our cookies.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from urllib.parse import quote

import nh3

from aggregator.publish.ids import entry_iri, is_web_url
from aggregator.publish.jsonfeed import by_published
from aggregator.publish.paging import PageLinks, page_links
from aggregator.publish.timefmt import format_human, format_rfc3339
from aggregator.types import FeedEntry, SourceRef, StorySpec, StoryView

ATOM_TYPE = "application/atom+xml"
JSONFEED_TYPE = "application/feed+json"

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5;
max-width:40em;margin:0 auto;padding:1em;color:#1b1b1b;background:#fff}
header,footer{color:#555}
article{border-top:1px solid #ddd;padding:.75em 0}
article h2{font-size:1.15em;margin:.2em 0}
.meta,.also{font-size:.85em;color:#555}
.marker{font-size:.75em;border:1px solid #999;border-radius:3px;padding:0 .3em}
.body img,.body video{max-width:100%;height:auto}
#live{position:sticky;top:0;background:#fffbe6;border:1px solid #e0c200;padding:.5em}
a{color:#0645ad}
"""

# Counts entries the stream reports that this page does not show yet, and offers a
# reload. The stream first replays its recent backlog, so events for entries already
# on the page at the same date_modified are ignored. The URL comes from a data
# attribute, so no value is ever interpolated into script text.
_SCRIPT = """
(function(){var n=document.getElementById("live");if(!n||!window.EventSource)return;
var shown={},fresh={},c=0;
document.querySelectorAll("article[data-id]").forEach(function(a){
shown[a.dataset.id]=a.dataset.modified;});
function on(e){var d;try{d=JSON.parse(e.data);}catch(x){return;}
var m=shown[d.id];if(m&&d.date_modified<=m)return;
if(!fresh[d.id]){fresh[d.id]=1;c++;}
n.hidden=false;n.firstChild.textContent=c+(c===1?" new update":" new updates")+" \\u2014 ";}
var s=new EventSource(n.dataset.events);
s.addEventListener("new",on);s.addEventListener("update",on);})();
"""


def render_page(view: StoryView, *, story_url: str) -> str:
    """One page of the story's timeline (the newest, or an archive page), newest first by
    publication time, as one HTML5 document."""
    story = view.story
    atom_url, json_url = f"{story_url}.atom", f"{story_url}.json"
    links = page_links(view, story_url, "")
    head = _head(story.title, atom_url, json_url)
    intro = (
        f"<header><h1>{escape(story.title)}</h1>"
        f'<p>{_showing(view)} Subscribe: <a href="{escape(atom_url)}">Atom</a> · '
        f'<a href="{escape(json_url)}">JSON Feed</a></p></header>'
    )
    live = ""
    if not links.is_archive:
        # The stream starts after the newest event this page already shows.
        events_url = f"{story_url}/events?after={view.last_event}"
        live = (
            f'<p id="live" hidden data-events="{escape(events_url)}" role="status">'
            '<span></span><a href="">reload</a></p>'
        )
    articles = "".join(_article(e) for e in by_published(view.entries))
    if not articles:
        articles = "<p>Nothing yet: no source has published anything for this story.</p>"
    script = "" if links.is_archive else f"<script>{_SCRIPT}</script>"
    body = f"{intro}{live}<main>{articles}</main>{_pager(links)}{script}"
    return _document(head, body)


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


def render_index(stories: Sequence[tuple[StorySpec, int]], *, base_url: str) -> str:
    """The list of stories with their entry counts and feed links."""
    base = base_url.rstrip("/")
    items = "".join(_index_item(story, count, base) for story, count in stories)
    listing = f"<ul>{items}</ul>" if items else "<p>No stories are configured.</p>"
    head = _head("Stories", None, None)
    return _document(head, f"<header><h1>Stories</h1></header><main>{listing}</main>")


def _index_item(story: StorySpec, count: int, base: str) -> str:
    page = f"{base}/stories/{quote(story.id, safe='')}"
    noun = "entry" if count == 1 else "entries"
    return (
        f'<li><a href="{escape(page)}">{escape(story.title)}</a> '
        f'<span class="meta">{count} {noun} · <a href="{escape(page)}.atom">Atom</a> · '
        f'<a href="{escape(page)}.json">JSON Feed</a></span></li>'
    )


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
        f"<title>{escape(title)}</title>{links}<style>{_STYLE}</style>"
    )


def _document(head: str, body: str) -> str:
    return f'<!DOCTYPE html>\n<html lang="en">\n<head>{head}</head>\n<body>{body}</body>\n</html>\n'


def _article(entry: FeedEntry) -> str:
    title = escape(entry.title)
    if is_web_url(entry.url):
        title = f'<a href="{escape(entry.url)}">{title}</a>'
    body = nh3.clean(entry.html) if entry.html else f"<p>{escape(entry.text)}</p>"
    also = ""
    if entry.also_from:
        names = ", ".join(_source_name(s) for s in entry.also_from)
        also = f'<p class="also">Also reported by {names}</p>'
    return (
        f'<article id="entry-{entry.id}" data-id="{entry_iri(entry.story, entry.key)}" '
        f'data-modified="{format_rfc3339(entry.updated)}"><p class="meta">{_when(entry)} · '
        f"{_byline(entry)}</p><h2>{title}</h2>"
        f'<div class="body">{body}</div>{also}</article>'
    )


def _when(entry: FeedEntry) -> str:
    stamp = (
        f'<time datetime="{format_rfc3339(entry.published)}">'
        f"{escape(format_human(entry.published))}</time>"
    )
    if entry.time_source == "first-seen":
        hint = "The source gave no time; this is when we first saw it."
        stamp += f' <span class="marker" title="{hint}">first seen</span>'
    if entry.updated > entry.published:
        stamp += (
            f' <span class="marker">updated <time datetime="{format_rfc3339(entry.updated)}">'
            f"{escape(format_human(entry.updated))}</time></span>"
        )
    return stamp


def _byline(entry: FeedEntry) -> str:
    source = _source_name(entry.source)
    if entry.author and entry.author != entry.source.name:
        return f"{escape(entry.author)}, {source}"
    return source


def _source_name(source: SourceRef) -> str:
    """A copy's source, linked to that copy's own original where it gave one (never to
    a feed's XML)."""
    if is_web_url(source.link):
        return f'<a href="{escape(source.link or "")}">{escape(source.name)}</a>'
    return escape(source.name)
