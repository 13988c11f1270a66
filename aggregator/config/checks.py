"""Typed reads of TOML values that fail naming the file, the table and the key."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aggregator.core.errors import ConfigError

# Possessive spaces: with `\s*([smh]?)\s*` a run of spaces and no unit split between
# the two `\s*` in every way before the match failed (quadratic).
_DURATION = re.compile(r"^\s*+(\d++(?:\.\d++)?)\s*+([smh]?)\s*+$")
_SIZE = re.compile(r"^\s*+(\d{1,12})\s*+([kKmMgG]i?[bB])?\s*+$")
_SIZE_UNITS = {"": 1, "kb": 1000, "mb": 10**6, "gb": 10**9, "kib": 1024, "mib": 2**20, "gib": 2**30}
# A host name as DNS spells it (RFC 1123): letters, digits, hyphens, dots; no port.
HOST_NAME = re.compile(r"(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9_-]{1,63})*+\.?")


class Checker:
    """Small typed accessors that raise ConfigError with the file and the key path."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, where: str, reason: str) -> ConfigError:
        return ConfigError(self.file, where, reason)

    def only_keys(self, table: Mapping[str, Any], allowed: set[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.fail(join_key(where, key), f"unknown key (known keys: {known})")

    def table(self, raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = raw.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(f"[{key}]", "must be a table")
        return value

    def array(self, raw: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(f"[[{key}]]", "must be an array of tables")
        return value

    def text(self, table: Mapping[str, Any], key: str, where: str, default: str | None) -> str:
        value = table.get(key, default)
        if value is None:
            raise self.fail(join_key(where, key), "is required")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(join_key(where, key), "must be a non-empty string")
        return value.strip()


def join_key(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def parse_interval(value: object) -> float | None:
    """Seconds from 30, 2.5, "30s", "5m" or "1h"; None when the value is not a duration."""
    if isinstance(value, bool):
        return None
    seconds = None
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]
    return seconds if seconds is not None and math.isfinite(seconds) else None


def whole(
    check: Checker, table: Mapping[str, Any], key: str, where: str, low: int, high: int
) -> int | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise check.fail(f"{where}.{key}", f"must be a whole number from {low} to {high}")
    return value


def seconds(
    check: Checker, table: Mapping[str, Any], key: str, where: str, low: float, high: float
) -> float | None:
    if key not in table:
        return None
    seconds = parse_interval(table[key])
    if seconds is None or not low <= seconds <= high:
        reason = f'must be a duration like "10s" or "2m", from {low:g}s to {high:g}s'
        raise check.fail(f"{where}.{key}", reason)
    return seconds


def size(check: Checker, table: Mapping[str, Any], key: str, where: str) -> int | None:
    value = table.get(key)
    if value is None:
        return None
    match = _SIZE.match(value) if isinstance(value, str) else None
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif match:
        size = int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "").lower()]
    else:
        raise check.fail(f"{where}.{key}", 'must be bytes, or a size like "10 MB" or "512 KiB"')
    if not 1024 <= size <= 2**30:
        raise check.fail(f"{where}.{key}", "must be from 1 KiB to 1 GiB")
    return size


def words(check: Checker, table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    words = table.get(key, [])
    if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
        raise check.fail(f"{where}.{key}", "must be a list of non-empty strings")
    return tuple(words)


def timezone_of(check: Checker, table: Mapping[str, Any], where: str, default: str) -> str:
    name = check.text(table, "timezone", where, default)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise check.fail(join_key(where, "timezone"), f"unknown IANA timezone {name!r}") from e
    return name


def is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
