"""EDGE: our side of WebSub subscriptions, for the worker to call.

    wants_hubs   whether a source's next poll should read its response for hubs: no
                 subscription yet (looked at again after LOOK_AGAIN), or one never verified
    after_poll   a URL source was polled: note news found by polling; subscribe to a hub
                 its response advertised (report.hubs), or ask again one never verified
    after_fetch  given a topic's hub links: subscribe when the hub can reach us
    renew_due    re-subscribe before leases end (§5.3.1)
    quiet        sources whose hub went quiet: re-subscribe; the worker polls them as before

Discovery costs no request: the poll's own response is read (pipeline.poll, `find_hubs`),
and a poll that failed is followed by nothing. A hub is the feed's choice, not the
operator's, so it must be a public address (hub_requests.py says which hosts are
trusted), and only an https hub is given hub.secret (§5.1); one on plain http is used
only when `[service] websub_http_hubs` allows it, as its pushes cannot be authenticated.

The hub answers a subscription request later, with a GET to our callback URL
(aggregator.websub.callback), which turns the stored row active.
"""

from __future__ import annotations

import logging
import secrets
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx

from aggregator.config import LiveSettings
from aggregator.core.errors import AggregatorError, FetchError
from aggregator.core.types import PollReport, SourceSpec
from aggregator.fetch.limits import FetchLimits
from aggregator.ingest.sources import Fetchers
from aggregator.store.roles import SubscriptionStore
from aggregator.store.subscriptions import Subscriptions
from aggregator.websub.hub_requests import post_form
from aggregator.websub.rules import (
    DEFAULT_LEASE_SECONDS,
    HubLinks,
    Subscription,
    has_gone_quiet,
    hub_can_reach,
    renewal_due,
    subscribe_form,
    takes_secret,
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
        store: SubscriptionStore,
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
        # The polls' host gates, so a request to a hub keeps the per-host limits too.
        self.fetchers = fetchers

    def callback_url(self, token: str) -> str:
        return self.live.current.service.public_url + CALLBACK_PATH + token

    def wants_hubs(self, source: SourceSpec, now: datetime) -> bool:
        """Whether the next poll of `source` should read its response for hubs."""
        if not source.url or not self.live.current.service.websub_subscribe:
            return False
        try:
            mine = self.subscriptions.for_source(source.name)
        except AggregatorError as e:  # the poll goes on; the next one looks again
            log.warning("websub state unreadable", extra={"source": source.name, "reason": str(e)})
            return False
        if mine:
            return any(self._stale(s, now) for s in mine)
        last = self._looked.get(source.name)
        return last is None or now - last >= LOOK_AGAIN

    def after_poll(self, source: SourceSpec, report: PollReport, now: datetime) -> None:
        """Called after each poll of a source (errors are logged, never raised). Nothing
        is sent after a poll that failed: the hub links come from its response."""
        if not source.url or not self.live.current.service.websub_subscribe or report.failed:
            return
        try:
            if report.new or report.updated:
                self.subscriptions.record_polled_change(source.name, now)
            if report.hubs is not None:
                self._looked[source.name] = now
                self.after_fetch(source, report.hubs, now)
                return
            for stale in self.subscriptions.for_source(source.name):
                if self._stale(stale, now):  # nothing new to read: ask the same hub again
                    self.subscriptions.touch(stale.token, now)
                    self._request(stale, now)
        except AggregatorError as e:
            log.warning(
                "websub subscription failed", extra={"source": source.name, "reason": str(e)}
            )

    def after_fetch(
        self, source: SourceSpec, links: HubLinks, now: datetime
    ) -> Subscription | None:
        """Subscribe to the first advertised hub that can reach our callback and that we
        may use, unless a current subscription to it exists. Returns the subscription
        asked for or kept."""
        base = self.live.current.service.public_url
        usable = (h for h in links.hubs if hub_can_reach(base, h) and self._may_use(h, source))
        hub = next(usable, None)
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
            # Kept even for an http hub, which is never sent it (the column is required).
            secret=secrets.token_hex(32),
            state="pending",
        )
        return self._request(self.subscriptions.save_pending(wanted, now), now)

    def renew_due(self, now: datetime) -> list[Subscription]:
        """Re-request every subscription whose lease is RENEW_AT spent; the callback and
        secret stay the same, and the hub's verification GET extends the lease."""
        due = [s for s in self.subscriptions.all() if renewal_due(s, now)]
        for subscription in due:
            self.subscriptions.touch(subscription.token, now)
            self._request(subscription, now)
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
                self._request(subscription, now)
                names.append(spec.name)
        return names

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
            self._post(subscription, form, now)

    def _may_use(self, hub: str, source: SourceSpec | None) -> bool:
        """An https hub, or a plain http one where the config accepts unsigned pushes."""
        if takes_secret(hub) or self.live.current.service.websub_http_hubs:
            return True
        fields = {"source": source.name if source else None, "hub": hub}
        reason = "hub on plain http: its pushes could not be authenticated (websub_http_hubs)"
        log.info("websub hub not used", extra={**fields, "reason": reason})
        return False

    @staticmethod
    def _stale(subscription: Subscription, now: datetime) -> bool:
        """Pending too long: the hub never verified (a quiet hub is quiet()'s business)."""
        touched = subscription.updated_at or subscription.created_at
        return subscription.state == "pending" and (
            touched is None or now - touched >= RETRY_PENDING
        )

    def _request(self, subscription: Subscription, now: datetime) -> Subscription:
        """Ask the hub to (re)subscribe; a plain http hub the config no longer accepts
        is dropped (marked denied) instead, so no lease of it is renewed."""
        if not self._may_use(subscription.hub, self._spec(subscription.source)):
            self.subscriptions.set_state(subscription.token, "denied", now)
            return subscription
        form = subscribe_form(
            "subscribe",
            callback=self.callback_url(subscription.token),
            topic=subscription.topic,
            secret=subscription.secret if takes_secret(subscription.hub) else None,
            lease_seconds=self.lease_seconds,
        )
        self._post(subscription, form, now)
        return subscription

    def _post(self, subscription: Subscription, form: dict[str, str], now: datetime) -> None:
        """POST to the hub in its host's turn. The hub must be a public address unless
        the source's own host or our configured hub is its host (websub/hub_requests.py)."""
        fields = {"source": subscription.source, "hub": subscription.hub, "mode": form["hub.mode"]}
        limits = self.limits.configured(self.live.current.fetch)
        try:
            with self._turn(subscription.source, subscription.hub, now):
                post_form(
                    self.client,
                    subscription.hub,
                    form,
                    limits,
                    name=subscription.source,
                    trusted=self._trusted(subscription.source),
                )
        except FetchError as e:
            log.warning("websub request refused", extra={**fields, "reason": e.reason})
            self.subscriptions.record_request(subscription.token, e.reason, now)
            return
        log.info("websub request sent", extra=fields)
        if subscription.last_error is not None:
            self.subscriptions.record_request(subscription.token, None, now)

    def _trusted(self, name: str) -> list[str]:
        """The hosts the operator named: the source's URL and our own hub."""
        spec = self._spec(name)
        urls = [spec.url if spec else None, self.live.current.service.websub_hub]
        return [urlsplit(u).hostname or "" for u in urls if u]

    def _turn(self, name: str, url: str, now: datetime) -> AbstractContextManager[None]:
        if self.fetchers is None:
            return nullcontext()
        return self.fetchers.turn(name, url, now)

    def _spec(self, name: str) -> SourceSpec | None:
        return next((s for s in self.live.current.sources if s.name == name), None)
