"""`aggregator status`: every source's state, read from the store without polling.

One row a source: whether it is failing, its last success and last error, the error
count, when it is polled next and why, and the entries it carries. Exit status 1 when
any source shown is failing, so a cron job or a monitoring check can run it as is.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import make_url

from aggregator.cli.parsers import subcommand
from aggregator.config import Settings
from aggregator.core.errors import StoreError
from aggregator.core.types import SourceSpec
from aggregator.publish.timefmt import format_rfc3339
from aggregator.store import Store
from aggregator.store.database import create_store_engine
from aggregator.store.health import SourceHealth


def add_command(commands: Any, settings_of: Callable[[argparse.Namespace], Settings]) -> None:
    help_text = "show every source's state: last success, last error, next poll and why"
    command = subcommand(
        commands, "status", lambda args: show_status(args, settings_of(args)), help_text
    )
    command.add_argument("--story", help="only this story's sources")
    command.add_argument("--failing", action="store_true", help="only the failing sources")
    command.add_argument("--format", choices=("table", "json"), default="table")


def show_status(args: argparse.Namespace, settings: Settings) -> int:
    sources = settings.sources
    if args.story is not None:
        sources = settings.sources_of(settings.named_story(args.story).id)
    rows, counts = _read(settings.service.database_url, sources)
    if args.failing:
        rows = [r for r in rows if r.is_failing]
    lines = [status_line(r, counts.get(r.name, 0)) for r in rows]
    if args.format == "json":
        print(json.dumps(lines, indent=2))
    else:
        console = Console()
        if not console.is_terminal:  # piped or redirected: lines for a file, not 80 columns
            console = Console(width=200)
        console.print(_table(lines, datetime.now(UTC)))
    return 1 if any(r.is_failing for r in rows) else 0


def _read(
    database_url: str, sources: Sequence[SourceSpec]
) -> tuple[list[SourceHealth], dict[str, int]]:
    """Read only: a status check neither migrates nor creates the store."""
    url = make_url(database_url)
    file = url.database if url.get_backend_name() == "sqlite" else None
    if file and file != ":memory:" and not Path(file).exists():
        raise StoreError(f"no store at {file}: the service has not run yet")
    store = Store(create_store_engine(database_url))
    try:
        rows = {r.name: r for r in store.source_health([s.name for s in sources])}
        counts = store.source_entry_counts()
    finally:
        store.engine.dispose()
    # A source added to the config since the service last started has no row yet.
    return [rows.get(s.name) or _never_polled(s) for s in sources], counts


def _never_polled(source: SourceSpec) -> SourceHealth:
    location = source.url or source.path or ""
    return SourceHealth(source.name, source.story, source.kind, location, None, None, None, 0)


def status_line(row: SourceHealth, entries: int) -> dict[str, Any]:
    state = "stopped" if row.stopped_reason else "failing" if row.error_count else "ok"
    if row.last_attempt_at is None and state == "ok":
        state = "not polled yet"
    return {
        "name": row.name,
        "story": row.story,
        "state": state,
        "last_success_at": _time(row.last_success_at),
        "last_error": row.stopped_reason or row.last_error,
        "error_count": row.error_count,
        "next_poll_at": _time(row.next_attempt_at),
        "next_poll_why": row.schedule_reason,
        "entries": entries,
    }


def _table(lines: Sequence[dict[str, Any]], now: datetime) -> Table:
    table = Table(title=f"sources at {format_rfc3339(now)}")
    for column in (
        "source",
        "state",
        "last success",
        "errors",
        "last error",
        "next poll",
        "entries",
    ):
        table.add_column(column, overflow="fold")
    for line in lines:
        state = line["state"]
        style = "red" if state in ("failing", "stopped") else ""
        next_poll = line["next_poll_at"] or "-"
        if line["next_poll_why"]:
            next_poll += f" ({line['next_poll_why']})"
        table.add_row(
            escape(line["name"]),
            f"[{style}]{state}[/{style}]" if style else state,
            line["last_success_at"] or "never",
            str(line["error_count"]),
            escape(line["last_error"] or "-"),
            escape(next_poll),
            str(line["entries"]),
        )
    return table


def _time(value: datetime | None) -> str | None:
    return None if value is None else format_rfc3339(value)
