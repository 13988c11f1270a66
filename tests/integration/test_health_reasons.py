"""What a failure records for /healthz and the logs (issue 14, item 4): a short reason
that says what kind of failure it was, never the text a server sent back, the SQL of a
failing write or its values. Real servers on 127.0.0.1, real databases."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest
from sqlalchemy import insert

from aggregator.core.errors import StoreError
from aggregator.core.types import Fetched, FetchState, SourceSpec, StorySpec
from aggregator.fetch.http import make_client
from aggregator.fetch.limits import FetchLimits
from aggregator.ingest.pipeline import poll
from aggregator.ingest.sources import Fetchers
from aggregator.store import Store
from aggregator.store.schema import sources
from tests.support.builders import T0, source
from tests.support.httpserver import Route, redirect, serve

STORY = StorySpec("story", "The inquiry")
LEAK = "db_password=hunter2"


def feed_source(url: str) -> SourceSpec:
    return source("gazette", kind="feed", url=url, path=None, story="story")


@contextmanager
def raw_server(answer: bytes) -> Iterator[str]:
    """Answers every connection with `answer`, whatever was asked, then closes it."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def run() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(answer)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/feed"
    finally:
        stop.set()
        thread.join()
        listener.close()


def poll_once(store: Store, spec: SourceSpec, fetchers: Fetchers | None = None) -> str:
    """Poll; the recorded last_error (what /healthz shows) must match the report's."""
    store.sync_sources([spec])
    limits = FetchLimits()
    with make_client(limits) as client:
        report = poll(
            spec, STORY, store=store, fetchers=fetchers or Fetchers(client, limits), now=T0
        )
    [health] = store.source_health([spec.name])
    assert report.error is not None and health.last_error == report.error
    return report.error


def test_an_http_error_names_the_status_not_the_body(store: Store) -> None:
    with serve({"/feed": Route(status=500, body=LEAK.encode())}) as server:
        reason = poll_once(store, feed_source(server.url("/feed")))
    assert reason == f"HTTP 500 Internal Server Error from {server.url('/feed')}"


def test_a_protocol_error_does_not_quote_the_bytes_it_choked_on(store: Store) -> None:
    answer = f"HTTP/1.1 200 OK\r\n{LEAK} no colon here\r\n\r\n".encode()
    with raw_server(answer) as url:
        reason = poll_once(store, feed_source(url))
    assert LEAK not in reason
    assert reason == f"the server at {url} broke the HTTP protocol (RemoteProtocolError)"


def test_a_long_or_credentialed_url_is_shown_short(store: Store) -> None:
    with serve({"/feed": redirect("/" + "x" * 5000)}) as server:
        url = server.url("/feed").replace("http://", "http://reader:s3cret@")
        reason = poll_once(store, feed_source(url))
    assert "s3cret" not in reason and "reader" not in reason
    assert reason.startswith("HTTP 404") and len(reason) < 300


def test_a_failing_write_is_told_without_its_sql_or_values(store: Store) -> None:
    store.sync_sources([feed_source("https://gazette.example/feed")])
    duplicate = insert(sources).values(
        name="gazette", story="story", kind="feed", location=LEAK, state="{}", error_count=0
    )
    with pytest.raises(StoreError) as caught, store.connections.writing() as c:
        c.execute(duplicate)
    told = str(caught.value)
    assert told.startswith("cannot write to the store: ") and "unique" in told.lower()
    assert LEAK not in told and "INSERT" not in told and "[SQL" not in told
    assert LEAK in str(caught.value.__cause__)  # the whole error is kept as the cause


class _BrokenFetchers(Fetchers):
    """A fetcher with a bug whose message quotes what it was reading."""

    def fetch(self, source: SourceSpec, state: FetchState, *, now: datetime) -> Fetched:
        raise ValueError(f"cannot handle <p>{LEAK}</p>")


def test_an_unexpected_error_is_named_by_its_kind(store: Store) -> None:
    limits = FetchLimits()
    with make_client(limits) as client:
        broken = _BrokenFetchers(client, limits)
        reason = poll_once(store, feed_source("https://gazette.example/feed"), broken)
    assert reason == "internal error: ValueError"
