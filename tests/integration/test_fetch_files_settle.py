"""A local file rewritten in place (an editor without atomic save, a sync tool) is read
only once its writer is done: never half-written into the store."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.core.types import FetchState, SourceSpec, StorySpec
from aggregator.fetch.files import Settling, fetch_files
from aggregator.fetch.limits import FetchLimits
from aggregator.ingest.pipeline import poll
from aggregator.ingest.sources import Fetchers
from aggregator.store import Store
from tests.support.builders import T0
from tests.support.paths import LIVEBLOG_SEED

LIMITS = FetchLimits(max_bytes=64 * 1024)
STORY = StorySpec("rotherham", "Rotherham")
NEW_POST = (
    "Council leader apologises to victims\n\n"
    "The leader of the council has apologised in person to victims and their families, "
    "saying the authority had let them down for more than a decade.\n\n"
)


def spec(path: Path, kind: str = "article") -> SourceSpec:
    return SourceSpec(
        name="desk",
        story="rotherham",
        kind=kind,  # type: ignore[arg-type]
        url=None,
        path=str(path),
        interval=60,
        timezone="Europe/London",
    )


@contextmanager
def rewriting_in_place(
    path: Path, body: bytes, *, chunk: int, pause: float
) -> Iterator[threading.Event]:
    """Rewrite `path` as a save in place does: truncate, then `chunk` bytes at a time,
    `pause` seconds apart. Yields an event set once half the body is on disk, and
    leaves with the writer done."""
    half = threading.Event()

    def write() -> None:
        with path.open("r+b") as file:
            file.truncate(0)
            for start in range(0, len(body), chunk):
                file.write(body[start : start + chunk])
                file.flush()
                if start + chunk >= len(body) // 2:
                    half.set()
                time.sleep(pause)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        yield half
    finally:
        writer.join()


def numbered_lines(count: int) -> bytes:
    return b"".join(b"Line %d of the council minutes.\n" % n for n in range(count))


@pytest.mark.slow
def test_a_file_rewritten_in_place_is_read_once_the_writer_is_done(tmp_path: Path) -> None:
    page = tmp_path / "page.txt"
    page.write_bytes(b"An older version.\n")
    first = fetch_files(spec(page), FetchState(), now=T0, limits=LIMITS)
    body = numbered_lines(200)
    settling = Settling(quiet=0.25, patience=10.0)
    with rewriting_in_place(page, body, chunk=128, pause=0.01) as half:
        assert half.wait(10)
        second = fetch_files(spec(page), first.state, now=T0, limits=LIMITS, settling=settling)
    [document] = second.documents
    assert document.body == body
    assert second.state.files[str(page)].size == len(body)


@pytest.mark.slow
def test_a_file_still_changing_after_the_wait_is_left_for_the_next_poll(tmp_path: Path) -> None:
    page = tmp_path / "page.txt"
    page.write_bytes(b"An older version.\n")
    first = fetch_files(spec(page), FetchState(), now=T0, limits=LIMITS)
    body = numbered_lines(40)
    settling = Settling(quiet=0.2, patience=0.5)
    with rewriting_in_place(page, body, chunk=8, pause=0.01) as half:
        assert half.wait(10)
        during = fetch_files(spec(page), first.state, now=T0, limits=LIMITS, settling=settling)
        assert not during.documents and not during.problems
        assert during.state == first.state  # what was known stays, so it is read again
    after = fetch_files(spec(page), during.state, now=T0, limits=LIMITS, settling=settling)
    assert [d.body for d in after.documents] == [body]


def test_a_file_written_a_while_ago_is_read_without_waiting(tmp_path: Path) -> None:
    page = tmp_path / "page.txt"
    page.write_bytes(b"Written an hour ago.\n")
    an_hour_ago = time.time_ns() - 3600 * 1_000_000_000
    os.utime(page, ns=(an_hour_ago, an_hour_ago))
    started = time.monotonic()
    fetched = fetch_files(
        spec(page), FetchState(), now=T0, limits=LIMITS, settling=Settling(quiet=5.0)
    )
    assert time.monotonic() - started < 1.0
    assert [d.body for d in fetched.documents] == [b"Written an hour ago.\n"]


@pytest.mark.slow
def test_a_live_page_saved_in_place_mid_poll_is_never_stored_half_written(
    store: Store, fetchers: Fetchers, tmp_path: Path
) -> None:
    live = tmp_path / "live.txt"
    shutil.copy(LIVEBLOG_SEED, live)
    source = spec(live, kind="liveblog")
    store.sync_sources([source])
    assert poll(source, STORY, store=store, fetchers=fetchers, now=T0).new == 7
    before = {e.title: e.text for e in store.story_view(STORY).entries}
    edited = live.read_text(encoding="utf-8").replace(
        "Live updates\n\n", "Live updates\n\n" + NEW_POST, 1
    )
    later = T0 + timedelta(minutes=1)
    with rewriting_in_place(live, edited.encode("utf-8"), chunk=128, pause=0.005) as half:
        assert half.wait(10)
        report = poll(source, STORY, store=store, fetchers=fetchers, now=later)
    assert report.error is None
    assert (report.new, report.updated, report.deleted) == (1, 0, 0)
    after = {e.title: e.text for e in store.story_view(STORY).entries}
    assert len(after) == 8 and {title: after[title] for title in before} == before
