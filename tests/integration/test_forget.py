"""`aggregator forget`: a source removed from the config keeps its entries until the
operator forgets it; then what only it carried is tombstoned, merged entries lose only
its copy and keep their ids, and nothing happens without a confirmation."""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.cli.forget import forget_source
from aggregator.cli.main import main
from aggregator.config import Settings, load
from aggregator.core.errors import ConfigError, StoreError
from aggregator.store import Store
from tests.support.builders import T0, post, store_posts

CONFIG = """
[service]
database_url = "{url}"

[[stories]]
id = "story"
title = "A story"

[[sources]]
name = "wire"
kind = "feed"
url = "https://wire.example/feed"
"""
SHARED = post("Council apologises", "The council apologised to the victims on Tuesday.")
ONLY_OLD = [
    post("Inquiry opens", "The inquiry opened its hearings in the town hall.", 1),
    post("Report due", "The report is due before the end of the year, officials said.", 2),
]


@pytest.fixture
def settings(store: Store, database_url: str, tmp_path: Path) -> Settings:
    path = tmp_path / "aggregator.toml"
    path.write_text(CONFIG.format(url=database_url), encoding="utf-8")
    current = load(path, {})
    wire = current.sources[0]
    old = replace(wire, name="old-page", kind="liveblog", url=None, path="/srv/old.txt")
    store.sync_sources([wire, old])
    store_posts(store, old, [SHARED, *ONLY_OLD])
    store_posts(store, wire, [SHARED], now=T0 + timedelta(minutes=5))
    store.sync_sources(current.sources)  # removed from the config: stopped, kept
    return current


def args(name: str, yes: bool = True) -> argparse.Namespace:
    return argparse.Namespace(source=name, yes=yes)


def live_titles(store: Store, settings: Settings) -> list[str]:
    return sorted(e.title for e in store.story_view(settings.stories[0]).entries)


def test_removal_keeps_entries_and_forget_tombstones_what_only_it_carried(
    store: Store, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert live_titles(store, settings) == ["Council apologises", "Inquiry opens", "Report due"]
    before = store.events_after("story", 0)
    shared_id = next(
        e.id for e in store.story_view(settings.stories[0]).entries if e.title == SHARED.title
    )

    assert forget_source(args("old-page"), settings) == 0
    out = capsys.readouterr().out
    assert "2 entries only it carried will become tombstones" in out
    assert "1 entries other sources carry too will lose its copy" in out

    assert live_titles(store, settings) == ["Council apologises"]
    [kept] = store.story_view(settings.stories[0]).entries
    assert kept.id == shared_id  # same entry, same public id
    assert kept.source.name == "wire"
    events = store.events_after("story", before[-1].id)
    assert sorted(e.kind for e in events) == ["delete", "delete", "update"]
    assert store.plan_forget("old-page").known is False  # nothing of it is left to forget


def test_nothing_changes_without_a_confirmation(store: Store, settings: Settings) -> None:
    assert forget_source(args("old-page", yes=False), settings, ask=lambda _: "no") == 1
    assert len(live_titles(store, settings)) == 3
    assert forget_source(args("old-page", yes=False), settings, ask=lambda _: "old-page") == 0
    assert len(live_titles(store, settings)) == 1


def test_a_configured_or_unknown_source_is_refused(store: Store, settings: Settings) -> None:
    with pytest.raises(ConfigError, match="still configured: remove its"):
        forget_source(args("wire"), settings)
    with pytest.raises(StoreError, match="knows no source 'nobody'"):
        forget_source(args("nobody"), settings)


def test_a_source_added_again_brings_its_posts_back_under_their_old_ids(
    store: Store, settings: Settings
) -> None:
    ids = {e.title: e.id for e in store.story_view(settings.stories[0]).entries}
    forget_source(args("old-page"), settings)
    old = replace(settings.sources[0], name="old-page", kind="liveblog", url=None, path="/x")
    store.sync_sources([*settings.sources, old])
    store_posts(store, old, [SHARED, *ONLY_OLD], now=T0 + timedelta(hours=1))
    again = {e.title: e.id for e in store.story_view(settings.stories[0]).entries}
    assert again == ids


def test_as_typed_with_yes(
    store: Store, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    # Without --yes and without a terminal to ask on, nothing happens.
    assert main(["--config", str(settings.path), "forget", "old-page"]) == 1
    assert "add --yes" in capsys.readouterr().err
    assert len(live_titles(store, settings)) == 3
    assert main(["--config", str(settings.path), "forget", "old-page", "--yes"]) == 0
    assert "2 entries only it carried became tombstones" in capsys.readouterr().out
    assert live_titles(store, settings) == ["Council apologises"]
