"""The `aggregator` command. `python run.py` is `aggregator run`."""

from __future__ import annotations

import argparse
import glob
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from aggregator import __version__, service
from aggregator.arenas import limit_arenas
from aggregator.cli import forget as forget_command
from aggregator.cli import preview as preview_command
from aggregator.cli import source_list
from aggregator.cli import status as status_command
from aggregator.cli.logs import setup_logging
from aggregator.cli.parsers import subcommand
from aggregator.config import LiveSettings, Settings, config_path, load
from aggregator.core.errors import AggregatorError, ConfigError
from aggregator.core.types import PollReport, SourceSpec
from aggregator.ingest.pipeline import poll
from aggregator.ingest.worker import POLL_THREADS
from aggregator.publish.feeds import FEED_FORMATS, FeedFormat
from aggregator.publish.ids import entry_iri
from aggregator.publish.timefmt import format_rfc3339
from aggregator.store import migrate
from aggregator.store.database import create_store_engine, status, upgrade
from aggregator.store.scaffold import migration_slug, write_migration
from aggregator.web.export import render_story, write_atomically

err = Console(stderr=True)


def main(argv: Sequence[str] | None = None) -> int:
    limit_arenas()  # before any thread starts (aggregator/arenas.py)
    args = _parser().parse_args(argv)
    setup_logging(args.log_level)
    try:
        result: int = args.handler(args)
        return result
    except ConfigError as e:
        print(f"config error: {e}", file=sys.stderr)
        return 2
    except AggregatorError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python's flush of
        # standard output at exit from raising again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def command_names() -> frozenset[str]:
    """Every subcommand's name (run.py adds `run` when none is given)."""
    parser = _parser()
    found = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return frozenset(found[0].choices)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aggregator",
        description="Follow a news story across live blogs, articles and feeds; "
        "republish it as one merged Atom feed, JSON Feed, live stream and page.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        help="config file (default: $AGGREGATOR_CONFIG or config/aggregator.toml)",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    parser.add_argument("--version", action="version", version=f"aggregator {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    both = subcommand(commands, "run", _run, "poll every source on schedule and serve the feeds")
    _lease_option(both)
    work = subcommand(commands, "worker", _worker, "poll every source on schedule; serve nothing")
    work.add_argument("--heartbeat", type=Path, help="touch this file while the store answers")
    _lease_option(work)
    web = subcommand(commands, "web", _web, "serve the feeds, page and stream; poll nothing")
    web.add_argument("--host", help="address to listen on (default: the config's)")
    web.add_argument("--port", type=int, help="port to listen on (default: the config's)")
    web.add_argument(
        "--stream-recheck",
        type=float,
        default=service.RoleOptions.stream_recheck,
        metavar="SECONDS",
        help="idle event streams re-read the store this often without a notification",
    )
    health = subcommand(
        commands, "health", _health, "exit 0 if the store answers (and the heartbeat is fresh)"
    )
    health.add_argument("--heartbeat", type=Path, help="a worker's --heartbeat file to check")
    health.add_argument("--max-age", type=float, default=60.0, metavar="SECONDS")
    once = subcommand(
        commands,
        "poll",
        _poll,
        "poll every source once now, print a summary and exit (to poll on schedule: run)",
    )
    once.add_argument("--once", action="store_true", help="the same: one pass, then exit")
    preview_command.add_command(commands, _settings)
    dump = subcommand(commands, "export", _export, "write a story's merged feed")
    dump.add_argument("story")
    dump.add_argument("--format", choices=FEED_FORMATS, default="atom")
    dump.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    subcommand(commands, "check-config", _check_config, "validate the config file and list it")
    why = subcommand(commands, "explain", _explain, "show a merged entry, its sources and why")
    why.add_argument("entry", metavar="ENTRY_ID", help="urn:uuid:... id, entry key or row id")
    part = subcommand(commands, "split", _split, "split a source's copy out of a merged entry")
    part.add_argument("entry", metavar="ENTRY_ID", help="urn:uuid:... id, entry key or row id")
    part.add_argument("source", metavar="SOURCE_NAME")
    _migrate_command(commands)
    source_list.add_command(commands, _config_file)
    status_command.add_command(commands, _settings)
    forget_command.add_command(commands, _settings)
    return parser


def _migrate_command(commands: Any) -> None:
    help_text = "apply pending expand migrations, safe while the old code still runs"
    mig = subcommand(commands, "migrate", _migrate, help_text)
    mode = mig.add_mutually_exclusive_group()
    mode.add_argument(
        "--contract",
        action="store_true",
        help="also apply contract migrations; refused while a process runs older code",
    )
    mode.add_argument("--status", action="store_true", help="show what is pending; change nothing")
    mode.add_argument(
        "--new",
        type=_migration_name,
        metavar="NAME",
        help="write the next migration file (phase expand) from the template and print its "
        "path; no database is opened",
    )
    mig.add_argument(
        "--yes", action="store_true", help="with --contract: old code is stopped, skip the check"
    )
    mig.add_argument(
        "--versions",
        type=Path,
        metavar="DIR",
        help="with --new: the folder to write it in (default: the package's migrations/versions)",
    )


def _migration_name(raw: str) -> str:
    try:
        migration_slug(raw)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return raw


def _settings(args: argparse.Namespace) -> Settings:
    return load(_config_file(args), os.environ)


def _config_file(args: argparse.Namespace) -> Path:
    path: Path = args.config or config_path(os.environ)
    return path


def _lease_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--lease",
        type=_lease_seconds,
        default=service.RoleOptions.lease,
        metavar="SECONDS",
        help="how long a claimed source stays this worker's before another may take it "
        f"(default {service.RoleOptions.lease:g}, at least {service.MIN_LEASE_SECONDS:g}); "
        f"fetches time out after lease/{service.LEASE_PARTS}, 30 s at most",
    )


def _lease_seconds(raw: str) -> float:
    try:
        seconds = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {raw!r}") from None
    if not seconds >= service.MIN_LEASE_SECONDS:  # also refuses nan
        minimum = service.MIN_LEASE_SECONDS
        raise argparse.ArgumentTypeError(f"must be at least {minimum:g} seconds")
    return seconds


def _run(args: argparse.Namespace) -> int:
    options = service.RoleOptions(lease=args.lease)
    return service.run(LiveSettings(_settings(args), os.environ), "run", options)


def _worker(args: argparse.Namespace) -> int:
    options = service.RoleOptions(heartbeat=args.heartbeat, lease=args.lease)
    return service.run(LiveSettings(_settings(args), os.environ), "worker", options)


def _web(args: argparse.Namespace) -> int:
    options = service.RoleOptions(args.host, args.port, args.stream_recheck)
    return service.run(LiveSettings(_settings(args), os.environ), "web", options)


def _migrate(args: argparse.Namespace) -> int:
    if args.new is not None:
        print(write_migration(args.new, args.versions or migrate.VERSIONS))
        return 0
    if args.versions is not None:
        print("error: --versions goes with --new", file=sys.stderr)
        return 2
    engine = create_store_engine(_settings(args).service.database_url)
    try:
        if args.status:
            lines = migrate.status_report(*status(engine))
        else:
            lines = upgrade(engine, contract=args.contract, confirmed=args.yes).report()
    finally:
        engine.dispose()
    print("\n".join(lines))
    return 0


def _health(args: argparse.Namespace) -> int:
    problems = service.check_health(_settings(args), args.heartbeat, args.max_age)
    for problem in problems:
        print(f"unhealthy: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _poll(args: argparse.Namespace) -> int:
    """One pass over every source on the worker's engine: POLL_THREADS at a time, each
    host within its `[fetch]` / `[[hosts]]` share, the parse pool doing the CPU work."""
    settings = _settings(args)
    with service.built(settings) as parts, Progress(console=err, transient=True) as progress:
        total = len(settings.sources)
        task = progress.add_task(f"polling {total} sources", total=total)

        def one(source: SourceSpec) -> PollReport:
            story = settings.story(source.story)
            assert story is not None  # config validation guarantees it
            report = poll(
                source,
                story,
                store=parts.store,
                fetchers=parts.fetchers,
                now=datetime.now(UTC),
                parsing=parts.parsing,
            )
            progress.advance(task)
            return report

        with ThreadPoolExecutor(max_workers=POLL_THREADS, thread_name_prefix="poll") as pool:
            reports = list(pool.map(one, settings.sources))
    err.print(_summary(reports))
    for report in reports:
        if report.error:  # in full, where the table had to cut it short
            print(f"{report.source}: {report.error}", file=sys.stderr)
    return 1 if any(r.failed for r in reports) else 0


def _summary(reports: list[PollReport]) -> Table:
    """One row a source; a `filtered` column when a story's keywords left items out."""
    table = Table(title="poll summary")
    columns = ["new", "updated", "duplicates", "deleted", "unchanged"]
    filtering = any(r.filtered for r in reports)
    columns += ["filtered"] if filtering else []
    for column in ("source", *columns, "error"):
        table.add_column(column, justify="left" if column in ("source", "error") else "right")
    for r in reports:
        error = f"[red]{escape(r.error)}[/]" if r.error else ""
        counts = [r.new, r.updated, r.duplicates, r.deleted, r.unchanged]
        counts += [r.filtered] if filtering else []
        table.add_row(r.source, *map(str, counts), error)
    return table


def _export(args: argparse.Namespace) -> int:
    settings = _settings(args)
    story = settings.story(args.story)
    if story is None:
        known = ", ".join(s.id for s in settings.stories)
        print(f"error: no story {args.story!r} (stories: {known})", file=sys.stderr)
        return 2
    fmt: FeedFormat = args.format
    with service.built(settings) as parts:
        body = render_story(parts.store, settings, story, fmt)
    if args.output:
        write_atomically(args.output, body)
        err.print(f"wrote {len(body)} bytes to {args.output}")
    else:
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
    return 0


def _check_config(args: argparse.Namespace) -> int:
    settings = _settings(args)
    service_settings = settings.service
    print(f"{settings.path}: OK")
    print(f"  database: {service.safe_url(service_settings.database_url)}")
    print(
        f"  serving:  {service_settings.public_url} (listening on "
        f"{service_settings.host}:{service_settings.port})"
    )
    print(f"  timezone: {service_settings.timezone}")
    for story in settings.stories:
        print(f"  story {story.id}: {story.title}")
        for source in settings.sources_of(story.id):
            print(
                f"    - {source.name} [{source.kind}] every {source.interval:g}s: {source.location}"
            )
    missing = [s for s in settings.sources if s.path and not glob.glob(s.path)]
    for source in missing:
        print(f"error: {source.name}: no file matches {source.path}", file=sys.stderr)
    return 2 if missing else 0


def _explain(args: argparse.Namespace) -> int:
    with service.built(_settings(args)) as parts:
        entry_id = parts.store.find_entry(args.entry)
        cluster = None if entry_id is None else parts.store.cluster(entry_id)
    if cluster is None:
        print(f"error: no entry {args.entry!r}", file=sys.stderr)
        return 2
    entry = cluster.entry
    print(f"{entry_iri(entry.story, entry.key)}  (entry {entry.id}, key {entry.key})")
    print(f"  title:     {_shown(entry.title)}")
    print(
        f"  published: {format_rfc3339(entry.published)}  updated: {format_rfc3339(entry.updated)}"
    )
    print(f"  shown as from {entry.source.name}; {len(cluster.members)} cop(ies):")
    for m in cluster.members:
        how = "first copy" if m.match is None else f"{m.match} {m.score or 0:.2f}"
        print(f"  - {m.source} [{how}] {m.title!r} ({_shown(m.item_key)})")
        if m.reason:
            print(f"      {_shown(m.reason)}")
    return 0


def _shown(text: str) -> str:
    """Publisher text for a terminal: what is not printable (escape sequences, C1
    controls) is shown as an escape, never sent to the terminal to act on."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def _split(args: argparse.Namespace) -> int:
    with service.built(_settings(args)) as parts:
        entry_id = parts.store.find_entry(args.entry)
        if entry_id is None:
            print(f"error: no entry {args.entry!r}", file=sys.stderr)
            return 2
        new_id = parts.store.split(entry_id, args.source, datetime.now(UTC))
    print(f"split {args.source}'s copy out of entry {entry_id} into entry {new_id}; kept apart")
    return 0
