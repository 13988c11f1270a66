"""A feed with a DTD subset of its own is refused before either reader sees it, however
the subset is hidden from a scanner: a "]" in a comment, a quoted ">", UTF-16 without a
byte order mark. A DOCTYPE naming an external DTD alone is still read."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from aggregator.core.errors import ParseError
from aggregator.core.types import Document, ParseContext
from aggregator.parse.feeds.doctype import has_internal_subset
from aggregator.parse.feeds.feed import parse_feed

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
CONTEXT = ParseContext(ZoneInfo("UTC"))
LAUGHS = '<!ENTITY a "council"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
ITEM = "<item><guid>1</guid><title>&b;</title><description>Minutes.</description></item>"


def feed(doctype: str, *, declaration: str = '<?xml version="1.0"?>') -> str:
    return (
        f'{declaration}\n{doctype}\n<rss version="2.0"><channel><title>Inquiry</title>'
        f"<link>https://news.example/</link><description>d</description>{ITEM}"
        "</channel></rss>"
    )


HIDDEN = {
    # A scanner that closes the subset at the first "]" stops inside the comment.
    "bracket-in-comment": feed(f"<!DOCTYPE rss [<!-- ] -->{LAUGHS}]>"),
    "bracket-in-literal": feed(f'<!DOCTYPE rss [<!ENTITY c "]">{LAUGHS}]>'),
    # No entity at all: the subset alone is refused, as defusedxml's forbid_dtd does.
    "attlist-only": feed('<!DOCTYPE rss [<!ATTLIST rss version CDATA "2.0">]>'),
    "quoted-gt-before-subset": feed(f'<!DOCTYPE rss SYSTEM "a>b.dtd" [{LAUGHS}]>'),
}


def doc(body: bytes) -> Document:
    return Document("https://news.example/feed.xml", body, "application/rss+xml", NOW)


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "feedparser"])
@pytest.mark.parametrize("name", sorted(HIDDEN))
def test_a_hidden_dtd_subset_is_refused(name: str, fast: bool) -> None:
    with pytest.raises(ParseError, match="entity declarations are not allowed"):
        parse_feed(doc(HIDDEN[name].encode("utf-8")), CONTEXT, fast=fast)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "feedparser"])
def test_a_dtd_subset_in_utf16_without_a_bom_is_refused(encoding: str, fast: bool) -> None:
    body = feed(
        f"<!DOCTYPE rss [{LAUGHS}]>", declaration='<?xml version="1.0" encoding="utf-16"?>'
    ).encode(encoding)
    with pytest.raises(ParseError, match="entity declarations are not allowed"):
        parse_feed(doc(body), CONTEXT, fast=fast)


def test_an_external_dtd_alone_is_read() -> None:
    doctype = '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "x.dtd">'
    body = feed(doctype).replace("&b;", "Minutes published").encode("utf-8")
    [post] = parse_feed(doc(body), CONTEXT)
    assert post.title == "Minutes published"


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("<rss/>", False),
        ('<!DOCTYPE rss SYSTEM "x.dtd"><rss/>', False),
        ("<!DOCTYPE rss [<!ATTLIST rss a CDATA 'b'>]><rss/>", True),
        # Text no XML parser accepts still shows a subset to the text reading.
        ("<!doctype rss [ <rss", True),
        ('<!DOCTYPE rss SYSTEM "a>"><rss><!ENTITY x "y"></rss>', True),
    ],
)
def test_has_internal_subset(text: str, found: bool) -> None:
    assert has_internal_subset(text.encode("utf-8"), text) is found
