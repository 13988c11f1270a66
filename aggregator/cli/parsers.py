"""One way to declare a subcommand: its help line is also its description."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def subcommand(
    commands: Any, name: str, handler: Callable[[argparse.Namespace], int], help_text: str
) -> argparse.ArgumentParser:
    """A subcommand of `commands` (argparse's subparsers) that runs `handler`."""
    command: argparse.ArgumentParser = commands.add_parser(
        name, help=help_text, description=help_text[0].upper() + help_text[1:] + "."
    )
    command.set_defaults(handler=handler)
    return command
