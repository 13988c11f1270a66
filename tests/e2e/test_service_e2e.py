"""The whole service as a user runs it: `python run.py` on a free port with a temporary
config, a live-blog file edited on disk, and the change seen in the Atom feed, on the
event stream (with Last-Event-ID resume), after a config edit, and a clean SIGTERM."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.feedcheck import ATOM, check_atom, check_jsonfeed
from tests.support.paths import ARTICLE_SEED, LIVEBLOG_SEED
from tests.support.processes import (
    free_port,
    kill_all,
    parse_children,
    read_events,
    save_like_an_editor,
    start_service,
    wait_for,
)

pytestmark = pytest.mark.slow

NEW_POST = (
    "Council leader apologises to victims\n\n"
    "The leader of Rotherham Council has apologised in person to victims and their families, "
    "saying the authority had let them down for more than a decade.\n\n"
)
CONFIG = """
[service]
database_url = "sqlite:///{db}"
port = {port}

[[stories]]
id = "rotherham"
title = "Rotherham"

[[sources]]
name = "itv-live"
kind = "liveblog"
path = "sources/live.txt"
interval = "1s"

[[sources]]
name = "bbc-article"
kind = "article"
path = "sources/article.txt"
interval = "1s"
"""
EXTRA_SOURCE = """
[[sources]]
name = "bbc-copy"
kind = "article"
path = "sources/copy.txt"
interval = "1s"
"""


@dataclass
class Running:
    base: str
    folder: Path
    process: subprocess.Popen[bytes]
    log: Path


def atom_entries(base: str) -> list[tuple[str, str]]:
    body = httpx.get(f"{base}/stories/rotherham.atom", timeout=5).content
    root = ET.fromstring(body)
    return [
        (e.findtext(f"{ATOM}id") or "", e.findtext(f"{ATOM}title") or "")
        for e in root.iter(f"{ATOM}entry")
    ]


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Running]:
    sources = tmp_path / "sources"
    sources.mkdir()
    shutil.copy(LIVEBLOG_SEED, sources / "live.txt")
    shutil.copy(ARTICLE_SEED, sources / "article.txt")
    port = free_port()
    config = tmp_path / "aggregator.toml"
    config.write_text(CONFIG.format(db=tmp_path / "var" / "agg.sqlite", port=port))
    log = tmp_path / "service.log"
    process = start_service(config, log)
    running = Running(f"http://127.0.0.1:{port}", tmp_path, process, log)
    try:

        def eight_entries() -> bool:
            return len(atom_entries(running.base)) == 8

        wait_for(eight_entries)
        yield running
    finally:
        kill_all([process])


def test_a_newcomer_subscribes_and_sees_one_new_post_arrive(service: Running) -> None:
    before = atom_entries(service.base)
    assert len({i for i, _ in before}) == 8
    atom = httpx.get(f"{service.base}/stories/rotherham.atom")
    assert atom.headers["content-type"].startswith("application/atom+xml")
    assert check_atom(atom.content) == []
    assert check_jsonfeed(httpx.get(f"{service.base}/stories/rotherham.json").json()) == []
    timeout = httpx.Timeout(5, read=20)
    with httpx.stream("GET", f"{service.base}/stories/rotherham/events", timeout=timeout) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = r.iter_lines()
        backlog = read_events(lines, 8)
        live = service.folder / "sources" / "live.txt"
        text = live.read_text().replace("Live updates\n\n", "Live updates\n\n" + NEW_POST, 1)
        save_like_an_editor(live, text)
        [arrived] = read_events(lines, 1)
    assert arrived["event"] == "new"
    assert json.loads(arrived["data"])["title"] == "Council leader apologises to victims"
    after = atom_entries(service.base)
    assert len(after) == 9 and after[0][1] == "Council leader apologises to victims"
    assert set(after) - set(before) == {after[0]}

    headers = {"Last-Event-ID": backlog[-1]["id"]}
    url = f"{service.base}/stories/rotherham/events"
    with httpx.stream("GET", url, headers=headers, timeout=timeout) as r:
        [missed] = read_events(r.iter_lines(), 1)
    assert missed["id"] == arrived["id"]


def test_config_edits_apply_without_restart_and_sigterm_stops_cleanly(service: Running) -> None:
    shutil.copy(service.folder / "sources" / "article.txt", service.folder / "sources" / "copy.txt")
    config = service.folder / "aggregator.toml"
    config.write_text(config.read_text() + EXTRA_SOURCE)

    def copy_recorded() -> bool:
        health = httpx.get(f"{service.base}/healthz", timeout=5).json()
        names = {s["name"]: s for s in health["sources"]}
        return bool(names.get("bbc-copy", {}).get("last_success_at"))

    wait_for(copy_recorded, timeout=20)
    feed = httpx.get(f"{service.base}/stories/rotherham.json").json()
    assert len(feed["items"]) == 8
    article = next(i for i in feed["items"] if i["title"].startswith("Rotherham child abuse"))
    assert [s["name"] for s in article["_aggregator"]["also_from"]] == ["bbc-copy"]
    assert "source added" in service.log.read_text()

    service.process.send_signal(signal.SIGTERM)
    assert service.process.wait(timeout=15) == 0


UNREACHABLE = """
[service]
database_url = "sqlite:///{db}"
port = {port}
parse_processes = 2

[[stories]]
id = "rotherham"
title = "Rotherham"

[[sources]]
name = "nowhere"
kind = "feed"
url = "http://127.0.0.1:{closed}/feed.xml"
interval = "5m"
"""


def test_the_worker_starts_its_parse_processes_before_any_document_needs_one(
    tmp_path: Path,
) -> None:
    """So the first changed source after a start does not wait for an interpreter."""
    port, closed = free_port(), free_port()
    config = tmp_path / "aggregator.toml"
    config.write_text(UNREACHABLE.format(db=tmp_path / "agg.sqlite", port=port, closed=closed))
    process = start_service(config, tmp_path / "service.log")
    base = f"http://127.0.0.1:{port}"
    try:

        def failed_poll() -> object:
            [source] = httpx.get(f"{base}/healthz", timeout=5).json()["sources"]
            return source["last_error"]

        assert "127.0.0.1" in str(wait_for(failed_poll, timeout=60))
        assert wait_for(lambda: len(parse_children(process.pid)) == 2, timeout=20)
    finally:
        kill_all([process])
