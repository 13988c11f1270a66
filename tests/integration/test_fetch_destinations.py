"""Where a configured URL may lead (issue 14, item 1): its own host is trusted, but a
redirect to a loopback, private or link-local address is refused, on a new connection
(checked on the resolved address) and on a reused one (checked on the peer). Loopback
aliases play the parts: the source on 127.0.0.1, an "internal service" on 127.0.0.2."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest

from aggregator.core.errors import FetchError
from aggregator.core.types import FetchState
from aggregator.fetch.destinations import allow_list, is_public
from aggregator.fetch.http import fetch_http, make_client
from aggregator.fetch.limits import FetchLimits
from tests.support.builders import source
from tests.support.httpserver import Route, redirect, serve

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
SECRET = Route(body=b"<rss><channel><title>db_password=hunter2</title></channel></rss>")


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_to_an_internal_address_is_refused(status: int) -> None:
    limits = FetchLimits()
    with (
        serve({"/secret": SECRET}, host="127.0.0.2") as internal,
        serve({"/feed": redirect(internal.url("/secret"), status)}) as public,
        make_client(limits) as client,
    ):
        spec = source("wire", kind="feed", url=public.url("/feed"), path=None)
        with pytest.raises(FetchError, match=r"refused: 127\.0\.0\.2 leads to a non-public"):
            fetch_http(client, spec, FetchState(), now=NOW, limits=limits)
    assert internal.requests == []


def test_a_reused_connection_to_an_internal_address_is_refused_too() -> None:
    limits = FetchLimits()
    with (
        serve({"/secret": SECRET, "/own": SECRET}, host="127.0.0.2", keep_alive=True) as internal,
        serve({"/feed": redirect(internal.url("/secret"))}) as public,
        make_client(limits) as client,
    ):
        # A source configured on the internal host itself is trusted, and leaves a
        # kept-alive connection to it in the pool.
        own = source("own", kind="feed", url=internal.url("/own"), path=None)
        assert fetch_http(client, own, FetchState(), now=NOW, limits=limits).documents
        spec = source("wire", kind="feed", url=public.url("/feed"), path=None)
        with pytest.raises(FetchError, match="refused"):
            fetch_http(client, spec, FetchState(), now=NOW, limits=limits)
    # Checked before the first byte was written, not once the answer was in.
    assert [r.path for r in internal.requests] == ["/own"]


def test_a_redirect_within_the_configured_host_is_followed() -> None:
    limits = FetchLimits()
    with serve({"/old": redirect("/feed"), "/feed": SECRET}) as server, make_client(limits) as c:
        spec = source("wire", kind="feed", url=server.url("/old"), path=None)
        assert fetch_http(c, spec, FetchState(), now=NOW, limits=limits).documents


def test_an_allow_list_opens_a_network() -> None:
    limits = FetchLimits(allow_private=("127.0.0.0/30",))
    with (
        serve({"/secret": SECRET}, host="127.0.0.2") as internal,
        serve({"/feed": redirect(internal.url("/secret"))}) as public,
        make_client(limits) as client,
    ):
        spec = source("wire", kind="feed", url=public.url("/feed"), path=None)
        assert fetch_http(client, spec, FetchState(), now=NOW, limits=limits).documents
    assert allow_list(["10.1.2.0/24", "Intranet.Example."]) == (
        frozenset({"intranet.example"}),
        (ipaddress.ip_network("10.1.2.0/24"),),
    )


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("127.0.0.2", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.251", False),
        ("::1", False),
        ("fd00:ec2::254", False),
        ("fe80::1", False),
        ("::ffff:127.0.0.1", False),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


def test_the_configured_user_agent_is_sent() -> None:
    limits = FetchLimits(user_agent="council-watch/2 (+https://council.example/)")
    with serve({"/feed": SECRET}) as server, make_client(FetchLimits()) as client:
        spec = source("wire", kind="feed", url=server.url("/feed"), path=None)
        fetch_http(client, spec, FetchState(), now=NOW, limits=limits)
    assert server.requests[-1].headers["user-agent"] == limits.user_agent
