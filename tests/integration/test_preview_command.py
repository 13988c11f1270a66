"""`aggregator preview` for someone checking a source before adding it: a story's
keywords applied as a poll applies them, a warning when the document is not the kind
asked for, and a table for people."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aggregator.cli.main import main

RSS = """<?xml version="1.0" encoding="utf-8"?>
<!-- a comment before the root -->
<rss version="2.0"><channel><title>Wire</title><link>https://wire.example/</link>
<item><title>Rotherham council apologises</title><guid>a1</guid>
<description>The council in Rotherham apologised to victims on Tuesday.</description></item>
<item><title>Weather: sunny spells</title><guid>a2</guid>
<description>A dry day for most of the country, forecasters said.</description></item>
<item><title>Rotherham inquiry: weather delays hearing</title><guid>a3</guid>
<description>Storms delayed the Rotherham hearing by a day.</description></item>
</channel></rss>
"""
PAGE = """<!doctype html><html><head><title>Live</title></head><body><main>
<h1>Council live</h1><p>The council met today to discuss the report into failures.</p>
</main></body></html>
"""
CONFIG = """
[[stories]]
id = "rotherham"
title = "Rotherham"
keywords = ["Rotherham"]
exclude = ["weather"]
"""


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "wire.xml").write_text(RSS, encoding="utf-8")
    (tmp_path / "page.html").write_text(PAGE, encoding="utf-8")
    (tmp_path / "aggregator.toml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


def preview(files: Path, *args: str) -> int:
    return main(["--config", str(files / "aggregator.toml"), "preview", *args])


def test_story_keywords_and_exclusions_apply_as_in_a_poll(
    files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert preview(files, str(files / "wire.xml"), "--kind", "feed") == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    assert preview(files, str(files / "wire.xml"), "--kind", "feed", "--story", "rotherham") == 0
    captured = capsys.readouterr()
    titles = [json.loads(line)["title"] for line in captured.out.splitlines()]
    assert titles == ["Rotherham council apologises"]
    assert "2 item(s) left out by the keywords of story rotherham" in captured.err
    assert preview(files, str(files / "wire.xml"), "--kind", "feed", "--story", "nope") == 2
    assert "no story 'nope' (stories: rotherham)" in capsys.readouterr().err


def test_a_feed_previewed_as_a_page_is_named_as_a_feed(
    files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    preview(files, str(files / "wire.xml"), "--kind", "liveblog")
    assert "it looks like an RSS or Atom feed: --kind feed reads it as one" in (
        capsys.readouterr().err
    )


def test_a_page_previewed_as_a_feed_is_named_as_a_page(
    files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    preview(files, str(files / "page.html"), "--kind", "feed")
    assert "it looks like an HTML page, not a feed" in capsys.readouterr().err


def test_the_right_kind_gets_no_warning(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert preview(files, str(files / "page.html"), "--kind", "article") == 0
    assert "warning" not in capsys.readouterr().err


def test_a_table_for_people(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert preview(files, str(files / "wire.xml"), "--kind", "feed", "--format", "table") == 0
    out = capsys.readouterr().out
    assert "3 entries" in out and "Rotherham council apologises" in out and "first-seen" in out
