"""WebSub end to end: a real hub (tests/support/websub_hub.py) over TLS with a test CA, the
service's app under uvicorn on a free port, a feed served by tests/support/httpserver.py that
advertises the hub, and the store on SQLite and PostgreSQL. The hub is found in the
response of the feed's first poll; nothing polls the feed after that, so whatever
reaches the merged Atom feed came by push."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import trustme

from aggregator.config import LiveSettings, load
from aggregator.core.types import PollReport, SourceSpec
from aggregator.fetch.http import make_client
from aggregator.fetch.limits import FetchLimits
from aggregator.ingest.sources import Fetchers
from aggregator.ingest.worker import Worker
from aggregator.store import Store
from aggregator.store.subscriptions import Subscriptions
from aggregator.web.routes import create_app
from aggregator.websub.ping import HubPing
from aggregator.websub.rules import HubLinks, Subscription
from aggregator.websub.subscriber import Subscriber
from tests.support.appserver import listening_socket, port_of, serving
from tests.support.httpserver import Received, Route, serve
from tests.support.shortcuts import is_pushed, poll_due
from tests.support.websub_feed import ATOM, ENTRY, poll_and_tell
from tests.support.websub_hub import Hub, run_hub

CA = trustme.CA()

CONFIG = """
[service]
public_url = "http://127.0.0.1:{port}"
{extra}

[[stories]]
id = "story"
title = "A story"

[[sources]]
name = "wire"
kind = "feed"
url = "{feed_url}"
"""


@dataclass
class Running:
    base: str
    hub: Hub
    topic: str
    store: Store
    live: LiveSettings
    subscriber: Subscriber
    client: httpx.Client
    feed_requests: list[Received]

    @property
    def spec(self) -> SourceSpec:
        return self.live.current.sources[0]

    def feed(self, *titles: str) -> bytes:
        items = "".join(ENTRY.format(n=n, title=t) for n, t in enumerate(titles))
        return ATOM.format(hub=self.hub.url, topic=self.topic, entries=items).encode()

    def atom(self) -> str:
        return httpx.get(f"{self.base}/stories/story.atom").text

    def rows(self) -> list[Subscription]:
        return Subscriptions(self.store).for_source("wire")

    def poll(self, now: datetime | None = None) -> PollReport:
        """One poll as the worker runs it: its response read for hubs, then the
        subscriber told."""
        return poll_and_tell(self.subscriber, self.spec, self.store, self.client, now)

    def subscribe(self) -> Subscription:
        self.poll()
        self.hub.wait_for(lambda: self.hub.subscribers)
        return self.rows()[0]


@pytest.fixture
def running(store: Store, tmp_path: Path) -> Iterator[Running]:
    sock = listening_socket()
    port = port_of(sock)
    routes: dict[str, Route] = {}
    with run_hub(tls=CA) as hub, serve(routes) as feeds:
        topic = feeds.url("/wire.atom")
        routes["/wire.atom"] = Route(
            body=ATOM.format(hub=hub.url, topic=topic, entries="").encode(),
            content_type="application/atom+xml",
        )
        path = tmp_path / "aggregator.toml"
        extra = f'websub_hub = "{hub.url}"'
        path.write_text(CONFIG.format(port=port, extra=extra, feed_url=topic), encoding="utf-8")
        live = LiveSettings(load(path, {}), {})
        store.sync_sources(live.current.sources)
        with (
            make_client(FetchLimits(), ca_pem=hub.ca_pem) as client,
            serving(create_app(store, live), sock) as base,
        ):
            subscriber = Subscriber(live, store, client, FetchLimits(), lease_seconds=600)
            yield Running(base, hub, topic, store, live, subscriber, client, feeds.requests)


def test_subscribe_and_verification_of_intent(running: Running) -> None:
    row = running.subscribe()
    [request] = running.hub.requests_of("subscribe")
    assert request["hub.topic"] == [running.topic]
    assert request["hub.callback"] == [f"{running.base}/websub/{row.token}"]
    assert request["hub.lease_seconds"] == ["600"]
    assert request["hub.secret"] == [row.secret] and len(row.secret) >= 32
    assert row.token not in ("wire", "story") and len(row.token) >= 32
    assert row.state == "active" and row.lease_seconds == 600
    assert row.lease_until is not None and row.lease_until > datetime.now(UTC)
    assert running.hub.state.verifications[-1].echoed
    assert is_pushed(running.subscriber, running.spec, datetime.now(UTC))


@pytest.mark.slow
def test_a_push_is_in_the_merged_feed_without_a_poll(running: Running) -> None:
    running.subscribe()
    assert "Ferry services resume" not in running.atom()
    statuses = running.hub.distribute(
        running.topic, running.feed("Ferry services resume"), "application/atom+xml"
    )
    assert statuses == [202]
    assert "Ferry services resume" in running.atom()
    assert running.rows()[0].last_push_at is not None
    # One request: the poll whose response named the hub.
    assert [r.path for r in running.feed_requests] == ["/wire.atom"]


@pytest.mark.parametrize("method", ["sha1", "sha384", "sha512"])
@pytest.mark.slow
def test_every_recognised_signature_method_is_accepted(running: Running, method: str) -> None:
    running.subscribe()
    body = running.feed(f"Signed with {method}")
    assert running.hub.distribute(running.topic, body, "application/atom+xml", method=method)
    assert f"Signed with {method}" in running.atom()


@pytest.mark.parametrize("signature", ["sha256=" + "0" * 64, "", "md5=abc"])
@pytest.mark.slow
def test_a_push_with_a_bad_or_missing_signature_is_acknowledged_and_ignored(
    running: Running, signature: str
) -> None:
    running.subscribe()
    body = running.feed("Forged update")
    statuses = running.hub.distribute(
        running.topic, body, "application/atom+xml", signature=signature
    )
    assert statuses == [202]  # §7.1.2: acknowledged, so the forger learns nothing
    assert "Forged update" not in running.atom()
    assert running.rows()[0].last_push_at is None


@pytest.mark.slow
def test_verification_for_a_topic_we_did_not_ask_for_is_refused(running: Running) -> None:
    row = running.subscribe()
    callback = f"{running.base}/websub/{row.token}"
    assert running.hub.verify(callback, "http://127.0.0.1:9/other.atom") == 404
    assert running.hub.verify(callback, running.topic, mode="unsubscribe") == 404
    assert running.hub.verify(f"{running.base}/websub/not-a-token", running.topic) == 404
    assert [v.echoed for v in running.hub.state.verifications] == [True, False, False, False]


def test_pushes_to_an_unknown_token_are_gone(running: Running) -> None:
    response = httpx.post(f"{running.base}/websub/nobody", content=b"<feed/>")
    assert response.status_code == 410


def test_a_denial_marks_the_subscription_denied(running: Running) -> None:
    row = running.subscribe()
    assert running.hub.deny(f"{running.base}/websub/{row.token}", running.topic) == 200
    assert running.rows()[0].state == "denied"
    assert not is_pushed(running.subscriber, running.spec, datetime.now(UTC))


@pytest.mark.slow
def test_the_lease_is_renewed_before_it_ends(running: Running) -> None:
    first = running.subscribe()
    assert first.lease_until is not None
    assert running.subscriber.renew_due(first.lease_until - timedelta(seconds=130)) == []
    later = first.lease_until - timedelta(seconds=110)  # past 80% of the 600 s lease
    assert [s.token for s in running.subscriber.renew_due(later)] == [first.token]
    running.hub.wait_for(lambda: len(running.hub.state.verifications) == 2)
    renewed = running.rows()[0]
    assert len(running.hub.requests_of("subscribe")) == 2
    assert renewed.token == first.token and renewed.state == "active"
    assert renewed.lease_until is not None and renewed.lease_until >= first.lease_until


def test_a_quiet_hub_means_polling_again_and_resubscribing(running: Running) -> None:
    row = running.subscribe()
    assert row.updated_at is not None
    soon = row.updated_at + timedelta(seconds=running.spec.interval)
    running.subscriber.after_poll(running.spec, PollReport(source="wire", new=1), soon)
    assert running.subscriber.quiet(soon) == []
    late = row.updated_at + timedelta(seconds=running.spec.interval * 4)
    running.subscriber.after_poll(running.spec, PollReport(source="wire", new=1), late)
    assert not is_pushed(running.subscriber, running.spec, late)
    assert running.subscriber.quiet(late) == ["wire"]
    running.hub.wait_for(lambda: len(running.hub.state.verifications) == 2)
    assert len(running.hub.requests_of("subscribe")) == 2
    assert running.rows()[0].state == "active"


@pytest.mark.slow
def test_the_hub_is_pinged_when_a_story_changes(running: Running) -> None:
    HubPing(running.live, running.client, FetchLimits())("story")
    running.hub.wait_for(lambda: len(running.hub.state.fetched) == 2)
    base = f"{running.base}/stories/story"
    # Each ping is its own request, handled in its own thread: the order may vary.
    assert sorted(running.hub.state.fetched) == [(base + ".atom", 200), (base + ".json", 200)]
    assert [r["hub.mode"] for r in running.hub.state.requests] == [["publish"], ["publish"]]


def test_no_ping_without_a_configured_hub(running: Running, tmp_path: Path) -> None:
    path = tmp_path / "plain.toml"
    path.write_text(CONFIG.format(port=8080, extra="", feed_url=running.topic), "utf-8")
    HubPing(LiveSettings(load(path, {}), {}), running.client, FetchLimits())("story")
    assert running.hub.state.requests == []


def test_no_subscription_when_the_hub_cannot_reach_the_callback(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "aggregator.toml"
    feed_url = "http://127.0.0.1:9/wire.atom"
    path.write_text(CONFIG.format(port=8080, extra="", feed_url=feed_url), encoding="utf-8")
    live = LiveSettings(load(path, {}), {})
    with make_client(FetchLimits()) as client:
        subscriber = Subscriber(live, store, client, FetchLimits())
        links = HubLinks(("https://hub.example.org/",), feed_url)
        assert subscriber.after_fetch(live.current.sources[0], links, datetime.now(UTC)) is None
    assert Subscriptions(store).all() == []


def test_a_feed_without_a_hub_is_looked_at_again_only_after_a_day(
    store: Store, tmp_path: Path
) -> None:
    bare = b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>W</title></feed>'
    with serve({"/wire.atom": Route(body=bare, content_type="application/atom+xml")}) as feeds:
        live = live_settings(tmp_path, feeds.url("/wire.atom"))
        now = datetime.now(UTC)
        with make_client(FetchLimits()) as client:
            subscriber = Subscriber(live, store, client, FetchLimits())
            spec = live.current.sources[0]
            assert subscriber.wants_hubs(spec, now)
            report = poll_and_tell(subscriber, spec, store, client, now)
            assert report.hubs is not None and report.hubs.hubs == ()
            for minutes in (5, 60, 23 * 60):
                assert not subscriber.wants_hubs(spec, now + timedelta(minutes=minutes))
            assert subscriber.wants_hubs(spec, now + timedelta(hours=25))
        assert len(feeds.requests) == 1  # looking cost no request of its own


def test_the_worker_subscribes_when_a_polled_feed_advertises_a_hub(running: Running) -> None:
    limits = FetchLimits()
    worker = Worker(
        running.live,
        running.store,
        Fetchers(running.client, limits),
        subscriber=running.subscriber,
        owner="w1",
    )
    worker.apply_settings(running.live.current)
    try:
        [report] = poll_due(worker, datetime.now(UTC))
        assert report.source == "wire" and report.error is None
        running.hub.wait_for(lambda: running.hub.subscribers)
        assert [row.state for row in running.rows()] == ["active"]
    finally:
        worker.shutdown()


def live_settings(folder: Path, feed_url: str) -> LiveSettings:
    path = folder / "aggregator.toml"
    path.write_text(CONFIG.format(port=8080, extra="", feed_url=feed_url), encoding="utf-8")
    return LiveSettings(load(path, {}), {})


def test_a_request_to_a_hub_keeps_the_hosts_limits(running: Running) -> None:
    """A hub is a host like any other: while its Retry-After holds, nothing is sent."""
    now = datetime.now(UTC)
    limits = FetchLimits()
    fetchers = Fetchers(running.client, limits)
    fetchers.hosts.hold(running.hub.url, now + timedelta(hours=1))
    subscriber = Subscriber(running.live, running.store, running.client, limits, fetchers=fetchers)
    links = HubLinks((running.hub.url,), running.topic)
    assert subscriber.after_fetch(running.spec, links, now) is not None  # pending
    assert running.hub.state.requests == []


def test_our_feeds_name_the_configured_hub(running: Running) -> None:
    atom = running.atom()
    assert f'<link rel="hub" href="{running.hub.url}"' in atom
    assert f'<link rel="self" href="{running.base}/stories/story.atom"' in atom
    feed = httpx.get(f"{running.base}/stories/story.json").json()
    assert feed["hubs"] == [{"type": "WebSub", "url": running.hub.url}]


def test_a_failed_poll_is_not_followed_by_a_discovery_request(store: Store, tmp_path: Path) -> None:
    """Issue 14, item 3: asking a server that just failed (or stalled) the same thing
    again at once would double what it costs; the hubs come from a poll's own response."""
    routes = {"/wire.atom": Route(status=503, body=b"down for maintenance")}
    with serve(routes) as feeds:
        live = live_settings(tmp_path, feeds.url("/wire.atom"))
        with make_client(FetchLimits()) as client:
            subscriber = Subscriber(live, store, client, FetchLimits())
            spec = live.current.sources[0]
            report = poll_and_tell(subscriber, spec, store, client)
            assert report.failed and report.hubs is None
            assert len(feeds.requests) == 1
            assert subscriber.wants_hubs(spec, datetime.now(UTC))  # the next poll looks
