from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from aggregator.core.types import StoryView
from aggregator.publish.ids import entry_iri
from aggregator.publish.jsonfeed import VERSION, entry_json, render_jsonfeed
from tests.support.feedcheck import check_jsonfeed
from tests.support.samples import (
    BASE,
    GUARDIAN_COPY,
    POLLS_TITLE,
    RSQ,
    STORY,
    at,
    sample_view,
)


def render(view: StoryView) -> bytes:
    return render_jsonfeed(
        view, feed_url=f"{BASE}/stories/rotherham.json", page_url=f"{BASE}/stories/rotherham"
    )


def decoded(view: StoryView) -> dict[str, Any]:
    feed: dict[str, Any] = json.loads(render(view).decode("utf-8"))
    return feed


def test_sample_passes_our_checker() -> None:
    assert check_jsonfeed(decoded(sample_view())) == []
    assert check_jsonfeed(decoded(StoryView(STORY, ()))) == []


def test_feed_names_itself_and_its_page() -> None:
    feed = decoded(sample_view())
    assert feed["version"] == VERSION
    assert feed["title"] == STORY.title
    assert feed["feed_url"] == f"{BASE}/stories/rotherham.json"
    assert feed["home_page_url"] == f"{BASE}/stories/rotherham"
    assert feed["authors"][0]["name"] == "aggregator"


def test_items_share_ids_with_atom_and_keep_non_ascii() -> None:
    view = sample_view()
    body = render(view)
    assert RSQ.encode("utf-8") in body
    items = json.loads(body)["items"]
    assert [i["id"] for i in items] == [entry_iri(STORY.id, e.key) for e in view.entries]
    assert items[0]["title"] == POLLS_TITLE
    assert items[0]["content_html"] == view.entries[0].html
    assert items[0]["date_published"] == "2026-11-22T22:00:00Z"
    assert items[0]["date_modified"] == "2026-11-22T22:05:00Z"
    assert items[0]["authors"] == [{"name": "Jane Smith"}]


def test_item_without_html_url_or_author() -> None:
    items = decoded(sample_view())["items"]
    statement, candidates = items[1], items[2]
    assert "url" not in statement
    assert statement["authors"] == [{"name": "council"}]
    assert "content_html" not in candidates
    assert candidates["content_text"] == "Seven candidates are standing."
    assert candidates["date_published"] == "2026-11-22T20:00:00Z"


def test_extension_object_carries_origin() -> None:
    items = decoded(sample_view())["items"]
    ext = items[0]["_aggregator"]
    assert ext["time_source"] == "page"
    assert ext["source"] == {
        "name": "bbc-live",
        "title": "bbc-live",
        "kind": "liveblog",
        "url": "https://www.bbc.co.uk/news/live/uk-politics-1",
        "home_page_url": None,
        "link": None,
    }
    assert [s["name"] for s in ext["also_from"]] == ["guardian", "local-notes"]
    assert ext["also_from"][0]["link"] == GUARDIAN_COPY
    assert ext["also_from"][1]["url"] is None
    assert items[1]["_aggregator"]["time_source"] == "first-seen"
    # A local file is not a URL a reader could follow.
    assert items[1]["_aggregator"]["source"]["url"] is None


def test_edited_older_entry_stays_in_publication_order() -> None:
    view = sample_view()
    edited = replace(view.entries[2], updated=at(23))
    # The store orders by updated, so the edited entry comes first.
    reordered = StoryView(STORY, (edited, *view.entries[:2]))
    items = decoded(reordered)["items"]
    assert [i["title"] for i in items] == [e.title for e in view.entries]
    assert check_jsonfeed({"version": VERSION, "title": "t", "items": items}) == []


def test_entry_json_is_the_item() -> None:
    view = sample_view()
    assert decoded(view)["items"][0] == entry_json(view.entries[0])
