"""Hang guard: every text-processing entry point ends on a megabyte of hostile input.

STYLE.md rule 10, "Linear time, always". Each case feeds one adversarial payload (a
shape that a backtracking regex, a quadratic loop or recursion down a deep tree pays
for many times over) to one group of entry points, wrapped the ways they meet text: an
RSS description escaped and as CDATA, Atom content and a whole document for the feed
reader; an HTML page, plain text and Markdown for the page readers. The case runs in a
child process that is killed when one step (one entry point on one wrapping) runs past
20 s: a guard against hangs, not a speed target. An
entry point may refuse its input with ParseError; anything else it raises
(RecursionError, ValueError from int() of 5,000 digits, MemoryError...) fails the
case, as does a child that dies without reporting. The child names each step before
taking it, so a failure names the entry point and the wrapping.

All selected cases run the first time any is asked for, two at a time (the machine
has two cores); each test then reads its own case's outcome.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from zoneinfo import ZoneInfo

import pytest

from aggregator.core.errors import ParseError
from aggregator.core.types import Document, ParseContext, Post, StorySpec
from aggregator.dedupe.normalize import matches_keywords, normalize
from aggregator.dedupe.similarity import judge, sign
from aggregator.parse.article import parse_article
from aggregator.parse.decode import decode_body, kind_hint, sniff_format
from aggregator.parse.feeds.feed import parse_feed
from aggregator.parse.html import html_to_text, sanitize_html
from aggregator.parse.live.liveblog import split_liveblog
from aggregator.parse.opml import OpmlError, read_outlines
from aggregator.parse.signals import feed_signals, live_signals
from aggregator.websub.rules import discover, parse_link_header

pytestmark = pytest.mark.slow

TIMEOUT = 20.0
WORKERS = 2
MB = 1_000_000
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
CONTEXT = ParseContext(ZoneInfo("Europe/London"), {"BST": "Europe/London"})
PAGE = "https://news.example/live"
PROSE = "Flood defences held overnight as the river rose another 20cm, officials said. "


def _fill(unit: str, size: int = MB) -> str:
    """`unit` repeated to about `size` characters."""
    return unit * max(1, size // len(unit))


def _nested_posts(depth: int) -> str:
    post = '<div class="post"><time datetime="2026-11-22T08:00:00Z">08:00</time><p>{}</p>'
    return "".join(post.format(PROSE) for _ in range(depth)) + "</div>" * depth


def _big_feed(items: int) -> str:
    entries = "".join(f"<item><title>{i}</title><guid>{i}</guid></item>" for i in range(items))
    return f'<rss version="2.0"><channel><title>t</title>{entries}</channel></rss>'


# About a megabyte of one shape each.
PAYLOADS: dict[str, Callable[[], str | bytes]] = {
    # Ordinary publisher HTML: one long paragraph, then a tag with attributes.
    "paragraph-then-tag": lambda: "<p>" + _fill(PROSE) + '<a href="x" target="_blank">l</a></p>',
    # Nesting 5,000 deep: elements, posts, quotes, JSON-LD.
    "nested-divs": lambda: "<div>" * 5000 + _fill(PROSE) + "</div>" * 5000,
    "nested-posts": lambda: _nested_posts(5000),
    "nested-quotes": lambda: "> " * 5000 + _fill(PROSE),
    "nested-jsonld": lambda: (
        '<script type="application/ld+json">'
        + '{"@type":"LiveBlogPosting","@graph":[' * 5000
        + "]}" * 5000
        + '</script><script type="application/ld+json">'
        + "[" * 5000
        + "]" * 5000
        + "</script>"
    ),
    "microdata-scope": lambda: (
        '<div itemscope itemtype="https://schema.org/LiveBlogPosting">'
        + _fill('<span itemprop="x">a</span>')
        + "</div>"
    ),
    "attributes": lambda: (
        "<p " + " ".join(f'data-a{i}="{"v" * 90}"' for i in range(10_000)) + ">text</p>"
    ),
    # 50,000 entities, and references of 5,000 digits (int() refuses past 4,300).
    "entities": lambda: (
        "&amp;&#169;&copy;&#x263A;&nbsp;" * 10_000 + "&#" + "9" * 5000 + ";&#x" + "f" * 5000 + ";"
    ),
    "tiny-tags": lambda: "<i>a</i> " * 50_000,
    "feed-100k-items": lambda: _big_feed(100_000),
    "nul-bytes": lambda: _fill(
        '<p\x00 class="a\x00">' + PROSE.replace(" ", " \x00") * 10 + "&\x00;"
    ),
    # NULs too few for the document to be refused as binary, so the parsers meet them.
    "sparse-nul-bytes": lambda: _fill("<p>" + PROSE * 3 + "\x00</p>"),
    # Bytes no UTF-8 decoder accepts (a stray byte, a cut sequence, a surrogate).
    "invalid-utf8": lambda: (
        (b"<p>" + PROSE.encode().replace(b" ", b" \xff\xc3(\xed\xa0\x80") * 10) * 600
    ),
    # The shapes of the regex audit: each one scanned to the end from every start.
    "lt-run": lambda: "<" * MB,
    "unclosed-tags": lambda: _fill("<a b=1 "),
    "unclosed-comments": lambda: _fill("<!--"),
    "marked-sections": lambda: _fill("<![x[ <![ "),
    "many-comments": lambda: _fill("<!--c-->") + "plain text",
    "doctype-subsets": lambda: _fill("<!DOCTYPE x [<!-- "),
    "space-run": lambda: "# a" + " " * MB + "b #",
    "digit-run": lambda: "5" + "0" * MB + " mins ago",
    "unclosed-emphasis": lambda: _fill("*a _b **c __d `e "),
    "nested-emphasis": lambda: "*_" * 50_000 + "a" + "_*" * 50_000,
    "unclosed-links": lambda: "[" * (MB // 2) + _fill("[a](", MB // 2),
    "quote-markers": lambda: ">" * MB,
    "unclosed-scripts": lambda: _fill("<script><style>"),
    "unclosed-channel": lambda: _fill("<skipHours><ttl> "),
    "coverage-ends": lambda: _fill("itemprop='coverageEndTime' "),
    "link-values": lambda: _fill('<a>; rel="hub, <'),
    # A document's own title, home and language: tags that never close, unclosed titles.
    "unclosed-meta-link": lambda: _fill("<meta property='og:site_name' <link rel='x' <html "),
    "unclosed-titles": lambda: _fill("<title><![CDATA[ <link>http://x "),
    # Page shapes that cost per line or per post: time lines, captions, short posts.
    "clock-lines": lambda: _fill("Updated 10:52am BST\n14:05 Trains cancelled\n5 mins ago\n"),
    "relative-times": lambda: "".join(f"{i} mins ago\n" for i in range(80_000)),
    "title-captions": lambda: _fill("![Two Words](x)\n"),
    "short-posts": lambda: _fill("Title Line\nbody.\n"),
    # A post of nothing but embeds: a megabyte of frames and quotes, each a link to make.
    "embed-only-posts": lambda: (
        '<div><article class="post"><time>10:52</time>'
        + _fill("<iframe src='//x.example/f'></iframe><blockquote><a href=/q></a></blockquote>")
        + '</article><article class="post"><time>10:40</time><p>'
        + PROSE
        + '</p></article><article class="post"><time>10:30</time><p>'
        + PROSE
        + "</p></article></div>"
    ),
    "long-stamps": lambda: (
        '<div><article class="post"><time datetime="'
        + "2" * 5000
        + '">'
        + _fill("10:52 ", MB // 2)
        + "</time><p>"
        + PROSE
        + '</p></article><article class="post"><time>'
        + _fill("Updated 11:05 BST ", MB // 2)
        + "</time><p>"
        + PROSE
        + "</p></article></div>"
    ),
}
# Payloads that are whole feeds: the feed reader takes them as they are, and only the
# readers that meet feeds (feed, signals, WebSub) get them.
WHOLE_FEEDS = frozenset({"feed-100k-items"})


def _doc(body: bytes, content_type: str | None) -> Document:
    return Document(PAGE, body, content_type, NOW)


def _escaped(payload: bytes) -> bytes:
    return payload.replace(b"&", b"&amp;").replace(b"<", b"&lt;").replace(b">", b"&gt;")


def _cdata(payload: bytes) -> bytes:
    return b"<![CDATA[" + payload.replace(b"]]>", b"]]]]><![CDATA[>") + b"]]>"


def _rss(description: bytes) -> bytes:
    return (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Live</title>'
        b"<link>https://news.example/</link><ttl>15</ttl><item><title>One</title>"
        b"<link>https://news.example/1</link><guid>https://news.example/1</guid>"
        b"<pubDate>Sun, 22 Nov 2026 08:00:00 GMT</pubDate><description>"
        + description
        + b"</description></item></channel></rss>"
    )


def _atom(content: bytes) -> bytes:
    return (
        b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        b"<title>Live</title><id>urn:live</id><updated>2026-11-22T08:00:00Z</updated>"
        b"<entry><title>One</title><id>urn:1</id><updated>2026-11-22T08:00:00Z</updated>"
        b'<content type="html">' + content + b"</content></entry></feed>"
    )


def _page(payload: bytes) -> bytes:
    return b"<!doctype html><html><head><title>Live</title></head><body><main>" + payload


@dataclass
class _Steps:
    """Runs named steps in the child, telling the parent each name before it starts."""

    report: Connection

    def run(self, name: str, call: Callable[[], object]) -> None:
        self.report.send(name)
        with contextlib.suppress(ParseError):  # a clear refusal of bad input is an answer
            call()


def _feeds(payload: bytes, name: str) -> Iterator[tuple[str, Document]]:
    if name not in WHOLE_FEEDS:
        yield "rss description", _doc(_rss(_escaped(payload)), "application/rss+xml")
        yield "rss cdata", _doc(_rss(_cdata(payload)), "application/rss+xml")
        yield "atom content", _doc(_atom(_escaped(payload)), "application/atom+xml")
    yield "whole document", _doc(payload, "application/xml")


def _pages(payload: bytes) -> Iterator[tuple[str, Document]]:
    yield "html page", _doc(_page(payload), "text/html; charset=utf-8")
    yield "plain text", _doc(payload, "text/plain")
    yield "markdown", _doc(payload, "text/markdown")


def _feed(steps: _Steps, payload: bytes, name: str) -> None:
    for wrapping, doc in _feeds(payload, name):
        steps.run(f"parse_feed, {wrapping}", lambda: parse_feed(doc, CONTEXT))  # noqa: B023


def _liveblog(steps: _Steps, payload: bytes, name: str) -> None:
    for wrapping, doc in _pages(payload):
        steps.run(f"split_liveblog, {wrapping}", lambda: split_liveblog(doc, CONTEXT))  # noqa: B023


def _article(steps: _Steps, payload: bytes, name: str) -> None:
    for wrapping, doc in _pages(payload):
        steps.run(f"parse_article, {wrapping}", lambda: parse_article(doc, CONTEXT))  # noqa: B023


def _others(steps: _Steps, payload: bytes, name: str) -> None:
    """The readers beside the parsers: signals, sniffing, normalize, similarity, the
    sanitiser and WebSub discovery (the page readers already cover `read_blocks`)."""
    raw = _doc(payload, None)
    for wrapping, doc in _feeds(payload, name):
        steps.run(f"feed_signals, {wrapping}", lambda: feed_signals(doc))  # noqa: B023
    for wrapping, doc in (("html page", _doc(_page(payload), "text/html")), ("raw", raw)):
        steps.run(f"live_signals, {wrapping}", lambda: live_signals(doc))  # noqa: B023
    steps.run("decode_body and sniff_format", lambda: sniff_format(raw, decode_body(raw)))
    steps.run("kind_hint", lambda: (kind_hint("liveblog", raw), kind_hint("feed", raw)))
    opml = b'<opml version="2.0"><body><outline text="' + _escaped(payload) + b'"/></body></opml>'
    for wrapping, listing in (("raw", payload), ("in an outline", opml)):
        steps.run(f"read_outlines, {wrapping}", lambda: _outlines(listing))  # noqa: B023
    steps.run("websub discover", lambda: _discover(payload))
    if name in WHOLE_FEEDS:
        return
    text = payload.decode("utf-8", "replace")
    post = Post(title=text, text=text, html=text, position=0, location=PAGE, method="text")
    story = StorySpec("story", "A story", ("river", "flood defences"))
    steps.run("normalize", lambda: normalize([post, post], source="live", now=NOW))
    steps.run("matches_keywords", lambda: matches_keywords(post, story))
    entry = normalize([post], source="live", now=NOW)[0]
    steps.run("similarity sign", lambda: sign(entry))
    pair = ((text[:200], text), (text[:200], text + " more"))
    steps.run("similarity judge", lambda: judge(*pair, timedelta(hours=1)))
    steps.run("sanitize_html", lambda: html_to_text(sanitize_html(text, base_url=PAGE)))
    steps.run("html_to_text", lambda: html_to_text(text))


def _outlines(body: bytes) -> None:
    with contextlib.suppress(OpmlError):
        read_outlines(body)


def _discover(payload: bytes) -> None:
    text = payload.decode("utf-8", "replace")
    parse_link_header(text)
    discover(PAGE, [text], payload, "application/rss+xml")
    discover(PAGE, [], _page(payload), "text/html")
    discover(PAGE, [], _rss(_escaped(payload)), "application/rss+xml")


# Payloads shaped for the live page splitter alone (the feed readers meet nothing new).
PAGES_ONLY = frozenset({"embed-only-posts"})
GROUPS: dict[str, Callable[[_Steps, bytes, str], None]] = {
    "feed": _feed,
    "liveblog": _liveblog,
    "article": _article,
    "others": _others,
}
CASES = [
    f"{group}:{payload}"
    for group in GROUPS
    for payload in PAYLOADS
    if payload not in WHOLE_FEEDS or group in ("feed", "others")
    if payload not in PAGES_ONLY or group in ("liveblog", "article")
]
# How long each case took, for whoever wants to look (`run_cases` fills it in).
ELAPSED: dict[str, float] = {}


def _payload(name: str) -> bytes:
    value = PAYLOADS[name]()
    return value if isinstance(value, bytes) else value.encode("utf-8")


def _child(case: str, report: Connection) -> None:
    group, name = case.split(":")
    try:
        GROUPS[group](_Steps(report), _payload(name), name)
    except BaseException as e:  # every kind of failure is reported
        trace = traceback.format_exc()[-2000:]
        report.send(("failed", f"raised {type(e).__name__}: {str(e)[:200]}\n{trace}"))
    else:
        report.send(("ended", ""))
    report.close()


@dataclass
class _Running:
    """A case's child and what it has told so far: the step it is in, how it ended."""

    case: str
    process: BaseProcess
    report: Connection
    started: float
    step: str = "starting"
    step_started: float = 0.0
    ending: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        self.step_started = self.started

    def listen(self) -> None:
        """Take every message waiting (read as they come, so the pipe never fills)."""
        with contextlib.suppress(EOFError, OSError):
            while self.report.poll():
                message = self.report.recv()
                if isinstance(message, str):
                    self.step, self.step_started = message, time.monotonic()
                else:
                    self.ending = message

    def outcome(self) -> str:
        """ "" when the child ended (or refused with ParseError), else what went wrong
        in which step; the child is stopped first if it still runs."""
        elapsed = time.monotonic() - self.started
        in_step = time.monotonic() - self.step_started
        timed_out = self.process.is_alive()
        if timed_out:
            self.process.kill()
        self.process.join()
        self.listen()
        self.report.close()
        ELAPSED[self.case] = elapsed
        if self.ending is not None:
            kind, detail = self.ending
            return f"{self.step}: {detail}" if kind == "failed" else ""
        if timed_out:
            return f"{self.step}: still running after {in_step:.0f} s, killed"
        return f"{self.step}: died without a report (exit code {self.process.exitcode})"


def run_cases(cases: list[str], workers: int = WORKERS, timeout: float = TIMEOUT) -> dict[str, str]:
    """Each case's outcome: "" when it ended (or refused with ParseError), else why not."""
    # Children come from a fork server: cheap to start like a fork (the server imports
    # this module once), but never a fork of this process, whose other tests may have
    # left threads holding locks.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    waiting, running = list(cases), list[_Running]()
    outcomes: dict[str, str] = {}
    while waiting or running:
        while waiting and len(running) < workers:
            case = waiting.pop(0)
            receive, send = context.Pipe(duplex=False)
            process = context.Process(target=_child, args=(case, send), daemon=True)
            process.start()
            send.close()
            running.append(_Running(case, process, receive, time.monotonic()))
        deadline = min(r.step_started for r in running) + timeout
        ready = [r.process.sentinel for r in running] + [r.report for r in running]
        wait(ready, max(0.0, deadline - time.monotonic()))
        for run in list(running):
            run.listen()
            if not run.process.is_alive() or time.monotonic() - run.step_started >= timeout:
                outcomes[run.case] = run.outcome()
                running.remove(run)
    return outcomes


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest) -> dict[str, str]:
    """The outcomes of every case selected in this session, run once."""
    selected = [
        str(item.callspec.params["case"])
        for item in request.session.items
        if isinstance(item, pytest.Function)
        and item.module is request.module
        and hasattr(item, "callspec")
    ]
    return run_cases(selected, workers=min(WORKERS, os.cpu_count() or 1))


@pytest.mark.parametrize("case", CASES)
def test_entry_point_ends_on_adversarial_input(case: str, outcomes: dict[str, str]) -> None:
    assert outcomes[case] == "", f"{case}: {outcomes[case]}"
