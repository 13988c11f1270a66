"""Stores stopped inside the one renumbering of the migration chain (2026-12).

Three migrations were written out of order (0003 -> 0005 -> 0006 -> 0004 -> 0007) and
renumbered into order before any release carried them:

    the schema gains                          old id   new id
    the schedule's columns on sources         0005     0004
    websub_subscriptions                      0006     0005
    entry_bands.day (the band index per day)  0004     0006

Only a development checkout can have stopped at one of those three; its version row
then names another migration than the one its schema is at. At those ids the schema
says which it is, and `restamp` corrects the row before anything is planned. A store at
0003 or earlier, or at 0007 or later, is never looked at.
"""

from __future__ import annotations

from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from aggregator.core.errors import StoreError

RENUMBERED = frozenset({"0004", "0005", "0006"})


def actual_revision(connection: Connection, recorded: str | None) -> str | None:
    """The revision the schema is at, given the one its version row names."""
    if recorded not in RENUMBERED:
        return recorded
    found = inspect(connection)
    websub = found.has_table("websub_subscriptions")
    per_day = any(column["name"] == "day" for column in found.get_columns("entry_bands"))
    if per_day and not websub:
        raise StoreError(
            f"the schema matches no migration (version row {recorded}): entry_bands is "
            "kept per day but websub_subscriptions is missing; restore a backup"
        )
    return "0006" if per_day else "0005" if websub else "0004"


def restamp(connection: Connection) -> tuple[str, str] | None:
    """Point the version row at the revision the schema is at; (old, new) when it
    moved, None when it was right."""
    recorded = MigrationContext.configure(connection).get_current_revision()
    actual = actual_revision(connection, recorded)
    if recorded is None or actual is None or actual == recorded:
        return None
    connection.execute(
        text("UPDATE alembic_version SET version_num = :actual WHERE version_num = :recorded"),
        {"actual": actual, "recorded": recorded},
    )
    return recorded, actual
