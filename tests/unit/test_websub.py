"""The pure WebSub rules: discovery, forms, intent, signatures, leases, quiet hubs."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.config import load
from aggregator.core.errors import ConfigError
from aggregator.websub.rules import (
    HubLinks,
    Intent,
    Subscription,
    check_intent,
    check_signature,
    discover,
    has_gone_quiet,
    hub_can_reach,
    is_denial_of,
    parse_link_header,
    publish_form,
    read_intent,
    renewal_due,
    sign,
    subscribe_form,
)
from tests.support.builders import T0

FEED = "https://news.example.com/feed"
ATOM = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<link rel="hub" href="https://hub.example.com/"/><link rel="hub" href="/hub2"/>
<link rel="self" href="https://news.example.com/feed.atom"/></feed>"""
RSS = b"""<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">
<channel><title>t</title><link>https://news.example.com/</link>
<atom:link rel="hub" href="https://hub.example.com/"/>
<atom:link rel="self" href="/rss.xml" type="application/rss+xml"/>
<item><title>a</title></item></channel></rss>"""
HTML = b"""<!doctype html><html><head><link rel="hub" href="/hub">
<link rel="self alternate" href="/live"></head>
<body><link rel="hub" href="https://evil.example.net/"></body></html>"""
SUBSCRIPTION = Subscription(
    source="wire",
    hub="https://hub.example.com/",
    topic=FEED,
    token="t" * 43,
    secret="s" * 64,
    state="pending",
    created_at=T0,
    updated_at=T0,
)


@pytest.mark.parametrize(
    ("headers", "body", "content_type", "expected"),
    [
        (
            ['<https://hub.example.com/>; rel="hub", <https://news.example.com/x>; rel=self'],
            ATOM,
            "application/atom+xml",
            HubLinks(("https://hub.example.com/",), "https://news.example.com/x"),
        ),
        (
            [],
            ATOM,
            "application/atom+xml",
            HubLinks(
                ("https://hub.example.com/", "https://news.example.com/hub2"),
                "https://news.example.com/feed.atom",
            ),
        ),
        (
            [],
            RSS,
            "application/rss+xml",
            HubLinks(("https://hub.example.com/",), "https://news.example.com/rss.xml"),
        ),
        (
            [],
            HTML,
            "text/html; charset=utf-8",
            HubLinks(("https://news.example.com/hub",), "https://news.example.com/live"),
        ),
        (["</hub>; rel=hub"], b"", None, HubLinks(("https://news.example.com/hub",), FEED)),
        ([], b"<rss version='2.0'><channel><title>t</title></channel></rss>", None, HubLinks()),
        ([], b'{"version": "https://jsonfeed.org/version/1.1"}', "application/json", HubLinks()),
    ],
    ids=["link-headers-first", "atom", "rss", "html-head-only", "no-self", "no-hub", "json"],
)
def test_discovery(
    headers: list[str], body: bytes, content_type: str | None, expected: HubLinks
) -> None:
    assert discover(FEED, headers, body, content_type) == expected


def test_entity_declarations_are_not_read() -> None:
    body = b'<!DOCTYPE f [<!ENTITY x "y">]>' + ATOM.split(b"?>", 1)[1]
    assert discover(FEED, [], body, "application/atom+xml") == HubLinks()


def test_link_header_values() -> None:
    value = '<https://a.example/b,c>; rel="hub self"; title="x", <next>;rel=next, <y>'
    assert parse_link_header(value) == [
        ("https://a.example/b,c", ("hub", "self")),
        ("next", ("next",)),
        ("y", ()),
    ]


def test_subscribe_and_publish_forms() -> None:
    form = subscribe_form("subscribe", callback="https://me/cb", topic=FEED, secret="k")
    assert form == {
        "hub.callback": "https://me/cb",
        "hub.mode": "subscribe",
        "hub.topic": FEED,
        "hub.lease_seconds": "864000",
        "hub.secret": "k",
    }
    bye = subscribe_form("unsubscribe", callback="https://me/cb", topic=FEED, secret="k")
    assert "hub.secret" not in bye and "hub.lease_seconds" not in bye
    with pytest.raises(ValueError, match="200 bytes"):
        subscribe_form("subscribe", callback="c", topic=FEED, secret="x" * 200)
    assert publish_form(["a", "b"]) == [("hub.mode", "publish"), ("hub.url", "a"), ("hub.url", "b")]


def test_verification_of_intent() -> None:
    query = {"hub.mode": "subscribe", "hub.topic": FEED, "hub.challenge": "c1"}
    intent = read_intent({**query, "hub.lease_seconds": "3600"})
    assert intent == Intent("subscribe", FEED, "c1", 3600)
    assert check_intent(SUBSCRIPTION, intent) == "c1"
    assert check_intent(replace(SUBSCRIPTION, state="active"), intent) == "c1"  # a renewal
    assert check_intent(None, intent) is None
    assert check_intent(SUBSCRIPTION, replace(intent, topic=FEED + "?x")) is None
    assert check_intent(SUBSCRIPTION, replace(intent, lease_seconds=None)) is None
    assert check_intent(replace(SUBSCRIPTION, state="denied"), intent) is None
    leaving = replace(intent, mode="unsubscribe")
    assert check_intent(SUBSCRIPTION, leaving) is None
    assert check_intent(replace(SUBSCRIPTION, state="unsubscribing"), leaving) == "c1"
    assert read_intent({"hub.mode": "subscribe"}) is None
    denial = read_intent({"hub.mode": "denied", "hub.topic": FEED, "hub.reason": "no"})
    assert denial is not None and is_denial_of(SUBSCRIPTION, denial)
    assert not is_denial_of(SUBSCRIPTION, replace(denial, topic="other"))


@pytest.mark.parametrize("method", ["sha1", "sha256", "sha384", "sha512"])
def test_signatures_of_every_recognised_method(method: str) -> None:
    body, secret = b"<feed/>", "s3cret"
    expected = hmac.new(secret.encode(), body, getattr(hashlib, method)).hexdigest()
    assert sign(body, secret, method) == f"{method}={expected}"
    assert check_signature(body, secret, f"{method}={expected}")
    assert check_signature(body, secret, f"{method.upper()}={expected.upper()}")
    assert not check_signature(body + b" ", secret, f"{method}={expected}")
    assert not check_signature(body, "other", f"{method}={expected}")


def test_missing_or_unknown_signatures_fail_only_when_we_gave_a_secret() -> None:
    body = b"<feed/>"
    assert not check_signature(body, "s", None)
    assert not check_signature(body, "s", "")
    assert not check_signature(body, "s", "md5=" + hashlib.md5(body).hexdigest())
    assert not check_signature(body, "s", "sha256")
    assert check_signature(body, None, None)
    assert check_signature(body, "", "sha1=whatever")


def test_renewal_at_eighty_percent_of_the_lease() -> None:
    active = replace(
        SUBSCRIPTION, state="active", lease_seconds=1000, lease_until=T0 + timedelta(seconds=1000)
    )
    assert not renewal_due(active, T0 + timedelta(seconds=799))
    assert renewal_due(active, T0 + timedelta(seconds=800))
    assert renewal_due(active, T0 + timedelta(seconds=2000))  # expired: still renew
    asked = replace(active, updated_at=T0 + timedelta(seconds=800))
    assert not renewal_due(asked, T0 + timedelta(seconds=850))  # sent, awaiting the hub
    assert renewal_due(asked, T0 + timedelta(seconds=900))
    assert not renewal_due(replace(active, state="pending"), T0 + timedelta(days=1))


def test_a_hub_goes_quiet_when_polling_finds_what_it_never_pushed() -> None:
    active = replace(SUBSCRIPTION, state="active")
    assert not has_gone_quiet(active, 60)
    assert not has_gone_quiet(replace(active, polled_change_at=T0 + timedelta(seconds=180)), 60)
    found = replace(active, polled_change_at=T0 + timedelta(seconds=181))
    assert has_gone_quiet(found, 60)
    pushed = replace(found, last_push_at=T0 + timedelta(seconds=100))
    assert not has_gone_quiet(pushed, 60)
    assert not has_gone_quiet(replace(found, state="pending"), 60)


def test_a_local_callback_is_only_offered_to_a_local_hub() -> None:
    assert hub_can_reach("https://news.example.org", "https://hub.example.com/")
    assert hub_can_reach("http://127.0.0.1:8080", "http://127.0.0.1:9000/")
    assert hub_can_reach("http://localhost:8080", "http://10.0.0.2/hub")
    assert not hub_can_reach("http://127.0.0.1:8080", "https://hub.example.com/")
    assert not hub_can_reach("http://192.168.1.5:8080", "https://hub.example.com/")


CONFIG = """
[service]
{service}
[[stories]]
id = "story"
[[sources]]
name = "wire"
kind = "feed"
url = "https://news.example.com/feed"
"""


@pytest.mark.parametrize(
    ("service", "error"),
    [
        ('websub_hub = "https://hub.example.com/"', "websub_hub: needs public_url"),
        ('public_url = "https://me.example"\nwebsub_hub = "hub"', "absolute http(s) URL"),
        ('websub_subscribe = "yes"', "websub_subscribe: must be true or false"),
    ],
)
def test_config_refuses_bad_websub_keys(tmp_path: Path, service: str, error: str) -> None:
    path = tmp_path / "aggregator.toml"
    path.write_text(CONFIG.format(service=service), encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(error)):
        load(path, {})


def test_config_websub_keys(tmp_path: Path) -> None:
    path = tmp_path / "aggregator.toml"
    path.write_text(CONFIG.format(service=""), encoding="utf-8")
    assert (load(path, {}).service.websub_hub, load(path, {}).service.websub_subscribe) == (
        None,
        True,
    )
    service = 'public_url = "https://me.example"\nwebsub_hub = "https://hub.example.com/"\n'
    path.write_text(CONFIG.format(service=service + "websub_subscribe = false"), "utf-8")
    settings = load(path, {}).service
    assert (settings.websub_hub, settings.websub_subscribe) == ("https://hub.example.com/", False)
