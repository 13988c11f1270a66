"""Which hubs a subscriber may use (issue 14, items 1 and 2). A hub is named by the feed,
not by the operator, so it must be a public address unless `[fetch] allow_private` or the
source's own host vouches for it, checked on the address connected to and at every
redirect; and only an https hub is given hub.secret, so a plain http hub (whose pushes
cannot be authenticated) is used only when `[service] websub_http_hubs` says so.

Loopback aliases play the parts: the feed and our service on 127.0.0.1, an "internal"
host on 127.0.0.2. Nothing leaves 127.0.0.0/8."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import trustme

from aggregator.config import LiveSettings, load
from aggregator.core.errors import FetchError
from aggregator.core.types import HubLinks, PollReport
from aggregator.fetch.http import make_client
from aggregator.fetch.limits import FetchLimits
from aggregator.ingest.sources import Fetchers
from aggregator.ingest.worker import Worker
from aggregator.store import Store
from aggregator.store.subscriptions import Subscriptions
from aggregator.web.routes import create_app
from aggregator.websub.hub_requests import post_form
from aggregator.websub.ping import HubPing
from aggregator.websub.rules import Subscription
from aggregator.websub.subscriber import RETRY_PENDING, Subscriber
from tests.support.appserver import listening_socket, port_of, serving
from tests.support.httpserver import Route, redirect, serve
from tests.support.shortcuts import poll_due
from tests.support.websub_feed import ATOM, ENTRY, poll_and_tell
from tests.support.websub_hub import Hub, run_hub

CA = trustme.CA()
CONFIG = """
[service]
public_url = "http://127.0.0.1:{port}"
{service}

[fetch]
{fetch}

[[stories]]
id = "story"
title = "A story"

[[sources]]
name = "wire"
kind = "feed"
url = "{feed_url}"
"""


@dataclass
class Setup:
    base: str
    hub: Hub
    store: Store
    live: LiveSettings
    subscriber: Subscriber
    client: httpx.Client
    path: Path
    port: int
    feed_url: str

    def poll(self) -> None:
        poll_and_tell(self.subscriber, self.live.current.sources[0], self.store, self.client)

    def rows(self) -> list[Subscription]:
        return Subscriptions(self.store).for_source("wire")

    def reconfigure(self, *, service: str = "", fetch: str = "", reload: bool = True) -> None:
        text = CONFIG.format(port=self.port, service=service, fetch=fetch, feed_url=self.feed_url)
        self.path.write_text(text + "\n# changed\n", encoding="utf-8")
        assert not reload or self.live.reload_if_changed() is not None

    def atom(self) -> str:
        return httpx.get(f"{self.base}/stories/story.atom").text

    def push(self, title: str, headers: dict[str, str] | None = None) -> int:
        [row] = self.rows()
        body = ATOM.format(
            hub=self.hub.url, topic=self.feed_url, entries=ENTRY.format(n=1, title=title)
        )
        sent = {"Content-Type": "application/atom+xml", **(headers or {})}
        url = f"{self.base}/websub/{row.token}"
        return httpx.post(url, content=body.encode(), headers=sent).status_code


@contextmanager
def running(
    store: Store,
    folder: Path,
    *,
    tls: bool = True,
    hub_host: str = "127.0.0.1",
    service: str = "",
    fetch: str = "",
) -> Iterator[Setup]:
    sock = listening_socket()
    port = port_of(sock)
    routes: dict[str, Route] = {}
    with run_hub(tls=CA if tls else None, host=hub_host) as hub, serve(routes) as feeds:
        feed_url = feeds.url("/wire.atom")
        body = ATOM.format(hub=hub.url, topic=feed_url, entries="").encode()
        routes["/wire.atom"] = Route(body=body, content_type="application/atom+xml")
        path = folder / "aggregator.toml"
        text = CONFIG.format(port=port, service=service, fetch=fetch, feed_url=feed_url)
        path.write_text(text, encoding="utf-8")
        live = LiveSettings(load(path, {}), {})
        store.sync_sources(live.current.sources)
        with (
            make_client(FetchLimits(), ca_pem=hub.ca_pem) as client,
            serving(create_app(store, live), sock) as base,
        ):
            subscriber = Subscriber(live, store, client, FetchLimits(), lease_seconds=600)
            yield Setup(base, hub, store, live, subscriber, client, path, port, feed_url)


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [str(getattr(r, "reason", "")) for r in caplog.records if "websub" in r.getMessage()]


def test_a_hub_on_an_internal_address_is_refused(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aggregator")
    with running(store, tmp_path, hub_host="127.0.0.2") as setup:
        setup.poll()
        assert setup.hub.state.requests == []  # not one byte reached it
        assert [row.state for row in setup.rows()] == ["pending"]
        # The refusal is kept with the subscription and told in /healthz, not only logged.
        [row] = setup.rows()
        assert row.last_error is not None and "non-public address" in row.last_error
        health = httpx.get(f"{setup.base}/healthz", timeout=10).json()
        told = {"hub": row.hub, "state": "pending", "last_error": row.last_error}
        assert health["sources"][0]["websub"] == [told]
    assert any("127.0.0.2 leads to a non-public address" in r for r in refusals(caplog))


def test_allow_private_opens_an_internal_hub(store: Store, tmp_path: Path) -> None:
    with running(
        store, tmp_path, hub_host="127.0.0.2", fetch='allow_private = ["127.0.0.2/32"]'
    ) as setup:
        setup.poll()
        setup.hub.wait_for(lambda: setup.hub.subscribers)
        assert [row.state for row in setup.rows()] == ["active"]


def test_allow_private_is_read_again_on_reload(store: Store, tmp_path: Path) -> None:
    with running(store, tmp_path, hub_host="127.0.0.2") as setup:
        setup.poll()
        assert setup.hub.state.requests == []
        setup.reconfigure(fetch='allow_private = ["127.0.0.2"]')
        # The request the hub never saw is asked again once RETRY_PENDING has passed.
        later = datetime.now(UTC) + RETRY_PENDING
        setup.subscriber.after_poll(setup.live.current.sources[0], PollReport("wire"), later)
        setup.hub.wait_for(lambda: setup.hub.subscribers)
        assert [row.last_error for row in setup.rows()] == [None]  # went through: cleared


@pytest.mark.slow
def test_an_https_hub_gets_a_secret_and_pushes_must_be_signed(store: Store, tmp_path: Path) -> None:
    with running(store, tmp_path) as setup:
        setup.poll()
        setup.hub.wait_for(lambda: setup.hub.subscribers)
        [request] = setup.hub.requests_of("subscribe")
        assert request["hub.secret"] == [setup.rows()[0].secret]
        assert setup.push("Unsigned update") == 202  # acknowledged, ignored (§7.1.2)
        assert "Unsigned update" not in setup.atom()


def test_a_plain_http_hub_is_not_used_by_default(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aggregator")
    with running(store, tmp_path, tls=False) as setup:
        setup.poll()
        assert setup.hub.state.requests == []
        assert setup.rows() == []
    assert any("plain http" in r for r in refusals(caplog))


@pytest.mark.slow
def test_a_plain_http_hub_by_opt_in_gets_no_secret_and_unsigned_pushes(
    store: Store, tmp_path: Path
) -> None:
    opt_in = "websub_http_hubs = true"
    with running(store, tmp_path, tls=False, service=opt_in) as setup:
        setup.poll()
        setup.hub.wait_for(lambda: setup.hub.subscribers)
        [request] = setup.hub.requests_of("subscribe")
        assert "hub.secret" not in request  # §5.1: never over plain http
        assert setup.push("Ferry services resume") == 202
        assert "Ferry services resume" in setup.atom()
        # Taking the opt-in back ends it: pushes are gone (§7: the hub may drop us).
        setup.reconfigure()
        assert setup.push("Bridge closes again") == 410
        assert "Bridge closes again" not in setup.atom()


@pytest.mark.slow
def test_a_hub_redirecting_to_an_internal_address_is_refused(store: Store, tmp_path: Path) -> None:
    """The hub is on the feed's own host (trusted, as the configured URL is); where it
    redirects the subscription request must still be public."""
    with (
        serve({"/hub": Route(body=b"ok")}, host="127.0.0.2") as internal,
        serve({"/hub": redirect(internal.url("/hub"), 307)}) as hub,
        running(store, tmp_path, service="websub_http_hubs = true") as setup,
    ):
        spec = setup.live.current.sources[0]
        links = HubLinks((hub.url("/hub"),), setup.feed_url)
        setup.subscriber.after_fetch(spec, links, datetime.now(UTC))
        assert [r.method for r in hub.requests] == ["POST"]
        assert internal.requests == []


@pytest.mark.slow
def test_a_hub_ping_follows_no_redirect_inside(store: Store, tmp_path: Path) -> None:
    with (
        serve({"/hub": Route(body=b"ok")}, host="127.0.0.2") as internal,
        serve({"/hub": redirect(internal.url("/hub"), 307)}) as hub,
        running(store, tmp_path, service=f'websub_hub = "{hub.url("/hub")}"') as setup,
    ):
        HubPing(setup.live, setup.client, FetchLimits())("story")
        assert len(hub.requests) == 2 and internal.requests == []


def test_a_hubs_answer_is_not_quoted() -> None:
    said = Route(status=400, body=b"<html>internal stack trace: db_password=hunter2</html>")
    with (
        serve({"/hub": said}) as hub,
        make_client(FetchLimits()) as client,
        pytest.raises(FetchError) as caught,
    ):
        form = {"hub.mode": "publish"}
        post_form(client, hub.url("/hub"), form, FetchLimits(), name="s", trusted=["127.0.0.1"])
    assert caught.value.reason == f"hub {hub.url('/hub')} answered HTTP 400"


@pytest.mark.slow
def test_the_worker_applies_fetch_settings_on_reload(store: Store, tmp_path: Path) -> None:
    with running(store, tmp_path, fetch='user_agent = "council-watch/2"') as setup:
        fetchers = Fetchers(setup.client, FetchLimits())
        worker = Worker(setup.live, store, fetchers, subscriber=setup.subscriber, owner="w")
        try:
            worker.apply_settings(setup.live.current)
            assert fetchers.limits.user_agent == "council-watch/2"
            [report] = poll_due(worker, datetime.now(UTC))
            assert report.error is None
            setup.hub.wait_for(lambda: setup.hub.subscribers)
            assert setup.hub.state.requests  # the poll's response named the hub
            setup.reconfigure(fetch='allow_private = ["10.1.2.0/24"]', reload=False)
            worker.check_config()
            assert fetchers.limits.allow_private == ("10.1.2.0/24",)
            assert fetchers.limits.user_agent.startswith("aggregator/")
        finally:
            worker.shutdown()
