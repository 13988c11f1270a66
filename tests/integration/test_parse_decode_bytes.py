"""Bytes that are not plain UTF-8 or windows-1252 text: binary files are refused naming
the file, UTF-16 and UTF-32 without a byte order mark are read by their NUL bytes, and
a UTF-8 document with a stray byte loses that byte only, not every accent."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from aggregator.core.errors import ParseError
from aggregator.core.types import Document, ParseContext, SourceSpec, StorySpec
from aggregator.ingest.pipeline import poll
from aggregator.ingest.sources import Fetchers
from aggregator.parse.decode import decode_body
from aggregator.parse.feeds.feed import parse_feed
from aggregator.store import Store
from tests.support.builders import T0

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
STORY = StorySpec("inquiry", "Inquiry")
PAGE = (
    "Inquiry hears from the café owner\n\n"
    "The owner of the café on Mill Street told the inquiry \u2013 on its third day \u2013 that "
    "the council\u2019s letters had never reached her.\n\n"
)
CJK = "市议会今天开会。" * 40


def doc(body: bytes, content_type: str | None = None) -> Document:
    return Document("/pages/page.txt", body, content_type, NOW)


def random_bytes(size: int) -> bytes:
    return random.Random(size).randbytes(size)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_without_a_bom_are_read_by_their_nul_bytes(encoding: str) -> None:
    assert decode_body(doc(PAGE.encode(encoding))) == PAGE


def test_cyrillic_utf16_without_a_bom_is_read_too() -> None:
    text = "Совет собрался сегодня в 10 часов.\n" * 20
    assert decode_body(doc(text.encode("utf-16-le"))) == text


@pytest.mark.parametrize("size", [40, 5000, 200_000])
def test_random_bytes_are_refused_as_binary(size: int) -> None:
    with pytest.raises(ParseError, match="binary content, not text"):
        decode_body(doc(random_bytes(size)))


def test_utf16_too_far_from_ascii_to_recognise_is_refused_unless_declared() -> None:
    body = CJK.encode("utf-16-le")
    with pytest.raises(ParseError, match="byte order mark or a charset"):
        decode_body(doc(body))
    assert decode_body(doc(body, "text/plain; charset=utf-16le")) == CJK


def test_a_stray_control_byte_in_long_text_is_still_text() -> None:
    text = PAGE * 20 + "\x00" + "\x1b[1mbold\x1b[0m"
    assert decode_body(doc(text.encode("utf-8"))) == text


@pytest.mark.parametrize("content_type", [None, "text/plain; charset=utf-8"])
def test_a_stray_byte_in_utf8_is_replaced_alone(content_type: str | None) -> None:
    body = PAGE.encode("utf-8").replace(b"Mill", b"M\x92ill")
    assert decode_body(doc(body, content_type)) == PAGE.replace("Mill", "M\ufffdill")


def test_windows_1252_text_is_still_read_as_windows_1252() -> None:
    assert decode_body(doc(PAGE.encode("cp1252"))) == PAGE


FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Inquiry</title><link>https://news.example/</link>
<description>d</description>
<item><guid>1</guid><title>Café owner \u2013 day three</title>
<description>Letters never arrived, she said: \u201cnone of them\u201d. Mill Street.</description>
</item></channel></rss>"""


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "feedparser"])
def test_a_feed_with_a_stray_byte_keeps_its_accents(fast: bool) -> None:
    body = FEED.encode("utf-8").replace(b"Mill", b"M\x92ill")
    document = Document("https://news.example/feed.xml", body, "application/rss+xml", NOW)
    [post] = parse_feed(document, ParseContext(ZoneInfo("UTC")), fast=fast)
    assert post.title == "Café owner \u2013 day three"
    assert (
        post.text == "Letters never arrived, she said: \u201cnone of them\u201d. M\ufffdill Street."
    )


def test_a_folder_with_binary_and_utf16_pages_polls_cleanly(
    store: Store, fetchers: Fetchers, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_bytes(PAGE.encode("utf-8"))
    (tmp_path / "b.txt").write_bytes(random_bytes(3000))
    second = PAGE.replace("café owner", "council clerk").replace("third", "fourth")
    (tmp_path / "c.txt").write_bytes(second.encode("utf-16-le"))
    source = SourceSpec(
        name="desk",
        story="inquiry",
        kind="article",
        url=None,
        path=str(tmp_path / "*.txt"),
        interval=60,
        timezone="Europe/London",
    )
    store.sync_sources([source])
    report = poll(source, STORY, store=store, fetchers=fetchers, now=T0)
    assert report.new == 2
    assert report.error is not None
    assert f"{tmp_path / 'b.txt'}: binary content, not text" in report.error
    titles = sorted(e.title for e in store.story_view(STORY).entries)
    assert titles == ["Inquiry hears from the café owner", "Inquiry hears from the council clerk"]
