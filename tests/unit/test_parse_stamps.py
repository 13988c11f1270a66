"""Time stamps and structured data beyond the golden pages: the edge rules, one each."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from aggregator.core.types import ParseContext
from aggregator.parse.live.found import Stamp
from aggregator.parse.live.stamps import TimeReader, read_machine, walk_times
from aggregator.parse.live.structured import read_jsonld

LONDON = ZoneInfo("Europe/London")
FETCHED = datetime(2024, 7, 4, 11, 30, tzinfo=UTC)  # 12:30 BST


def reader(abbreviations: dict[str, str] | None = None) -> TimeReader:
    return TimeReader(ParseContext(LONDON, abbreviations or {}), FETCHED, ("en",))


def test_machine_values() -> None:
    assert read_machine("1720092600", LONDON).moment == datetime(2024, 7, 4, 11, 30, tzinfo=UTC)
    assert read_machine("1720092600000", LONDON).moment == datetime(2024, 7, 4, 11, 30, tzinfo=UTC)
    assert read_machine("2024-07-04T12:30:00", LONDON).moment == FETCHED  # offset-less: local
    assert read_machine("2024-07-04T11:30:00Z", LONDON).moment == FETCHED
    day_only = read_machine("2024-07-04", LONDON)
    assert (day_only.moment, day_only.day) == (None, datetime(2024, 7, 4).date())
    assert read_machine("42", LONDON).moment is None  # an id, not a time


def test_abbreviations_are_mapped_or_not_guessed() -> None:
    mapped = reader({"IST": "+05:30"}).read_human("10:00 IST", FETCHED).moment
    assert mapped == datetime(2024, 7, 4, 4, 30, tzinfo=UTC)
    # Unmapped IST is not guessed: the source zone (BST in July) reads the wall time.
    assert reader().read_human("10:00 IST", FETCHED).moment == datetime(
        2024, 7, 4, 9, 0, tzinfo=UTC
    )
    assert reader().read_human("10:00 GMT", FETCHED).moment == datetime(
        2024, 7, 4, 10, 0, tzinfo=UTC
    )


def test_a_date_without_a_time_is_no_timestamp() -> None:
    reading = reader().read_human("Tuesday 26 August 2014", FETCHED)
    assert reading.moment is None and reading.day == datetime(2014, 8, 26).date()
    full = reader().read_human("Tuesday 26 August 2014 3.42pm", FETCHED).moment
    assert full == datetime(2014, 8, 26, 14, 42, tzinfo=UTC)


def test_relative_times_count_back_from_the_fetch() -> None:
    assert reader().read_human("5 mins ago", FETCHED).moment == datetime(
        2024, 7, 4, 11, 25, tzinfo=UTC
    )
    for text, minutes in [
        ("49m ago", 49),
        ("1h ago", 60),
        ("3 hrs ago", 180),
        ("Updated 2 hours ago", 120),
    ]:
        assert reader().read_human(text, FETCHED).moment == FETCHED - timedelta(minutes=minutes)
    two_days = reader().read_human("2d ago", FETCHED)
    assert (two_days.moment, two_days.day) == (None, datetime(2024, 7, 2).date())


def test_the_walk_steps_back_a_day_and_a_dateline_sets_the_day() -> None:
    stamps = [Stamp(human="00:10"), Stamp(human="23:50"), Stamp(machine="2024-07-01"), None]
    stamps[3] = Stamp(human="18:00")
    start = datetime(2024, 7, 4, 0, 0, tzinfo=UTC)  # 01:00 BST on 4 July
    moments = walk_times(stamps, reader(), start, [False] * 4)
    assert moments == [
        datetime(2024, 7, 3, 23, 10, tzinfo=UTC),
        datetime(2024, 7, 3, 22, 50, tzinfo=UTC),
        None,
        datetime(2024, 7, 1, 17, 0, tzinfo=UTC),
    ]


def test_jsonld_single_update_and_broken_scripts() -> None:
    good = {
        "@context": "https://schema.org",
        "@type": "http://schema.org/LiveBlogPosting",
        "liveBlogUpdate": {"@type": "BlogPosting", "headline": "Only one", "articleBody": "A."},
    }
    posts, _ = read_jsonld(["{not json", json.dumps(good), "[]", "null"])
    assert [(p.title, p.method) for p in posts] == [("Only one", "jsonld")]
