"""Issue 14's hostile corpus, generated here and served by a real local server: one
feed per attack beside a good one, all polled in one pass of the worker. The worker
stays up, the good feed is stored, every bad source gets a clear error naming it (or
its good items stored and the bad one repaired), and every source keeps a schedule.
Nothing leaves 127.0.0.0/8: the "internal service" is 127.0.0.2."""

from __future__ import annotations

import gzip
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.config import LiveSettings, load
from aggregator.fetch.http import make_client
from aggregator.fetch.limits import FetchLimits
from aggregator.ingest.sources import Fetchers
from aggregator.ingest.worker import Worker
from aggregator.store import Store
from tests.support.httpserver import Route, Server, serve
from tests.support.shortcuts import poll_due

NOW = datetime.now(UTC)


def rss(*items: str) -> bytes:
    body = "".join(items)
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed</title><link>https://example.org/</link>{body}</channel></rss>"
    ).encode()


def item(title: str, text: str, guid: str, date: str = "Sun, 06 Dec 2026 10:00:00 GMT") -> str:
    return (
        f"<item><title>{title}</title><guid>{guid}</guid><pubDate>{date}</pubDate>"
        f"<description>{text}</description></item>"
    )


GOOD = item("Council vote tonight", "Councillors vote tonight on the report.", "g1")
BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    b"<rss><channel><item><title>&c;</title></item></channel></rss>"
)
ZEROS = b"\0" * (40 * 1024 * 1024)


def stacked() -> bytes:
    return gzip.compress(gzip.compress(ZEROS, 9), 9)


def routes(internal: str) -> dict[str, Route]:
    xml = "application/rss+xml"
    return {
        "/good": Route(body=rss(GOOD), content_type=xml),
        "/gzip-gzip": Route(
            body=stacked(), content_type=xml, headers={"Content-Encoding": "gzip, gzip"}
        ),
        "/gzip-bomb": Route(
            body=gzip.compress(ZEROS, 9), content_type=xml, headers={"Content-Encoding": "gzip"}
        ),
        "/to-internal": Route(status=302, headers={"Location": f"{internal}/secret"}),
        "/entity-bomb": Route(body=BOMB, content_type=xml),
        "/poison": Route(
            body=rss(
                item("Nul\x00 in the title", "A title with a NUL byte.", "p1"),
                item("From the far future", "Dated 9999.", "p2", "Fri, 31 Dec 9999 23:59:59 GMT"),
                item("Plain good item", "Nothing wrong with this one.", "p3"),
            ),
            content_type=xml,
        ),
        "/huge-title": Route(
            body=rss(item("Flood " * 200_000, "A title of a megabyte.", "h1")), content_type=xml
        ),
        "/binary": Route(
            body=random.Random(7).randbytes(64 * 1024), content_type="application/octet-stream"
        ),
        "/bad-utf8": Route(
            body=rss(item("Caf\u00e9 society", "One bad byte: BAD here.", "u1")).replace(
                b"BAD", b"\xff"
            ),
            content_type="application/rss+xml; charset=utf-8",
        ),
        "/slow": Route(body=rss(GOOD), content_type=xml, delay=4.0),
        "/error": Route(status=500, body=b"oops"),
    }


CONFIG_HEAD = """
[[stories]]
id = "story"
title = "A story"
"""


def config(tmp_path: Path, server: Server) -> Path:
    names = [p.strip("/") for p in routes("http://127.0.0.2:1")]
    text = CONFIG_HEAD + "".join(
        f'\n[[sources]]\nname = "{n}"\nkind = "feed"\nurl = "{server.url("/" + n)}"\n'
        for n in names
    )
    path = tmp_path / "aggregator.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def served() -> Iterator[Server]:
    secret = {"/secret": Route(body=b"db_password=hunter2")}
    with serve(secret, host="127.0.0.2") as internal, serve(routes(internal.url(""))) as server:
        yield server


def test_every_attack_is_contained_and_the_good_feed_stored(
    store: Store, served: Server, tmp_path: Path
) -> None:
    settings = load(config(tmp_path, served), {})
    limits = FetchLimits(total_timeout=2.0, max_bytes=2 * 1024 * 1024)
    with make_client(limits) as client:
        worker = Worker(LiveSettings(settings, {}), store, Fetchers(client, limits))
        worker.apply_settings(settings)
        reports = {r.source: r for r in poll_due(worker, NOW)}
    assert set(reports) == {s.name for s in settings.sources}  # every one was polled

    errors = {name: (r.error or "") for name, r in reports.items()}
    assert errors["good"] == ""
    assert "more than one coding refused" in errors["gzip-gzip"]
    assert "size cap" in errors["gzip-bomb"]
    assert "non-public address" in errors["to-internal"]
    assert "entity declarations are not allowed" in errors["entity-bomb"]
    assert "binary" in errors["binary"]
    assert "timed out" in errors["slow"]
    assert "HTTP 500" in errors["error"]

    entries = store.story_view(settings.stories[0], everything=True).entries
    titles = {e.title: e for e in entries}
    assert "Council vote tonight" in titles
    assert "Nul in the title" in titles and "Plain good item" in titles
    far = titles["From the far future"]
    assert far.published.year == NOW.year and far.time_source == "first-seen"
    assert any(t.startswith("Flood Flood") and len(t) <= 300 for t in titles)
    # Only the stray byte is read as windows-1252; the UTF-8 around it stays UTF-8.
    assert titles["Caf\u00e9 society"].text == "One bad byte: \u00ff here."
    assert not any("hunter2" in e.text for e in entries)  # the internal answer never published

    health = {h.name: h for h in store.source_health([s.name for s in settings.sources])}
    for name, error in errors.items():
        if error:  # the stored error is the same clear reason, and a retry is scheduled
            assert health[name].last_error == error and health[name].next_attempt_at is not None
    assert all(h.next_attempt_at is not None for h in health.values())
