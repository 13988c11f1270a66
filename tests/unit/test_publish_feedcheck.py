"""The checkers must be able to fail: each broken document is caught."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aggregator.core.types import StreamEvent
from aggregator.publish.jsonfeed import render_jsonfeed
from aggregator.publish.stream import format_event
from tests.support.feedcheck import check_atom, check_jsonfeed, check_sse, parse_sse
from tests.support.samples import BASE, sample_view

# Written by hand from RFC 4287, so these tests exercise the checker, not the renderer.
GOOD_ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
 <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
 <title>Story</title>
 <updated>2026-11-22T22:05:00Z</updated>
 <author><name>aggregator</name></author>
 <link rel="self" href="http://127.0.0.1:8080/s.atom"/>
 <entry>
  <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
  <title>Second</title>
  <published>2026-11-22T22:00:00Z</published>
  <updated>2026-11-22T22:05:00+01:00</updated>
  <content type="html">&lt;p&gt;b&lt;/p&gt;</content>
  <source><id>https://example.org/live</id><title>live</title></source>
 </entry>
 <entry>
  <id>tag:example.org,2026:first</id>
  <title>First</title>
  <published>2026-11-22T20:00:00Z</published>
  <updated>2026-11-22T20:00:00Z</updated>
  <link rel="alternate" href="https://example.org/first"/>
  <source><id>https://example.org/feed</id><title>feed</title></source>
 </entry>
</feed>
"""
FIRST_ID = "<id>tag:example.org,2026:first</id>"
SECOND_ID = "<id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>"


def good_json() -> dict[str, Any]:
    feed: dict[str, Any] = json.loads(
        render_jsonfeed(sample_view(), feed_url=f"{BASE}/s.json", page_url=f"{BASE}/s")
    )
    return feed


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (FIRST_ID, SECOND_ID, "duplicate id"),
        ("<updated>2026-11-22T22:05:00+01:00", "<updated>2026-11-22T22:05:00", "not RFC 3339"),
        ("<published>2026-11-22T20:00:00Z", "<published>2026-11-22t20:00:00z", "not RFC 3339"),
        ("<updated>2026-11-22T20:00:00Z", "<updated>2026-11-22T23:00:00Z", "newest first"),
        (SECOND_ID, "<id>post-3</id>", "not an absolute IRI"),
        ('rel="self"', 'rel="related"', "rel=self"),
        (
            "<author><name>aggregator</name></author>",
            "<contributor><name>aggregator</name></contributor>",
            "no author",
        ),
        ("</entry>", "<title>again</title></entry>", "2 atom:title"),
        ("</feed>", "", "not well-formed"),
        ("http://www.w3.org/2005/Atom", "http://purl.org/atom/ns#", "not atom:feed"),
        ("</feed>", '<x:gone xmlns:x="urn:x" ref="a"/></feed>', "after the first entry"),
    ],
)
def test_broken_atom_is_caught(old: str, new: str, problem: str) -> None:
    assert check_atom(GOOD_ATOM.encode()) == []
    assert old in GOOD_ATOM
    broken = GOOD_ATOM.replace(old, new, 1)
    problems = check_atom(broken.encode())
    assert any(problem in p for p in problems), problems


def test_atom_without_source_or_content_is_caught() -> None:
    broken = GOOD_ATOM.replace("<source>", "<src>").replace("</source>", "</src>")
    assert any("no atom:source" in p for p in check_atom(broken.encode()))
    broken = GOOD_ATOM.replace('rel="alternate"', 'rel="related"')
    assert any("neither content" in p for p in check_atom(broken.encode()))
    # RFC 4287 §4.1.1: alternates may differ in type, not share one.
    links = '<link href="https://example.org/2"/><link href="https://example.org/3" type="a/b"/>'
    broken = GOOD_ATOM.replace("</entry>", links + "</entry>", 1)
    assert check_atom(broken.encode()) == []
    broken = broken.replace("</entry>", '<link href="https://example.org/4"/></entry>', 1)
    assert any("two alternate links" in p for p in check_atom(broken.encode()))


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (("items", 1, "id"), None, "is not a non-empty string"),
        (("items", 1, "id"), 7, "is not a non-empty string"),
        (("items", 2, "id"), "SAME", "duplicate id"),
        (("items", 0, "date_published"), "2026-11-22T22:00:00", "not RFC 3339"),
        (("items", 2, "date_published"), "2026-11-22T23:00:00Z", "newest first"),
        (("items", 0, "content_html"), None, "neither content_html"),
        (("items", 0, "authors"), ["Jane"], "author 0 is not an object"),
        (("version",), "https://jsonfeed.org/version/1", "version"),
        (("title",), "", "title"),
        (("items",), {}, "items is not an array"),
    ],
)
def test_broken_jsonfeed_is_caught(path: tuple[Any, ...], value: Any, problem: str) -> None:
    feed = good_json()
    assert check_jsonfeed(feed) == []
    feed["items"][1]["id"] = "SAME"
    target = feed
    for step in path[:-1]:
        target = target[step]
    if value is None:
        del target[path[-1]]
        if path[-1] == "content_html":
            del target["content_text"]
    else:
        target[path[-1]] = value
    problems = check_jsonfeed(feed)
    assert any(problem in p for p in problems), problems


def test_broken_sse_is_caught() -> None:
    entry = sample_view().entries[0]
    assert check_sse(parse_sse(format_event(StreamEvent(5, "new", entry)))[0]) == []
    frames = format_event(StreamEvent(5, "new", entry)) + format_event(StreamEvent(5, "new", entry))
    frames += "data: not json\n\n"
    problems = check_sse(parse_sse(frames)[0])
    assert any("does not increase" in p for p in problems), problems
    assert any("not JSON" in p for p in problems), problems
