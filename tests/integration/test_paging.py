"""Paged and archived feeds (RFC 5005): no entry is ever out of a reader's reach.

A story of 5,000 entries is served by the real app; following `prev-archive` from the
Atom subscription document, and `next_url` from the JSON Feed one, reaches every entry
exactly once; archive pages are valid, say they are archives, link back to the current
document, and keep their entries as the story grows. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import random
import socket
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from aggregator.config import LiveSettings, load
from aggregator.core.errors import ConfigError
from aggregator.core.types import Post, SourceSpec, StorySpec
from aggregator.publish.ids import entry_iri
from aggregator.store import Store
from aggregator.web.export import render_story
from aggregator.web.routes import create_app
from tests.support.appserver import listening_socket, port_of, serving
from tests.support.builders import T0, post, store_posts
from tests.support.feedcheck import ATOM, check_atom, check_jsonfeed

HISTORY = "{http://purl.org/syndication/history/1.0}"
WORDS = [
    "council",
    "inquiry",
    "report",
    "police",
    "victims",
    "families",
    "court",
    "hearing",
    "statement",
    "officers",
    "minister",
    "review",
    "town",
    "hall",
    "children",
    "services",
    "commissioner",
    "evidence",
    "apology",
    "meeting",
    "budget",
    "school",
    "parents",
    "survivors",
    "lawyers",
    "agency",
    "northern",
    "southern",
    "river",
    "bridge",
]
CONFIG = """
[service]
public_url = "http://127.0.0.1:{port}"

[[stories]]
id = "story"
title = "A long story"
page_size = {page_size}

[[sources]]
name = "wire"
story = "story"
kind = "feed"
url = "http://127.0.0.1:9/wire.xml"

[[sources]]
name = "late"
story = "story"
kind = "feed"
url = "http://127.0.0.1:9/late.xml"
"""


def _posts(count: int, prefix: str, start: int = 0) -> list[Post]:
    """`count` distinct items, one minute apart, newest first."""
    rng = random.Random(f"{prefix}{start}")
    made = []
    for i in range(start, start + count):
        words = " ".join(rng.choice(WORDS) for _ in range(24))
        made.append(
            post(
                f"{prefix} update {i}: {words[:40]}",
                f"{words} (item {prefix}-{i}).",
                position=i - start,
                guid=f"{prefix}-{i}",
                published=T0 + timedelta(minutes=i),
            )
        )
    return made


def _settings(tmp_path: Path, page_size: int, sock: socket.socket) -> LiveSettings:
    path = tmp_path / "aggregator.toml"
    config = CONFIG.format(page_size=page_size, port=port_of(sock))
    path.write_text(config, encoding="utf-8")
    return LiveSettings(load(path, {}), {})


def _fill(store: Store, live: LiveSettings, count: int) -> tuple[SourceSpec, StorySpec]:
    settings = live.current
    store.sync_sources(settings.sources)
    wire = settings.sources[0]
    for start in range(0, count, 500):
        store_posts(store, wire, _posts(min(500, count - start), "wire", start), now=T0)
    story = settings.story("story")
    assert story is not None
    return wire, story


def _atom_ids(document: bytes) -> list[str]:
    feed = ET.fromstring(document)
    return [e.findtext(f"{ATOM}id") or "" for e in feed.iter(f"{ATOM}entry")]


def _link(document: bytes, rel: str) -> str | None:
    feed = ET.fromstring(document)
    found = [n.get("href") for n in feed.findall(f"{ATOM}link") if n.get("rel") == rel]
    assert len(found) <= 1, rel
    return found[0] if found else None


def _walk_atom(client: httpx.Client, url: str) -> tuple[list[str], list[httpx.Response]]:
    """Every entry id met following prev-archive from `url`, and each archive response."""
    first = client.get(url)
    assert first.status_code == 200 and check_atom(first.content) == []
    assert ET.fromstring(first.content).find(f"{HISTORY}archive") is None
    ids, archives = _atom_ids(first.content), []
    older = _link(first.content, "prev-archive")
    while older is not None:
        page = client.get(older)
        assert page.status_code == 200, older
        assert check_atom(page.content) == [], older
        feed = ET.fromstring(page.content)
        assert feed.find(f"{HISTORY}archive") is not None
        assert _link(page.content, "current") == url
        assert _link(page.content, "self") == older
        archives.append(page)
        on_page = _atom_ids(page.content)
        assert not set(on_page) & {i for a in archives[:-1] for i in _atom_ids(a.content)}
        ids += on_page
        older = _link(page.content, "prev-archive")
    return ids, archives


def _walk_json(client: httpx.Client, url: str) -> list[str]:
    ids: list[str] = []
    next_url: str | None = url
    while next_url is not None:
        feed = client.get(next_url).json()
        assert check_jsonfeed(feed) == [], next_url
        assert feed["feed_url"] == url
        ids += [item["id"] for item in feed["items"]]
        next_url = feed.get("next_url")
    return ids


@pytest.mark.slow
def test_every_one_of_5000_entries_is_reachable_from_both_subscriptions(
    store: Store, tmp_path: Path
) -> None:
    sock = listening_socket()
    live = _settings(tmp_path, 100, sock)
    _, story = _fill(store, live, 5_000)
    everything = {
        entry_iri(e.story, e.key) for e in store.story_view(story, everything=True).entries
    }
    assert len(everything) == 5_000
    with serving(create_app(store, live), sock) as base, httpx.Client(timeout=30) as client:
        atom_url = f"{base}/stories/story.atom"
        ids, archives = _walk_atom(client, atom_url)
        # Every entry is on exactly one archive page or the open page; the newest by
        # `updated` are also in the subscription document, wherever their page is.
        assert set(ids) == everything and len(ids) - len(set(ids)) <= 100
        assert len(archives) == 49
        assert all("max-age" in r.headers["cache-control"] for r in archives)
        json_ids = _walk_json(client, f"{base}/stories/story.json")
        assert set(json_ids) == everything and len(json_ids) - len(set(json_ids)) <= 100

        oldest = archives[-1]
        assert oldest.request.url.path == "/stories/story/archive/0.atom"
        again = client.get(
            str(oldest.request.url), headers={"If-None-Match": oldest.headers["etag"]}
        )
        assert again.status_code == 304
        assert client.get(f"{base}/stories/story/archive/49.atom").status_code == 404

        # A source joining with a backlog dated before everything: its items are added
        # last, so they are in the subscription document however old they look.
        late = next(s for s in live.current.sources if s.name == "late")
        backlog = [replace(p, published=T0 - timedelta(days=30)) for p in _posts(3, "late")]
        store_posts(store, late, backlog, now=T0 + timedelta(days=5))
        current = client.get(atom_url).content
        assert len(set(_atom_ids(current)) - everything) == 3
        # The archive pages hold the same entries as before.
        assert client.get(str(oldest.request.url)).content == oldest.content


@pytest.mark.slow
def test_the_page_links_its_archive_and_its_stream_starts_after_what_it_shows(
    store: Store, tmp_path: Path
) -> None:
    sock = listening_socket()
    live = _settings(tmp_path, 10, sock)
    _fill(store, live, 25)
    with serving(create_app(store, live), sock) as base, httpx.Client(timeout=30) as client:
        page = client.get(f"{base}/stories/story").text
        assert "The newest 10 of 25 entries" in page
        assert f'href="{base}/stories/story/archive/1"' in page
        assert "events?after=" in page and "events?after=0" not in page
        archive = client.get(f"{base}/stories/story/archive/0")
        assert archive.status_code == 200 and "Archive page 1 of 2" in archive.text
        assert f'rel="next" href="{base}/stories/story/archive/1"' in archive.text
        assert "EventSource" not in archive.text
        # A fresh stream started where the page says sends nothing the page shows.
        start = page.split("events?after=")[1].split('"')[0]
        with client.stream(
            "GET", f"{base}/stories/story/events?after={start}", timeout=httpx.Timeout(5, read=1.5)
        ) as stream:
            lines = []
            with pytest.raises(httpx.ReadTimeout):
                for line in stream.iter_lines():
                    lines.append(line)
        assert not any(line.startswith("event:") for line in lines)


def test_export_writes_every_entry(store: Store, tmp_path: Path) -> None:
    live = _settings(tmp_path, 10, listening_socket())
    _, story = _fill(store, live, 35)
    assert len(store.story_view(story).entries) == 10
    exported = json.loads(render_story(store, live.current, story, "json"))
    assert len(exported["items"]) == 35 and "next_url" not in exported
    atom = render_story(store, live.current, story, "atom")
    assert len(_atom_ids(atom)) == 35 and _link(atom, "prev-archive") is None


@pytest.mark.parametrize("size", [0, 5, 1001, "100", True])
def test_page_size_out_of_range_is_refused(tmp_path: Path, size: object) -> None:
    path = tmp_path / "aggregator.toml"
    value = json.dumps(size) if not isinstance(size, bool) else "true"
    config = CONFIG.replace("{page_size}", value).replace("{port}", "8080")
    path.write_text(config, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"page_size.*from 10 to 1000"):
        load(path, {})


def test_an_archive_page_keeps_its_time_when_the_story_changes(
    store: Store, tmp_path: Path
) -> None:
    """Its entries never change, so neither does its `updated` (nor its Last-Modified)
    when posts are added to the story after it closed."""
    sock = listening_socket()
    try:
        wire, story = _fill(store, _settings(tmp_path, 10, sock), 30)
    finally:
        sock.close()
    before = store.archive_view(story, 0)
    store_posts(store, wire, _posts(5, "wire", 30), now=T0 + timedelta(days=1))
    after = store.archive_view(story, 0)
    assert before is not None and after is not None
    assert after.entries == before.entries and after.updated == before.updated
    current = store.story_view(story).updated
    assert current is not None and before.updated is not None and current > before.updated
