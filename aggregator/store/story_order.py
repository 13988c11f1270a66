"""EDGE: ids that follow commit order within a story (events, band changes).

Ids come from one sequence, but on PostgreSQL two writers may commit in the other order
than they took their ids; a reader that had read id 11 would then never see 10. Taking
the story's lock before taking ids rules that out. SQLite has one writer at a time
already.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select

# The first key of the advisory locks that order a story's ids (the second: the story);
# deciding.py's is 0x61676A.
EVENTS_LOCK = 0x657674


def hold_story_events(c: Connection, story: str) -> None:
    """Make the story's event and band-change ids follow commit order, up to this
    transaction's end."""
    if c.dialect.name == "postgresql":
        c.execute(select(func.pg_advisory_xact_lock(EVENTS_LOCK, func.hashtext(story))))
