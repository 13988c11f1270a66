"""`[[stories]]` and `[[sources]]`: what to follow, where, and how often."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aggregator.config.checks import Checker, is_zone, parse_interval, timezone_of, words
from aggregator.config.settings import (
    DEFAULT_INTERVAL,
    DEFAULT_MAX_INTERVAL,
    DEFAULT_MIN_SHARE,
    MAX_INTERVAL,
    MIN_INTERVAL,
)
from aggregator.core.types import DEFAULT_PAGE_SIZE, KINDS, Kind, SourceSpec, StorySpec

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_STORY_KEYS = {"id", "title", "keywords", "exclude", "page_size", "timezone"}
_SOURCE_KEYS = {
    "name",
    "story",
    "kind",
    "url",
    "path",
    "interval",
    "min_interval",
    "max_interval",
    "timezone",
    "abbreviations",
    "title",
}
_OFFSET = re.compile(r"^[+-](?:[01]\d|2[0-3]):[0-5]\d$")


def read_stories(
    check: Checker, tables: list[Mapping[str, Any]], default_tz: str
) -> tuple[StorySpec, ...]:
    stories: list[StorySpec] = []
    for i, table in enumerate(tables):
        where = f"[[stories]] #{i + 1}"
        check.only_keys(table, _STORY_KEYS, where)
        story_id = check.text(table, "id", where, None)
        if not _ID.match(story_id):
            raise check.fail(f"{where}.id", "must be lowercase letters, digits, '-' or '_'")
        if any(s.id == story_id for s in stories):
            raise check.fail(f"{where}.id", f"duplicate story id {story_id!r}")
        keywords, exclude = (words(check, table, key, where) for key in ("keywords", "exclude"))
        title = check.text(table, "title", where, story_id)
        page_size = table.get("page_size", DEFAULT_PAGE_SIZE)
        if (
            isinstance(page_size, bool)
            or not isinstance(page_size, int)
            or not 10 <= page_size <= 1000
        ):
            raise check.fail(f"{where}.page_size", "must be an integer from 10 to 1000")
        story = StorySpec(
            story_id,
            title,
            keywords=keywords,
            exclude=exclude,
            page_size=page_size,
            timezone=timezone_of(check, table, where, default_tz),
        )
        stories.append(story)
    if not stories:
        raise check.fail("[[stories]]", "at least one story is required")
    return tuple(stories)


def read_sources(
    check: Checker,
    tables: list[Mapping[str, Any]],
    stories: tuple[StorySpec, ...],
    base: Path,
    default_tz: str,
) -> tuple[SourceSpec, ...]:
    sources: list[SourceSpec] = []
    for i, table in enumerate(tables):
        given = table.get("name")
        named = f" ({given})" if isinstance(given, str) and given else ""
        where = f"[[sources]] #{i + 1}{named}"
        check.only_keys(table, _SOURCE_KEYS, where)
        name = check.text(table, "name", where, None)
        where = f"[[sources]] #{i + 1} ({name})"
        if any(s.name == name for s in sources):
            raise check.fail(f"{where}.name", f"duplicate source name {name!r}")
        sources.append(_source(check, table, where, name, stories, base, default_tz))
    return tuple(sources)


def _source(
    check: Checker,
    table: Mapping[str, Any],
    where: str,
    name: str,
    stories: tuple[StorySpec, ...],
    base: Path,
    default_tz: str,
) -> SourceSpec:
    story = check.text(table, "story", where, stories[0].id if len(stories) == 1 else None)
    if all(s.id != story for s in stories):
        raise check.fail(f"{where}.story", f"no story with id {story!r}")
    kind = check.text(table, "kind", where, None)
    if kind not in KINDS:
        raise check.fail(f"{where}.kind", f"must be one of {', '.join(KINDS)}")
    url, path = _location(check, table, where, base)
    interval, low, high = _intervals(check, table, where, "url" if url else "path")
    title = check.text(table, "title", where, name) if "title" in table else ""
    return SourceSpec(
        name=name,
        title=title,
        story=story,
        kind=_kind(kind),
        url=url,
        path=path,
        interval=interval,
        min_interval=low,
        max_interval=high,
        timezone=timezone_of(check, table, where, default_tz),
        abbreviations=_abbreviations(check, table.get("abbreviations", {}), where),
    )


def _intervals(
    check: Checker, table: Mapping[str, Any], where: str, where_from: str
) -> tuple[float, float, float]:
    """interval, min_interval, max_interval: each at least the floor for a url or a
    path, and min <= interval <= max. An interval left out sits inside given bounds."""
    floor = MIN_INTERVAL[where_from]
    low = _duration(check, table, "min_interval", where, where_from)
    high = _duration(check, table, "max_interval", where, where_from)
    interval = _duration(check, table, "interval", where, where_from)
    if interval is None:
        interval = DEFAULT_INTERVAL[where_from]
        interval = max(interval, low) if low is not None else interval
        interval = min(interval, high) if high is not None else interval
    low = low if low is not None else max(floor, min(interval, interval * DEFAULT_MIN_SHARE))
    high = high if high is not None else max(interval, DEFAULT_MAX_INTERVAL)
    if low > interval:
        raise check.fail(f"{where}.min_interval", f"must not exceed interval ({interval:g}s)")
    if high < interval:
        raise check.fail(f"{where}.max_interval", f"must not be below interval ({interval:g}s)")
    return interval, low, high


def _duration(
    check: Checker, table: Mapping[str, Any], key: str, where: str, where_from: str
) -> float | None:
    if key not in table:
        return None
    seconds = parse_interval(table[key])
    if seconds is None:
        reason = 'must be seconds or a duration like "30s", "5m", "1h"'
        raise check.fail(f"{where}.{key}", reason)
    floor = MIN_INTERVAL[where_from]
    if seconds < floor:
        raise check.fail(f"{where}.{key}", f"must be at least {floor:g}s for a {where_from}")
    if seconds > MAX_INTERVAL:
        raise check.fail(f"{where}.{key}", "must be at most 30 days")
    return seconds


def _abbreviations(check: Checker, value: object, where: str) -> dict[str, str]:
    """Zone abbreviations are ambiguous (IST, BST, ET), so a source says what it means."""
    where = f"{where}.abbreviations"
    if not isinstance(value, dict):
        raise check.fail(where, 'must be a table like { BST = "Europe/London" }')
    for abbreviation, meaning in value.items():
        if not isinstance(meaning, str) or not (_OFFSET.match(meaning) or is_zone(meaning)):
            reason = "must be an IANA timezone or an offset like +01:00"
            raise check.fail(f"{where}.{abbreviation}", reason)
    return dict(value)


def _kind(value: str) -> Kind:
    for kind in KINDS:
        if kind == value:
            return kind
    raise ValueError(value)


def _location(
    check: Checker, table: Mapping[str, Any], where: str, base: Path
) -> tuple[str | None, str | None]:
    has_url, has_path = "url" in table, "path" in table
    if has_url == has_path:
        raise check.fail(where, "needs exactly one of 'url' or 'path'")
    if has_url:
        url = check.text(table, "url", where, None)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise check.fail(f"{where}.url", f"must be an http or https URL, not {url!r}")
        return url, None
    # A missing file is the source's problem at poll time, not a reason to refuse to start.
    return None, str(base / check.text(table, "path", where, None))
