"""Event streams that ask for the same events at once share one store read; a signal in
between, another position, or a finished read means a read of one's own."""

from __future__ import annotations

import asyncio
import threading

import pytest

from aggregator.core.types import StreamEvent
from aggregator.web.changes import StoryChanges
from aggregator.web.shared_reads import SharedReads


class GatedStore:
    """events_after that records each call and holds it until the gate opens."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.gate = threading.Event()

    def events_after(self, story: str, after: int) -> list[StreamEvent]:
        self.calls.append((story, after))
        if not self.gate.wait(10):
            raise TimeoutError("the test never opened the gate")
        return []


async def settle() -> None:
    """Let every task run up to its first real wait."""
    for _ in range(5):
        await asyncio.sleep(0)


def test_streams_at_one_position_share_one_read() -> None:
    async def scenario() -> None:
        store, changes = GatedStore(), StoryChanges()
        reads = SharedReads(store.events_after, changes)
        askers = [asyncio.ensure_future(reads.events_after("s", 7)) for _ in range(20)]
        behind = asyncio.ensure_future(reads.events_after("s", 3))
        other = asyncio.ensure_future(reads.events_after("t", 7))
        await settle()
        store.gate.set()
        await asyncio.gather(*askers, behind, other)
        assert sorted(store.calls) == [("s", 3), ("s", 7), ("t", 7)]

    asyncio.run(scenario())


def test_a_signal_after_a_read_started_needs_a_read_of_its_own() -> None:
    async def scenario() -> None:
        store, changes = GatedStore(), StoryChanges()
        reads = SharedReads(store.events_after, changes)
        first = asyncio.ensure_future(reads.events_after("s", 7))
        await settle()
        changes.changed("s")  # committed after the first read may have looked
        second = asyncio.ensure_future(reads.events_after("s", 7))
        await settle()
        changes.changed(None)  # "every story changed" counts too
        third = asyncio.ensure_future(reads.events_after("s", 7))
        await settle()
        store.gate.set()
        await asyncio.gather(first, second, third)
        assert store.calls == [("s", 7)] * 3

    asyncio.run(scenario())


def test_a_finished_read_is_not_reused() -> None:
    async def scenario() -> None:
        store, changes = GatedStore(), StoryChanges()
        store.gate.set()
        reads = SharedReads(store.events_after, changes)
        await reads.events_after("s", 7)
        await reads.events_after("s", 7)  # a re-check without any signal still reads
        assert store.calls == [("s", 7)] * 2

    asyncio.run(scenario())


def test_one_stream_going_away_leaves_the_shared_read_to_the_others() -> None:
    async def scenario() -> None:
        store, changes = GatedStore(), StoryChanges()
        reads = SharedReads(store.events_after, changes)
        leaving = asyncio.ensure_future(reads.events_after("s", 7))
        staying = asyncio.ensure_future(reads.events_after("s", 7))
        await settle()
        leaving.cancel()
        await settle()
        store.gate.set()
        assert await staying == [] and store.calls == [("s", 7)]
        with pytest.raises(asyncio.CancelledError):
            await leaving

    asyncio.run(scenario())
