"""One store read for every event stream that asks for the same events at the same time.

When a story changes, every stream following it wakes at once and asks the store for the
events after the last id it sent; most of them sent the same last id. A read for that
(story, id) that is still running answers all of them, provided it started after the
asker's last "story changed" signal (same signal generation): whatever was committed and
signalled before the asker looked is then in that read, and anything signalled later
wakes the asker again. Finished reads are not kept, so a stream's periodic re-check
always reaches the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import anyio

from aggregator.core.types import StreamEvent
from aggregator.web.changes import StoryChanges

ReadEvents = Callable[[str, int], list[StreamEvent]]
_Running = tuple[tuple[int, int], "asyncio.Future[list[StreamEvent]]"]


class SharedReads:
    def __init__(self, read: ReadEvents, changes: StoryChanges) -> None:
        self.read = read
        self.changes = changes
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running: dict[tuple[str, int], _Running] = {}

    async def events_after(self, story: str, after: int) -> list[StreamEvent]:
        """The story's events after id `after`, read in a worker thread, shared with
        every caller asking the same while the read runs. Take the stream's change token
        before calling, as for a read of one's own."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._running = loop, {}
        generation = self.changes.generation(story)
        key = (story, after)
        running = self._running.get(key)
        if running is None or running[0] != generation:
            running = (generation, asyncio.ensure_future(self._read(story, after)))
            self._running[key] = running
            running[1].add_done_callback(lambda _: self._forget(key, running))
        # A caller that goes away (client disconnected) must not cancel the others' read.
        return await asyncio.shield(running[1])

    async def _read(self, story: str, after: int) -> list[StreamEvent]:
        return await anyio.to_thread.run_sync(self.read, story, after)

    def _forget(self, key: tuple[str, int], running: _Running) -> None:
        if self._running.get(key) is running:
            del self._running[key]
