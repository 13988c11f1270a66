"""EDGE: our side of WebSub subscriptions, for the worker to call.

    after_poll   a URL source was polled: note news found by polling; discover the hub
                 and subscribe when there is no subscription or one never verified
    after_fetch  given a topic's hub links: subscribe when the hub can reach us
    renew_due    re-subscribe before leases end (§5.3.1)
    quiet        sources whose hub went quiet: re-subscribe; the worker polls them as before
    is_pushed    whether a source's news arrives by push (the worker may poll it less)

The hub answers a subscription request later, with a GET to our callback URL
(aggregator.websub_callback), which turns the stored row active.
"""

from __future__ import annotations

import logging
import secrets
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta

import httpx

from aggregator.config import LiveSettings
from aggregator.errors import AggregatorError, FetchError
from aggregator.fetch.hub import discover_hub, post_form
from aggregator.fetch.limits import FetchLimits
from aggregator.sources import Fetchers
from aggregator.store import Store
from aggregator.store.subscriptions import Subscriptions
from aggregator.types import PollReport, SourceSpec
from aggregator.websub import (
    DEFAULT_LEASE_SECONDS,
    HubLinks,
    Subscription,
    has_gone_quiet,
    hub_can_reach,
    renewal_due,
    subscribe_form,
)

log = logging.getLogger("aggregator.websub")
# A request the hub never verified is sent again after this long.
RETRY_PENDING = timedelta(hours=1)
# How often a source that advertised no hub is looked at again, per process.
LOOK_AGAIN = timedelta(hours=24)
CALLBACK_PATH = "/websub/"


class Subscriber:
    def __init__(
        self,
        live: LiveSettings,
        store: Store,
        client: httpx.Client,
        limits: FetchLimits,
        *,
        lease_seconds: int = DEFAULT_LEASE_SECONDS,
        fetchers: Fetchers | None = None,
    ) -> None:
        self.live = live
        self.subscriptions = Subscriptions(store)
        self.client = client
        self.limits = limits
        self.lease_seconds = lease_seconds
        self._looked: dict[str, datetime] = {}
        # The polls' host gates, so a discovery request keeps the per-host limits too.
        self.fetchers = fetchers

    def callback_url(self, token: str) -> str:
        return self.live.current.service.public_url + CALLBACK_PATH + token

    def after_poll(self, source: SourceSpec, report: PollReport, now: datetime) -> None:
        """Called after each poll of a source (errors are logged, never raised). A poll
        that failed is not followed by a discovery request: the same server would be
        asked the same thing again at once (a stalling one, for a second deadline)."""
        if not source.url or not self.live.current.service.websub_subscribe or report.failed:
            return
        try:
            if report.new or report.updated:
                self.subscriptions.record_polled_change(source.name, now)
            if self._wants_discovery(source, now):
                with self._turn(source.name, source.url, now):
                    links = discover_hub(self.client, source.url, self.limits, name=source.name)
                self.after_fetch(source, links, now)
        except AggregatorError as e:
            log.warning("websub discovery failed", extra={"source": source.name, "reason": str(e)})

    def after_fetch(
        self, source: SourceSpec, links: HubLinks, now: datetime
    ) -> Subscription | None:
        """Subscribe to the first advertised hub that can reach our callback, unless a
        current subscription to it exists. Returns the subscription asked for or kept."""
        base = self.live.current.service.public_url
        hub = next((h for h in links.hubs if hub_can_reach(base, h)), None)
        if hub is None or links.topic is None or not self.live.current.service.websub_subscribe:
            return None
        mine = [s for s in self.subscriptions.for_source(source.name) if s.hub == hub]
        if mine and mine[0].topic == links.topic and not self._stale(mine[0], now):
            return mine[0]
        wanted = Subscription(
            source=source.name,
            hub=hub,
            topic=links.topic,
            token=secrets.token_urlsafe(32),
            secret=secrets.token_hex(32),
            state="pending",
        )
        return self._request(self.subscriptions.save_pending(wanted, now))

    def renew_due(self, now: datetime) -> list[Subscription]:
        """Re-request every subscription whose lease is RENEW_AT spent; the callback and
        secret stay the same, and the hub's verification GET extends the lease."""
        due = [s for s in self.subscriptions.all() if renewal_due(s, now)]
        for subscription in due:
            self.subscriptions.touch(subscription.token, now)
            self._request(subscription)
        return due

    def quiet(self, now: datetime) -> list[str]:
        """Sources whose hub stopped delivering: polling found news it never pushed, or
        the lease ran out. Each is re-requested and pending until the hub verifies."""
        names = []
        for subscription in self.subscriptions.all():
            spec = self._spec(subscription.source)
            if spec is None or subscription.state != "active":
                continue
            expired = subscription.lease_until is not None and subscription.lease_until <= now
            if expired or has_gone_quiet(subscription, spec.interval):
                log.info("websub hub went quiet", extra={"source": spec.name})
                self.subscriptions.set_state(subscription.token, "pending", now)
                self._request(subscription)
                names.append(spec.name)
        return names

    def is_pushed(self, name: str, now: datetime) -> bool:
        spec = self._spec(name)
        return spec is not None and any(
            s.state == "active"
            and (s.lease_until is None or s.lease_until > now)
            and not has_gone_quiet(s, spec.interval)
            for s in self.subscriptions.for_source(name)
        )

    def unsubscribe(self, name: str, now: datetime) -> None:
        """Ask the hubs to stop: for a source removed from the config."""
        for subscription in self.subscriptions.for_source(name):
            self.subscriptions.set_state(subscription.token, "unsubscribing", now)
            form = subscribe_form(
                "unsubscribe",
                callback=self.callback_url(subscription.token),
                topic=subscription.topic,
                secret=None,
            )
            self._post(subscription, form)

    def _turn(self, name: str, url: str, now: datetime) -> AbstractContextManager[None]:
        if self.fetchers is None:
            return nullcontext()
        return self.fetchers.turn(name, url, now)

    def _wants_discovery(self, source: SourceSpec, now: datetime) -> bool:
        """A source with no subscription is looked at again only after LOOK_AGAIN (most
        feeds advertise no hub, and each look is a request to their host)."""
        mine = self.subscriptions.for_source(source.name)
        if mine:
            return any(self._stale(s, now) for s in mine)
        last = self._looked.get(source.name)
        if last is not None and now - last < LOOK_AGAIN:
            return False
        self._looked[source.name] = now
        return True

    @staticmethod
    def _stale(subscription: Subscription, now: datetime) -> bool:
        """Pending too long: the hub never verified (a quiet hub is quiet()'s business)."""
        touched = subscription.updated_at or subscription.created_at
        return subscription.state == "pending" and (
            touched is None or now - touched >= RETRY_PENDING
        )

    def _request(self, subscription: Subscription) -> Subscription:
        form = subscribe_form(
            "subscribe",
            callback=self.callback_url(subscription.token),
            topic=subscription.topic,
            secret=subscription.secret,
            lease_seconds=self.lease_seconds,
        )
        self._post(subscription, form)
        return subscription

    def _post(self, subscription: Subscription, form: dict[str, str]) -> None:
        fields = {"source": subscription.source, "hub": subscription.hub, "mode": form["hub.mode"]}
        try:
            post_form(self.client, subscription.hub, form, self.limits, name=subscription.source)
        except FetchError as e:
            log.warning("websub request refused", extra={**fields, "reason": e.reason})
            return
        log.info("websub request sent", extra=fields)

    def _spec(self, name: str) -> SourceSpec | None:
        return next((s for s in self.live.current.sources if s.name == name), None)
