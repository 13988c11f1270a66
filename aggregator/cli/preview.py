"""`aggregator preview`: the entries a file or URL would give, storing nothing.

For checking a source before adding it: one JSON object per entry (or a table for
people), the story's keywords applied with `--story`, and a warning on standard error
when the document does not look like the kind asked for.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aggregator import service
from aggregator.cli.parsers import subcommand
from aggregator.config import DEFAULT_TIMEZONE, Settings
from aggregator.core.errors import ConfigError
from aggregator.core.types import KINDS, Entry, SourceSpec
from aggregator.dedupe.normalize import entry_key
from aggregator.ingest.pipeline import preview
from aggregator.publish.ids import entry_iri
from aggregator.publish.timefmt import format_rfc3339

err = Console(stderr=True)


def add_command(commands: Any, settings_of: Callable[[argparse.Namespace], Settings]) -> None:
    help_text = "print the entries a file or URL would give, storing nothing"
    look = subcommand(commands, "preview", lambda args: show_preview(args, settings_of), help_text)
    look.add_argument("location", metavar="PATH_OR_URL")
    look.add_argument("--kind", choices=KINDS, required=True)
    look.add_argument("--timezone", help="how to read clock times (default: the config's)")
    look.add_argument("--story", help="apply this story's keywords and exclusions, as a poll does")
    look.add_argument("--format", choices=("json", "table"), default="json")


def show_preview(
    args: argparse.Namespace, settings_of: Callable[[argparse.Namespace], Settings]
) -> int:
    settings = _settings_or_none(args, settings_of, needed=args.story is not None)
    story = None
    if args.story is not None and settings is not None:
        story = settings.named_story(args.story)
    location: str = args.location
    is_url = location.startswith(("http://", "https://"))
    zone = args.timezone or (settings.service.timezone if settings else DEFAULT_TIMEZONE)
    source = SourceSpec(
        name="preview",
        story="preview",
        kind=args.kind,
        url=location if is_url else None,
        path=None if is_url else str(Path(location).resolve()),
        interval=60,
        timezone=zone,
    )
    with service.http_fetchers() as fetchers:
        result = preview(source, fetchers=fetchers, now=datetime.now(UTC), story=story)
    for hint in result.hints:
        err.print(f"warning: {escape(hint)}")
    if story is not None and result.filtered:
        err.print(f"{result.filtered} item(s) left out by the keywords of story {story.id}")
    if args.format == "table":
        console = Console()
        if not console.is_terminal:  # piped or redirected: lines for a file, not 80 columns
            console = Console(width=200)
        console.print(_table(result.entries))
    else:
        for entry in result.entries:
            print(json.dumps(preview_line(entry), ensure_ascii=False))
    return 0


def preview_line(entry: Entry) -> dict[str, object]:
    return {
        "id": entry_iri("preview", entry_key(entry.source, entry.item_key)),
        "item_key": entry.item_key,
        "title": entry.title,
        "url": entry.url,
        "published": format_rfc3339(entry.published),
        "updated": format_rfc3339(entry.updated),
        "time_source": entry.time_source,
        "method": entry.method,
        "position": entry.position,
        "location": entry.location,
        "text": entry.text,
        "html": entry.html,
    }


def _table(entries: list[Entry]) -> Table:
    table = Table(title=f"{len(entries)} entries")
    for column in ("published", "from", "title", "text"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        text = entry.text if len(entry.text) <= 120 else entry.text[:119] + "…"
        table.add_row(
            format_rfc3339(entry.published) or "-",
            entry.time_source or "-",
            escape(entry.title or ""),
            escape(text),
        )
    return table


def _settings_or_none(
    args: argparse.Namespace, settings_of: Callable[[argparse.Namespace], Settings], needed: bool
) -> Settings | None:
    """The config, when it loads; a preview works without one unless `--story` needs it."""
    try:
        return settings_of(args)
    except ConfigError:
        if needed:
            raise
        return None
