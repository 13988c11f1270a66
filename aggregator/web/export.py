"""EDGE: a story's published documents as bytes, and as files written atomically."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from aggregator.config import LiveSettings, Settings
from aggregator.core.errors import AggregatorError
from aggregator.core.types import StorySpec
from aggregator.publish.feeds import FEED_FORMATS, FeedFormat, render_feed, titled
from aggregator.store.roles import ViewStore

log = logging.getLogger("aggregator.export")


def render_story(store: ViewStore, settings: Settings, story: StorySpec, fmt: FeedFormat) -> bytes:
    story_url = settings.service.public_url + f"/stories/{story.id}"
    view = titled(store.story_view(story, everything=True), settings.source_titles)
    return render_feed(view, fmt, story_url=story_url)


def write_atomically(path: Path, body: bytes) -> None:
    """Readers of `path` see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class OutputWriter:
    """Writes every format of a story into `[service] output_dir`, when one is set,
    whenever the story changes."""

    def __init__(self, store: ViewStore, live: LiveSettings) -> None:
        self.store = store
        self.live = live

    def __call__(self, story_id: str) -> None:
        settings = self.live.current
        story = settings.story(story_id)
        output_dir = settings.service.output_dir
        if story is None or output_dir is None:
            return
        for fmt in FEED_FORMATS:
            path = output_dir / f"{story.id}.{fmt}"
            try:
                write_atomically(path, render_story(self.store, settings, story, fmt))
            except (OSError, AggregatorError) as e:
                log.error("could not write output", extra={"path": str(path), "reason": str(e)})
