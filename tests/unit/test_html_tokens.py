"""`html_tokens.ordinary_tokens` gives html.parser's events, or declines: every pair of a
set of everyday and awkward pieces, and the golden live pages read both ways."""

from __future__ import annotations

import itertools
import random
from html.parser import HTMLParser
from pathlib import Path

import pytest

from aggregator.parse import html as html_module
from aggregator.parse.html import html_to_blocks, read_whole
from aggregator.parse.html_tokens import Token, ordinary_tokens

PIECES = [
    "Flood defences held. ",
    "a > b",
    "\n  ",
    "&amp; &copy; &bogus; &#39; &#8217; &#X263A; &nbsp",
    "&#" + "9" * 5000 + ";",
    "&",
    "<p>",
    "</p>",
    "<P CLASS='lead'>",
    "</P >",
    "<br>",
    "<br/>",
    "<BR />",
    "<p/>",
    '<h2 class="x">',
    "</h2>",
    "<h2 class=x/>",
    "<figcaption>",
    "</figcaption>",
    '<img src="a.png" alt="x"/>',
    '<a href="rel/x?a=1&amp;b=2" target="_blank">',
    "<a href=plain>",
    "<a href=http://x/y>",
    "<input disabled>",
    "</a>",
    '<p\n class="a"\n>',
    "<nav>",
    "</nav>",
    "<body>",
    # html.parser reads these by other rules: they must be declined.
    "<!-- a <p> comment -->",
    "<!DOCTYPE html>",
    "<![CDATA[x<p>]]>",
    "<?xml version='1.0'?>",
    "<script>if (a<b) {}</script>",
    "<style>p>a{}</style>",
    "<textarea><p></textarea>",
    "<title>t</title>",
    "< p>",
    "a < b",
    "</>",
    "</p foo>",
    "<my-tag>",
    "<a b='x'c='y'>",
    '<a title="x>y">',
    '<a href="x"',
]
ORDINARY = PIECES[: PIECES.index("<nav>") + 3]


class _Events(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[Token] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.events.append(("start", tag))

    def handle_endtag(self, tag: str) -> None:
        self.events.append(("end", tag))

    def handle_data(self, data: str) -> None:
        self.events.append(("text", data))


def _merged(tokens: list[Token]) -> list[Token]:
    merged: list[Token] = []
    for kind, value in tokens:
        if kind == "text" and merged and merged[-1][0] == "text":
            merged[-1] = ("text", merged[-1][1] + value)
        elif kind != "text" or value:
            merged.append((kind, value))
    return merged


def _html_parser_events(markup: str) -> list[Token]:
    parser = _Events()
    read_whole(parser, markup)
    return _merged(parser.events)


@pytest.mark.parametrize("first", PIECES)
def test_every_pair_reads_as_html_parser_reads_it(first: str) -> None:
    for second in PIECES:
        markup = f"x{first}{second}y"
        tokens = ordinary_tokens(markup)
        if tokens is not None:
            assert _merged(tokens) == _html_parser_events(markup), markup
        elif first in ORDINARY and second in ORDINARY:
            pytest.fail(f"ordinary markup declined: {markup!r}")


def test_the_ordinary_pieces_together() -> None:
    for pieces in itertools.permutations(ORDINARY[6:14], 4):
        markup = "t".join(pieces)
        tokens = ordinary_tokens(markup)
        assert tokens is not None
        assert _merged(tokens) == _html_parser_events(markup)


def test_random_mixes_read_as_html_parser_reads_them() -> None:
    mixes = random.Random(20261207)
    accepted = 0
    for _ in range(3000):
        weights = [8 if p in ORDINARY else 1 for p in PIECES]
        markup = "".join(mixes.choices(PIECES, weights, k=6))
        tokens = ordinary_tokens(markup)
        if tokens is not None:
            accepted += 1
            assert _merged(tokens) == _html_parser_events(markup), markup
    assert accepted > 1000


def test_a_declined_piece_anywhere_declines_the_whole() -> None:
    assert ordinary_tokens("<p>fine</p>" * 50 + "<!-- no -->") is None
    assert ordinary_tokens("<p>fine</p>" * 50) is not None


LIVE_PAGES = sorted((Path(__file__).parents[1] / "data" / "liveblogs").glob("*.html"))


@pytest.mark.parametrize("page", LIVE_PAGES, ids=lambda p: p.name)
def test_pages_give_the_same_blocks_either_way(page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    markup = page.read_text(encoding="utf-8")
    fragments = [markup, *markup.split("<article")]  # whole pages decline; posts may not
    fast = [html_to_blocks(f) for f in fragments]
    monkeypatch.setattr(html_module, "ordinary_tokens", lambda _: None)
    assert fast == [html_to_blocks(f) for f in fragments]


def test_some_post_fragments_of_the_pages_are_ordinary() -> None:
    fragments = [f for p in LIVE_PAGES for f in p.read_text(encoding="utf-8").split("<article")]
    assert sum(ordinary_tokens(f) is not None for f in fragments) >= 10
