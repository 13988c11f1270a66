"""EDGE: a database error told in a few words, for StoreError's message.

SQLAlchemy's own text carries the statement and its parameters (`[SQL: INSERT ...]`,
`[parameters: (...)]`): the text of the posts being written, in logs and in /healthz.
The message keeps the driver's one-line reason and the kind of error; the whole error
stays reachable as the StoreError's cause.
"""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

_MOST = 160


def db_reason(error: SQLAlchemyError) -> str:
    """`OperationalError: database is locked`, `IntegrityError: UNIQUE constraint
    failed: entries.key`: the driver's first line, without statement or values."""
    cause = getattr(error, "orig", None)
    told: BaseException = cause if isinstance(cause, BaseException) else error
    lines = str(told).strip().splitlines()
    # A bare SQLAlchemyError's own text starts its statement on a line of its own.
    first = lines[0].partition("[SQL:")[0].strip() if lines else ""
    first = first[:_MOST] + ("..." if len(first) > _MOST else "")
    return f"{type(told).__name__}: {first}" if first else type(told).__name__


# What a database says when it can read but not write: SQLite's SQLITE_FULL, READONLY
# and IOERR, PostgreSQL's disk_full (53100), read_only_sql_transaction (25006) and a
# file it could not extend.
_STORAGE = (
    "database or disk is full",
    "readonly database",
    "disk i/o error",
    "no space left on device",
    "could not extend file",
    "read-only transaction",
)


def is_storage_failure(error: SQLAlchemyError) -> bool:
    """Whether the error says the database cannot take writes at all (full, read-only),
    rather than that one statement failed."""
    text = str(getattr(error, "orig", None) or error).lower()
    code = getattr(getattr(error, "orig", None), "sqlstate", None)
    return code in ("53100", "25006") or any(mark in text for mark in _STORAGE)
