"""split_liveblog and parse_article beyond the golden files: edits, edge cases, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from aggregator.core.errors import ParseError
from aggregator.core.types import Document, ParseContext
from aggregator.parse.article import parse_article
from aggregator.parse.live.liveblog import split_liveblog
from tests.support.paths import ARTICLE_SEED, LIVEBLOG_SEED

TZ = ParseContext(ZoneInfo("Europe/London"))
NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
SEED_TITLES_HEAD = "'What happened in Rotherham could happen anywhere'"


def text_doc(text: str, **changes: object) -> Document:
    fields: dict[str, object] = {
        "location": "/data/live.txt",
        "body": text.encode("utf-8"),
        "content_type": "text/plain",
        "fetched_at": NOW,
    }
    fields.update(changes)
    return Document(**fields)  # type: ignore[arg-type]


def test_a_new_post_at_the_top_of_the_seed_becomes_post_zero() -> None:
    seed = LIVEBLOG_SEED.read_text("utf-8")
    new = (
        "Council leader apologises to victims\n\nThe leader of Rotherham Council has "
        "apologised in person to victims and their families.\n\n"
    )
    edited = seed.replace("Live updates\n\n", "Live updates\n\n" + new, 1)
    posts = split_liveblog(text_doc(edited), TZ)
    assert [p.title for p in posts[:2]] == [
        "Council leader apologises to victims",
        SEED_TITLES_HEAD,
    ]
    assert len(posts) == 8
    assert posts[0].text == (
        "The leader of Rotherham Council has apologised in person to victims and their families."
    )


def test_windows_line_endings_and_cp1252_bytes_give_the_same_posts() -> None:
    seed = LIVEBLOG_SEED.read_text("utf-8")
    expected = split_liveblog(text_doc(seed), TZ)
    crlf = seed.replace("\n", "\r\n").encode("cp1252")
    posts = split_liveblog(text_doc(seed, body=crlf, content_type=None), TZ)
    assert [(p.title, p.text) for p in posts] == [(p.title, p.text) for p in expected]


def test_an_untitled_post_takes_its_first_sentence_as_title() -> None:
    text = (
        "Live updates\n\nThe inquiry has adjourned for lunch. It resumes at 2pm.\n\n"
        "Judge criticises police handling of evidence\n\nThe judge said officers had been "
        "slow to hand over files.\n"
    )
    posts = split_liveblog(text_doc(text), TZ)
    assert [p.title for p in posts] == [
        "The inquiry has adjourned for lunch.",
        "Judge criticises police handling of evidence",
    ]
    assert posts[0].text == "The inquiry has adjourned for lunch. It resumes at 2pm."


def test_a_short_closing_line_stays_with_its_post() -> None:
    text = (
        "Road reopens after crash\n\nThe A30 has reopened in both directions.\n\nMore to follow\n"
    )
    posts = split_liveblog(text_doc(text), TZ)
    assert [p.title for p in posts] == ["Road reopens after crash"]
    assert posts[0].text.endswith("both directions.\n\nMore to follow")


def test_times_read_against_modified_at_before_fetched_at() -> None:
    text = "23:50\n\nLate sitting ends\n\nMPs voted 310 to 250.\n"
    modified = datetime(2024, 2, 29, 23, 55, tzinfo=UTC)
    posts = split_liveblog(text_doc(text, modified_at=modified), TZ)
    assert posts[0].published == datetime(2024, 2, 29, 23, 50, tzinfo=UTC)
    assert posts[0].time_source == "page"
    assert posts[0].title == "Late sitting ends"


def test_a_time_inside_the_text_is_not_a_post_time() -> None:
    text = "Trains resume\n\nThe first train left at 14:05 and was on time.\n"
    posts = split_liveblog(text_doc(text), TZ)
    assert (posts[0].published, posts[0].time_source) == (None, None)


def test_html_without_repeated_headings_uses_the_text_rules() -> None:
    html = (
        "<html><body><p>Live updates</p><p>Ferry cancelled due to high winds</p>"
        "<p>All sailings from Penzance are off today.</p>"
        "<p>Harbour master warns walkers</p><p>Stay off the harbour wall, he said.</p>"
        "</body></html>"
    )
    doc = text_doc("", body=html.encode(), content_type="text/html")
    posts = split_liveblog(doc, TZ)
    assert [p.title for p in posts] == [
        "Ferry cancelled due to high winds",
        "Harbour master warns walkers",
    ]
    assert {p.method for p in posts} == {"html-text"}


@pytest.mark.parametrize("text", ["", "Live updates\n\nLoad more updates\n", "\n\n  \n"])
def test_a_page_without_posts_is_a_parse_error(text: str) -> None:
    with pytest.raises(ParseError, match="no posts"):
        split_liveblog(text_doc(text), TZ)


def test_the_article_seed_as_a_live_page_is_not_seven_posts() -> None:
    # One subheading in an article makes at most two pieces, never one per paragraph.
    posts = split_liveblog(text_doc(ARTICLE_SEED.read_text("utf-8")), TZ)
    assert len(posts) <= 2


def test_markdown_article_keeps_subheadings_and_drops_the_image_caption_from_text() -> None:
    text = (
        "# Pier to reopen in spring\n\nThe pier closed after storm damage in 2023.\n\n"
        "![The pier in 2023. Credit: PA](pier.jpg)\n\n## What changes\n\nA new deck is fitted.\n"
    )
    doc = text_doc(text, location="/data/pier.md", content_type=None)
    [post] = parse_article(doc, TZ)
    assert post.title == "Pier to reopen in spring"
    assert post.text == (
        "The pier closed after storm damage in 2023.\n\nWhat changes\n\nA new deck is fitted."
    )
    assert "<h3>What changes</h3>" in post.html
    assert "<figcaption>The pier in 2023. Credit: PA</figcaption>" in post.html
    assert (post.method, post.position, post.published) == ("article", 0, None)


@pytest.mark.parametrize("text", ["", "More on this story\n\nRelated Internet links\n"])
def test_an_empty_article_is_a_parse_error(text: str) -> None:
    with pytest.raises(ParseError, match="no text"):
        parse_article(text_doc(text), TZ)


def test_a_single_markdown_heading_is_a_title_whatever_its_punctuation() -> None:
    text = "## What happens next?\n\nThe council meets on Monday to decide.\n"
    doc = text_doc(text, location="/data/live.md", content_type="text/markdown")
    [post] = split_liveblog(doc, TZ)
    assert (post.title, post.text, post.method) == (
        "What happens next?",
        "The council meets on Monday to decide.",
        "markdown",
    )


def test_markdown_time_headings_are_read_by_the_stamp_rules() -> None:
    markdown = (
        "## Tuesday 26 August 2014\n\n### 10:52am BST\n\n### Bridge reopens to traffic\n\n"
        "Engineers finished their checks and lifted the barriers.\n\n"
        "### Updated 10:30\n\n### Buses diverted\n\nServices run via the ring road.\n\n"
        "## Monday 25 August 2014\n\n### 9:02am\n\n### Bridge shut for checks\n\n"
        "A crack was found in one of the supports.\n"
    )
    doc = Document(
        location="file:///saved.md",
        body=markdown.encode(),
        content_type="text/markdown",
        fetched_at=datetime(2014, 8, 26, 10, 25, tzinfo=UTC),
    )
    context = ParseContext(ZoneInfo("Europe/London"), {"BST": "Europe/London"})
    posts = split_liveblog(doc, context)
    assert [p.title for p in posts] == [
        "Bridge reopens to traffic",
        "Buses diverted",
        "Bridge shut for checks",
    ]
    assert [p.published for p in posts] == [
        datetime(2014, 8, 26, 9, 52, tzinfo=UTC),
        None,
        datetime(2014, 8, 25, 8, 2, tzinfo=UTC),
    ]
    assert posts[1].updated == datetime(2014, 8, 26, 9, 30, tzinfo=UTC)
