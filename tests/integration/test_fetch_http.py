"""fetch_http against a real scripted server on 127.0.0.1."""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from aggregator.core.errors import FetchError
from aggregator.core.types import Fetched, FetchState, SourceSpec
from aggregator.fetch.http import fetch_http, make_client
from aggregator.fetch.limits import FetchLimits
from tests.support.httpserver import Route, redirect, refused_url, serve

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
LIMITS = FetchLimits(max_bytes=64 * 1024, connect_timeout=1.0, total_timeout=2.0, max_redirects=3)
FEED = b"<rss><channel><title>t</title></channel></rss>"


def spec(url: str) -> SourceSpec:
    return SourceSpec(
        name="wire", story="s", kind="feed", url=url, path=None, interval=60, timezone="UTC"
    )


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with make_client(LIMITS) as opened:
        yield opened


def fetch(
    client: httpx.Client, url: str, state: FetchState | None = None, limits: FetchLimits = LIMITS
) -> Fetched:
    return fetch_http(client, spec(url), state or FetchState(), now=NOW, limits=limits)


def test_a_body_becomes_one_document_with_new_validators(client: httpx.Client) -> None:
    route = Route(body=FEED, content_type="application/rss+xml", etag='"v1"')
    with serve({"/feed": route}) as server:
        fetched = fetch(client, server.url("/feed"))
    [document] = fetched.documents
    assert document.body == FEED
    assert document.location == server.url("/feed")
    assert document.content_type == "application/rss+xml"
    assert document.fetched_at == NOW
    assert document.modified_at is None
    assert fetched.state.etag == '"v1"'
    assert fetched.state.body_sha256 is not None


def test_etag_gives_304_on_the_second_fetch(client: httpx.Client) -> None:
    with serve({"/feed": Route(body=FEED, etag='"v1"')}) as server:
        first = fetch(client, server.url("/feed"))
        second = fetch(client, server.url("/feed"), first.state)
    assert first.changed
    assert not second.changed
    assert second.state == first.state
    assert server.requests[1].headers["if-none-match"] == '"v1"'


def test_polls_answered_304_share_one_connection(client: httpx.Client) -> None:
    with serve({"/feed": Route(body=FEED, etag='"v1"')}, keep_alive=True) as server:
        state = fetch(client, server.url("/feed")).state
        answers = [fetch(client, server.url("/feed"), state) for _ in range(3)]
    assert [a.changed for a in answers] == [False, False, False]
    assert len({r.client_port for r in server.requests}) == 1


def test_last_modified_gives_304_and_the_modified_time(client: httpx.Client) -> None:
    stamp = "Wed, 21 Oct 2026 07:28:00 GMT"
    with serve({"/feed": Route(body=FEED, last_modified=stamp)}) as server:
        first = fetch(client, server.url("/feed"))
        second = fetch(client, server.url("/feed"), first.state)
    assert first.documents[0].modified_at == datetime(2026, 10, 21, 7, 28, tzinfo=UTC)
    assert first.state.last_modified == stamp
    assert not second.changed
    assert server.requests[1].headers["if-modified-since"] == stamp


def test_the_same_body_without_validators_is_unchanged_by_hash(client: httpx.Client) -> None:
    routes = {"/feed": Route(body=FEED)}
    with serve(routes) as server:
        first = fetch(client, server.url("/feed"))
        second = fetch(client, server.url("/feed"), first.state)
        routes["/feed"] = Route(body=FEED + b"<!-- edited -->")
        third = fetch(client, server.url("/feed"), second.state)
    assert "if-none-match" not in server.requests[1].headers
    assert not second.changed
    assert second.state.body_sha256 == first.state.body_sha256
    assert third.changed
    assert third.state.body_sha256 != first.state.body_sha256


def test_new_validators_are_kept_when_the_body_is_the_same(client: httpx.Client) -> None:
    routes = {"/feed": Route(body=FEED, etag='"v1"')}
    with serve(routes) as server:
        first = fetch(client, server.url("/feed"))
        routes["/feed"] = Route(body=FEED, etag='"v2"')
        second = fetch(client, server.url("/feed"), first.state)
    assert not second.changed
    assert second.state.etag == '"v2"'


@pytest.mark.parametrize(("status", "reason"), [(404, "Not Found"), (500, "Internal Server Error")])
def test_an_error_status_names_status_and_url(
    client: httpx.Client, status: int, reason: str
) -> None:
    with serve({"/feed": Route(status=status)}) as server, pytest.raises(FetchError) as caught:
        fetch(client, server.url("/feed"))
    assert caught.value.source == "wire"
    assert f"HTTP {status} {reason} from {server.url('/feed')}" in caught.value.reason


def test_a_server_slow_to_answer_times_out() -> None:
    limits = FetchLimits(total_timeout=0.3, connect_timeout=0.3)
    with (
        make_client(limits) as client,
        serve({"/slow": Route(body=FEED, delay=5)}) as server,
        pytest.raises(FetchError, match=r"timed out after 0\.3s") as caught,
    ):
        fetch(client, server.url("/slow"), limits=limits)
    assert isinstance(caught.value.__cause__, httpx.TimeoutException)


@pytest.mark.slow
def test_a_server_dribbling_bytes_is_cut_off_at_the_total_timeout() -> None:
    # Each byte arrives well within the read timeout: only the overall deadline stops it.
    limits = FetchLimits(total_timeout=0.5)
    route = Route(body=b"x" * 100, dribble=0.05, chunk_size=1)
    with make_client(limits) as client, serve({"/drip": route}) as server:
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"timed out after 0\.5s (downloading|fetching)"):
            fetch(client, server.url("/drip"), limits=limits)
        assert time.monotonic() - started < 1.0


def test_a_body_over_the_cap_names_the_cap(client: httpx.Client) -> None:
    route = Route(body=b"x" * (LIMITS.max_bytes + 1))
    with serve({"/big": route}) as server, pytest.raises(FetchError, match="65536-byte size cap"):
        fetch(client, server.url("/big"))


def test_a_body_exactly_at_the_cap_is_accepted(client: httpx.Client) -> None:
    with serve({"/full": Route(body=b"x" * LIMITS.max_bytes)}) as server:
        fetched = fetch(client, server.url("/full"))
    assert len(fetched.documents[0].body) == LIMITS.max_bytes


def test_a_gzip_bomb_is_stopped_at_the_cap(client: httpx.Client) -> None:
    bomb = gzip.compress(b"\0" * (16 * 1024 * 1024))
    assert len(bomb) < LIMITS.max_bytes
    route = Route(body=bomb, headers={"Content-Encoding": "gzip"})
    with serve({"/bomb": route}) as server, pytest.raises(FetchError, match="size cap"):
        fetch(client, server.url("/bomb"))


def test_a_gzip_response_is_decoded(client: httpx.Client) -> None:
    with serve({"/feed": Route(body=FEED, gzip=True)}) as server:
        fetched = fetch(client, server.url("/feed"))
    assert fetched.documents[0].body == FEED
    assert "gzip" in server.requests[0].headers["accept-encoding"]


def test_a_redirect_is_followed_to_the_final_url(client: httpx.Client) -> None:
    routes = {"/old": redirect("/new"), "/new": Route(body=FEED)}
    with serve(routes) as server:
        fetched = fetch(client, server.url("/old"))
    assert fetched.documents[0].location == server.url("/new")


def test_a_redirect_chain_past_the_cap_fails(client: httpx.Client) -> None:
    routes = {f"/r{i}": redirect(f"/r{i + 1}", status=302) for i in range(10)}
    with serve(routes) as server, pytest.raises(FetchError, match="too many redirects"):
        fetch(client, server.url("/r0"))
    assert len(server.requests) == LIMITS.max_redirects + 1


def test_user_agent_and_accept_are_sent(client: httpx.Client) -> None:
    with serve({"/feed": Route(body=FEED)}) as server:
        fetch(client, server.url("/feed"))
    headers = server.requests[0].headers
    assert "aggregator/" in headers["user-agent"]
    assert "application/rss+xml" in headers["accept"]


def test_a_refused_connection_says_so(client: httpx.Client) -> None:
    with refused_url() as url, pytest.raises(FetchError, match="connection refused") as caught:
        fetch(client, url)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


@pytest.mark.parametrize("url", ["ftp://example.org/feed", "file:///etc/passwd", "feed"])
def test_only_http_urls_are_fetched(client: httpx.Client, url: str) -> None:
    with pytest.raises(FetchError, match="not an http"):
        fetch(client, url)


@pytest.mark.parametrize(
    ("chain", "moved"),
    [
        ({"/old": redirect("/new", 301)}, "/new"),
        ({"/old": redirect("/new", 308)}, "/new"),
        ({"/old": redirect("/new", 302)}, None),
        ({"/old": redirect("/new", 307)}, None),
        # Permanent then temporary: only the permanent hop may be stored.
        ({"/old": redirect("/mid", 301), "/mid": redirect("/new", 302)}, "/mid"),
    ],
)
def test_only_permanent_redirects_report_a_move(
    client: httpx.Client, chain: dict[str, Route], moved: str | None
) -> None:
    with serve({**chain, "/new": Route(body=FEED)}) as server:
        fetched = fetch(client, server.url("/old"))
    assert fetched.changed and fetched.status == 200
    assert fetched.moved_to == (server.url(moved) if moved else None)


def test_410_gone_is_reported_not_raised(client: httpx.Client) -> None:
    with serve({"/feed": Route(status=410)}) as server:
        fetched = fetch(client, server.url("/feed"))
    assert fetched.is_gone and not fetched.changed


@pytest.mark.parametrize(
    ("headers", "max_age"),
    [
        ({"Cache-Control": "public, max-age=600"}, 600),
        ({"Cache-Control": "max-age=600", "Age": "100"}, 500),
        ({"Cache-Control": "no-cache, max-age=600"}, None),
        (
            {"Expires": "Sun, 22 Nov 2026 09:30:00 GMT", "Date": "Sun, 22 Nov 2026 09:10:00 GMT"},
            1200,
        ),
        ({"Expires": "0"}, 0),
        ({}, None),
    ],
)
def test_freshness_comes_from_max_age_or_expires(
    client: httpx.Client, headers: dict[str, str], max_age: float | None
) -> None:
    with serve({"/feed": Route(body=FEED, headers=headers)}) as server:
        fetched = fetch(client, server.url("/feed"))
    assert fetched.max_age == max_age


def test_a_304_carries_its_freshness_too(client: httpx.Client) -> None:
    route = Route(body=FEED, etag='"v1"', headers={"Cache-Control": "max-age=90"})
    with serve({"/feed": route}) as server:
        first = fetch(client, server.url("/feed"))
        second = fetch(client, server.url("/feed"), first.state)
    assert not second.changed and second.status == 304
