"""The project's own exceptions.

    AggregatorError
     ├── ConfigError        the config file is wrong: names file, table, key and reason
     ├── SourceError        one source could not be polled; never stops the others
     │    ├── FetchError    network, HTTP status, size cap, unreadable file
     │    └── ParseError    the bytes arrived but are not what the kind expects
     └── StoreError         the database could not be read or written

Foreign exceptions are translated once, at the edge that met them, with `raise ... from e`.
"""

from __future__ import annotations


class AggregatorError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(AggregatorError):
    """The configuration is invalid. The message names the file, table, key and reason."""

    def __init__(self, file: str, where: str, reason: str) -> None:
        self.file = file
        self.where = where
        self.reason = reason
        location = f"{file}: {where}" if where else file
        super().__init__(f"{location}: {reason}")


class SourceError(AggregatorError):
    """A source failed. `source` is the configured source name ('' outside a poll)."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}" if source else reason)


class FetchError(SourceError):
    """The source's bytes could not be fetched or read. `retry_after` is the wait in
    seconds the server asked for (429/503 Retry-After), if it asked."""

    def __init__(self, source: str, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(source, reason)
        self.retry_after = retry_after


class ParseError(SourceError):
    """The source's bytes could not be understood as the configured kind."""


class StoreError(AggregatorError):
    """The store could not be reached, read or written."""
