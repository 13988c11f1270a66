"""The Store, composed in one place: one class line lists its parts. Each part is a
class of its own module that reaches the database only through the Connections every
part shares (store/connections.py): one engine, one SQLite write lock.

    StoryViews     views.py       what publish renders: a story's page, archive pages,
                                  its version (for the render cache), its events
    SourceReads    health.py      what /healthz, the index and `status` report: ping,
                                  each source's last poll and schedule, entry counts
    Curation       curation.py    an entry's merged copies and how each matched; a split;
                                  forgetting a source the config no longer names
    ScheduleRows   scheduling.py  the sources table against the config; a worker's
                                  leases on due sources
    PollWrites     polls.py       one poll: what we knew, one decision at a time per
                                  story, the decisions and new state in one transaction

Consumers are typed against what they use of it, the role protocols of store/roles.py;
service.py alone builds the concrete Store (through open_store).
"""

from __future__ import annotations

from sqlalchemy import Engine

from aggregator.store.connections import Connections
from aggregator.store.curation import Curation
from aggregator.store.health import SourceReads
from aggregator.store.polls import PollWrites
from aggregator.store.scheduling import ScheduleRows
from aggregator.store.views import StoryViews


class Store(StoryViews, SourceReads, Curation, ScheduleRows, PollWrites):
    def __init__(self, engine: Engine) -> None:
        super().__init__(Connections(engine))
        # The engine itself, for whoever disposes of it or shares its pool.
        self.engine = engine
