"""`aggregator sources import|export` and `GET /stories/{id}.opml`, as a user runs them:
the config keeps every comment, nothing is added twice, and a list exported here
imports elsewhere to the same sources."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from aggregator.cli.main import main
from aggregator.config import LiveSettings, load
from aggregator.parse.opml import read_outlines
from aggregator.store import Store
from aggregator.web.routes import Live, create_app
from tests.support.paths import DATA

OPML = DATA / "opml"
CONFIG = """\
# The operator's own notes: they must survive an import.
[service]
database_url = "sqlite:///{db}"
timezone = "Europe/London"   # trailing comment

[[stories]]
id = "inquiry"
title = "The inquiry"

[[sources]]
name = "gazette"
title = "Example Gazette"    # shown to readers
story = "inquiry"
kind = "feed"
url = "https://gazette.example/england/rss.xml"

[[sources]]
name = "saved-page"
story = "inquiry"
kind = "liveblog"
path = "pages/live.html"

# A commented-out source stays commented out:
# [[sources]]
# name = "later"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "aggregator.toml"
    path.write_text(CONFIG.format(db=tmp_path / "store.sqlite"), encoding="utf-8")
    return path


def aggregator(config: Path, *args: str) -> int:
    return main(["--config", str(config), *args])


def test_import_appends_after_the_untouched_file_and_skips_known_addresses(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = config.read_text(encoding="utf-8")
    assert aggregator(config, "sources", "import", str(OPML / "miniflux-shape.opml")) == 0
    after = config.read_text(encoding="utf-8")
    assert after.startswith(before)
    assert "# Added by `aggregator sources import` from miniflux-shape.opml" in after
    out = capsys.readouterr().out
    assert "already in the config: https://gazette.example/england/rss.xml" in out
    settings = load(config, {})
    added = {s.name: (s.kind, s.url, s.title) for s in settings.sources[2:]}
    assert added == {
        "northern-post": ("feed", "https://northern-post.example/feed", "Northern Post"),
        "wire-co": ("feed", "https://wire.example/top.atom", "Wire & Co"),
    }
    # The same list again adds nothing and leaves the file as it is.
    assert aggregator(config, "sources", "import", str(OPML / "miniflux-shape.opml")) == 0
    assert config.read_text(encoding="utf-8") == after
    assert "0 added, 3 skipped" in capsys.readouterr().out


def test_untitled_outlines_are_named_by_host_and_names_stay_unique(config: Path) -> None:
    assert aggregator(config, "sources", "import", str(OPML / "newsboat-shape.opml")) == 0
    names = [s.name for s in load(config, {}).sources]
    assert names == ["gazette", "saved-page", "radio-news", "untitled-example"]


def test_page_addresses_need_a_page_kind_and_odd_addresses_are_refused(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    opml = str(OPML / "mixed-shape.opml")
    assert aggregator(config, "sources", "import", opml) == 0
    out = capsys.readouterr().out
    assert "skipped Inquiry live page: a page address but no feed address" in out
    assert "skipped Not the web: not an http or https address: ftp://" in out
    assert [s.name for s in load(config, {}).sources][2:] == ["case-changed-attributes"]

    assert aggregator(config, "sources", "import", opml, "--kind", "liveblog") == 0
    pages = [(s.name, s.kind, s.url) for s in load(config, {}).sources if s.kind == "liveblog"]
    assert ("inquiry-live-page", "liveblog", "https://live.example/inquiry-live") in pages


def test_dry_run_writes_nothing(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = config.read_text(encoding="utf-8")
    args = ("sources", "import", str(OPML / "freshrss-shape.opml"), "--dry-run")
    assert aggregator(config, *args) == 0
    assert config.read_text(encoding="utf-8") == before
    assert "would add town-hall-notices (feed) https://townhall.example/notices.rss" in (
        capsys.readouterr().out
    )


def test_bad_lists_and_unknown_stories_fail_naming_the_file(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.opml"
    broken.write_bytes(b"<opml><body><outline")
    before = config.read_text(encoding="utf-8")
    assert aggregator(config, "sources", "import", str(broken)) == 2
    assert f"{broken}: not an OPML list we can read: not well-formed" in capsys.readouterr().err
    opml = str(OPML / "freshrss-shape.opml")
    assert aggregator(config, "sources", "import", opml, "--story", "other") == 2
    assert "no story 'other' (stories: inquiry)" in capsys.readouterr().err
    assert config.read_text(encoding="utf-8") == before


def test_export_then_import_elsewhere_gives_the_same_sources(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        aggregator(
            config, "sources", "import", str(OPML / "mixed-shape.opml"), "--kind", "liveblog"
        )
        == 0
    )
    exported = tmp_path / "inquiry.opml"
    assert aggregator(config, "sources", "export", "-o", str(exported)) == 0
    assert "1 local file source(s) left out" in capsys.readouterr().err

    elsewhere = tmp_path / "elsewhere" / "aggregator.toml"
    elsewhere.parent.mkdir()
    elsewhere.write_text('[[stories]]\nid = "copy"\ntitle = "Copy"\n', encoding="utf-8")
    assert aggregator(elsewhere, "sources", "import", str(exported)) == 0
    original = {(s.kind, s.url) for s in load(config, {}).sources if s.url}
    copied = {(s.kind, s.url) for s in load(elsewhere, {}).sources}
    assert copied == original and len(copied) == 3


@pytest.fixture
def client(store: Store, config: Path) -> Iterator[TestClient]:
    settings = load(config, {})
    store.sync_sources(settings.sources)
    with TestClient(create_app(store, LiveSettings(settings, {}), Live())) as test_client:
        yield test_client


def test_the_service_serves_each_storys_sources_as_opml(client: TestClient) -> None:
    response = client.get("/stories/inquiry.opml")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/x-opml; charset=utf-8"
    outlines = read_outlines(response.content)
    assert [(o.title, o.xml_url, o.kind) for o in outlines] == [
        ("Example Gazette", "https://gazette.example/england/rss.xml", "feed")
    ]
    again = client.get("/stories/inquiry.opml", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/stories/nope.opml").status_code == 404
