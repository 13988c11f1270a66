"""The config file: the shipped one loads, and every mistake names file, table and key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from aggregator.config import LiveSettings, load, parse_interval
from aggregator.core.errors import ConfigError
from tests.support.paths import ROOT

GOOD = """
[service]
port = 9000
[[stories]]
id = "s"
title = "S"
[[sources]]
name = "a"
story = "s"
kind = "liveblog"
path = "live/*.txt"
interval = "2m"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "aggregator.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_config_loads_with_both_seeds() -> None:
    settings = load(ROOT / "config" / "aggregator.toml", {})
    assert settings.service.database_url == f"sqlite:///{ROOT / 'var' / 'aggregator.sqlite'}"
    assert settings.service.public_url == "http://127.0.0.1:8080"
    assert [s.id for s in settings.stories] == ["rotherham"]
    kinds = {s.name: s.kind for s in settings.sources}
    assert kinds == {"itv-live": "liveblog", "bbc-article": "article"}
    assert all(Path(s.path or "").is_file() for s in settings.sources)


def test_defaults_paths_and_environment_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    settings = load(path, {"AGGREGATOR_DATABASE_URL": "sqlite:////srv/x.db"})
    [source] = settings.sources
    assert source.path == str(tmp_path.resolve() / "live/*.txt")
    assert source.interval == 120 and source.timezone == "Europe/London"
    assert settings.service.database_url == "sqlite:////srv/x.db"
    assert settings.service.public_url == "http://127.0.0.1:9000"


@pytest.mark.parametrize(
    ("change", "where", "reason"),
    [
        (("port = 9000", "port = 'x'"), "[service].port", "integer"),
        (("port = 9000", "prot = 1"), "[service].prot", "unknown key"),
        (('kind = "liveblog"', 'kind = "blog"'), "(a).kind", "must be one of"),
        (('path = "live/*.txt"', 'url = "ftp://x"'), "(a).url", "http or https"),
        (('path = "live/*.txt"', ""), "(a)", "exactly one of 'url' or 'path'"),
        (('interval = "2m"', 'interval = "soon"'), "(a).interval", "duration"),
        (('interval = "2m"', "interval = 0.1"), "(a).interval", "at least"),
        (('story = "s"', 'story = "t"'), "(a).story", "no story"),
        (("[service]", '[service]\ntimezone = "Mars/Base"'), "timezone", "IANA"),
        (("port = 9000", "port = 9000\n[["), "", "not valid TOML"),
        (('interval = "2m"', 'abbreviations = { IST = "India" }'), "(a).abbreviations.IST", "IANA"),
    ],
)
def test_mistakes_name_file_key_and_reason(
    tmp_path: Path, change: tuple[str, str], where: str, reason: str
) -> None:
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ConfigError) as caught:
        load(path, {})
    message = str(caught.value)
    assert message.startswith(str(path)) and where in message and reason in message


def test_duplicate_source_names_are_refused(tmp_path: Path) -> None:
    text = GOOD + GOOD[GOOD.index("[[sources]]") :]
    with pytest.raises(ConfigError, match="duplicate source name 'a'"):
        load(write(tmp_path, text), {})


def test_abbreviations_map_to_zones_or_offsets(tmp_path: Path) -> None:
    text = GOOD.replace(
        'interval = "2m"', 'abbreviations = { BST = "Europe/London", IST = "+05:30" }'
    )
    [source] = load(write(tmp_path, text), {}).sources
    assert source.abbreviations == {"BST": "Europe/London", "IST": "+05:30"}


def test_intervals() -> None:
    assert [parse_interval(v) for v in (30, 2.5, "30s", "5m", "1h", " 10 ")] == [
        30,
        2.5,
        30,
        300,
        3600,
        10,
    ]
    assert parse_interval("5 minutes") is None and parse_interval(True) is None


def test_live_settings_reload_only_when_the_file_changes(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    live = LiveSettings(load(path, {}), {})
    assert live.reload_if_changed() is None
    path.write_text(GOOD.replace('"2m"', '"3m"'), encoding="utf-8")
    fresh = live.reload_if_changed()
    assert fresh is not None and fresh.sources[0].interval == 180
    path.write_text(GOOD.replace('"2m"', '"never"'), encoding="utf-8")
    with pytest.raises(ConfigError):
        live.reload_if_changed()
    assert live.current.sources[0].interval == 180


def check_config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aggregator", "--config", str(path), "check-config"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


@pytest.mark.slow
def test_check_config_reports_errors_without_a_traceback(tmp_path: Path) -> None:
    result = check_config(write(tmp_path, GOOD.replace("port = 9000", "port = 70000")))
    assert result.returncode == 2
    assert "[service].port" in result.stderr and "Traceback" not in result.stderr
    (tmp_path / "live").mkdir()
    (tmp_path / "live" / "page.txt").write_text("A page\n", encoding="utf-8")
    ok = check_config(write(tmp_path, GOOD))
    assert ok.returncode == 0 and "source" not in ok.stderr and "a [liveblog]" in ok.stdout


@pytest.mark.slow
def test_check_config_fails_on_a_path_that_matches_nothing(tmp_path: Path) -> None:
    result = check_config(write(tmp_path, GOOD))
    assert result.returncode == 2
    assert f"error: a: no file matches {tmp_path / 'live' / '*.txt'}" in result.stderr


def test_an_unknown_key_names_its_source(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('interval = "2m"', 'intervall = "2m"'))
    with pytest.raises(ConfigError, match=r"\[\[sources\]\] #1 \(a\)"):
        load(path, {})


def test_the_docker_config_serves_the_same_sources_on_all_addresses() -> None:
    shipped = load(ROOT / "config" / "aggregator.toml", {})
    docker = load(
        ROOT / "config" / "docker.toml", {"AGGREGATOR_DATABASE_URL": "postgresql+psycopg://a@db/a"}
    )
    assert docker.sources == shipped.sources and docker.stories == shipped.stories
    assert docker.service.host == "0.0.0.0" and docker.service.database_url.startswith("postgresql")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("nan", "must be seconds or a duration"),
        ("inf", "must be seconds or a duration"),
        ("-inf", "must be seconds or a duration"),
        ("1e300", "must be at most 30 days"),
        ('"99999999999999999999h"', "must be at most 30 days"),
        ('"9' + "9" * 400 + 's"', "must be seconds or a duration"),
    ],
)
def test_non_finite_and_absurd_intervals_are_refused(
    tmp_path: Path, value: str, reason: str
) -> None:
    path = write(tmp_path, GOOD.replace('interval = "2m"', f"interval = {value}"))
    with pytest.raises(ConfigError, match=rf"\[\[sources\]\] #1.*\.interval: {reason}"):
        load(path, {})


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('parse_timeout = "0.5s"', "parse_timeout"),
        ("parse_timeout = nan", "parse_timeout"),
        ('parse_timeout = "2h"', "parse_timeout"),
        ("parse_processes = 0", "parse_processes"),
        ("parse_processes = true", "parse_processes"),
    ],
)
def test_parse_limits_are_checked(tmp_path: Path, line: str, key: str) -> None:
    path = write(tmp_path, GOOD.replace("port = 9000", f"port = 9000\n{line}"))
    with pytest.raises(ConfigError, match=rf"\[service\]\.{key}"):
        load(path, {})


def test_a_story_takes_exclusions(tmp_path: Path) -> None:
    text = GOOD.replace(
        'title = "S"', 'title = "S"\nkeywords = ["council"]\nexclude = ["football"]'
    )
    [story] = load(write(tmp_path, text), {}).stories
    assert (story.keywords, story.exclude) == (("council",), ("football",))
    with pytest.raises(ConfigError, match=r"\[\[stories\]\] #1\.exclude"):
        load(write(tmp_path, GOOD.replace('title = "S"', 'title = "S"\nexclude = "football"')), {})


def test_parse_limits_have_defaults_and_can_be_set(tmp_path: Path) -> None:
    service = load(write(tmp_path, GOOD), {}).service
    assert (service.parse_timeout, service.parse_processes) == (20.0, 2)
    text = GOOD.replace("port = 9000", 'port = 9000\nparse_timeout = "1m"\nparse_processes = 4')
    service = load(write(tmp_path, text), {}).service
    assert (service.parse_timeout, service.parse_processes) == (60.0, 4)


def test_relative_paths_start_from_the_config_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    path = folder / "aggregator.toml"
    path.write_text(
        '[service]\ndatabase_url = "sqlite:///data/agg.sqlite"\noutput_dir = "public"\n'
        '[[stories]]\nid = "s"\ntitle = "S"\n'
        '[[sources]]\nname = "a"\nkind = "article"\npath = "pages/a.txt"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)  # wherever the command runs from
    settings = load(Path("etc/aggregator.toml"), {})
    assert settings.service.database_url == f"sqlite:///{folder / 'data' / 'agg.sqlite'}"
    assert settings.service.output_dir == folder / "public"
    assert settings.sources[0].path == str(folder / "pages" / "a.txt")
    # A path in the environment is a command-line path: from the working directory.
    from_env = load(path, {"AGGREGATOR_DATABASE_URL": "sqlite:///run/agg.sqlite"})
    assert from_env.service.database_url == f"sqlite:///{tmp_path / 'run' / 'agg.sqlite'}"
    # Absolute paths, memory and PostgreSQL stay as written; no file given, var/ beside it.
    for url in ("sqlite:////srv/agg.sqlite", "sqlite://", "postgresql+psycopg://u@h/db"):
        assert load(path, {"AGGREGATOR_DATABASE_URL": url}).service.database_url == url
    path.write_text('[[stories]]\nid = "s"\ntitle = "S"\n', encoding="utf-8")
    default = load(path, {}).service.database_url
    assert default == f"sqlite:///{folder / 'var' / 'aggregator.sqlite'}"
