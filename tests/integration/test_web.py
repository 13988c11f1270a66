"""The HTTP layer in-process: conditional requests, compression, health, unknown stories."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from aggregator.config import LiveSettings, load
from aggregator.core.types import SourceSpec
from aggregator.store import Store
from aggregator.web.responses import accepts_gzip
from aggregator.web.routes import Live, create_app
from tests.support.builders import T0, one_live_page, post, store_posts
from tests.support.feedcheck import check_atom, check_jsonfeed

BODY = "Inspectors will return to the council early next year, the watchdog said on Friday."


@pytest.fixture
def streams() -> Live:
    return Live()


@pytest.fixture
def client(store: Store, streams: Live, tmp_path: Path) -> Iterator[TestClient]:
    settings = one_live_page(store, tmp_path)
    add_posts(store, settings.sources[0], range(3))
    with TestClient(create_app(store, LiveSettings(settings, {}), streams)) as test_client:
        yield test_client


def add_posts(store: Store, spec: SourceSpec, numbers: range) -> None:
    store_posts(store, spec, [post(f"Update {i}", f"{BODY} ({i})", position=i) for i in numbers])


def test_feeds_are_valid_and_answer_conditional_requests(client: TestClient) -> None:
    atom = client.get("/stories/story.atom")
    assert atom.status_code == 200 and atom.headers["content-type"].startswith(
        "application/atom+xml"
    )
    assert check_atom(atom.content) == []
    etag, modified = atom.headers["etag"], atom.headers["last-modified"]
    assert modified == format_datetime(T0, usegmt=True)
    assert client.get("/stories/story.atom", headers={"If-None-Match": etag}).status_code == 304
    assert (
        client.get("/stories/story.atom", headers={"If-Modified-Since": modified}).status_code
        == 304
    )
    earlier = format_datetime(T0 - timedelta(seconds=1), usegmt=True)
    assert (
        client.get("/stories/story.atom", headers={"If-Modified-Since": earlier}).status_code == 200
    )
    feed = client.get("/stories/story.json")
    assert feed.headers["content-type"].startswith("application/feed+json")
    assert check_jsonfeed(feed.json()) == []
    assert [i["title"] for i in feed.json()["items"]] == ["Update 0", "Update 1", "Update 2"]


def test_responses_are_compressed_for_clients_that_ask(client: TestClient) -> None:
    for path in ("/", "/stories/story.atom", "/stories/story.json", "/stories/story"):
        packed = client.get(path, headers={"Accept-Encoding": "gzip"})
        plain = client.get(path, headers={"Accept-Encoding": "identity"})
        assert packed.headers.get("content-encoding") == "gzip", path
        assert "content-encoding" not in plain.headers, path
        assert packed.content == plain.content, path
    assert b"Update 2" in plain.content  # the last, the page
    # A feed's gzip variant is kept with it: its own ETag, and either ETag revalidates.
    packed = client.get("/stories/story.atom", headers={"Accept-Encoding": "gzip, br"})
    plain = client.get("/stories/story.atom", headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["vary"] == plain.headers["vary"] == "Accept-Encoding"
    assert packed.headers["etag"] != plain.headers["etag"]
    for etag in (packed.headers["etag"], plain.headers["etag"]):
        again = {"If-None-Match": etag, "Accept-Encoding": "gzip"}
        assert client.get("/stories/story.atom", headers=again).status_code == 304


def test_a_signalled_write_shows_in_the_feeds_at_once(
    client: TestClient, store: Store, streams: Live, tmp_path: Path
) -> None:
    before = client.get("/stories/story.atom")
    assert client.get("/stories/story.atom").headers["etag"] == before.headers["etag"]
    add_posts(store, load(tmp_path / "aggregator.toml", {}).sources[0], range(3, 4))
    streams.changes.changed("story")  # what this process's worker does after a commit
    after = client.get("/stories/story.atom", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and b"Update 3" in after.content


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip", True),
        ("deflate, GZIP;q=0.5", True),
        ("x-gzip", True),
        ("gzip;q=0", False),
        ("gzip; q=0.0", False),
        ("br, identity", False),
        ("*", False),
        (None, False),
    ],
)
def test_accepts_gzip(header: str | None, accepted: bool) -> None:
    assert accepts_gzip(header) is accepted


def test_page_index_and_health(client: TestClient) -> None:
    page = client.get("/stories/story")
    assert page.status_code == 200 and "Update 1" in page.text
    assert 'type="application/atom+xml"' in page.text and "application/feed+json" in page.text
    index = client.get("/")
    assert "/stories/story.atom" in index.text
    health = client.get("/healthz").json()
    assert health["ok"] is True and health["sources"][0]["name"] == "live"
    schedule = health["sources"][0]
    # Written straight to the store, never scheduled: due at once, not stopped or moved.
    assert {k: schedule[k] for k in ("next_attempt_at", "stopped_reason", "moved_to")} == {
        "next_attempt_at": None,
        "stopped_reason": None,
        "moved_to": None,
    }
    # One process on SQLite: its own worker wakes the streams, no listener.
    assert (health["role"], health["notifications"], health["store"]) == (
        "run",
        "in-process",
        "reachable",
    )


def test_unknown_story_is_404(client: TestClient) -> None:
    for path in (
        "/stories/nope.atom",
        "/stories/nope.json",
        "/stories/nope",
        "/stories/nope/events",
    ):
        response = client.get(path)
        assert response.status_code == 404 and "nope" in response.text
        assert response.headers["content-type"].startswith("application/json")
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    for path in ("/stories/nope", "/stories/story/archive/7"):
        page = client.get(path, headers=browser)
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
        assert page.text.startswith("<!DOCTYPE html>") and "Not found" in page.text


def test_a_trailing_slash_is_not_redirected_to_the_host_a_client_names(
    client: TestClient,
) -> None:
    answer = client.get(
        "/stories/story.atom/", headers={"Host": "evil.example"}, follow_redirects=False
    )
    assert answer.status_code == 404 and "location" not in answer.headers
