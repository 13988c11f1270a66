"""`fastfeed_markup.resolve` writes markup exactly as feedparser's resolver does, or
declines: every pair of a set of everyday and awkward pieces, against three bases."""

from __future__ import annotations

import itertools

import pytest
from feedparser.urls import resolve_relative_uris

from aggregator.parse.feeds.fastfeed_markup import resolve

PIECES = [
    "Flood defences held. ",
    "a > b",
    "&amp;",
    "&copy;",
    "&bogus;",
    "&#39;",
    "&#34;",
    "&#150;",
    "&#X263A;",
    "&#8217;",
    "<p>",
    "</p>",
    "<P>",
    "</P >",
    "<br>",
    "<br/>",
    "<BR />",
    "</br>",
    '<img src="a.png" alt="x">',
    "<img alt='y' src='/b.png'/>",
    '<a href="rel/x?a=1&amp;b=2" target="_blank" rel="NoOpener">',
    "<a href='javascript:alert(1)'>",
    '<a HREF="x" href="y">',
    "</a>",
    '<span style="color:#555">',
    "<p/>",
    '<div class="a"/>',
    '<q cite=" /quote ">',
    '<iframe src="//player.example/v"></iframe>',
    '<a href="">',
    '<a title="it\'s">',
    "<a title='say \"hi\"'>",
    '<a\nhref="x"\n>',
    '<a href = "x" >',
    '<a href="http://h/a?">',
    '<a href="mailto:x@y">',
    '<source src="v.mp4" type="Video/MP4">',
    '<a href="#frag">',
    '<a href="..">',
    "\u2019 é",
    # Declined: a comment, a bare or unquoted attribute, a stray "<" or "&", a script.
    "<!-- c -->",
    "<video controls>",
    "<a href=x>",
    "a < b",
    "AT&T",
    '<a href="a&b">',
]
BASES = ["https://feeds.example.org/dir/f.xml", "", "http://x.example"]


def test_every_pair_of_pieces_is_written_as_feedparser_writes_it_or_declined() -> None:
    written = declined = 0
    for base, (a, b) in itertools.product(BASES, itertools.product(PIECES, repeat=2)):
        html = a + b
        mine = resolve(html, base, "text/html")
        if mine is None:
            declined += 1
            continue
        assert mine == resolve_relative_uris(html, base, "utf-8", "text/html"), (html, base)
        written += 1
    # Most pairs are ordinary markup, which must not be left to feedparser.
    assert written > 2 * declined


@pytest.mark.parametrize(
    "html",
    ["<!-- c -->", "<video controls>", "<a href=x>", "a < b", "AT&T", '<a href="a&b">'],
)
def test_markup_it_cannot_be_sure_of_is_declined(html: str) -> None:
    assert resolve(html, BASES[0], "text/html") is None


def test_xhtml_is_left_to_feedparser() -> None:
    assert resolve("<p>x</p>", BASES[0], "application/xhtml+xml") is None


def test_a_relative_link_is_resolved_and_tags_are_rewritten() -> None:
    html = '<P><A target="_blank" HREF="/story?id=1&amp;p=2">Read</A><BR></P>'
    assert resolve(html, BASES[0], "text/html") == (
        '<p><a href="https://feeds.example.org/story?id=1&amp;p=2" target="_blank">'
        "Read</a><br /></p>"
    )
