"""libcurl's error codes become the httpx errors fetch/reasons.py reads."""

from __future__ import annotations

import errno

import httpx
import pytest

from aggregator.fetch.curl_errors import as_httpx_error

REQUEST = httpx.Request("GET", "https://feeds.example/rss")


@pytest.mark.parametrize(
    ("code", "connected", "expected"),
    [
        (28, False, httpx.ConnectTimeout),
        (28, True, httpx.ReadTimeout),
        (6, False, httpx.ConnectError),
        (7, False, httpx.ConnectError),
        (60, False, httpx.ConnectError),
        (35, False, httpx.ConnectError),
        (52, True, httpx.RemoteProtocolError),
        (18, True, httpx.RemoteProtocolError),
        (1, True, httpx.RemoteProtocolError),
        (16, True, httpx.RemoteProtocolError),
        (55, True, httpx.WriteError),
        (56, True, httpx.ReadError),
        (3, False, httpx.UnsupportedProtocol),
        (99, True, httpx.TransportError),
    ],
)
def test_each_code_becomes_its_httpx_error(
    code: int, connected: bool, expected: type[httpx.HTTPError]
) -> None:
    error = as_httpx_error(code, "what curl said", REQUEST, connected, 0)
    assert type(error) is expected
    assert str(error) == f"what curl said (curl error {code})"
    assert error.request is REQUEST


def test_a_refused_connection_carries_the_system_error() -> None:
    refused = as_httpx_error(7, "Could not connect", REQUEST, False, errno.ECONNREFUSED)
    assert isinstance(refused.__cause__, ConnectionRefusedError)
    unreachable = as_httpx_error(7, "Could not connect", REQUEST, False, errno.EHOSTUNREACH)
    assert unreachable.__cause__ is None
