"""Numbers from clients and servers that would overflow or refuse int() are read safely
(issue 14, item 8): a huge or odd Last-Event-ID, hub.lease_seconds, Content-Length,
max-age and Retry-After never raise."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from aggregator.config import LiveSettings
from aggregator.core.digits import BIGINT_MAX, read_count
from aggregator.store import Store
from aggregator.web.routes import create_app
from aggregator.websub.rules import MAX_LEASE_SECONDS, lease_end, read_intent
from tests.support.appserver import serving
from tests.support.builders import T0, one_live_page, post, store_posts


@pytest.mark.parametrize(
    ("raw", "count"),
    [
        ("42", 42),
        (" 7 ", 7),
        ("0007", 7),
        (str(2**63), BIGINT_MAX),
        ("9" * 5_000, BIGINT_MAX),
        ("²", None),
        ("٣", None),
        ("-1", None),
        ("1e3", None),
        ("", None),
        (None, None),
    ],
)
def test_read_count(raw: str | None, count: int | None) -> None:
    assert read_count(raw) == count


def test_a_lease_of_a_trillion_seconds_is_held_at_a_year() -> None:
    query = {"hub.mode": "subscribe", "hub.topic": "t", "hub.challenge": "c"}
    intent = read_intent({**query, "hub.lease_seconds": "1000000000000"})
    assert intent is not None and intent.lease_seconds == MAX_LEASE_SECONDS
    assert lease_end(intent, T0) == T0 + timedelta(seconds=MAX_LEASE_SECONDS)


@pytest.mark.parametrize("last_id", [str(2**63), "9" * 5_000, "²"])
@pytest.mark.slow
def test_odd_last_event_ids_start_a_stream_not_a_500(
    store: Store, tmp_path: Path, last_id: str
) -> None:
    settings = one_live_page(store, tmp_path)
    store_posts(store, settings.sources[0], [post("Update", "A line of text.")])
    app = create_app(store, LiveSettings(settings, {}))
    with serving(app) as base:
        url = f"{base}/stories/story/events"
        headers = {b"Last-Event-ID": last_id.encode("latin-1")}
        timeout = httpx.Timeout(10, read=1.5)
        with httpx.stream("GET", url, headers=headers, timeout=timeout) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            lines = []
            with pytest.raises(httpx.ReadTimeout):  # open and idle, not broken off
                for line in r.iter_lines():
                    lines.append(line)
    assert lines[0] == "retry: 2000"
