"""PURE: timestamps as feeds and pages print them."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _as_utc(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt.isoformat()}: publish needs aware UTC times")
    return dt.astimezone(UTC)


def format_rfc3339(dt: datetime) -> str:
    """`2026-11-22T10:00:00Z`: RFC 3339 §5.6 in UTC, seconds precision.

    Uppercase T and Z because RFC 4287 §3.3 requires them in Atom date constructs.
    Raises ValueError for a naive datetime.
    """
    u = _as_utc(dt)
    # Formatted by hand: strftime's %Y does not zero-pad years below 1000 on every libc.
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}Z"


def format_human(dt: datetime, zone: tzinfo = UTC) -> str:
    """`22 Nov 2026, 10:00 UTC` (or in `zone`: `22 Nov 2026, 05:00 EST`), independent of
    the process locale."""
    u = _as_utc(dt).astimezone(zone)
    name = u.tzname() or "UTC"
    return f"{u.day} {_MONTHS[u.month - 1]} {u.year}, {u.hour:02d}:{u.minute:02d} {name}"
