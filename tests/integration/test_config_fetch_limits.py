"""`[fetch]` and `[[hosts]]` in the config: validated naming the key, applied to real
requests (a host's own share and gap beside the default), and re-read on reload."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.config import FetchSettings, HostSettings, load
from aggregator.core.errors import ConfigError
from aggregator.core.types import FetchState, SourceSpec
from aggregator.fetch.http import make_client
from aggregator.fetch.limits import FetchLimits, HostRule
from aggregator.ingest.sources import Fetchers
from tests.support.httpserver import Route, serve

NOW = datetime(2026, 11, 22, tzinfo=UTC)
STORY = '[[stories]]\nid = "s"\ntitle = "S"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "aggregator.toml"
    path.write_text(text + STORY, encoding="utf-8")
    return path


def test_every_key_reaches_the_limits(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[fetch]\nper_host = 3\nhost_gap = "0.25s"\nmax_bytes = "2 MiB"\ntimeout = "20s"\n'
        'connect_timeout = "4s"\nmax_redirects = 2\nuser_agent = "newsroom-bot/1.0"\n'
        '[[hosts]]\nname = "Feeds.Example.org"\nper_host = 1\nhost_gap = "2s"\n'
        '[[hosts]]\nname = "intranet.example"\nper_host = 4\n',
    )
    fetch = load(path, {}).fetch
    assert fetch.hosts == (
        HostSettings("feeds.example.org", 1, 2.0),
        HostSettings("intranet.example", 4, None),
    )
    limits = FetchLimits().configured(fetch)
    assert (limits.per_host, limits.host_gap, limits.max_bytes) == (3, 0.25, 2 * 1024 * 1024)
    assert (limits.total_timeout, limits.connect_timeout, limits.max_redirects) == (20.0, 4.0, 2)
    assert limits.user_agent == "newsroom-bot/1.0"
    assert limits.rule_for("feeds.example.org") == HostRule(1, 2.0)
    assert limits.rule_for("intranet.example") == HostRule(4, 0.25)
    assert limits.rule_for("elsewhere.example") == HostRule(3, 0.25)


def test_the_lease_bounds_the_deadline_and_a_removed_key_reverts() -> None:
    base = FetchLimits(total_timeout=12.0, connect_timeout=10.0)
    assert base.configured(FetchSettings(timeout=60.0)).total_timeout == 12.0
    assert base.configured(FetchSettings(timeout=5.0)).connect_timeout == 5.0
    assert base.configured(FetchSettings()).per_host == base.per_host


@pytest.mark.parametrize(
    ("text", "where", "reason"),
    [
        ("[fetch]\nper_host = 0\n", "[fetch].per_host", "from 1 to 32"),
        ('[fetch]\nhost_gap = "soon"\n', "[fetch].host_gap", "duration"),
        ('[fetch]\nmax_bytes = "10 XB"\n', "[fetch].max_bytes", "size like"),
        ("[fetch]\nmax_bytes = 10\n", "[fetch].max_bytes", "1 KiB to 1 GiB"),
        ('[fetch]\ntimeout = "0.5s"\n', "[fetch].timeout", "from 1s to 300s"),
        ('[fetch]\ntimeout = "5s"\nconnect_timeout = "9s"\n', "[fetch].connect_timeout", "exceed"),
        ("[fetch]\nmax_redirects = 50\n", "[fetch].max_redirects", "from 0 to 20"),
        ("[fetch]\nper_hots = 2\n", "[fetch].per_hots", "unknown key"),
        (
            '[[hosts]]\nname = "https://feeds.example/"\n',
            "[[hosts]] #1 (https://feeds.example/).name",
            "not a host name",
        ),
        (
            '[[hosts]]\nname = "a.example"\n[[hosts]]\nname = "A.example"\n',
            "[[hosts]] #2 (A.example).name",
            "twice",
        ),
        (
            '[[hosts]]\nname = "a.example"\nper_host = 2\ngap = "1s"\n',
            "[[hosts]] #1 (a.example).gap",
            "unknown key",
        ),
    ],
)
def test_mistakes_name_the_key(tmp_path: Path, text: str, where: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(write(tmp_path, text), {})
    assert caught.value.where == where and reason in caught.value.reason


def spec(url: str, n: int) -> SourceSpec:
    return SourceSpec(f"s{n}", "s", "feed", url, None, 60, "UTC")


@pytest.mark.slow
def test_a_host_keeps_its_own_share_and_gap_and_a_reload_changes_them(tmp_path: Path) -> None:
    routes = {f"/f{n}": Route(body=b"<rss/>", delay=0.1) for n in range(4)}
    text = '[fetch]\nper_host = 2\n[[hosts]]\nname = "127.0.0.1"\nper_host = 1\nhost_gap = "0.2s"\n'
    settings = load(write(tmp_path, text), {})
    base = FetchLimits(total_timeout=10)
    with serve(routes) as slow_host, serve(routes) as other, make_client(base) as client:
        fetchers = Fetchers(client, base)
        fetchers.reconfigure(settings.fetch)
        # The same kind of server under another name is another host, on the defaults.
        other_url = other.url("/f{n}").replace("127.0.0.1", "localhost")
        specs = [spec(slow_host.url(f"/f{n}"), n) for n in range(4)]
        specs += [spec(other_url.format(n=n), 10 + n) for n in range(4)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda s: fetchers.fetch(s, FetchState(), now=NOW), specs))
        assert slow_host.concurrency.most == 1 and other.concurrency.most == 2
        starts = sorted(r.at for r in slow_host.requests)
        assert all(b - a >= 0.19 for a, b in itertools.pairwise(starts))

        # The operator raises the host's share and drops its gap; the next requests follow.
        raised = text.replace('per_host = 1\nhost_gap = "0.2s"', "per_host = 4")
        reloaded = load(write(tmp_path, raised), {})
        fetchers.reconfigure(reloaded.fetch)
        slow_host.concurrency.most = 0
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda s: fetchers.fetch(s, FetchState(), now=NOW), specs[:4]))
        assert slow_host.concurrency.most >= 2
