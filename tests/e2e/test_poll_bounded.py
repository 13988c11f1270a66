"""Issue 10's scenario, end to end: ordinary publisher feeds beside hostile ones.

`aggregator poll --once` over 19 everyday RSS feeds (25 items of about 2 KB of real-looking
publisher HTML each) and feeds whose one item is an adversarial megabyte finishes, stores
every ordinary item, and either stores each hostile item or reports it as that source's
error. A running service whose parse of one source overruns the deadline abandons it,
says so in /healthz, and keeps serving and polling the others meanwhile.
"""

from __future__ import annotations

import html
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.support.httpserver import Route, serve
from tests.support.paths import ROOT
from tests.support.processes import free_port, kill_all, start_service, wait_for

pytestmark = pytest.mark.slow

ORDINARY_FEEDS = 19
ITEMS = 25
RSS = "application/rss+xml; charset=utf-8"


def publisher_html(feed: int, item: int) -> str:
    """About 2 KB of everyday item markup: prose, then a link with attributes, an image,
    a styled span, entities."""
    prose = (
        f"Feed {feed} item {item}: councillors met on Tuesday evening to discuss the findings "
        "of the independent inquiry, which said that warnings from youth workers had been "
        "ignored for years and that the authority&#8217;s response was &ldquo;wholly "
        "inadequate&rdquo;. The chief executive said lessons had been learned &amp; that "
        "the council would publish its action plan within a month. "
    ) * 4
    return (
        f'<p>{prose}<a href="https://news.example.org/{feed}/{item}" target="_blank" '
        f'rel="noopener">Read the full report</a></p>'
        f'<p><img src="https://img.example.org/{feed}-{item}.jpg" alt="Town hall" width="640">'
        f'<span style="color:#555;font-size:12px">Photo: Example Agency</span></p>'
    )


def rss(title: str, items: list[str]) -> bytes:
    body = "".join(items)
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://news.example.org/</link>{body}</channel></rss>"
    ).encode()


def item(key: str, title: str, description: str) -> str:
    return (
        f"<item><title>{title}</title><guid isPermaLink='false'>{key}</guid>"
        f"<pubDate>Sun, 06 Dec 2026 09:00:00 GMT</pubDate>"
        f"<description>{description}</description></item>"
    )


def ordinary_feed(feed: int) -> bytes:
    items = [
        item(
            f"f{feed}-{n}",
            f"Inquiry update {n} from feed {feed}",
            html.escape(publisher_html(feed, n)),
        )
        for n in range(ITEMS)
    ]
    return rss(f"Feed {feed}", items)


MEGABYTE = 1_000_000
PROSE = "the council said that it would respond to the report in full "


def hostile_payloads() -> dict[str, str]:
    """Item HTML of about a megabyte each, in the shapes that stall naive parsers."""
    return {
        "long-paragraph": f"<p>{PROSE * (MEGABYTE // len(PROSE))}"
        '<a href="https://x.example/" target="_blank">link</a></p>',
        "deep-nesting": "<div>" * 5_000 + "deep" + "</div>" * 5_000,
        "many-attributes": "<p "
        + " ".join(f'a{i}="v{i}"' for i in range(10_000))
        + ">attributes</p>",
        "many-entities": "<p>" + "&amp;&#8217;&ldquo;" * 17_000 + "</p>",
        "many-tiny-tags": "<p>" + "<b>x</b>" * 50_000 + "</p>",
        "lone-angles": "<p>" + "<" * MEGABYTE + "</p>",
        "unclosed-comments": "<!--" * 250_000,
    }


def hostile_feeds() -> dict[str, bytes]:
    feeds = {}
    for name, payload in hostile_payloads().items():
        escaped = item(f"{name}-1", f"Hostile {name}", html.escape(payload))
        feeds[f"{name}-escaped"] = rss(name, [escaped])
        if "]]>" not in payload:
            cdata = item(f"{name}-2", f"Hostile {name}", f"<![CDATA[{payload}]]>")
            feeds[f"{name}-cdata"] = rss(name, [cdata])
    nul_and_bad_utf8 = rss("raw", [item("raw-1", "Raw bytes", "nul")]).replace(
        b"nul", b"before\x00after \xff\xfe\xc3( " * 50_000
    )
    feeds["nul-and-invalid-utf8"] = nul_and_bad_utf8
    return feeds


def config_for(base: str, names: list[str], db: Path, port: int, extra: str = "") -> str:
    lines = [
        "[service]",
        f'database_url = "sqlite:///{db}"',
        f"port = {port}",
        'parse_timeout = "20s"',
        extra,
        "[[stories]]",
        'id = "story"',
        'title = "Inquiry"',
    ]
    for name in names:
        lines += [
            "[[sources]]",
            f'name = "{name}"',
            'story = "story"',
            'kind = "feed"',
            f'url = "{base}/{name}.rss"',
            'interval = "1h"',
        ]
    return "\n".join(lines) + "\n"


def copies_by_source(db: Path) -> dict[str, int]:
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as c:
            rows = c.execute(text("SELECT source, count(*) FROM entry_items GROUP BY source"))
            return {str(source): int(count) for source, count in rows}
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def feeds() -> dict[str, bytes]:
    ordinary = {f"ordinary-{n:02d}": ordinary_feed(n) for n in range(ORDINARY_FEEDS)}
    return {**ordinary, **hostile_feeds()}


@pytest.fixture
def server(feeds: dict[str, bytes]) -> Iterator[str]:
    routes = {f"/{name}.rss": Route(body=body, content_type=RSS) for name, body in feeds.items()}
    with serve(routes) as running:
        yield running.url("")


def test_poll_once_finishes_stores_the_ordinary_and_reports_the_hostile(
    tmp_path: Path, feeds: dict[str, bytes], server: str
) -> None:
    db = tmp_path / "agg.sqlite"
    config = tmp_path / "aggregator.toml"
    config.write_text(config_for(server.rstrip("/"), sorted(feeds), db, free_port()))
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "aggregator", "--config", str(config), "poll", "--once"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    took = time.monotonic() - started
    copies = copies_by_source(db)
    errors = {line.split(":", 1)[0]: line for line in done.stderr.splitlines() if ": " in line}
    for n in range(ORDINARY_FEEDS):
        name = f"ordinary-{n:02d}"
        assert copies.get(name) == ITEMS, (name, errors.get(name), done.stderr[-2000:])
    for name in feeds:
        if name.startswith("ordinary-"):
            continue
        assert copies.get(name, 0) >= 1 or name in errors, (name, done.stderr[-3000:])
    assert done.returncode == (1 if any(not n.startswith("ordinary-") for n in errors) else 0)
    print(f"poll --once over {len(feeds)} feeds took {took:.1f}s; errors: {sorted(errors)}")


SLOW_ITEMS = 40_000


def slow_feed() -> bytes:
    """Honest but heavy: 40,000 items behind a DOCTYPE, which the fast reader declines,
    so feedparser reads it: many seconds of work, against a deadline of one."""
    items = "".join(
        item(f"slow-{n}", f"Slow {n}", f"Item {n} of a very long feed.") for n in range(SLOW_ITEMS)
    )
    return (
        '<?xml version="1.0"?><!DOCTYPE rss><rss version="2.0"><channel><title>Slow</title>'
        f"{items}</channel></rss>"
    ).encode()


def test_a_running_service_abandons_an_overrun_and_keeps_serving(tmp_path: Path) -> None:
    routes = {
        f"/ordinary-{n:02d}.rss": Route(body=ordinary_feed(n), content_type=RSS) for n in range(4)
    }
    routes["/slow.rss"] = Route(body=slow_feed(), content_type=RSS)
    names = ["slow", *(f"ordinary-{n:02d}" for n in range(4))]
    port = free_port()
    db = tmp_path / "agg.sqlite"
    config = tmp_path / "aggregator.toml"
    with serve(routes) as upstream:
        extra = 'parse_timeout = "1s"\nparse_processes = 2'
        text_ = config_for(upstream.url("").rstrip("/"), names, db, port).replace(
            'parse_timeout = "20s"', extra
        )
        config.write_text(text_)
        log = tmp_path / "service.log"
        process = start_service(config, log)
        base = f"http://127.0.0.1:{port}"
        try:

            def health() -> dict[str, dict[str, object]]:
                body = httpx.get(f"{base}/healthz", timeout=5).json()
                return {s["name"]: s for s in body["sources"]}

            def slow_abandoned_and_the_others_stored() -> bool:
                sources = health()
                abandoned = "parse took longer than 1 s" in str(sources["slow"]["last_error"])
                return abandoned and all(
                    sources[f"ordinary-{n:02d}"]["last_success_at"] for n in range(4)
                )

            wait_for(slow_abandoned_and_the_others_stored, timeout=90)
            assert httpx.get(f"{base}/stories/story.json", timeout=5).json()["items"]
            copies = copies_by_source(db)
            assert all(copies[f"ordinary-{n:02d}"] == ITEMS for n in range(4)), copies
            assert "parse abandoned: deadline passed" in log.read_text()
        finally:
            kill_all([process])
