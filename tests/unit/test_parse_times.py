"""parse_clock_time: a bare clock time on the reference's local date, or the day before."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from aggregator.parse.times import parse_clock_time, split_leading_clock

LONDON = ZoneInfo("Europe/London")
# 16:00 BST on 20 May 2024
REFERENCE = datetime(2024, 5, 20, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("15:42", datetime(2024, 5, 20, 14, 42, tzinfo=UTC)),
        ("  09:05 ", datetime(2024, 5, 20, 8, 5, tzinfo=UTC)),
        ("3.42pm", datetime(2024, 5, 20, 14, 42, tzinfo=UTC)),
        ("10:52am", datetime(2024, 5, 20, 9, 52, tzinfo=UTC)),
        ("10:52 AM", datetime(2024, 5, 20, 9, 52, tzinfo=UTC)),
        ("12.05am", datetime(2024, 5, 19, 23, 5, tzinfo=UTC)),
        ("12:30pm", datetime(2024, 5, 20, 11, 30, tzinfo=UTC)),
        ("3:15 p.m.", datetime(2024, 5, 20, 14, 15, tzinfo=UTC)),
        ("16:00", datetime(2024, 5, 20, 15, 0, tzinfo=UTC)),
        # later than the reference: yesterday's
        ("16:30", datetime(2024, 5, 19, 15, 30, tzinfo=UTC)),
        ("11.58pm", datetime(2024, 5, 19, 22, 58, tzinfo=UTC)),
    ],
)
def test_clock_times(line: str, expected: datetime) -> None:
    found = parse_clock_time(line, LONDON, REFERENCE)
    assert found == expected
    assert found is not None and found.tzinfo is UTC and found.second == 0


def test_a_few_minutes_of_clock_skew_keep_the_same_day() -> None:
    assert parse_clock_time("16:04", LONDON, REFERENCE) == datetime(2024, 5, 20, 15, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    "line", ["25:00", "12:60", "13pm", "13.30pm", "0:30am", "Updated 15:42", "15:42 BST", "3.5", ""]
)
def test_anything_but_a_bare_time_is_none(line: str) -> None:
    assert parse_clock_time(line, LONDON, REFERENCE) is None


def test_the_reference_date_is_the_local_one() -> None:
    # 23:30 UTC on 20 May is 00:30 on 21 May in London
    late = datetime(2024, 5, 20, 23, 30, tzinfo=UTC)
    assert parse_clock_time("00:10", LONDON, late) == datetime(2024, 5, 20, 23, 10, tzinfo=UTC)
    tokyo = parse_clock_time("08:00", ZoneInfo("Asia/Tokyo"), late)
    assert tokyo == datetime(2024, 5, 20, 23, 0, tzinfo=UTC)


def test_stepping_back_across_a_clock_change_keeps_the_wall_time() -> None:
    # 01:30 GMT on Sunday 27 Oct 2024 (BST ended at 02:00 BST that night)
    reference = datetime(2024, 10, 27, 1, 30, tzinfo=UTC)
    assert parse_clock_time("23:45", LONDON, reference) == datetime(
        2024, 10, 26, 22, 45, tzinfo=UTC
    )


def test_a_naive_reference_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_clock_time("15:42", LONDON, datetime(2024, 5, 20, 15, 0))


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("14:05 Trains cancelled", ("14:05", "Trains cancelled")),
        ("14:05 - Trains cancelled", ("14:05", "Trains cancelled")),
        ("3.42pm \u2013 Police arrive", ("3.42pm", "Police arrive")),
        ("14:05", None),
        ("Trains at 14:05", None),
        ("3.5 million people", None),
        ("12.31 Uhr: Minister resigns", ("12.31 Uhr", "Minister resigns")),
        ("12:31: Ferries return", ("12:31", "Ferries return")),
        ("14h05 : le maire répond", ("14h05", "le maire répond")),
        ("12:31:45 Ferries return", None),
        ("12.50 was the fare", None),
        ("1.30 hours later", None),
    ],
)
def test_split_leading_clock(line: str, expected: tuple[str, str] | None) -> None:
    assert split_leading_clock(line) == expected
