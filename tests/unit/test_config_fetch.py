"""`[fetch]` in the config: allow_private (networks or host names opened to redirects and
discovered hubs) and user_agent, each mistake named by file, table and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator import USER_AGENT
from aggregator.config import FetchSettings, load
from aggregator.core.errors import ConfigError
from aggregator.fetch.limits import FetchLimits

BASE = """
[[stories]]
id = "s"
title = "S"
"""


def write(tmp_path: Path, fetch: str) -> Path:
    path = tmp_path / "aggregator.toml"
    path.write_text(f"[fetch]\n{fetch}\n{BASE}", encoding="utf-8")
    return path


def test_no_fetch_table_means_nothing_private_and_our_user_agent(tmp_path: Path) -> None:
    path = tmp_path / "aggregator.toml"
    path.write_text(BASE, encoding="utf-8")
    fetch = load(path, {}).fetch
    assert fetch == FetchSettings()
    assert FetchLimits().configured(fetch).user_agent == USER_AGENT


def test_networks_and_host_names_are_read(tmp_path: Path) -> None:
    entries = '["10.1.2.0/24", "Intranet.Example.", "fd00::/8", "127.0.0.2", "feeds"]'
    path = write(tmp_path, f'allow_private = {entries}\nuser_agent = "council-watch/2"')
    fetch = load(path, {}).fetch
    assert fetch.allow_private == (
        "10.1.2.0/24",
        "intranet.example",
        "fd00::/8",
        "127.0.0.2/32",
        "feeds",
    )
    limits = FetchLimits().configured(fetch)
    assert limits.allow_private == fetch.allow_private
    assert limits.user_agent == "council-watch/2"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('allow_private = "10.0.0.0/8"', "must be a list of networks or host names"),
        ("allow_private = [10]", "must be a list of networks or host names"),
        ('allow_private = ["10.1.2.5/24"]', "'10.1.2.5/24' is not a network: "),
        ('allow_private = ["10.1.2.300"]', "'10.1.2.300' is not a network"),
        ('allow_private = ["intranet:8080"]', "'intranet:8080' is not a network"),
        ('allow_private = ["http://intranet/"]', "is not a network"),
        ('allow_private = ["two words"]', "neither a network like 10.1.2.0/24 nor a host name"),
    ],
)
def test_a_bad_allow_private_entry_is_named(tmp_path: Path, line: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(write(tmp_path, line), {})
    assert caught.value.where == "[fetch].allow_private"
    assert reason in caught.value.reason


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ('user_agent = ""', "[fetch].user_agent"),
        ('user_agent = "tab\\there"', "[fetch].user_agent"),
        ('user_agent = "caf\\u00e9"', "[fetch].user_agent"),
        ("timeout = 0", "[fetch].timeout"),
        ("timeoutt = 3", "[fetch].timeoutt"),
    ],
)
def test_other_mistakes_are_named(tmp_path: Path, line: str, where: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(write(tmp_path, line), {})
    assert caught.value.where == where


def test_websub_http_hubs_is_a_boolean(tmp_path: Path) -> None:
    path = tmp_path / "aggregator.toml"
    path.write_text(f"[service]\nwebsub_http_hubs = 1\n{BASE}", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[service\]\.websub_http_hubs: must be true"):
        load(path, {})
    path.write_text(f"[service]\nwebsub_http_hubs = true\n{BASE}", encoding="utf-8")
    assert load(path, {}).service.websub_http_hubs
