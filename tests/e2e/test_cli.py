"""The `aggregator` command as a user types it: poll --once, preview, export, --help."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.feedcheck import check_atom, check_jsonfeed, parse_rfc3339
from tests.support.paths import ARTICLE_SEED, LIVEBLOG_SEED, ROOT
from tests.support.processes import aggregator

pytestmark = pytest.mark.slow

CONFIG = """
[service]
database_url = "sqlite:///{db}"
[[stories]]
id = "rotherham"
[[sources]]
name = "itv-live"
kind = "liveblog"
path = "live.txt"
[[sources]]
name = "bbc-article"
kind = "article"
path = "article.txt"
[[sources]]
name = "broken"
kind = "liveblog"
path = "missing.txt"
"""


def make_config(tmp_path: Path) -> Path:
    shutil.copy(LIVEBLOG_SEED, tmp_path / "live.txt")
    shutil.copy(ARTICLE_SEED, tmp_path / "article.txt")
    config = tmp_path / "aggregator.toml"
    config.write_text(CONFIG.format(db=tmp_path / "agg.sqlite"), encoding="utf-8")
    return config


def test_poll_once_summarises_and_fails_when_a_source_fails(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    first = aggregator("--config", str(config), "poll", "--once")
    assert first.returncode == 1, first.stderr
    lines = {line.split("│")[1].strip(): line for line in first.stderr.splitlines() if "│" in line}
    assert "7" in lines["itv-live"].split("│")[2] and "1" in lines["bbc-article"].split("│")[2]
    assert "missing.txt" in first.stderr
    config.write_text(config.read_text().split('[[sources]]\nname = "broken"')[0])
    second = aggregator("--config", str(config), "poll", "--once")
    assert second.returncode == 0, second.stderr


def test_export_writes_valid_feeds(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    aggregator("--config", str(config), "poll", "--once")
    atom = aggregator("--config", str(config), "export", "rotherham", "--format", "atom")
    assert atom.returncode == 0 and check_atom(atom.stdout.encode()) == []
    out = tmp_path / "feed.json"
    aggregator("--config", str(config), "export", "rotherham", "--format", "json", "-o", str(out))
    feed = json.loads(out.read_text(encoding="utf-8"))
    assert check_jsonfeed(feed) == [] and len(feed["items"]) == 8
    unknown = aggregator("--config", str(config), "export", "nope")
    assert unknown.returncode == 2 and "rotherham" in unknown.stderr


def test_preview_prints_one_json_object_per_entry_and_stores_nothing(tmp_path: Path) -> None:
    result = aggregator("preview", str(LIVEBLOG_SEED), "--kind", "liveblog")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 7
    for line in lines:
        assert {"id", "title", "url", "published", "updated", "time_source", "text", "html"} <= set(
            line
        )
        assert line["time_source"] == "first-seen" and line["id"].startswith("urn:uuid:")
        assert parse_rfc3339(line["published"]) is not None
    assert lines[0]["title"] == "'What happened in Rotherham could happen anywhere'"
    assert not (ROOT / "var" / "preview").exists()
    missing = aggregator("preview", str(tmp_path / "nope.txt"), "--kind", "article")
    assert (
        missing.returncode == 1
        and "nope.txt" in missing.stderr
        and "Traceback" not in missing.stderr
    )


def test_every_command_explains_itself() -> None:
    for command in ("run", "poll", "preview", "export", "check-config"):
        result = aggregator(command, "--help")
        assert result.returncode == 0 and "usage: aggregator" in result.stdout


def test_run_py_runs_the_command_it_is_given() -> None:
    # With no command it runs `run`: tests/e2e/test_service_e2e.py starts it that way.
    def usage(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "run.py", *args, "--help"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout.splitlines()[0]

    assert usage("web").startswith("usage: aggregator web")
    assert usage("worker").startswith("usage: aggregator worker")
    assert usage("run").startswith("usage: aggregator run")


def test_a_sqlite_folder_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    config = tmp_path / "aggregator.toml"
    config.write_text(
        f'[service]\ndatabase_url = "sqlite:///{blocker}/var/x.sqlite"\n'
        '[[stories]]\nid = "s"\ntitle = "S"\n',
        encoding="utf-8",
    )
    done = aggregator("--config", str(config), "poll", "--once")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert f"cannot create the SQLite folder {blocker}/var" in done.stderr


def test_version_and_a_poll_without_once() -> None:
    version = aggregator("--version")
    assert version.returncode == 0 and version.stdout.strip().startswith("aggregator 0.")
    helped = aggregator("poll", "--help")
    assert "Poll every source once now" in helped.stdout and "run" in helped.stdout


def test_poll_reports_what_the_keywords_left_out(tmp_path: Path) -> None:
    items = "".join(
        f"<item><guid>{n}</guid><title>{title}</title><description>{title}.</description></item>"
        for n, title in enumerate(["Rotherham council meets", "Weather for the north"])
    )
    (tmp_path / "wire.xml").write_text(
        f'<rss version="2.0"><channel><title>W</title>{items}</channel></rss>', encoding="utf-8"
    )
    config = tmp_path / "aggregator.toml"
    config.write_text(
        f'[service]\ndatabase_url = "sqlite:///{tmp_path / "agg.sqlite"}"\n'
        '[[stories]]\nid = "s"\ntitle = "S"\nkeywords = ["Rotherham"]\n'
        '[[sources]]\nname = "wire"\nkind = "feed"\npath = "wire.xml"\n',
        encoding="utf-8",
    )
    done = aggregator("--config", str(config), "poll")
    assert done.returncode == 0, done.stderr
    header = next(line for line in done.stderr.splitlines() if "source" in line and "┃" in line)
    row = next(line for line in done.stderr.splitlines() if "wire" in line and "│" in line)
    cells = [c.strip() for c in row.split("│")]
    names = [c.strip() for c in header.split("┃")]
    assert cells[names.index("new")] == "1" and cells[names.index("filtered")] == "1"
