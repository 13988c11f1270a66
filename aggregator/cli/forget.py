"""`aggregator forget NAME`: the deliberate second step after removing a source from
the config, which only stops its polls. What only it carried becomes tombstones (feed
readers see deletions), merged entries lose its copy, and its rows go. Asks first."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aggregator.cli.parsers import subcommand
from aggregator.config import Settings
from aggregator.core.errors import ConfigError, StoreError
from aggregator.store import open_store
from aggregator.store.forgetting import Forgetting


def add_command(commands: Any, settings_of: Callable[[argparse.Namespace], Settings]) -> None:
    help_text = "tombstone the entries of a source removed from the config, and drop it"
    command = subcommand(
        commands, "forget", lambda args: forget_source(args, settings_of(args)), help_text
    )
    command.add_argument("source", metavar="SOURCE_NAME")
    command.add_argument("--yes", action="store_true", help="do not ask; for scripts")


def forget_source(
    args: argparse.Namespace, settings: Settings, ask: Callable[[str], str] = input
) -> int:
    name: str = args.source
    if any(s.name == name for s in settings.sources):
        reason = f"source {name!r} is still configured: remove its [[sources]] table first"
        raise ConfigError(str(settings.path), "[[sources]]", reason)
    store = open_store(settings.service.database_url)
    try:
        plan = store.plan_forget(name)
        if not plan.known:
            raise StoreError(f"the store knows no source {name!r}")
        print(describe(plan, future=True))
        if not args.yes and not _confirmed(name, ask):
            print("nothing changed", file=sys.stderr)
            return 1
        done = store.forget(name, datetime.now(UTC))
    finally:
        store.engine.dispose()
    print(describe(done, future=False))
    return 0


def describe(plan: Forgetting, *, future: bool) -> str:
    verb = ("will become", "will lose") if future else ("became", "lost")
    return (
        f"forget {plan.source}: {plan.tombstoned} entries only it carried {verb[0]} "
        f"tombstones (readers see them deleted); {plan.detached} entries other sources "
        f"carry too {verb[1]} its copy"
    )


def _confirmed(name: str, ask: Callable[[str], str]) -> bool:
    if not sys.stdin.isatty() and ask is input:
        print("not confirmed: standard input is not a terminal; add --yes", file=sys.stderr)
        return False
    try:
        return ask(f"type {name} to confirm: ").strip() == name
    except EOFError:
        return False
