"""sanitize_html, html_to_text and paragraphs_to_html."""

from __future__ import annotations

import pytest

from aggregator.parse.html import html_to_text, paragraphs_to_html, sanitize_html


def test_javascript_urls_are_dropped() -> None:
    html = '<a href="javascript:alert(1)">x</a><a href="JaVaScRiPt:alert(2)">y</a>'
    assert sanitize_html(html) == '<a rel="noopener nofollow">x</a><a rel="noopener nofollow">y</a>'


def test_relative_links_and_images_resolve_against_the_base() -> None:
    html = '<p><a href="../story?id=2">story</a> <img src="/i/a.png" alt="A"></p>'
    assert sanitize_html(html, base_url="https://news.example.org/live/page") == (
        '<p><a href="https://news.example.org/story?id=2" rel="noopener nofollow">story</a> '
        '<img src="https://news.example.org/i/a.png" alt="A"></p>'
    )


def test_relative_links_pass_through_without_an_http_base() -> None:
    html = '<a href="other.html">o</a>'
    expected = '<a href="other.html" rel="noopener nofollow">o</a>'
    assert sanitize_html(html) == expected
    assert sanitize_html(html, base_url="/srv/pages/live.html") == expected


def test_scripts_styles_frames_and_handlers_are_removed() -> None:
    html = (
        '<p onclick="steal()" style="x" class="c" id="i">Hi <span>there</span></p>'
        "<script>bad()</script><style>p{}</style><iframe src='https://x'>frame</iframe>"
        '<img src="data:image/png;base64,AAAA" onerror="bad()"><h1>Top</h1><h2>Sub</h2>'
    )
    assert sanitize_html(html) == "<p>Hi there</p><img>Top<h2>Sub</h2>"


def test_existing_rel_is_replaced_by_ours() -> None:
    html = '<a href="https://x.example/" rel="opener" target="_blank">x</a>'
    assert sanitize_html(html) == '<a href="https://x.example/" rel="noopener nofollow">x</a>'


def test_html_to_text_separates_blocks_and_decodes_entities() -> None:
    html = (
        "<h2>Head&nbsp;line</h2><p>One &amp; <b>two</b>\n   three.</p>"
        "<ul><li>Four</li><li>Five &lt;5&gt;</li></ul><p>Six<br>Seven</p>"
        "<figure><img src='a.png'><figcaption>Caption. Credit: PA</figcaption></figure>"
        "<script>var hidden = 1;</script>"
    )
    assert html_to_text(html) == (
        "Head line\n\nOne & two three.\n\nFour\n\nFive <5>\n\nSix\n\nSeven"
    )


def test_html_to_text_of_nothing_is_empty() -> None:
    assert html_to_text("") == ""
    assert html_to_text("<p> </p><div>\n</div>") == ""


def test_paragraphs_to_html_escapes_and_marks_roles() -> None:
    html = paragraphs_to_html(
        ["Intro <b>not bold</b> & more", "Subhead", "Photo. Credit: PA", "\u2013 A Person"],
        headings={1},
        captions={2},
        attributions={3},
    )
    assert html == (
        "<p>Intro &lt;b&gt;not bold&lt;/b&gt; &amp; more</p>\n<h3>Subhead</h3>\n"
        "<figure><figcaption>Photo. Credit: PA</figcaption></figure>\n"
        "<p><cite>\u2013 A Person</cite></p>"
    )


@pytest.mark.parametrize(
    "paragraphs",
    [
        ["He said \"yes\" & she said 'no'", "<script>alert(1)</script>", "a\u00a0b > c"],
        ["javascript:alert(1)", "<a href='x'>link</a>"],
    ],
)
def test_paragraphs_to_html_survives_sanitising_unchanged(paragraphs: list[str]) -> None:
    html = paragraphs_to_html(paragraphs, headings={0})
    assert sanitize_html(html) == html
    assert html_to_text(html) == "\n\n".join(" ".join(p.split()) for p in paragraphs)
