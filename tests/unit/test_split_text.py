"""Plain-text and Markdown live pages: how the time a file was saved and the page's own
date line set the day of bare clocks, and the line shapes the golden `tx_*` pages do
not pin down one by one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from aggregator.core.types import Document, ParseContext, Post
from aggregator.parse.live.liveblog import split_liveblog
from aggregator.parse.text import read_markdown_blocks, read_text_blocks
from aggregator.parse.times import date_of_line, is_relative_time

LONDON = ParseContext(ZoneInfo("Europe/London"))
# Fetched long after the page was saved: nothing below may fall on this day.
FETCHED = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
POSTS = (
    "Live updates\n\n"
    "15:42\n\nInquiry adjourns for the day\n\nThe panel will sit again tomorrow.\n\n"
    "09:10\n\nFirst witness called\n\nThe former finance director took the stand.\n\n"
    "23:50\n\nLate statement from the council\n\nThe council said it would cooperate fully.\n"
)


def split(text: str, modified: datetime | None = None) -> list[Post]:
    doc = Document(
        location="/data/inquiry.txt",
        body=text.encode("utf-8"),
        content_type="text/plain",
        fetched_at=FETCHED,
        modified_at=modified,
    )
    return split_liveblog(doc, LONDON)


def at(day: int, hour: int, minute: int) -> datetime:
    return datetime(2024, 3, day, hour, minute, tzinfo=UTC)


def test_a_file_saved_minutes_after_its_newest_post_dates_the_clocks_walking_back() -> None:
    posts = split(POSTS, modified=at(5, 15, 52))
    assert [p.published for p in posts] == [at(5, 15, 42), at(5, 9, 10), at(4, 23, 50)]
    assert {p.time_source for p in posts} == {"page"}


def test_a_file_saved_days_later_without_a_date_line_falls_back_on_its_save_day() -> None:
    posts = split(POSTS, modified=at(8, 10, 0))
    assert [p.published for p in posts] == [at(7, 15, 42), at(7, 9, 10), at(6, 23, 50)]


@pytest.mark.parametrize(
    "modified",
    [at(5, 15, 52), at(8, 10, 0), at(1, 10, 0)],
    ids=["minutes later", "days later", "before the page's date"],
)
def test_the_page_date_line_dates_the_clocks_whenever_the_file_was_saved(
    modified: datetime,
) -> None:
    dated = POSTS.replace("Live updates\n", "Harbour inquiry: live\nTuesday 5 March 2024\n")
    posts = split(dated, modified=modified)
    assert [p.published for p in posts] == [at(5, 15, 42), at(5, 9, 10), at(4, 23, 50)]
    assert posts[0].title == "Inquiry adjourns for the day"


def test_a_relative_time_counts_back_from_the_save_not_the_fetch() -> None:
    text = "5 mins ago\n\nHearing resumes\n\nThe chair called the next witness.\n"
    [post] = split(text, modified=at(5, 15, 0))
    assert (post.published, post.time_source) == (at(5, 14, 55), "page")


def test_an_update_line_falls_on_the_page_date_not_the_save_day() -> None:
    text = (
        "Tuesday 5 March 2024\n\n10:52\nUpdated 11:05\nPetition passes 10,000 signatures\n\n"
        "Organisers said the threshold was passed within two hours.\n"
    )
    [post] = split(text, modified=at(8, 9, 0))
    assert (post.published, post.updated) == (at(5, 10, 52), at(5, 11, 5))


def test_a_short_line_repeated_in_a_few_of_many_posts_stays() -> None:
    posts = "".join(
        f"{15 - n}:00\n\nUpdate number {n} from the count\n\nBallot boxes keep arriving.\n\n"
        + ("Recount!\n\n" if n < 3 else "")
        for n in range(10)
    )
    assert sum("Recount!" in p.text for p in split(posts, modified=at(5, 16, 0))) == 3


def test_an_untimed_first_post_stays_when_the_times_follow_the_posts() -> None:
    text = (
        "Council leader resigns\n\nThe leader has resigned with immediate effect.\n\n"
        "16:20\n\nDeputy takes over\n\nThe deputy will act as leader.\n\n"
        "15:05\n\nOpposition calls for election\n\nResidents deserve a say, it said.\n\n14:30\n"
    )
    assert split(text, modified=at(5, 17, 0))[0].title == "Council leader resigns"


def test_a_wrapped_paragraph_after_a_clock_is_not_cut_into_a_title() -> None:
    text = (
        "15:42\nPolice say the man arrested in Harbour Street on Monday\n"
        "Was released on bail last night and will appear before\n"
        "magistrates in the town next month, a spokesperson said.\n"
    )
    blocks = read_text_blocks(text)
    assert [b.text for b in blocks] == [
        "15:42",
        "Police say the man arrested in Harbour Street on Monday Was released on bail "
        "last night and will appear before magistrates in the town next month, a "
        "spokesperson said.",
    ]


def test_a_markdown_date_line_with_a_place_is_a_block_of_its_own() -> None:
    blocks = read_markdown_blocks("# Inquiry: live\n*Wednesday 4 February 2015 - Town Hall*\n")
    assert [b.text for b in blocks] == [
        "Inquiry: live",
        "Wednesday 4 February 2015 - Town Hall",
    ]


@pytest.mark.parametrize(
    ("line", "date"),
    [
        ("Tuesday 26 August 2014", "Tuesday 26 August 2014"),
        ("Wednesday 4 February 2015 - Harbour Town Hall", "Wednesday 4 February 2015"),
        ("August 26, 2014 | Day 3", "August 26, 2014"),
        ("Wednesday 4 February 2015 - The council met and voted to close it.", None),
        ("Tuesday 26 August 2014 at 10:52", None),
        ("15:42 - Town Hall", None),
        ("Harbour Town Hall", None),
    ],
)
def test_date_of_line(line: str, date: str | None) -> None:
    assert date_of_line(line) == date


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("5 mins ago", True),
        ("Updated 2 hours ago", True),
        ("49m ago", True),
        ("1h ago", True),
        ("2d ago", True),
        ("3 hrs ago", True),
        ("15:42", False),
        ("ago", False),
        ("49 members ago", False),
    ],
)
def test_is_relative_time(line: str, expected: bool) -> None:
    assert is_relative_time(line) is expected


def test_the_walk_never_reads_a_relative_time_as_later_than_the_page_date() -> None:
    text = "Tuesday 5 March 2024\n\n5 mins ago\n\nHearing resumes\n\nThe chair spoke.\n"
    [post] = split(text, modified=at(5, 15, 0) + timedelta(days=3))
    assert (post.published, post.time_source) == (None, None)
