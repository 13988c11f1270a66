"""A feed that names a WebSub hub, and one poll as the worker runs it with a subscriber.

    ATOM.format(hub=hub.url, topic=feed_url, entries=ENTRY.format(n=1, title="..."))

`poll_and_tell` polls the source with its response read for hub links, then tells the
subscriber what the poll found, as the worker does.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from aggregator.core.types import PollReport, SourceSpec, StorySpec
from aggregator.fetch.limits import FetchLimits
from aggregator.ingest.pipeline import poll
from aggregator.ingest.sources import Fetchers
from aggregator.store import Store
from aggregator.websub.subscriber import Subscriber

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Wire</title>
  <id>urn:example:wire</id>
  <updated>2026-11-22T09:00:00Z</updated>
  <link rel="hub" href="{hub}"/>
  <link rel="self" href="{topic}"/>
  {entries}
</feed>
"""
ENTRY = """<entry><id>urn:example:{n}</id><title>{title}</title>
  <updated>2026-11-22T09:0{n}:00Z</updated>
  <content type="text">{title}: the council said on Friday that inspectors would return.</content>
</entry>"""


def poll_and_tell(
    subscriber: Subscriber,
    spec: SourceSpec,
    store: Store,
    client: httpx.Client,
    now: datetime | None = None,
) -> PollReport:
    at = now or datetime.now(UTC)
    fetchers = Fetchers(client, FetchLimits())
    hubs = subscriber.wants_hubs(spec, at)
    story = StorySpec("story", "A story")
    report = poll(spec, story, store=store, fetchers=fetchers, now=at, find_hubs=hubs)
    subscriber.after_poll(spec, report, at)
    return report
