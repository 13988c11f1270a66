"""parse_feed refuses what is not a safe, well-formed feed, naming the problem."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from aggregator.core.errors import ParseError
from aggregator.core.types import Document, ParseContext
from aggregator.parse.feeds.feed import parse_feed

TZ = ParseContext(ZoneInfo("Europe/London"))
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<rss version="2.0"><channel><title>&lol3;</title>
<item><title>&lol3;</title><guid>x</guid></item></channel></rss>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<feed xmlns="http://www.w3.org/2005/Atom"><title>&secret;</title></feed>
"""
MALFORMED = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Broken</title><description>oops</descr
"""
TRUNCATED = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Cut</title>
<item><title>Whole</title><description>Complete entry.</description></item>
<item><title>Half</title><description>This sentence stops in the mid"""
SLOPPY = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Fish & chips</title>
<item><title>Cod&nbsp;prices & supply</title><description>Up again.</description></item>
</channel></rss>
"""
HTML_PAGE = b"""<!DOCTYPE html>
<html><head><title>Not a feed</title></head>
<body><h1>Welcome</h1><p>This is an ordinary web page with a news feed.</p></body></html>
"""
EMPTY_FEED = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Quiet</title><link>https://x.example/</link>
<description>Nothing yet</description></channel></rss>
"""
NETSCAPE_DOCTYPE = b"""<?xml version="1.0"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
 "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><title>Old</title><link>https://old.example/</link>
<description>d</description><language>en</language>
<item><title>Still here</title><link>https://old.example/1</link></item></channel></rss>
"""


def feed_doc(body: bytes, content_type: str | None = "application/rss+xml") -> Document:
    return Document("https://feeds.example.org/news.xml", body, content_type, NOW)


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["laughs", "external"])
def test_entity_declarations_are_refused(body: bytes) -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(feed_doc(body), TZ)
    assert caught.value.reason == "XML entity declarations are not allowed"
    assert caught.value.source == ""


def test_entity_declaration_in_utf16_is_refused() -> None:
    body = b"\xff\xfe" + BILLION_LAUGHS.decode().replace(
        '"1.0"?', '"1.0" encoding="utf-16"?'
    ).encode("utf-16-le")
    with pytest.raises(ParseError, match="entity declarations"):
        parse_feed(feed_doc(body), TZ)


def test_malformed_xml_is_a_parse_error_keeping_the_cause() -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(feed_doc(MALFORMED), TZ)
    assert caught.value.reason.startswith("malformed feed: ")
    assert caught.value.__cause__ is not None


def test_a_truncated_feed_is_refused_even_with_entries() -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(feed_doc(TRUNCATED), TZ)
    assert caught.value.reason.startswith("malformed feed, ends early: ")
    assert caught.value.__cause__ is not None


def test_recoverable_slips_are_left_to_the_lenient_parser() -> None:
    [post] = parse_feed(feed_doc(SLOPPY), TZ)
    assert (post.title, post.text) == ("Cod prices & supply", "Up again.")


def test_an_html_page_is_not_a_feed() -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(feed_doc(HTML_PAGE, "text/html; charset=utf-8"), TZ)
    assert "feed" in caught.value.reason
    assert "Welcome" not in caught.value.reason


def test_an_html_page_without_content_type_is_not_a_feed() -> None:
    with pytest.raises(ParseError):
        parse_feed(feed_doc(HTML_PAGE, None), TZ)


def test_a_body_that_names_a_file_is_not_opened() -> None:
    with pytest.raises(ParseError):
        parse_feed(feed_doc(b"/etc/hostname"), TZ)


def test_a_valid_feed_without_items_gives_no_posts() -> None:
    assert parse_feed(feed_doc(EMPTY_FEED), TZ) == []


def test_a_public_doctype_without_entities_is_accepted() -> None:
    posts = parse_feed(feed_doc(NETSCAPE_DOCTYPE), TZ)
    assert [(p.title, p.url, p.guid, p.published) for p in posts] == [
        ("Still here", "https://old.example/1", "https://old.example/1", None)
    ]


def test_an_html_page_error_names_the_problem_and_keeps_the_cause() -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(feed_doc(HTML_PAGE, "text/html"), TZ)
    assert caught.value.reason.startswith("not an RSS or Atom feed")
    assert caught.value.__cause__ is not None


def test_a_page_feedparser_could_not_call_a_feed_is_refused_without_reading_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("feedparser was asked")

    monkeypatch.setattr("aggregator.parse.feeds.feed.feedparser.parse", never)
    page = b"<html><body>" + b"<a b=1 " * 1000
    with pytest.raises(ParseError) as caught:
        parse_feed(feed_doc(page, "text/html"), TZ)
    assert caught.value.reason == "not an RSS or Atom feed: no rss, feed or RDF element"
