"""Dating the posts of a page read as paragraphs (plain text, Markdown, HTML as text).

The page is walked newest first. A date line ("Tuesday 26 August 2014") sets the day:
a bare clock below it falls on the latest moment of that day not after the post above
it, whether the file was saved minutes or days after the page was written, and even
when its mtime says it was saved before that day (the page's own date wins). With no
date line the walk starts from when the file was saved (its mtime, else the fetch).

A relative time ("5 mins ago") counts back from the save. When that lands after the day
the page's date line gives, the two disagree and the stamp gives no time: the post is
then dated when first seen rather than on a day the page contradicts. An update line
("Updated 11:05") is read on the page's day, not against the post above (an edit can
come after newer posts).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time
from typing import Protocol

from aggregator.parse.live.stamps import TimeReader
from aggregator.parse.times import CLOCK_SKEW, is_relative_time

Times = tuple[datetime | None, datetime | None]


class Stamped(Protocol):
    """A post's time lines as printed: the date lines above it, its time, its update."""

    @property
    def days(self) -> Sequence[str]: ...
    @property
    def stamp(self) -> str | None: ...
    @property
    def updated(self) -> str | None: ...


def walk_dates(posts: Sequence[Stamped], reader: TimeReader, start: datetime) -> list[Times]:
    """Each post's (published, updated), aware UTC or None; `start` is the save time."""
    reference = page_day = start
    times: list[Times] = []
    for post in posts:
        for day in post.days:
            reference = page_day = _on_day(day, reader, reference)
        published = _read_stamp(post.stamp, reader, reference)
        reference = published or reference
        times.append((published, _read_stamp(post.updated, reader, page_day)))
    return times


def _read_stamp(stamp: str | None, reader: TimeReader, reference: datetime) -> datetime | None:
    moment = reader.read_human(stamp, reference).moment if stamp else None
    if moment is not None and moment > reference + CLOCK_SKEW and is_relative_time(stamp or ""):
        return None
    return moment


def _on_day(line: str, reader: TimeReader, reference: datetime) -> datetime:
    """The walk's reference once a date line is met: unchanged within that day, else
    the day's last minute."""
    day = reader.read_human(line, reference).day
    tz = reader.context.tz
    if day is None or reference.astimezone(tz).date() == day:
        return reference
    return datetime.combine(day, time(23, 59), tzinfo=tz).astimezone(UTC)
