"""OPML: lists in the shapes other readers export are read into addresses, and a
story's sources written as OPML 2.0 read back to the same sources and kinds."""

from __future__ import annotations

import pytest

from aggregator.core.types import StorySpec
from aggregator.parse.opml import OpmlError, Outline, read_outlines
from aggregator.publish.opml import render_opml
from tests.support.builders import source
from tests.support.paths import DATA

OPML = DATA / "opml"
STORY = StorySpec(id="inquiry", title="The inquiry & its report")


def test_miniflux_shape_keeps_folders_and_decodes_titles() -> None:
    outlines = read_outlines((OPML / "miniflux-shape.opml").read_bytes())
    assert [(o.title, o.xml_url, o.folders) for o in outlines] == [
        ("Example Gazette: England", "https://gazette.example/england/rss.xml", ("UK news",)),
        ("Northern Post", "https://northern-post.example/feed", ("UK news",)),
        ("Wire & Co", "https://wire.example/top.atom", ("All",)),
    ]
    assert outlines[0].html_url == "https://gazette.example/england"


def test_freshrss_shape_nested_folders() -> None:
    outlines = read_outlines((OPML / "freshrss-shape.opml").read_bytes())
    assert [(o.title, o.folders) for o in outlines] == [
        ("Town Hall notices", ("Uncategorized",)),
        ("Westminster Daily", ("Politics", "Politics")),
    ]


def test_newsboat_shape_titles_missing_or_in_title_only() -> None:
    outlines = read_outlines((OPML / "newsboat-shape.opml").read_bytes())
    assert [o.title for o in outlines] == ["Radio news", "", "Gazette again"]
    assert all(o.folders == () and o.kind is None for o in outlines)


def test_link_outlines_case_changed_attributes_and_empty_folders() -> None:
    outlines = read_outlines((OPML / "mixed-shape.opml").read_bytes())
    assert outlines == [
        Outline(
            "Inquiry live page", None, "https://live.example/inquiry-live", ("Live coverage",), None
        ),
        Outline(
            "Case-changed attributes", "https://caps.example/rss", None, ("Live coverage",), None
        ),
        Outline("Not the web", "ftp://files.example/feed.xml", None, ("Live coverage",), None),
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<rss><channel/></rss>", "root element is not <opml>"),
        (b"<opml version='2.0'><head/></opml>", "no <body>"),
        (b"<opml><body><outline", "not well-formed"),
        (
            b'<!DOCTYPE opml [<!ENTITY a "aaaa">]><opml><body>'
            b'<outline text="&a;" xmlUrl="https://x.example/"/></body></opml>',
            "DTD",
        ),
    ],
)
def test_what_is_not_an_opml_list_is_refused_saying_why(body: bytes, reason: str) -> None:
    with pytest.raises(OpmlError, match=reason):
        read_outlines(body)


def test_deep_nesting_is_read_without_recursion() -> None:
    depth = 100_000
    body = (
        b"<opml><body>"
        + b'<outline text="f">' * depth
        + b'<outline text="deep" xmlUrl="https://deep.example/rss"/>'
        + b"</outline>" * depth
        + b"</body></opml>"
    )
    # lxml's own depth limit (huge_tree off) refuses it, or it is read; never a crash.
    try:
        outlines = read_outlines(body)
    except OpmlError as e:
        assert "not well-formed" in str(e)
    else:
        assert [o.xml_url for o in outlines] == ["https://deep.example/rss"]


def test_render_lists_addresses_with_kinds_and_reads_back() -> None:
    sources = [
        source("gazette", "feed", url="https://gazette.example/rss", path=None),
        source("live", "liveblog", url="https://live.example/inquiry", path=None),
        source("report", "article", url="https://paper.example/report", path=None),
        source("saved", "liveblog", path="/srv/pages/saved.html"),
    ]
    listing = render_opml(STORY, sources, {"gazette": "Example Gazette", "live": "Live \x01page"})
    assert (listing.listed, listing.local_count) == (3, 1)
    assert listing.body.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    outlines = read_outlines(listing.body)
    assert [(o.title, o.xml_url, o.html_url, o.kind, o.folders) for o in outlines] == [
        ("Example Gazette", "https://gazette.example/rss", None, "feed", (STORY.title,)),
        ("Live page", None, "https://live.example/inquiry", "liveblog", (STORY.title,)),
        ("report", None, "https://paper.example/report", "article", (STORY.title,)),
    ]
    assert b'type="rss"' in listing.body
