from __future__ import annotations

from datetime import UTC, datetime
from xml.etree.ElementTree import fromstring

import feedparser
import pytest

from aggregator.core.types import StoryView
from aggregator.publish.atom import AGG_NS, render_atom
from aggregator.publish.ids import entry_iri, feed_iri, source_iri
from tests.support.feedcheck import ATOM, check_atom
from tests.support.samples import (
    BASE,
    BBC,
    GUARDIAN_COPY,
    POLLS_TITLE,
    STORY,
    at,
    entry,
    sample_view,
)

AGG = "{" + AGG_NS + "}"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def render(view: StoryView) -> bytes:
    return render_atom(
        view,
        self_url=f"{BASE}/stories/{view.story.id}.atom",
        page_url=f"{BASE}/stories/{view.story.id}",
        fallback_updated=EPOCH,
    )


def test_sample_passes_our_checker() -> None:
    assert check_atom(render(sample_view())) == []


def test_empty_story_passes_and_takes_the_fallback_time() -> None:
    document = render(StoryView(STORY, ()))
    assert check_atom(document) == []
    assert fromstring(document).findtext(f"{ATOM}updated") == "1970-01-01T00:00:00Z"


def test_feedparser_reads_back_ids_titles_and_order() -> None:
    view = sample_view()
    parsed = feedparser.parse(render(view))
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.id == feed_iri(STORY.id)
    assert parsed.feed.title == "Rotherham by-election \N{EN DASH} live"
    assert parsed.feed.updated == "2026-11-22T22:05:00Z"
    assert [e.id for e in parsed.entries] == [entry_iri(STORY.id, e.key) for e in view.entries]
    assert [e.title for e in parsed.entries] == [e.title for e in view.entries]
    first = parsed.entries[0]
    assert first.title == POLLS_TITLE
    assert first.content[0].value == view.entries[0].html
    assert first.content[0].type == "text/html"
    assert first.link == view.entries[0].url
    assert first.author == "Jane Smith"
    assert first.source.id == source_iri(BBC)
    assert first.source.title == "bbc-live"
    via = [link.href for link in first.links if link.rel == "via"]
    assert via == [GUARDIAN_COPY]  # the copy itself, not the Guardian's feed XML
    assert parsed.entries[2].published == "2026-11-22T20:00:00Z"


def test_entry_without_author_or_html_names_its_source_and_carries_text() -> None:
    node = fromstring(render(sample_view())).findall(f"{ATOM}entry")[2]
    assert node.findtext(f"{ATOM}author/{ATOM}name") == "guardian"
    content = node.find(f"{ATOM}content")
    assert content is not None
    assert content.get("type") == "text"
    assert content.text == "Seven candidates are standing."


def test_extension_elements_carry_time_source_and_also_from() -> None:
    entries = fromstring(render(sample_view())).findall(f"{ATOM}entry")
    assert [e.findtext(f"{AGG}time-source") for e in entries] == ["page", "first-seen", "feed"]
    also = entries[0].findall(f"{AGG}also-from")
    assert [(a.text, a.get("kind"), a.get("href"), a.get("feed")) for a in also] == [
        ("guardian", "feed", GUARDIAN_COPY, "https://www.theguardian.com/politics/rss"),
        ("local-notes", "article", None, None),
    ]


def test_local_source_has_a_urn_id_and_no_link() -> None:
    source = fromstring(render(sample_view())).findall(f"{ATOM}entry")[1].find(f"{ATOM}source")
    assert source is not None
    assert (source.findtext(f"{ATOM}id") or "").startswith("urn:uuid:")
    assert source.find(f"{ATOM}link") is None


def test_markup_and_forbidden_characters_stay_well_formed() -> None:
    hostile = entry(
        "x", title="<b>bold</b> & \x0bvertical tab\x00", html="<p>a</p>]]><script>", updated=at(9)
    )
    document = render(StoryView(STORY, (hostile,)))
    assert check_atom(document) == []
    node = fromstring(document).find(f"{ATOM}entry")
    assert node is not None
    assert node.findtext(f"{ATOM}title") == "<b>bold</b> & vertical tab"
    assert node.findtext(f"{ATOM}content") == "<p>a</p>]]><script>"


def test_rendering_is_deterministic() -> None:
    assert render(sample_view()) == render(sample_view())


def test_naive_entry_time_is_refused() -> None:
    naive = entry("x", published=datetime(2026, 11, 22, 10, 0), updated=at(10))
    with pytest.raises(ValueError, match="naive"):
        render(StoryView(STORY, (naive,)))
