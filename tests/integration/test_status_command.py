"""`aggregator status` as an operator runs it: every source's state from the store,
exit status 1 while one fails, filters, a read that creates nothing, and a closed pipe
that ends it quietly."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.cli.main import main
from aggregator.config import load
from aggregator.store import Store
from tests.support.builders import T0, post, store_posts
from tests.support.paths import ROOT

CONFIG = """
[service]
database_url = "{url}"

[[stories]]
id = "story"
title = "A story"

[[stories]]
id = "other"
title = "Another story"

[[sources]]
name = "live"
story = "story"
kind = "liveblog"
path = "live.txt"

[[sources]]
name = "wire"
story = "story"
kind = "feed"
url = "https://wire.example/feed"

[[sources]]
name = "added-later"
story = "other"
kind = "article"
path = "later.txt"
"""


@pytest.fixture
def config(store: Store, database_url: str, tmp_path: Path) -> Path:
    path = tmp_path / "aggregator.toml"
    path.write_text(CONFIG.format(url=database_url), encoding="utf-8")
    settings = load(path, {})
    store.sync_sources(settings.sources[:2])  # the third is new since the service started
    live, wire = settings.sources[:2]
    store_posts(store, live, [post("One", "First post."), post("Two", "Second post.", 1)])
    store.record_failure(wire, "HTTP 503", T0, T0 + timedelta(minutes=2), why="backing off")
    return path


def status(config: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list]:  # type: ignore[type-arg]
    code = main(["--config", str(config), "status", "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_every_source_with_its_state_and_exit_1_while_one_fails(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = status(config, capsys=capsys)
    assert code == 1
    by_name = {line["name"]: line for line in lines}
    assert list(by_name) == ["live", "wire", "added-later"]
    assert by_name["live"]["state"] == "ok" and by_name["live"]["entries"] == 2
    wire = by_name["wire"]
    assert (wire["state"], wire["last_error"], wire["error_count"]) == ("failing", "HTTP 503", 1)
    assert wire["next_poll_at"] == "2026-01-15T12:02:00Z" or wire["next_poll_at"].endswith("Z")
    assert by_name["added-later"]["state"] == "not polled yet"
    assert by_name["added-later"]["story"] == "other"


def test_filters_by_story_and_by_failing(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = status(config, "--failing", capsys=capsys)
    assert (code, [line["name"] for line in lines]) == (1, ["wire"])
    code, lines = status(config, "--story", "other", capsys=capsys)
    assert (code, [line["name"] for line in lines]) == (0, ["added-later"])
    assert main(["--config", str(config), "status", "--story", "nope"]) == 2
    assert "no story 'nope' (stories: story, other)" in capsys.readouterr().err


def test_the_table_names_each_source(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config), "status"]) == 1
    out = capsys.readouterr().out
    assert "wire" in out and "failing" in out and "HTTP 503" in out and "never" in out


def test_no_store_yet_is_said_and_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "var" / "store.sqlite"
    path = tmp_path / "aggregator.toml"
    path.write_text(CONFIG.format(url=f"sqlite:///{missing}"), encoding="utf-8")
    assert main(["--config", str(path), "status"]) == 1
    assert f"no store at {missing}: the service has not run yet" in capsys.readouterr().err
    assert not missing.exists()


@pytest.mark.slow
def test_a_closed_pipe_ends_it_quietly(config: Path) -> None:
    # `aggregator status | head -1` on a config long enough to outgrow the pipe's
    # buffer, so the writer is still writing when the reader goes away.
    many = "".join(
        f'\n[[sources]]\nname = "page-{i}"\nstory = "story"\nkind = "article"\npath = "p{i}.txt"\n'
        for i in range(1000)
    )
    config.write_text(config.read_text(encoding="utf-8") + many, encoding="utf-8")
    command = [sys.executable, "-m", "aggregator", "--config", str(config), "status"]
    command += ["--format", "json"]  # plain print; rich's table has its own pipe handling
    writer = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert writer.stdout is not None and writer.stderr is not None
    writer.stdout.readline()
    writer.stdout.close()
    errors = writer.stderr.read().decode()
    assert writer.wait(timeout=60) == 0, errors
    assert "Traceback" not in errors and "BrokenPipe" not in errors
