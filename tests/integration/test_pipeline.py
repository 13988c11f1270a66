"""poll(): fetch | parse | normalize | dedupe | store, on the shipped seeds and real stores."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from aggregator.core.types import PollReport, SourceSpec, StorySpec
from aggregator.ingest.pipeline import poll
from aggregator.ingest.sources import Fetchers
from aggregator.store import Store
from tests.support.builders import T0
from tests.support.paths import ARTICLE_SEED, LIVEBLOG_SEED
from tests.support.shortcuts import retry_delay

STORY = StorySpec("rotherham", "Rotherham", ("Rotherham",))
TITLES = [
    "'What happened in Rotherham could happen anywhere'",
    "Ofsted: 'Not enough to wait for the next scandal'",
    "Ofsted: Councils 'too slow' over child sexual exploitation",
    "IPCC probe 'positive step' for victims' families",
    "Ten officers were part of group of 13 referred to IPCC",
    "Victim lawyer: Rotherham council was 'dysfunctional'",
    "Ofsted: We did not give Rotherham 'the focus it needed'",
]
ARTICLE_TITLE = "Rotherham child abuse scandal: Ofsted plans early inspection"
NEW_POST = (
    "Council leader apologises to victims\n\n"
    "The leader of Rotherham Council has apologised in person to victims and their families, "
    "saying the authority had let them down for more than a decade.\n\n"
)
# The two seed pages, copied where a test may edit them: a live page and an article.
Seeds = tuple[SourceSpec, SourceSpec]


@pytest.fixture
def seeds(tmp_path: Path) -> Seeds:
    live = tmp_path / "live.txt"
    article = tmp_path / "article.txt"
    shutil.copy(LIVEBLOG_SEED, live)
    shutil.copy(ARTICLE_SEED, article)
    common = SourceSpec("", "rotherham", "article", None, None, 5, "Europe/London")
    return (
        replace(common, name="itv-live", kind="liveblog", path=str(live)),
        replace(common, name="bbc-article", kind="article", path=str(article)),
    )


def poll_all(
    store: Store, fetchers: Fetchers, specs: Sequence[SourceSpec], now: datetime = T0
) -> dict[str, PollReport]:
    store.sync_sources(list(specs))
    return {s.name: poll(s, STORY, store=store, fetchers=fetchers, now=now) for s in specs}


def edit(spec: SourceSpec, old: str, new: str) -> None:
    path = Path(spec.path or "")
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_seeds_give_eight_entries_newest_first(
    store: Store, fetchers: Fetchers, seeds: Seeds
) -> None:
    reports = poll_all(store, fetchers, seeds)
    assert [r.new for r in reports.values()] == [7, 1]
    view = store.story_view(STORY)
    live = [e.title for e in view.entries if e.source.name == "itv-live"]
    assert live == TITLES
    assert [e.title for e in view.entries if e.source.name == "bbc-article"] == [ARTICLE_TITLE]
    assert {e.time_source for e in view.entries} == {"first-seen"}


def test_polling_again_adds_nothing(store: Store, fetchers: Fetchers, seeds: Seeds) -> None:
    poll_all(store, fetchers, seeds)
    again = poll_all(store, fetchers, seeds, now=T0 + timedelta(minutes=1))
    assert all((r.new, r.updated, r.error) == (0, 0, None) for r in again.values())
    assert len(store.story_view(STORY).entries) == 8


@pytest.mark.slow
def test_a_new_post_on_top_is_one_new_entry_first_in_the_feed(
    store: Store, fetchers: Fetchers, seeds: Seeds
) -> None:
    poll_all(store, fetchers, seeds)
    edit(seeds[0], "Live updates\n\n", "Live updates\n\n" + NEW_POST)
    later = T0 + timedelta(minutes=3)
    report = poll(seeds[0], STORY, store=store, fetchers=fetchers, now=later)
    assert (report.new, report.updated, report.unchanged) == (1, 0, 7)
    first = store.story_view(STORY).entries[0]
    assert first.title == "Council leader apologises to victims"
    assert first.published == later and first.time_source == "first-seen"


@pytest.mark.slow
def test_a_corrected_post_keeps_its_id_and_published(
    store: Store, fetchers: Fetchers, seeds: Seeds
) -> None:
    poll_all(store, fetchers, seeds)
    before = {e.title: e for e in store.story_view(STORY).entries}
    edit(seeds[0], "representing 32 victims", "representing 34 victims")
    later = T0 + timedelta(minutes=3)
    report = poll(seeds[0], STORY, store=store, fetchers=fetchers, now=later)
    assert (report.new, report.updated) == (0, 1)
    after = {e.title: e for e in store.story_view(STORY).entries}
    title = TITLES[5]
    assert after[title].key == before[title].key and after[title].published == T0
    assert after[title].updated == later and "34 victims" in after[title].text
    assert len(after) == 8


@pytest.mark.slow
def test_a_post_taken_down_is_deleted_and_a_returning_one_keeps_its_id(
    store: Store, fetchers: Fetchers, seeds: Seeds
) -> None:
    poll_all(store, fetchers, seeds)
    [before] = [e for e in store.story_view(STORY).entries if e.title == TITLES[5]]
    path = Path(seeds[0].path or "")
    original = path.read_text(encoding="utf-8")
    start, end = original.index("Victim lawyer:"), original.index("Ofsted: We did not")
    path.write_text(original[:start] + original[end:], encoding="utf-8")
    removed = poll(seeds[0], STORY, store=store, fetchers=fetchers, now=T0 + timedelta(minutes=1))
    assert (removed.new, removed.deleted) == (0, 1)
    view = store.story_view(STORY)
    assert len(view.entries) == 7 and [e.title for e in view.deleted] == [TITLES[5]]
    path.write_text(original, encoding="utf-8")
    back = poll(seeds[0], STORY, store=store, fetchers=fetchers, now=T0 + timedelta(minutes=2))
    assert (back.new, back.updated, back.deleted) == (0, 1, 0)
    [after] = [e for e in store.story_view(STORY).entries if e.title == TITLES[5]]
    assert (after.key, after.published) == (before.key, before.published)
    assert [e.kind for e in store.events_after("rotherham", 0)][-2:] == ["delete", "update"]


@pytest.mark.slow
def test_posts_that_scroll_off_the_bottom_are_not_deleted(
    store: Store, fetchers: Fetchers, seeds: Seeds
) -> None:
    poll_all(store, fetchers, seeds)
    path = Path(seeds[0].path or "")
    original = path.read_text(encoding="utf-8")
    path.write_text(original[: original.index("Victim lawyer:")], encoding="utf-8")
    report = poll(seeds[0], STORY, store=store, fetchers=fetchers, now=T0 + timedelta(minutes=1))
    assert (report.new, report.deleted, report.unchanged) == (0, 0, 5)
    assert len(store.story_view(STORY).entries) == 8


def test_a_broken_source_is_reported_and_backs_off(
    store: Store, fetchers: Fetchers, seeds: Seeds, tmp_path: Path
) -> None:
    missing = SourceSpec(
        "gone", "rotherham", "liveblog", None, str(tmp_path / "nope.txt"), 10, "Europe/London"
    )
    reports = poll_all(store, fetchers, [missing, *seeds])
    assert reports["gone"].error and "nope.txt" in str(reports["gone"].error)
    assert reports["itv-live"].new == 7 and reports["bbc-article"].new == 1
    status = store.source_status("gone")
    assert status.error_count == 1 and status.next_attempt_at == T0 + timedelta(seconds=10)


def test_backoff_doubles_and_is_capped() -> None:
    assert [retry_delay(60, n).total_seconds() for n in range(4)] == [60, 120, 240, 480]
    assert retry_delay(60, 50) == timedelta(hours=1)
    assert retry_delay(7200, 3) == timedelta(hours=2)
