"""A live page's life: it grows five times, one post is corrected, one taken down.

The merged feed must end with exactly the right entries, every id unchanged, one update
and one tombstone (RFC 6721) published, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.core.types import SourceSpec, StorySpec
from aggregator.ingest.pipeline import poll
from aggregator.ingest.sources import Fetchers
from aggregator.publish.feeds import render_feed
from aggregator.publish.ids import entry_iri
from aggregator.publish.stream import event_json
from aggregator.store import Store
from tests.support.builders import T0
from tests.support.feedcheck import ATOM, check_atom

pytestmark = pytest.mark.slow

STORY = StorySpec("flood", "Flood")
TOMBSTONE = "{http://purl.org/atompub/tombstones/1.0}deleted-entry"
POSTS = [
    (
        "River levels peak in the town centre",
        "The river reached its highest level since 2007 overnight, the Environment Agency said.",
    ),
    (
        "Schools closed across the valley",
        "Twelve schools will stay shut on Monday while roads remain under water, the council said.",
    ),
    (
        "Rail line suspended between two stations",
        "Trains are not running because the track is flooded near the viaduct, the operator said.",
    ),
    (
        "Volunteers fill sandbags at the depot",
        "More than two hundred people turned up to help before the second band of rain arrived.",
    ),
    (
        "Council opens rest centre for residents",
        "Families from riverside streets can stay at the leisure centre, which has 80 beds.",
    ),
]


def page(posts: list[tuple[str, str]]) -> str:
    """A saved live page: newest post on top, chrome around it."""
    body = "\n\n".join(f"{title}\n\n{text}" for title, text in reversed(posts))
    return f"Live updates\n\n{body}\n\nLoad more updates\n"


def test_five_polls_one_correction_one_takedown(
    store: Store, fetchers: Fetchers, tmp_path: Path
) -> None:
    path = tmp_path / "live.txt"
    spec = SourceSpec("live", "flood", "liveblog", None, str(path), 5, "Europe/London")
    store.sync_sources([spec])
    reports = []
    for n in range(1, 6):
        path.write_text(page(POSTS[:n]), encoding="utf-8")
        reports.append(
            poll(spec, STORY, store=store, fetchers=fetchers, now=T0 + timedelta(minutes=n))
        )
    assert [r.new for r in reports] == [1, 1, 1, 1, 1]
    ids = {e.title: e.key for e in store.story_view(STORY).entries}

    corrected = list(POSTS)
    corrected[1] = (POSTS[1][0], POSTS[1][1].replace("Twelve", "Fourteen"))
    path.write_text(page(corrected), encoding="utf-8")
    edit = poll(spec, STORY, store=store, fetchers=fetchers, now=T0 + timedelta(minutes=10))
    assert (edit.new, edit.updated, edit.deleted) == (0, 1, 0)

    without = [p for i, p in enumerate(corrected) if i != 2]
    path.write_text(page(without), encoding="utf-8")
    takedown = poll(spec, STORY, store=store, fetchers=fetchers, now=T0 + timedelta(minutes=11))
    assert (takedown.new, takedown.updated, takedown.deleted) == (0, 0, 1)
    again = poll(spec, STORY, store=store, fetchers=fetchers, now=T0 + timedelta(minutes=12))
    assert (again.new, again.updated, again.deleted) == (0, 0, 0)

    view = store.story_view(STORY)
    assert {e.title for e in view.entries} == {t for t, _ in without}
    assert all(ids[e.title] == e.key for e in (*view.entries, *view.deleted))
    schools = next(e for e in view.entries if e.title == POSTS[1][0])
    assert schools.published == T0 + timedelta(minutes=2) and "Fourteen" in schools.text
    assert schools.updated == T0 + timedelta(minutes=10)
    kinds = [e.kind for e in store.events_after("flood", 0)]
    assert kinds == ["new"] * 5 + ["update", "delete"]

    atom = render_feed(view, "atom", story_url="http://127.0.0.1/stories/flood")
    assert check_atom(atom) == []
    root = ET.fromstring(atom)
    assert len(root.findall(f"{ATOM}entry")) == 4
    [tomb] = root.findall(TOMBSTONE)
    assert tomb.get("ref") == entry_iri("flood", ids[POSTS[2][0]])
    assert tomb.get("when") == "2026-11-22T09:11:00Z"
    delete = store.events_after("flood", 0)[-1]
    assert json.loads(json.dumps(event_json(delete)))["event"] == "delete"
