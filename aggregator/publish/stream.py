"""PURE: Server-Sent Events frames for a story's event stream.

Frames follow the WHATWG HTML "Server-sent events" section (§9.2): fields are
`name: value` lines, a blank line dispatches the event, and a line starting with a
colon is a comment clients ignore.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aggregator.core.types import StreamEvent
from aggregator.publish.jsonfeed import deleted_json, entry_json

__all__ = ["entry_json", "event_json", "format_comment", "format_event", "format_retry"]

# The SSE parser ends a line at CRLF, LF or CR, and nowhere else (not at U+2028).
_LINE_BREAK = re.compile("\r\n|\r|\n")


def event_json(event: StreamEvent) -> dict[str, Any]:
    """The event's data: the entry's JSON Feed item plus `event` ("new" or "update"),
    or for "delete" only the entry's id, title and `deleted_at`."""
    if event.kind == "delete":
        return {**deleted_json(event.entry), "event": event.kind}
    return {**entry_json(event.entry), "event": event.kind}


def format_event(event: StreamEvent) -> str:
    """One frame: `id`, `event` and the entry as one-line JSON in `data`.

    The id lets a reconnecting client send Last-Event-ID and miss nothing.
    """
    payload = json.dumps(event_json(event), ensure_ascii=False, separators=(",", ":"))
    return f"id: {event.id}\nevent: {event.kind}\n{_field('data', payload)}\n"


def format_comment(text: str) -> str:
    """A comment frame (`: ping\\n\\n`), sent to keep idle connections open."""
    return _field("", text) + "\n"


def format_retry(ms: int) -> str:
    """Ask the client to wait `ms` milliseconds before reconnecting."""
    if ms < 0:
        raise ValueError(f"retry must be a non-negative number of milliseconds, not {ms}")
    return f"retry: {ms}\n\n"


def _field(name: str, value: str) -> str:
    # A value spanning lines becomes one field line per line; for `data` the client
    # joins them back with LF, for comments each line stays a comment.
    return "".join(f"{name}: {line}\n" for line in _LINE_BREAK.split(value))
