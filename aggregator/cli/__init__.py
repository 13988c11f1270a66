"""The `aggregator` command."""

from aggregator.cli.main import main

__all__ = ["main"]
