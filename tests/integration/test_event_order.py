"""On PostgreSQL, a story's event ids follow commit order: a writer that has taken ids
holds back the story's next writer until it commits, so a stream reading `id > last`
can never skip an id that commits late."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from aggregator.store import open_store
from aggregator.store.story_order import hold_story_events

pytestmark = pytest.mark.slow


def test_a_second_writer_of_the_story_waits_for_the_first_to_commit(postgres_url: str) -> None:
    store = open_store(postgres_url)
    order: list[str] = []
    try:
        with store.engine.begin() as first:
            hold_story_events(first, "story")

            def second_writer(story: str) -> None:
                with store.engine.begin() as second:
                    hold_story_events(second, story)
                    order.append(story)

            same, other = (
                threading.Thread(target=second_writer, args=(s,)) for s in ("story", "other")
            )
            same.start()
            other.start()
            other.join(timeout=10)
            same.join(timeout=1.0)  # bounded: it must still be waiting
            assert order == ["other"] and same.is_alive()
            first.execute(text("SELECT 1"))
        same.join(timeout=10)
        assert order == ["other", "story"]
    finally:
        store.engine.dispose()
