"""PURE: the rules of WebSub (W3C Recommendation, 2018) as decisions on values.

    discover          Link headers, else <link> elements of a feed or page -> HubLinks (§4)
    subscribe_form    the form POSTed to a hub to (un)subscribe (§5.1)
    check_intent      a hub's verification GET -> the challenge to echo, or refusal (§5.3)
    check_signature   X-Hub-Signature against the body and our secret (§7.1)
    takes_secret      whether a hub may be given hub.secret: over https only (§5.1)
    renewal_due       re-subscribe before the lease ends (§5.3.1)
    has_gone_quiet    polling finds news the hub never pushed -> re-subscribe

No I/O and no clock here: `now`, bodies and headers come in as arguments.
"""

from __future__ import annotations

import hmac
import io
import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Literal
from urllib.parse import urljoin, urlsplit

from aggregator.core.digits import read_count
from aggregator.core.types import HubLinks as HubLinks  # re-exported: discover() returns it
from aggregator.parse.entities import declares_entities
from aggregator.parse.html import read_whole

State = Literal["pending", "active", "denied", "unsubscribing"]
# §8.2: hubs SHOULD enforce short leases, 10 days being a good default.
DEFAULT_LEASE_SECONDS = 10 * 24 * 3600
# A longer lease granted by a hub is taken as this long: we renew before it ends anyway.
MAX_LEASE_SECONDS = 365 * 24 * 3600
RENEW_AT = 0.8  # of the lease granted
RETRY_RENEWAL = timedelta(hours=1)
QUIET_AFTER_INTERVALS = 3
SECRET_MAX_BYTES = 199  # §5.1: hub.secret MUST be less than 200 bytes
_ALGORITHMS = {"sha1": "sha1", "sha256": "sha256", "sha384": "sha384", "sha512": "sha512"}
_LINK_VALUE = re.compile(r"<([^>]*)>([^,]*)")
_REL = re.compile(r"""(?:^|;)\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))""", re.IGNORECASE)
_XML_TYPES = ("xml", "rss", "atom")


@dataclass(frozen=True)
class Subscription:
    """One subscription as stored. `token` names the callback URL; `secret` signs pushes."""

    source: str
    hub: str
    topic: str
    token: str
    secret: str
    state: State
    lease_seconds: int | None = None
    lease_until: datetime | None = None
    last_push_at: datetime | None = None
    polled_change_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # Why the last request to the hub failed; None once one went through.
    last_error: str | None = None


@dataclass(frozen=True)
class Intent:
    """A verification (or denial) GET from a hub, read from its query string."""

    mode: str
    topic: str
    challenge: str | None
    lease_seconds: int | None
    reason: str | None = None


def discover(
    location: str, link_headers: Iterable[str], body: bytes, content_type: str | None
) -> HubLinks:
    """§4: HTTP Link headers first; without them, <link> elements of an XML feed or an
    HTML page. Relative URLs resolve against `location` (the URL the body came from)."""
    found = _from_link_headers(location, link_headers)
    if found.hubs:
        return _with_topic(found, location)
    kind = (content_type or "").split(";")[0].strip().lower()
    if "html" in kind or (not kind and body.lstrip()[:15].lower().startswith(b"<!doctype html")):
        return _with_topic(_from_html(location, body), location)
    if any(word in kind for word in _XML_TYPES) or body.lstrip().startswith(b"<"):
        return _with_topic(_from_feed(location, body), location)
    return HubLinks()


def parse_link_header(value: str) -> list[tuple[str, tuple[str, ...]]]:
    """RFC 8288 §3: `<url>; rel="hub self", <url2>; rel=x` -> [(url, rels), ...]."""
    links = []
    for match in _link_values(value):
        params = match.group(2)
        rel = _REL.search(params)
        rels = (rel.group(1) or rel.group(2) or "") if rel else ""
        links.append((match.group(1).strip(), tuple(r.lower() for r in rels.split())))
    return links


def _link_values(value: str) -> Iterator[re.Match[str]]:
    """`_LINK_VALUE.finditer(value)`, but no "<" after the last ">" is tried: each would
    scan to the end for a ">" in vain (quadratic on a run of "<"). Before it, every
    "<" that is tried matches."""
    last = value.rfind(">")
    start = value.find("<")
    while 0 <= start < last:
        match = _LINK_VALUE.match(value, start)
        if match is None:  # not reached: a ">" follows
            return
        yield match
        start = value.find("<", match.end())


def subscribe_form(
    mode: Literal["subscribe", "unsubscribe"],
    *,
    callback: str,
    topic: str,
    secret: str | None,
    lease_seconds: int | None = DEFAULT_LEASE_SECONDS,
) -> dict[str, str]:
    """§5.1: the application/x-www-form-urlencoded fields of a (un)subscription request."""
    form = {"hub.callback": callback, "hub.mode": mode, "hub.topic": topic}
    if mode == "subscribe" and lease_seconds:
        form["hub.lease_seconds"] = str(lease_seconds)
    if mode == "subscribe" and secret:
        if len(secret.encode()) > SECRET_MAX_BYTES:
            raise ValueError("hub.secret must be less than 200 bytes")
        form["hub.secret"] = secret
    return form


def takes_secret(hub: str) -> bool:
    """§5.1: hub.secret SHOULD only be sent over HTTPS; over plain http anyone on the
    path reads it (and the callback URL), so pushes from such a hub prove nothing."""
    return urlsplit(hub).scheme.lower() == "https"


def push_secret(subscription: Subscription) -> str | None:
    """The secret a push to `subscription` is checked with: none for a hub on plain http,
    which is never sent one (`takes_secret`), whatever the row holds."""
    return subscription.secret if takes_secret(subscription.hub) else None


def publish_form(urls: Iterable[str]) -> list[tuple[str, str]]:
    """§6 leaves the ping to hub and publisher; common hubs take hub.mode=publish and
    one hub.url per changed resource."""
    return [("hub.mode", "publish"), *(("hub.url", url) for url in urls)]


def read_intent(query: Mapping[str, str]) -> Intent | None:
    """The hub.* parameters of a GET to the callback; None when mode or topic is missing."""
    mode, topic = query.get("hub.mode"), query.get("hub.topic")
    if not mode or not topic:
        return None
    lease = read_count(query.get("hub.lease_seconds"), MAX_LEASE_SECONDS)
    return Intent(mode, topic, query.get("hub.challenge"), lease, query.get("hub.reason"))


def check_intent(subscription: Subscription | None, intent: Intent) -> str | None:
    """§5.3.1: the challenge to echo when the GET confirms an action we asked for; None
    (answer 404) for a topic we did not ask for, an action we do not want, or a
    subscribe without the lease the hub MUST give."""
    if subscription is None or intent.topic != subscription.topic or not intent.challenge:
        return None
    if intent.mode == "subscribe":
        wanted = subscription.state in ("pending", "active") and intent.lease_seconds
        return intent.challenge if wanted else None
    if intent.mode == "unsubscribe" and subscription.state == "unsubscribing":
        return intent.challenge
    return None


def is_denial_of(subscription: Subscription | None, intent: Intent) -> bool:
    """§5.2: a hub refusing (or ending) one of our subscriptions."""
    return (
        subscription is not None and intent.mode == "denied" and intent.topic == subscription.topic
    )


def sign(body: bytes, secret: str, method: str = "sha256") -> str:
    """§7.1: the X-Hub-Signature value `method=hex(HMAC(secret, body))`."""
    digest = hmac.new(secret.encode(), body, _ALGORITHMS[method]).hexdigest()
    return f"{method}={digest}"


def check_signature(body: bytes, secret: str | None, header: str | None) -> bool:
    """§7.1.2: without a secret anything goes; with one, a missing header, an unknown
    method or a wrong digest fails. Digests are compared in constant time."""
    if not secret:
        return True
    if not header or "=" not in header:
        return False
    method, _, given = header.strip().partition("=")
    algorithm = _ALGORITHMS.get(method.strip().lower())
    if algorithm is None:
        return False
    expected = hmac.new(secret.encode(), body, algorithm).hexdigest()
    return hmac.compare_digest(expected, given.strip().lower())


def lease_end(intent: Intent, now: datetime) -> datetime | None:
    """§5.3: the lease counts from the verification request."""
    return now + timedelta(seconds=intent.lease_seconds) if intent.lease_seconds else None


def renewal_due(subscription: Subscription, now: datetime) -> bool:
    """Renew an active subscription once RENEW_AT of its lease has passed (§5.3.1: the
    subscriber MUST re-request before the lease ends)."""
    if subscription.state != "active" or subscription.lease_until is None:
        return False
    lease = timedelta(seconds=subscription.lease_seconds or 0)
    # A renewal sent and not yet verified is sent again only after a pause.
    retry = min(RETRY_RENEWAL, lease * (1 - RENEW_AT) / 2)
    asked = subscription.updated_at
    if asked is not None and now - asked < retry:
        return False
    return now >= subscription.lease_until - lease * (1 - RENEW_AT)


def has_gone_quiet(subscription: Subscription, interval: float) -> bool:
    """Polling found news while the hub had pushed nothing for QUIET_AFTER_INTERVALS
    poll intervals: the hub is not delivering, so re-subscribe (polling never stopped)."""
    changed = subscription.polled_change_at
    if subscription.state != "active" or changed is None:
        return False
    heard = subscription.last_push_at or subscription.updated_at or subscription.created_at
    grace = timedelta(seconds=interval * QUIET_AFTER_INTERVALS)
    return heard is None or changed - heard > grace


def hub_can_reach(callback_base: str, hub: str) -> bool:
    """A callback on a loopback or private address is reachable only from a hub on the
    same kind of address; a public hub could never deliver to it."""
    return _is_local(hub) or not _is_local(callback_base)


def _is_local(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def _from_link_headers(location: str, values: Iterable[str]) -> HubLinks:
    hubs: list[str] = []
    topic = None
    for value in values:
        for url, rels in parse_link_header(value):
            if "hub" in rels:
                hubs.append(urljoin(location, url))
            if "self" in rels and topic is None:
                topic = urljoin(location, url)
    return HubLinks(tuple(dict.fromkeys(hubs)), topic)


def _from_feed(location: str, body: bytes) -> HubLinks:
    # latin-1 maps each byte to one character, so the check reads the bytes as they are.
    if declares_entities(body.decode("latin-1")):
        return HubLinks()
    body = _feed_head(body)
    import feedparser  # here: the polling process imports it only where hubs are looked for

    # Only the feed's own links are read: its entries' markup needs no sanitising
    # (feedparser's sanitiser is quadratic on a run of unclosed comments), and a
    # reference of thousands of digits makes feedparser raise ValueError (int()).
    try:
        parsed = feedparser.parse(
            io.BytesIO(body), resolve_relative_uris=False, sanitize_html=False
        )
    except ValueError:
        return HubLinks()
    links = parsed.get("feed", {}).get("links", [])
    hubs = [urljoin(location, str(k["href"])) for k in links if k.get("rel") == "hub"]
    selves = [urljoin(location, str(k["href"])) for k in links if k.get("rel") == "self"]
    return HubLinks(tuple(dict.fromkeys(hubs)), selves[0] if selves else None)


def _feed_head(body: bytes) -> bytes:
    """The feed up to its first item or entry: the hub and self links are the feed's
    own, written before its items (RSS channel, Atom feed head), and this runs inside
    every poll that looks for them, so a feed of 100,000 items is not parsed twice. The
    cut document ends early, which feedparser reads as far as it goes."""
    found = [i for i in (body.find(b"<item"), body.find(b"<entry")) if i >= 0]
    return body[: min(found)] if found else body


def _from_html(location: str, body: bytes) -> HubLinks:
    # Only the <head> is read (§8.1), so the page is cut where its <body> starts.
    start = body.lower().find(b"<body")
    finder = _HeadLinks()
    read_whole(finder, (body if start < 0 else body[:start]).decode("utf-8", "replace"))
    hubs = [urljoin(location, url) for url, rels in finder.links if "hub" in rels]
    selves = [urljoin(location, url) for url, rels in finder.links if "self" in rels]
    return HubLinks(tuple(dict.fromkeys(hubs)), selves[0] if selves else None)


def _with_topic(found: HubLinks, location: str) -> HubLinks:
    if not found.hubs:
        return HubLinks()
    return HubLinks(found.hubs, found.topic or location)


class _HeadLinks(HTMLParser):
    """<link rel href> of the <head> only: §8.1 warns that links in a page's body may be
    written by its users, who could point subscribers at a hub of their own."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, tuple[str, ...]]] = []
        self.in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.in_body = True
        if tag != "link" or self.in_body:
            return
        values = {name: value or "" for name, value in attrs}
        if values.get("href"):
            rels = tuple(values.get("rel", "").lower().split())
            self.links.append((values["href"].strip(), rels))
