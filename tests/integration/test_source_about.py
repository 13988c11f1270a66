"""What a source says about itself reaches readers: its own title (unless the config
gives one), its home page in `atom:source`, its language on each entry."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import timedelta

from aggregator.core.types import SourceSpec, StorySpec
from aggregator.ingest.pipeline import poll
from aggregator.ingest.sources import Fetchers
from aggregator.parse.about import channel_about, page_about
from aggregator.publish.feeds import render_feed, titled
from aggregator.publish.page import render_page
from aggregator.store import Store
from tests.support.builders import T0
from tests.support.feedcheck import ATOM, check_atom, check_jsonfeed
from tests.support.httpserver import Route, serve

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
STORY = StorySpec("story", "The inquiry")
BASE = "http://127.0.0.1:8080/stories/story"
RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>
<title><![CDATA[Gazette &amp; Herald: <b>Inquiry</b>]]></title>
<atom:link rel="self" href="https://gazette.example/inquiry.xml"/>
<link>https://gazette.example/inquiry</link>
<language>de-DE</language>
<item><guid>g1</guid><title>Bericht veröffentlicht</title>
<link>https://gazette.example/inquiry/1</link>
<description>Der Untersuchungsausschuss hat heute seinen Abschlussbericht vorgelegt.</description>
<pubDate>Tue, 03 Feb 2015 10:15:00 +0000</pubDate></item>
</channel></rss>"""


def test_a_feed_channel_says_its_title_home_and_language() -> None:
    about = channel_about(RSS.split("<item>")[0])
    assert about.title == "Gazette & Herald: Inquiry"
    assert about.home == "https://gazette.example/inquiry"
    assert about.language == "de-DE"
    atom = channel_about(
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr"><title type="html">'
        "Le Direct</title><link rel='self' href='https://x.example/feed'/>"
        '<link href="https://x.example/direct"/>'
    )
    assert (atom.title, atom.home, atom.language) == ("Le Direct", "https://x.example/direct", "fr")
    assert channel_about("<rss><channel><link>javascript:alert(1)</link>").home is None
    assert channel_about('<feed xml:lang="not a language">').language is None


def test_a_page_says_its_site_name_and_language() -> None:
    html = (
        '<html lang="es-PE"><head><meta property="og:site_name" content="Diario &amp; Co">'
        "<title>En vivo</title></head><body><p>x</p></body></html>"
    )
    about = page_about(html, "https://diario.example/en-vivo")
    assert (about.title, about.home, about.language) == (
        "Diario & Co",
        "https://diario.example/en-vivo",
        "es-PE",
    )
    assert page_about(html, "/srv/pages/live.html").home is None


def test_a_polled_feed_names_itself_in_every_format(store: Store, fetchers: Fetchers) -> None:
    with serve({"/rss": Route(body=RSS.encode(), content_type="application/rss+xml")}) as server:
        spec = SourceSpec("gazette", "story", "feed", server.url("/rss"), None, 60, "UTC")
        store.sync_sources([spec])
        assert poll(spec, STORY, store=store, fetchers=fetchers, now=T0).new == 1
        # A 304 keeps what the feed said of itself.
        poll(spec, STORY, store=store, fetchers=fetchers, now=T0 + timedelta(minutes=5))
    view = store.story_view(STORY)
    atom = render_feed(view, "atom", story_url=BASE)
    assert check_atom(atom) == []
    entry = ET.fromstring(atom).find(f"{ATOM}entry")
    assert entry is not None and entry.get(XML_LANG) == "de-DE"
    source = entry.find(f"{ATOM}source")
    assert source is not None
    assert source.findtext(f"{ATOM}title") == "Gazette & Herald: Inquiry"
    links = {(n.get("rel"), n.get("href")) for n in source.findall(f"{ATOM}link")}
    assert ("alternate", "https://gazette.example/inquiry") in links
    assert ("self", spec.url) in links
    feed = json.loads(render_feed(view, "json", story_url=BASE))
    assert check_jsonfeed(feed) == []
    item = feed["items"][0]
    assert item["language"] == "de-DE"
    assert item["_aggregator"]["source"]["title"] == "Gazette & Herald: Inquiry"
    assert item["_aggregator"]["source"]["home_page_url"] == "https://gazette.example/inquiry"
    page = render_page(view, story_url=BASE)
    assert ' lang="de-DE"' in page and "Gazette &amp; Herald: Inquiry" in page
    # The config's title wins over the feed's own.
    renamed = titled(view, {"gazette": "The Gazette"})
    assert "<title>The Gazette</title>" in render_feed(renamed, "atom", story_url=BASE).decode()
    assert store.source_health(["gazette"])[0].title == "Gazette & Herald: Inquiry"


def test_a_source_without_its_own_title_is_named_by_the_config(
    store: Store, fetchers: Fetchers
) -> None:
    bare = RSS.replace("<title><![CDATA[Gazette &amp; Herald: <b>Inquiry</b>]]></title>", "")
    bare = bare.replace("<language>de-DE</language>", "")
    with serve({"/rss": Route(body=bare.encode())}) as server:
        spec = SourceSpec("gazette", "story", "feed", server.url("/rss"), None, 60, "UTC")
        store.sync_sources([spec])
        poll(spec, STORY, store=store, fetchers=fetchers, now=T0)
    entry = store.story_view(STORY).entries[0]
    assert entry.source.display_title == "gazette" and entry.source.language is None
    assert replace(entry.source, title="x").display_title == "x"
