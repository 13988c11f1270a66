"""Near duplicates end to end: a live blog (a local file) and an RSS feed (served on
127.0.0.1) that repeats some of its posts in edited form, polled into a real store on
SQLite and PostgreSQL, then rendered as the merged Atom feed; explained and split."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import cast
from xml.etree import ElementTree

from aggregator.core.types import Entry, SourceSpec, StorySpec, StoryView
from aggregator.ingest.parsing import Inline
from aggregator.ingest.pipeline import poll, preview
from aggregator.ingest.sources import Fetchers
from aggregator.publish.feeds import render_feed
from aggregator.store import Store
from aggregator.store.roles import PollStore
from aggregator.web.rendered import RenderCache
from tests.support.builders import T0
from tests.support.feedcheck import ATOM
from tests.support.httpserver import Route, serve
from tests.support.samples import FLOOD_POSTS

STORY = StorySpec("idris", "Storm Idris")
RAIL = (
    "No trains will run between Kelsford and Brindham until at least Friday after a "
    "landslip near Harrow Cutting, Network Rail has said."
)


def live_blog() -> str:
    return "".join(f"{title}\n\n{text}\n\n" for title, text in reversed(FLOOD_POSTS.values()))


def rss_feed() -> bytes:
    """The wire's copies: new headlines, a byline, curly quotes, HTML, a trimmed copy."""
    evac, bridge, power = FLOOD_POSTS["evac"][1], FLOOD_POSTS["bridge"][1], FLOOD_POSTS["power"][1]
    items = [
        ("w1", "Flood chaos: 400 forced from homes", "By Tom Reed, PA\n\n" + evac),
        ("w2", "Cracked bridge shut", bridge.replace('"', "\u201c", 1).replace('".', "\u201d.")),
        ("w3", "Substation floods", power.split("\n\n")[0] + "\n\n" + power.split("\n\n")[1]),
        ("w4", "Trains suspended", RAIL),
    ]
    body = "".join(
        f'<item><guid isPermaLink="false">urn:wire:{guid}</guid><title>{title}</title>'
        f"<link>https://wire.example/{guid}</link>"
        f"<description>{_html(text)}</description>"
        f"<pubDate>Sun, 22 Nov 2026 08:50:00 +0000</pubDate></item>"
        for guid, title, text in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wire</title>'
        f"<link>https://wire.example/</link>{body}</channel></rss>"
    ).encode()


def _html(text: str) -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in text.split("\n\n"))
    return paragraphs.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sources(tmp_path: Path, url: str) -> tuple[SourceSpec, SourceSpec]:
    page = tmp_path / "live.txt"
    page.write_text(live_blog(), encoding="utf-8")
    live = SourceSpec("kelsford-live", "idris", "liveblog", None, str(page), 60, "Europe/London")
    wire = SourceSpec("wire", "idris", "feed", url, None, 60, "Europe/London")
    return live, wire


def poll_both(store: Store, fetchers: Fetchers, tmp_path: Path) -> tuple[SourceSpec, ...]:
    with serve({"/rss": Route(body=rss_feed(), content_type="application/rss+xml")}) as server:
        specs = sources(tmp_path, server.url("/rss"))
        store.sync_sources(list(specs))
        reports = [poll(s, STORY, store=store, fetchers=fetchers, now=T0) for s in specs]
        again = poll(specs[1], STORY, store=store, fetchers=fetchers, now=T0 + timedelta(hours=1))
    assert [r.error for r in reports] == [None, None] and again.error is None
    assert (reports[0].new, reports[1].new, reports[1].duplicates) == (4, 1, 3)
    return specs


def atom_entries(store: Store) -> list[ElementTree.Element]:
    body = render_feed(store.story_view(STORY), "atom", story_url="https://agg.example/idris")
    return ElementTree.fromstring(body).findall(f"{ATOM}entry")


def test_each_update_once_with_every_source(
    store: Store, fetchers: Fetchers, tmp_path: Path
) -> None:
    poll_both(store, fetchers, tmp_path)
    entries = atom_entries(store)
    titles = [e.findtext(f"{ATOM}title") or "" for e in entries]
    assert sorted(titles) == sorted([t for t, _ in FLOOD_POSTS.values()] + ["Trains suspended"])
    by_title = {e.findtext(f"{ATOM}title"): e for e in entries}
    for key in ("evac", "bridge", "power"):
        entry = by_title[FLOOD_POSTS[key][0]]
        assert entry.findtext(f"{ATOM}source/{ATOM}title") == "kelsford-live"
        vias = [link.get("title") for link in entry.findall(f"{ATOM}link[@rel='via']")]
        assert vias == ["Wire"]  # the feed's own <title> for itself
        # The wire dated its copy before the live blog was first read: earliest time wins.
        assert entry.findtext(f"{ATOM}published") == "2026-11-22T08:50:00Z"
    alone = by_title[FLOOD_POSTS["rescue"][0]]
    assert alone.findall(f"{ATOM}link[@rel='via']") == []


def test_explain_and_split_keep_the_split_on_later_polls(
    store: Store, fetchers: Fetchers, tmp_path: Path
) -> None:
    poll_both(store, fetchers, tmp_path)
    [view] = [e for e in store.story_view(STORY).entries if e.title == FLOOD_POSTS["evac"][0]]
    entry_id = store.find_entry(view.key)
    assert entry_id == view.id
    cluster = store.cluster(view.id)
    assert cluster is not None
    methods = [(m.source, m.match) for m in cluster.members]
    assert methods == [("kelsford-live", None), ("wire", "near")]
    wire_copy = cluster.members[1]
    assert wire_copy.title == "Flood chaos: 400 forced from homes"
    assert wire_copy.score is not None and 0.5 <= wire_copy.score < 1.0
    assert re.search(r"Jaccard 0\.\d\d", wire_copy.reason or "")

    new_id = store.split(view.id, "wire", T0 + timedelta(hours=2))
    split_titles = {e.id: e.title for e in store.story_view(STORY).entries}
    assert split_titles[new_id] == "Flood chaos: 400 forced from homes"
    assert split_titles[view.id] == FLOOD_POSTS["evac"][0]
    # The wire's item, polled again and even re-keyed, does not rejoin the entry.
    with serve({"/rss": Route(body=rss_feed().replace(b":w1<", b":w1b<"))}) as server:
        wire = sources(tmp_path, server.url("/rss"))[1]
        store.sync_sources([wire])
        report = poll(wire, STORY, store=store, fetchers=fetchers, now=T0 + timedelta(hours=3))
    assert (report.error, report.new, report.duplicates, report.unchanged) == (None, 0, 1, 3)
    cluster = store.cluster(view.id)
    assert cluster is not None and [m.source for m in cluster.members] == ["kelsford-live"]
    split_out = store.cluster(new_id)
    assert split_out is not None
    assert [(m.item_key, m.match) for m in split_out.members] == [
        ("guid:urn:wire:w1", None),
        ("guid:urn:wire:w1b", "exact"),
    ]


def test_the_render_cache_follows_every_change_to_the_story(
    store: Store, fetchers: Fetchers, tmp_path: Path
) -> None:
    renders: list[int] = []

    def render(view: StoryView, base: str) -> bytes:
        renders.append(len(view.entries))
        return render_feed(view, "atom", story_url=base)

    cache = RenderCache(store)
    base = "https://agg.example/idris"
    with serve({"/rss": Route(body=rss_feed(), content_type="application/rss+xml")}) as server:
        live, wire = sources(tmp_path, server.url("/rss"))
        store.sync_sources([live, wire])
        poll(live, STORY, store=store, fetchers=fetchers, now=T0)
        first = cache.get(STORY, "atom", base, render)
        assert first is not None
        assert cache.get(STORY, "atom", base, render) is first and renders == [4]
        poll(wire, STORY, store=store, fetchers=fetchers, now=T0)  # 1 new, 3 join entries
    joined = cache.get(STORY, "atom", base, render)
    assert joined is not None
    assert renders == [4, 5] and joined.etag != first.etag and b'rel="via"' in joined.body
    [evac] = [e for e in store.story_view(STORY).entries if e.title == FLOOD_POSTS["evac"][0]]
    store.split(evac.id, "wire", T0 + timedelta(hours=2))
    split = cache.get(STORY, "atom", base, render)
    assert split is not None and split.etag != joined.etag and renders == [4, 5, 6]


class CountingSigns(Inline):
    """The work in this thread, counting the entries each poll has signed."""

    def __init__(self) -> None:
        self.signed: list[int] = []

    def sign(self, source: SourceSpec, entries: Sequence[Entry]) -> list[Entry]:
        self.signed.append(len(entries))
        return super().sign(source, entries)


def test_a_changed_page_signs_only_its_new_and_edited_posts(
    store: Store, fetchers: Fetchers, tmp_path: Path
) -> None:
    live, _ = sources(tmp_path, "http://127.0.0.1:9/unused")
    store.sync_sources([live])
    counting = CountingSigns()
    first = poll(live, STORY, store=store, fetchers=fetchers, now=T0, parsing=counting)
    page = Path(live.path or "")
    evac_title, evac = FLOOD_POSTS["evac"]
    added = f"Schools shut across Kelsford\n\n{RAIL} Schools will stay shut on Monday too.\n\n"
    edited = page.read_text("utf-8").replace("About 400 people", "About 450 people")
    page.write_text(added + edited, encoding="utf-8")
    later = T0 + timedelta(minutes=5)
    second = poll(live, STORY, store=store, fetchers=fetchers, now=later, parsing=counting)
    assert (first.new, second.new, second.updated, second.unchanged) == (4, 1, 1, 3)
    assert counting.signed == [4, 2]
    # What was signed is what the near-duplicate search needs: the edit keeps its copy.
    [entry] = [e for e in store.story_view(STORY).entries if e.title == evac_title]
    assert "About 450 people" in entry.text and entry.text != evac


class StaleHashes:
    """A store whose answer to item_hashes is out of date: it names items as stored as
    they are now which it no longer holds (forgotten between that read and deciding)."""

    def __init__(self, store: Store, hashes: dict[str, str]) -> None:
        self.store, self.hashes = store, hashes

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)

    def item_hashes(self, source: SourceSpec, keys: Sequence[str]) -> dict[str, str]:
        return {k: self.hashes[k] for k in keys if k in self.hashes}


def test_an_item_the_store_no_longer_holds_is_signed_and_still_merged(
    store: Store, fetchers: Fetchers, tmp_path: Path
) -> None:
    with serve({"/rss": Route(body=rss_feed(), content_type="application/rss+xml")}) as server:
        live, wire = sources(tmp_path, server.url("/rss"))
        store.sync_sources([live, wire])
        assert poll(live, STORY, store=store, fetchers=fetchers, now=T0).new == 4
        shown = preview(wire, fetchers=fetchers, now=T0).entries
        stale = cast(PollStore, StaleHashes(store, {e.item_key: e.content_hash for e in shown}))
        counting = CountingSigns()
        report = poll(wire, STORY, store=stale, fetchers=fetchers, now=T0, parsing=counting)
    assert counting.signed == [0, 4]
    assert (report.new, report.duplicates) == (1, 3)
