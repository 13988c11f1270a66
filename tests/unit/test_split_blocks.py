"""Rendered post blocks and their times, one rule each (the golden `rb_*` pages cover
whole pages): mislabelled UTC stamps, durations, two stamps in one slot, rule-separated
runs without times, one-line and link-list entries, photo credits."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from aggregator.core.types import Document, ParseContext, Post
from aggregator.parse.html import html_to_text
from aggregator.parse.live.found import Stamp
from aggregator.parse.live.liveblog import split_liveblog
from aggregator.parse.live.stamps import TimeReader
from aggregator.parse.times import clock_of

BERLIN = ZoneInfo("Europe/Berlin")
FETCHED = datetime(2024, 5, 20, 15, 0, tzinfo=UTC)  # 17:00 CEST
BODY = "The committee heard from the treasurer about the missing tender documents today."


def reader(zone: ZoneInfo = BERLIN) -> TimeReader:
    return TimeReader(ParseContext(zone, {}), FETCHED, ("en",))


def split(html: str, zone: ZoneInfo = BERLIN) -> list[Post]:
    doc = Document(
        location="page.html", body=html.encode(), content_type="text/html", fetched_at=FETCHED
    )
    return split_liveblog(doc, ParseContext(zone, {}))


def page(entries: str) -> str:
    return f"<html><body><main><div class='stream'>{entries}</div></main></body></html>"


def test_a_utc_stamp_showing_the_local_clock_is_local() -> None:
    mislabelled = Stamp(machine="2024-05-20T16:48:00Z", human="16:48")
    assert reader().read(mislabelled, FETCHED).moment == datetime(2024, 5, 20, 14, 48, tzinfo=UTC)
    named = Stamp(machine="2024-05-20T16:48:00Z", human="16:48 UTC")
    assert reader().read(named, FETCHED).moment == datetime(2024, 5, 20, 16, 48, tzinfo=UTC)
    other_clock = Stamp(machine="2024-05-20T14:48:00Z", human="16:48")
    assert reader().read(other_clock, FETCHED).moment == datetime(2024, 5, 20, 14, 48, tzinfo=UTC)
    in_utc_zone = Stamp(machine="2024-05-20T16:48:00Z", human="16:48")
    assert reader(ZoneInfo("UTC")).read(in_utc_zone, FETCHED).moment == datetime(
        2024, 5, 20, 16, 48, tzinfo=UTC
    )


def test_a_duration_is_no_time() -> None:
    for text in ("65.06 sek.", "5 min", "42"):
        assert reader().read_human(text, FETCHED).moment is None, text


def test_a_relative_day_and_a_clock_in_one_slot() -> None:
    assert reader().read_human("2d ago / 7:58 AM UTC", FETCHED).moment == datetime(
        2024, 5, 18, 7, 58, tzinfo=UTC
    )


def test_an_hour_with_its_meridiem_is_a_clock() -> None:
    assert clock_of("10 p.m.") is not None and clock_of("10 p.m.").hour == 22  # type: ignore[union-attr]
    assert clock_of("10") is None and clock_of("13 pm") is None


def test_a_time_in_the_body_is_no_stamp() -> None:
    entry = "<div class='entry' data-time='{n}'><p>6{n}.06 sek.</p><p>{n}: {body}</p></div>"
    posts = split(page("".join(entry.format(n=n, body=BODY) for n in (1, 2))))
    assert [p.published for p in posts] == [None, None]
    assert "sek." in posts[0].text  # a result, not a stamp: it stays in the text


def test_one_line_and_link_list_entries_of_the_list_are_posts() -> None:
    entries = "".join(
        f"<div class='comment' data-time='{minute}'><span class='comment-time'>{minute}'</span>"
        f"<p>{text}</p></div>"
        for minute, text in [(90, BODY), (88, "Substitution: Berg off."), (85, BODY + " Again.")]
    )
    links = (
        "<div class='comment' data-time='80'><h3>Catch up on our coverage</h3><ul>"
        "<li><a href='/a'>The inquiry so far in twelve short questions</a></li>"
        "<li><a href='/b'>Who is who on the committee of inquiry</a></li></ul></div>"
    )
    posts = split(page(entries + links))
    assert [p.text[:12] for p in posts] == [BODY[:12], "Substitution", BODY[:12], "The inquiry "]
    assert posts[3].title == "Catch up on our coverage"
    assert all(p.published is None for p in posts)  # match minutes are no clock times


def test_rule_separated_runs_without_times() -> None:
    run = "<p>RIVERTON — {n} The panel heard that the tender was never advertised in public.</p>"
    html = (
        "<html><body><div class='story'><div class='text'>"
        + run.format(n="First.")
        + "<p>___</p><p>WHAT YOU NEED TO KNOW:</p><p><a href='/x'>Bridge closed again</a></p>"
        "<p><a href='/y'>Who pays for the repair</a></p>"
        + "<p>___</p><p>Follow our coverage at https://example.org/inquiry</p><p>___</p>"
        + run.format(n="Second.")
        + "<p>___</p>"
        + run.format(n="Third.")
        + "</div></div></body></html>"
    )
    posts = split(html)
    assert [p.text.split(" The")[0] for p in posts] == [
        "RIVERTON — First.",
        "RIVERTON — Second.",
        "RIVERTON — Third.",
    ]
    assert all(p.method == "html-sections" and p.published is None for p in posts)


def test_photo_credits_are_captions_not_text() -> None:
    html = (
        "<p>The council met.</p><p>(Image: Getty)</p><p>Councillors. Photograph: Jo Bloggs/Wire</p>"
    )
    assert html_to_text(html) == "The council met."


def test_the_first_save_of_a_wire_page_has_one_post_and_no_rule_yet() -> None:
    html = (
        "<html><body><nav><p>BREAKING NEWS</p><p>Unrelated headline one</p></nav>"
        "<article><div class='body'>"
        "<p>TOWN (Wire) - The Latest on the council inquiry (all times local):</p>"
        f"<p>4:14 p.m.</p><p>{BODY}</p><p>{BODY.replace('treasurer', 'clerk')}</p>"
        "</div></article><aside><h3>Most Popular</h3><ol><li>Another story</li></ol></aside>"
        "</body></html>"
    )
    posts = split(html, ZoneInfo("America/Los_Angeles"))
    assert len(posts) == 1 and posts[0].method == "html-sections"
    assert posts[0].published == datetime(2024, 5, 19, 23, 14, tzinfo=UTC)  # 4:14 p.m. PDT
    assert "The Latest" not in posts[0].text and "treasurer" in posts[0].text


def test_a_box_carrying_the_time_around_the_body_is_the_post_not_its_stamp() -> None:
    rows = "".join(
        f"<div class='row'><div class='entry' data-post-time='{ms}'><span class='time'>{clock}"
        f"</span><h3>{title}</h3><p>{BODY}</p></div></div>"
        for ms, clock, title in [
            (1716215400000, "16:30", "Treasurer recalled"),
            (1716213600000, "16:00", "Hearing resumes"),
        ]
    )
    posts = split(page(rows))
    assert [(p.title, p.text) for p in posts] == [
        ("Treasurer recalled", BODY),
        ("Hearing resumes", BODY),
    ]
    assert [p.published for p in posts] == [
        datetime(2024, 5, 20, 14, 30, tzinfo=UTC),
        datetime(2024, 5, 20, 14, 0, tzinfo=UTC),
    ]
