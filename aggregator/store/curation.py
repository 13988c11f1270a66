"""The operator's hand on the store: find an entry, show the copies merged into it and
how each matched, split one source's copies back out, forget a removed source."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select

from aggregator.core.digits import INTEGER_MAX, read_count
from aggregator.core.types import Cluster
from aggregator.publish.ids import entry_iri
from aggregator.store import clusters, forgetting
from aggregator.store.connections import Part
from aggregator.store.forgetting import Forgetting
from aggregator.store.notify import announce
from aggregator.store.rows import also_from, feed_entry, member, source_refs
from aggregator.store.schema import entries, entry_items, events
from aggregator.store.story_order import hold_story_events
from aggregator.store.writes import mark_changed


class Curation(Part):
    def find_entry(self, ref: str) -> int | None:
        """The entry named by its public id (urn:uuid:...), its key, or its row id."""
        ref = ref.strip()
        with self.connections.reading() as c:
            if (row_id := read_count(ref, INTEGER_MAX)) is not None:
                found = c.execute(select(entries.c.id).where(entries.c.id == row_id)).scalar()
                return None if found is None else int(found)
            if not ref.startswith("urn:uuid:"):
                found = c.execute(select(entries.c.id).where(entries.c.key == ref)).scalar()
                return None if found is None else int(found)
            # Public ids are one-way (uuid5), so compare against every entry's.
            rows = c.execute(select(entries.c.id, entries.c.story, entries.c.key))
            return next((int(i) for i, s, k in rows if entry_iri(s, k) == ref), None)

    def cluster(self, entry_id: int) -> Cluster | None:
        """An entry and each copy merged into it, with how and how closely it matched."""
        members = (
            select(entry_items).where(entry_items.c.entry_id == entry_id).order_by(entry_items.c.id)
        )
        with self.connections.reading() as c:
            row = c.execute(select(entries).where(entries.c.id == entry_id)).first()
            if row is None:
                return None
            refs = source_refs(c)
            also = also_from(c, [entry_id])
            copies = c.execute(members).all()
        return Cluster(feed_entry(row, refs, also), tuple(member(m) for m in copies))

    def split(self, entry_id: int, source_name: str, now: datetime) -> int:
        """Undo a merge: `source_name`'s copies leave the entry for one of their own, and
        stay apart on later polls. Returns the new entry's id."""
        with self.connections.writing() as c:
            story = str(c.execute(select(entries.c.story).where(entries.c.id == entry_id)).scalar())
            new_id = clusters.split(c, entry_id, source_name, now)
            hold_story_events(c, story)
            for changed, kind in ((new_id, "new"), (entry_id, "update")):
                c.execute(
                    insert(events).values(story=story, entry_id=changed, kind=kind, created_at=now)
                )
            mark_changed(c, story, now)
            announce(c, story)
        return new_id

    def plan_forget(self, source: str) -> Forgetting:
        """What `forget` would do, changing nothing."""
        with self.connections.reading() as c:
            return forgetting.plan_forget(c, source)

    def forget(self, source: str, now: datetime) -> Forgetting:
        """Tombstone what only `source` carried, detach its copies from the rest and
        drop its rows, in one transaction (store/forgetting.py)."""
        with self.connections.writing() as c:
            return forgetting.forget(c, source, now)
