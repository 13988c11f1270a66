"""Validators follow the document's last change (issue 12, item 1).

libcurl, which newsboat and many readers use, sends If-None-Match and If-Modified-Since
together, and when a 200 comes back with a Last-Modified no later than its condition it
throws the body away as "not modified". So a backdated post, which changes the document
but not its newest entry time, must still move Last-Modified forward: here the real
curl (a libcurl client) asks as newsboat does, across a restart of the service, on
SQLite and on PostgreSQL.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest

from aggregator.config import LiveSettings
from aggregator.store import Store, open_store
from aggregator.web.routes import Live, create_app
from tests.support.appserver import serving
from tests.support.builders import T0, one_live_page, post, store_posts

BODY = "The inquiry heard evidence from former officials on Tuesday, the chair said."
pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl CLI")


def curl_conditional(url: str, etag: str, last_modified: str) -> tuple[str, str]:
    """GET `url` as libcurl-based readers do: both validators, with libcurl's own time
    condition (-z); returns the HTTP status and the body curl kept."""
    done = subprocess.run(
        [
            "curl",
            "-sS",
            "--max-time",
            "10",
            "-z",
            last_modified,
            "-H",
            f"If-None-Match: {etag}",
            "-w",
            "\n%{http_code}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    body, _, status = done.stdout.rpartition("\n")
    return status, body


@pytest.mark.slow
def test_a_backdated_post_reaches_a_libcurl_reader_across_a_restart(
    database_url: str, tmp_path: Path
) -> None:
    store = open_store(database_url)
    settings = one_live_page(store, tmp_path)
    spec = settings.sources[0]
    late = T0 + timedelta(hours=2)
    store_posts(store, spec, [post("Newest update", BODY, published=late)], now=late)
    streams = Live()  # the worker signals each write; the kept feed is then re-read
    with serving(create_app(store, LiveSettings(settings, {}), streams)) as base:
        url = f"{base}/stories/story.atom"
        first = httpx.get(url)
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        assert curl_conditional(url, etag, modified) == ("304", "")

        backdated = post("An earlier statement", BODY + " (1)", published=T0)
        store_posts(store, spec, [backdated], now=late + timedelta(minutes=5))
        streams.changes.changed("story")
        status, body = curl_conditional(url, etag, modified)
        assert status == "200" and "An earlier statement" in body
        second = httpx.get(url)
        assert parsedate_to_datetime(second.headers["last-modified"]) > parsedate_to_datetime(
            modified
        )
    store.engine.dispose()

    restarted = open_store(database_url)
    try:
        older = post("An even earlier statement", BODY + " (2)", published=T0 - timedelta(days=1))
        # Written within the same second as the last change: the date still moves on.
        store_posts(restarted, spec, [older], now=late + timedelta(minutes=5, microseconds=1))
        with serving(create_app(restarted, LiveSettings(settings, {}))) as base:
            url = f"{base}/stories/story.atom"
            status, body = curl_conditional(
                url, second.headers["etag"], second.headers["last-modified"]
            )
            assert status == "200" and "An even earlier statement" in body
            third = httpx.get(url)
            assert parsedate_to_datetime(third.headers["last-modified"]) > parsedate_to_datetime(
                second.headers["last-modified"]
            )
            assert "<updated>" in third.text
    finally:
        restarted.engine.dispose()


def test_the_feed_updated_element_is_the_document_change(store: Store, tmp_path: Path) -> None:
    settings = one_live_page(store, tmp_path)
    spec = settings.sources[0]
    store_posts(store, spec, [post("Only post", BODY, published=T0)], now=T0 + timedelta(hours=1))
    view = store.story_view(settings.stories[0])
    assert view.updated == T0 + timedelta(hours=1)
