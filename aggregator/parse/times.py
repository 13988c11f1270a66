"""Times printed on pages, read against a reference moment in the source's timezone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta, tzinfo

# "15:42", "15.42", "3.42pm", "10:52 am", "3:42 p.m.", French "14h05" as a whole line;
# an hour alone only with its meridiem ("10 p.m.", AP style).
_CLOCK = re.compile(
    r"(?P<hour>\d{1,2})(?:[:.h](?P<minute>\d{2}))?\s*+(?P<meridiem>[ap]\.?m\.?)?",
    re.IGNORECASE,
)
# Words after a clock that say only "o'clock": "14:30 Uhr", "14.30 h".
CLOCK_WORD = r"(?i:uhr|h|hrs|horas|heures)"
# A time followed by the rest of a line: "14:05 Trains cancelled", "14:05 - Trains",
# "12.31 Uhr: Minister resigns", "12:31: Title". A separator right after the clock is
# one only before a non-digit ("12:31:45" is a clock with seconds). Fullmatched.
_LEADING_CLOCK = re.compile(
    r"(?P<clock>\d{1,2}[:.h]\d{2}(?:\s*+[ap]\.?m\.?)?)"
    rf"(?:\s++{CLOCK_WORD}\b)?"
    r"(?:\s*+(?P<separator>[-\u2013\u2014|:])(?!\d)\s*+|\s++)(?P<rest>\S.*)",
    re.IGNORECASE | re.DOTALL,
)
# Labels before a time, in the languages live pages are read in.
LABEL = re.compile(
    r"^(?:last\s+)?(?:updated|posted|published|modified|edited|aktualisiert|"
    r"veröffentlicht|mis à jour|publié|actualizado|publicado|aggiornato)\b"
    r"[\s:,]*(?:at\s+|um\s+|à\s+)?",
    re.IGNORECASE,
)
# A line that is only a time stamp, once a label is taken off: a clock with an optional
# zone abbreviation ("10:52am BST", "14:30 Uhr"), a relative time ("5 mins ago",
# "il y a 5 minutes"), or a written date with an optional clock ("Tuesday 26 August
# 2014", "August 26, 2014 at 10:52"). Only the shape is checked; live/stamps.py reads
# the time.
_CLOCK_WORDS = (
    r"(?:\d{1,2}[:.h]\d{2}(?:\s*+(?i:[ap]\.?m\.?))?|\d{1,2}\s*+(?i:[ap]\.?m\.?))"
    rf"(?:\s*+\(?[A-Z]{{2,5}}\)?)?(?:\s++{CLOCK_WORD})?"
)
# "5 mins ago", "3 hrs ago", "49m ago", "2d ago", "il y a 5 minutes", "vor 5 Minuten".
_RELATIVE_TEXT = (
    r"(?i:\d++\s*+(?:sec|second|min|minute|hr|hour|day|[smhd])s?\s++ago|just now)"
    r"|(?i:(?:il y a|vor|hace)\s++\d++\s++\w+)"
)
_MONTH = r"(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_WEEKDAY = r"(?:(?i:mon|tues|wednes|thurs|fri|satur|sun)day,?\s++)?"
_DAY = r"\d{1,2}(?i:st|nd|rd|th)?"
_AT_CLOCK = rf"(?:,?\s++(?:(?i:at)\s++)?{_CLOCK_WORDS})?"
_TIME_LINE = re.compile(
    rf"{_CLOCK_WORDS}"
    rf"|{_RELATIVE_TEXT}"
    rf"|{_WEEKDAY}{_DAY}\s++{_MONTH}(?:\s++\d{{4}})?{_AT_CLOCK}"
    rf"|{_WEEKDAY}{_MONTH}\s++{_DAY},?(?:\s++\d{{4}})?{_AT_CLOCK}"
)
# Live pages and the servers that save them can disagree by a few minutes; a time just
# ahead of the reference is today's, not yesterday's.
CLOCK_SKEW = timedelta(minutes=5)


def clock_of(line: str) -> time | None:
    """The wall-clock time a line consists of, or None if it is anything else."""
    match = _CLOCK.fullmatch(line.strip())
    if match is None:
        return None
    meridiem = (match["meridiem"] or "").lower().replace(".", "")
    if match["minute"] is None and not meridiem:
        return None  # a bare number is no clock
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def parse_clock_time(line: str, tz: tzinfo, reference: datetime) -> datetime | None:
    """Read a bare clock time ("15:42", "3.42pm") as the latest such moment not after
    `reference`, on the reference's local date in `tz` or the day before. Aware UTC.

    Minutes are the finest precision given, so seconds stay zero.
    """
    if reference.tzinfo is None:
        raise ValueError("reference must be timezone-aware")
    clock = clock_of(line)
    if clock is None:
        return None
    local_reference = reference.astimezone(tz)
    candidate = datetime.combine(local_reference.date(), clock, tzinfo=tz)
    if candidate > local_reference + CLOCK_SKEW:
        day_before = local_reference.date() - timedelta(days=1)
        candidate = datetime.combine(day_before, clock, tzinfo=tz)
    return candidate.astimezone(UTC)


def is_time_line(line: str) -> bool:
    """A whole line that is a (labelled) time stamp: "Updated 11:05", "5 mins ago"."""
    text = LABEL.sub("", line.strip()).strip(" ,|-\u2013\u2014")
    return bool(text) and _TIME_LINE.fullmatch(text) is not None


def split_leading_clock(line: str) -> tuple[str, str] | None:
    """Split "14:05 Trains cancelled" or "12.31 Uhr: Minister resigns" into the time as
    printed ("12.31 Uhr": a dotted clock alone reads as a number) and the title after
    it, else None. The one rule for text lines and HTML headings.
    A clock before a lower-case word with no separator between ("12.50 was the fare",
    "1.30 hours") is the start of a sentence."""
    match = _LEADING_CLOCK.fullmatch(line.strip())
    if match is None or clock_of(match["clock"]) is None:
        return None
    rest = match["rest"].strip()
    if match["separator"] is None and rest[0].islower():
        return None
    return line.strip()[: match.start("rest")].strip(" -\u2013\u2014|:"), rest


# A written date and nothing else ("Tuesday 26 August 2014", "August 26, 2014").
_DATE_ONLY = re.compile(
    rf"{_WEEKDAY}{_DAY}\s++{_MONTH}(?:\s++\d{{4}})?|{_WEEKDAY}{_MONTH}\s++{_DAY},?(?:\s++\d{{4}})?"
)
# What may stand between a page's date and the place it was written at.
_PLACE_SEPARATORS = (" - ", " \u2013 ", " \u2014 ", " | ", " \u00b7 ")
_MAX_PLACE_WORDS = 6
_MAX_DATE_LINE = 120
_DIGIT = re.compile(r"\d")
_RELATIVE = re.compile(_RELATIVE_TEXT)


def date_of_line(line: str) -> str | None:
    """The date a page's date line gives, when the line is a written date with no clock,
    alone ("Tuesday 26 August 2014") or with a short place after a dash ("Wednesday 4
    February 2015 - Town Hall"); None for any other line."""
    if len(line) > _MAX_DATE_LINE or _DIGIT.search(line) is None:
        return None
    text = " ".join(line.split())
    cuts = [(at, len(s)) for s in _PLACE_SEPARATORS if (at := text.find(s)) >= 0]
    at, width = min(cuts, default=(len(text), 0))
    if _DATE_ONLY.fullmatch(text[:at]) is None:
        return None
    return text[:at] if not cuts or _is_place(text[at + width :]) else None


def _is_place(text: str) -> bool:
    """A short name ("Town Hall", "Day 3"), not a sentence."""
    words = text.split()
    return 0 < len(words) <= _MAX_PLACE_WORDS and text[0].isalnum() and text[-1] not in ".!?:;,"


def is_relative_time(line: str) -> bool:
    """A (labelled) time counted back from when the page was shown: "5 mins ago"."""
    text = LABEL.sub("", line.strip()).strip(" ,|-\u2013\u2014")
    return _RELATIVE.fullmatch(text) is not None
