from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser

from aggregator.core.types import StorySpec, StoryView
from aggregator.publish.feeds import render_feed, titled
from aggregator.publish.page import SourceLine, render_index, render_not_found, render_page
from tests.support.samples import (
    BASE,
    GUARDIAN_COPY,
    POLLS_TITLE,
    STORY,
    entry,
    sample_view,
)

ATOM_URL = f"{BASE}/stories/rotherham.atom"
JSON_URL = f"{BASE}/stories/rotherham.json"
EVENTS_URL = f"{BASE}/stories/rotherham/events"
T_FAILED = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


class Outline(HTMLParser):
    """The parts of a page the tests look at: tags with attributes, and the text."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def render(view: StoryView) -> str:
    return render_page(view, story_url=f"{BASE}/stories/rotherham")


def test_head_links_both_feeds() -> None:
    page = render(sample_view())
    assert page.startswith("<!DOCTYPE html>")
    links = {(a["type"], a["href"]) for a in Outline(page).all("link") if a["rel"] == "alternate"}
    assert links == {("application/atom+xml", ATOM_URL), ("application/feed+json", JSON_URL)}


def test_timeline_shows_times_sources_and_markers() -> None:
    outline = Outline(render(sample_view()))
    text = "".join(outline.text)
    stamps = [a["datetime"] for a in outline.all("time")]
    assert stamps[0] == "2026-11-22T22:00:00Z"
    assert "22 Nov 2026, 22:00 UTC" in text
    assert POLLS_TITLE in text
    assert "first seen" in text
    assert "Also reported by guardian, local-notes" in text
    hrefs = [a["href"] for a in outline.all("a")]
    assert GUARDIAN_COPY in hrefs and "https://www.theguardian.com/politics/rss" not in hrefs
    assert "Jane Smith, bbc-live" in text
    assert str(outline.all("article")[0]["data-id"]).startswith("urn:uuid:")
    assert outline.all("p")[1]["data-events"] == f"{EVENTS_URL}?after=0"


def test_every_text_value_is_escaped() -> None:
    hostile = entry(
        "x",
        title="<script>alert(1)</script>",
        author='"><img src=x onerror=alert(2)>',
        html='<p onclick="alert(3)">hi</p><script>alert(4)</script>',
        url='https://example.org/?a=1&b="2"',
    )
    page = render(StoryView(replace(STORY, title="<i>Story</i>"), (hostile,)))
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img" not in page
    assert "onclick" not in page
    assert "<i>Story" not in page
    assert 'href="https://example.org/?a=1&amp;b=&quot;2&quot;"' in page
    assert len(Outline(page).all("script")) == 1


def test_empty_story_says_so() -> None:
    assert "Nothing yet" in render(StoryView(STORY, ()))


def test_index_lists_stories_counts_and_feeds() -> None:
    stories: list[tuple[StorySpec, int, list[SourceLine]]] = [
        (STORY, 3, []),
        (StorySpec("other", "A & B"), 1, []),
    ]
    page = render_index(stories, base_url=BASE + "/")
    hrefs = [a["href"] for a in Outline(page).all("a")]
    assert hrefs == [
        f"{BASE}/stories/rotherham",
        ATOM_URL,
        JSON_URL,
        f"{BASE}/stories/other",
        f"{BASE}/stories/other.atom",
        f"{BASE}/stories/other.json",
    ]
    assert "3 entries" in page
    assert "1 entry" in page
    assert "A &amp; B" in page


def test_times_are_shown_in_the_story_zone_and_marked_in_utc() -> None:
    view = sample_view()
    view = replace(view, story=replace(view.story, timezone="America/New_York"))
    outline = Outline(render(view))
    text = "".join(outline.text)
    assert "22 Nov 2026, 17:00 EST" in text and "America/New York time" in text
    assert outline.all("time")[0]["datetime"] == "2026-11-22T22:00:00Z"
    assert outline.all("body")[0]["data-timezone"] == "America/New_York"


def test_first_seen_is_explained_in_visible_text() -> None:
    text = "".join(Outline(render(sample_view())).text)
    assert "first seen the source gave no time; this is when we first saw it" in text


def test_a_failing_source_is_reported_on_the_page_and_the_index() -> None:
    failing = SourceLine("Town Hall live page", T_FAILED, "HTTP 503 from the server")
    ok = SourceLine("Wire", T_FAILED, None)
    page = render_page(sample_view(), story_url=f"{BASE}/stories/rotherham", sources=[failing, ok])
    text = "".join(Outline(page).text)
    expected = "Town Hall live page: not updated since 22 Nov 2026, 08:00 UTC: error: HTTP 503"
    assert text.count(expected) == 2  # under the title, and in the list of sources
    assert "Wire: read 22 Nov 2026, 08:00 UTC" in text
    index = render_index([(STORY, 3, [failing, ok])], base_url=BASE)
    assert expected in "".join(Outline(index).text) and "Wire" not in index


def test_sources_show_their_display_titles() -> None:
    view = titled(sample_view(), {"bbc-live": "BBC News live", "guardian": "The Guardian"})
    text = "".join(Outline(render(view)).text)
    assert "Jane Smith, BBC News live" in text
    assert "Also reported by The Guardian, local-notes" in text
    atom = render_feed(view, "atom", story_url=f"{BASE}/stories/rotherham").decode()
    assert "<title>BBC News live</title>" in atom and 'title="The Guardian"' in atom


def test_a_browser_gets_an_html_not_found_page() -> None:
    page = render_not_found("no story 'nope'")
    assert page.startswith("<!DOCTYPE html>") and "no story &#x27;nope&#x27;." in page
