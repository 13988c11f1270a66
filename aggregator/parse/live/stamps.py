"""Reading a post's time stamp: machine values first, then the words on the page.

Order of trust:
  1. machine values: ISO 8601 (`<time datetime>`, `data-timestamp`, JSON-LD dates) and
     epoch seconds or milliseconds in data attributes;
  2. human text in the page's language, read by dateparser with every setting given
     explicitly (source timezone, UTC out, aware, "past", a relative base of the fetch
     time in the source zone) so nothing depends on the machine's clock or zone;
  3. a bare clock ("15:42", "3.42pm") on the date the walk has reached (`walk_times`).

Zone abbreviations are ambiguous (BST is British or Bangladesh time, IST is Irish,
Indian or Israeli). One is honoured only when the source maps it
(`ParseContext.abbreviations`: a zone name or a "+01:00" offset) or when it names UTC
itself (GMT, UTC, UT, Z). Any other abbreviation is dropped and the time is read in the
source's timezone: the minute stays as printed and no offset is guessed.

A date without a time of day is no timestamp: it yields no `published` time, but it
does move the walk to that day so that later bare clocks fall on it.

A post that shows only an update time ("Updated 11:05", "Mis à jour à 14h05") keeps it
as `updated` and has no `published`: the post went up at some unknown moment before,
and taking the update time for it would invent precision. Such a post does not move
the walk either (its first version is older than the time shown, by an unknown amount).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateparser.date import DateDataParser

from aggregator.core.types import ParseContext
from aggregator.parse.live.found import Stamp
from aggregator.parse.text import collapse
from aggregator.parse.times import CLOCK_WORD, LABEL, clock_of, parse_clock_time

_UTC_NAMES = frozenset({"GMT", "UTC", "UT", "Z"})
_EPOCH = re.compile(r"\d{9,13}(?:\.\d+)?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_OFFSET = re.compile(r"(?:UTC|GMT)?\s*([+-])(\d{1,2}):?(\d{2})?")
# "10:52am BST", "15:42 (CEST)": a trailing run of capitals after a digit or am/pm.
_TRAILING_ZONE = re.compile(r"(?<=[\dmM.])\s*+\(?\b([A-Z]{1,5})\)?\s*+$")
# Words after a clock that say only "o'clock": "14:30 Uhr", "14h30 h". Searched, so the
# spaces are entered only at the start of their run: from every position inside a
# long run, `\s+` scanned the rest of it (quadratic).
_CLOCK_SUFFIX = re.compile(rf"(?<!\s)\s++{CLOCK_WORD}\.?$")
# A clock inside a longer text ("Mon 15 May, 16:48"), with its meridiem.
_CLOCK_IN_TEXT = re.compile(r"(?<!\d)\d{1,2}[:.]\d{2}(?!\d)(?:\s?[ap]\.?m\.?)?", re.IGNORECASE)
_NAMED_ZONE = re.compile(r"\b(?:[A-Z]{2,4}T|UTC|GMT|UT|Z)\b|[+-]\d{2}:?\d{2}\b")
# A number with a unit is a duration or a score ("65.06 sek.", "5 min"), not a moment:
# dateparser would read it as that long ago. Matched whole, so the runs cannot overlap.
_DURATION = re.compile(
    r"\d++(?:[.,]\d++)?\s*+(?i:s|secs?|seconds?|sek|sekunden|min|mins|minutes?|minuten|"
    r"h|hrs?|hours?|std|stunden|days?|tage?|ms|km|m|pts|points|punkte)?\.?"
)
# "5 mins ago", "49m ago", "3 hrs ago": counted back from when the page was written.
# Days are left to dateparser, which reads them as a day, not a moment. Fullmatched.
_AGO = re.compile(
    r"(?P<count>\d{1,6})\s*+(?P<unit>s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?)\s++ago",
    re.IGNORECASE,
)
_AGO_UNITS = {"s": "seconds", "m": "minutes", "h": "hours"}
_RELATIVE = re.compile(r"\bago\b|\bvor\b|\bil y a\b|\bhace\b|\bfa\b", re.IGNORECASE)
# Two stamps in one slot: "2d ago / 7:58 AM UTC", "Monday | 14:05".
_PARTS = re.compile(r"\s[/|\u00b7\u2022]\s")
UPDATE_WORDS = re.compile(r"updat|modif|aktualis|mis à jour|actualiz|aggiorn", re.IGNORECASE)
# Epoch values outside 2000..2100 are ids or counters, not times.
_EARLIEST, _LATEST = 946684800, 4102444800
# dateparser takes a millisecond or more per stamp, and longer the longer its text, so a
# page full of time lines could hold a poll for minutes. A stamp longer than this is
# no time stamp, and a page gets at most this many different stamps read by it; past
# that a stamp reads as no time (the post counts from when it is first seen).
_MAX_STAMP_CHARS = 100
_MAX_DATEPARSER_STAMPS = 1000


@dataclass(frozen=True)
class Reading:
    """A stamp read: a moment (aware UTC) when it gave a time of day, else perhaps a day."""

    moment: datetime | None = None
    day: date | None = None
    is_clock: bool = False


@dataclass(frozen=True)
class TimeReader:
    """Reads stamps for one page: its source zone, abbreviations, fetch time, languages."""

    context: ParseContext
    fetched_at: datetime
    languages: tuple[str, ...] = ()
    # What dateparser said of each (text, zone) on this page, and its parser per zone.
    _read: dict[tuple[str, tzinfo], Reading] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _parsers: dict[tzinfo, DateDataParser] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def read(self, stamp: Stamp | None, reference: datetime) -> Reading:
        if stamp is None:
            return Reading()
        if stamp.machine:
            found = read_machine(stamp.machine, self.context.tz)
            if found.moment and self._is_local_marked_utc(stamp, found.moment):
                return Reading(found.moment.replace(tzinfo=self.context.tz).astimezone(UTC))
            if found.moment or found.day:
                return found
        return self.read_human(stamp.human or "", reference)

    def _is_local_marked_utc(self, stamp: Stamp, moment: datetime) -> bool:
        """A `<time datetime="...16:48Z">16:48</time>` on a page whose zone is not UTC:
        the clock shown is the local one, so the "Z" was written for a local time."""
        machine = (stamp.machine or "").strip().upper()
        if not machine.endswith(("Z", "+00:00")) or not stamp.human:
            return False
        if self.context.tz.utcoffset(moment.replace(tzinfo=None)) == timedelta(0):
            return False
        human = collapse(stamp.human)
        if _NAMED_ZONE.search(human):
            return False  # "7:58 AM UTC": the page says which zone it means
        clocks = (clock_of(m[0]) for m in _CLOCK_IN_TEXT.finditer(human))
        return any(
            c is not None and (c.hour, c.minute) == (moment.hour, moment.minute) for c in clocks
        )

    def read_human(self, text: str, reference: datetime) -> Reading:
        text = LABEL.sub("", collapse(text)).strip(" ,|-\u2013\u2014")
        if not text or _DURATION.fullmatch(text):
            return Reading()
        parts = _PARTS.split(text)
        if len(parts) == 2:
            return self._read_two_parts(parts[0], parts[1], reference)
        text, zone = self._split_zone(_CLOCK_SUFFIX.sub("", text))
        if clock_of(text) is not None:
            return Reading(parse_clock_time(text, zone, reference), is_clock=True)
        ago = _AGO.fullmatch(text)
        if ago is not None:  # as dateparser reads it, at none of its cost per stamp
            unit = _AGO_UNITS[ago["unit"][0].lower()]
            return Reading(self.fetched_at - timedelta(**{unit: int(ago["count"])}))
        return self._dateparse(text, zone)

    def _read_two_parts(self, first: str, second: str, reference: datetime) -> Reading:
        """ "2d ago / 7:58 AM UTC": the clock on the day the other part names (the latest
        such moment not after that day's end, or not after the moment it names)."""
        readings = [self.read_human(first, reference), self.read_human(second, reference)]
        clocks = [r for r in readings if r.is_clock]
        others = [r for r in readings if not r.is_clock and (r.moment or r.day)]
        if not clocks or not others:
            return next((r for r in readings if r.moment), Reading())
        other = others[0]
        clock_text, other_text = (first, second) if readings[0].is_clock else (second, first)
        end = other.moment
        if end is None and other.day is not None:
            # "2d ago" counts whole days back from the fetch, at the fetch's time of day.
            until = self.fetched_at.astimezone(self.context.tz).time()
            until = until if _RELATIVE.search(other_text) else time(23, 59)
            end = datetime.combine(other.day, until, tzinfo=self.context.tz)
        return (
            Reading(self.read_human(clock_text, end.astimezone(UTC)).moment) if end else clocks[0]
        )

    def _split_zone(self, text: str) -> tuple[str, tzinfo]:
        match = _TRAILING_ZONE.search(text)
        if match is None:
            return text, self.context.tz
        name = match[1]
        rest = text[: match.start()].strip()
        if name in {"AM", "PM", "A", "P"}:
            return text, self.context.tz
        if name in self.context.abbreviations:
            return rest, zone_named(self.context.abbreviations[name]) or self.context.tz
        if name in _UTC_NAMES:
            return rest, UTC
        return rest, self.context.tz  # unknown: not guessed (see module docstring)

    def _dateparse(self, text: str, zone: tzinfo) -> Reading:
        """dateparser's reading, once per text and zone, within the page's budget."""
        key = (text, zone)
        if key not in self._read:
            if len(text) > _MAX_STAMP_CHARS or len(self._read) >= _MAX_DATEPARSER_STAMPS:
                return Reading()
            self._read[key] = self._dateparse_now(text, zone)
        return self._read[key]

    def _parser(self, zone: tzinfo) -> DateDataParser:
        # dateparser reads wall time in `zone`; a fixed offset is applied by us afterwards.
        if zone not in self._parsers:
            zone_name = zone.key if isinstance(zone, ZoneInfo) else "UTC"
            base = self.fetched_at.astimezone(zone).replace(tzinfo=None)
            self._parsers[zone] = DateDataParser(
                languages=list(self.languages) or None,
                settings={
                    "TIMEZONE": zone_name,
                    "TO_TIMEZONE": zone_name,
                    "RETURN_AS_TIMEZONE_AWARE": False,
                    "RELATIVE_BASE": base,
                    "PREFER_DATES_FROM": "past",
                    "RETURN_TIME_AS_PERIOD": True,
                    "PREFER_DAY_OF_MONTH": "first",
                },
            )
        return self._parsers[zone]

    def _dateparse_now(self, text: str, zone: tzinfo) -> Reading:
        try:
            data = self._parser(zone).get_date_data(text)
        except (ValueError, OverflowError):
            return Reading()
        if data.date_obj is None:
            return Reading()
        local = data.date_obj.replace(tzinfo=zone)
        if data.period != "time":
            return Reading(day=local.date())
        return Reading(moment=local.astimezone(UTC))


def is_labelled_time(text: str) -> bool:
    """A label and a clock and nothing else: "Updated 11:05", "Aktualisiert 14:30 Uhr"."""
    match = LABEL.match(collapse(text))
    rest = _CLOCK_SUFFIX.sub("", collapse(text)[match.end() :]) if match else ""
    return bool(rest) and clock_of(_TRAILING_ZONE.sub("", rest)) is not None


def zone_named(value: str) -> tzinfo | None:
    """A zone from a mapping value: an IANA name or a fixed offset like "+01:00"."""
    match = _OFFSET.fullmatch(value.strip())
    if match:
        sign = -1 if match[1] == "-" else 1
        delta = timedelta(hours=int(match[2]), minutes=int(match[3] or 0))
        return timezone(sign * delta)
    try:
        return ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        return None


def read_machine(value: str, tz: tzinfo) -> Reading:
    """ISO 8601 (an offset-less one is read in the source zone) or epoch s/ms."""
    value = value.strip()
    if _EPOCH.fullmatch(value):
        seconds = float(value) / (1000 if len(value.split(".")[0]) >= 12 else 1)
        if _EARLIEST <= seconds < _LATEST:
            return Reading(datetime.fromtimestamp(int(seconds), UTC))
        return Reading()
    if _ISO_DATE.fullmatch(value):
        return Reading(day=date.fromisoformat(value))
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return Reading()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return Reading(moment.astimezone(UTC).replace(microsecond=0))


def walk_times(
    stamps: Sequence[Stamp | None], reader: TimeReader, start: datetime, skip: Sequence[bool]
) -> list[datetime | None]:
    """Read each post's stamp newest-first: a bare clock falls on the latest moment not
    after the post above it, so a page crossing midnight steps back a day. Posts marked
    in `skip` (pinned, out of order) are read but do not move the walk."""
    reference = start
    moments: list[datetime | None] = []
    for stamp, is_skipped in zip(stamps, skip, strict=True):
        reading = reader.read(stamp, reference)
        moments.append(reading.moment)
        if is_skipped:
            continue
        if reading.moment is not None:
            reference = reading.moment
        elif reading.day is not None:
            end_of_day = datetime.combine(reading.day, time(23, 59), tzinfo=reader.context.tz)
            reference = min(reference, end_of_day.astimezone(UTC))
    return moments
