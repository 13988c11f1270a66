"""The only reader of the TOML config file and of the environment.

`load(path, environ)` validates everything once, at start, into a frozen `Settings`
that is passed down as arguments. A bad file raises ConfigError naming the file, the
table, the key and the reason.
"""

from __future__ import annotations

import ipaddress
import math
import re
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aggregator.core.errors import ConfigError
from aggregator.core.types import DEFAULT_PAGE_SIZE, KINDS, Kind, SourceSpec, StorySpec

DEFAULT_CONFIG = Path("config/aggregator.toml")
# Relative to the config file's folder, as every path the config file names.
DEFAULT_DATABASE_URL = "sqlite:///var/aggregator.sqlite"
DEFAULT_TIMEZONE = "Europe/London"
# Local files cost a stat() per poll; remote servers deserve restraint.
DEFAULT_INTERVAL = {"path": 5.0, "url": 300.0}
MIN_INTERVAL = {"path": 1.0, "url": 5.0}
# No schedule needs more; past this a number is a typo (or nan, inf, 1e300).
MAX_INTERVAL = 30 * 24 * 3600.0
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# Possessive spaces: with `\s*([smh]?)\s*` a run of spaces and no unit split between
# the two `\s*` in every way before the match failed (quadratic).
_DURATION = re.compile(r"^\s*+(\d++(?:\.\d++)?)\s*+([smh]?)\s*+$")
_SERVICE_KEYS = {"database_url", "host", "port", "public_url", "timezone", "output_dir"}
_SERVICE_KEYS |= {"websub_hub", "websub_subscribe", "parse_timeout", "parse_processes"}
_SERVICE_KEYS |= {"websub_http_hubs", "access_log"}
_SERVICE_KEYS |= {"metrics", "metrics_allow", "metrics_host", "metrics_port"}
LOOPBACK = ("127.0.0.0/8", "::1/128")
_FETCH_KEYS = {"allow_private", "user_agent", "per_host", "host_gap", "max_bytes", "timeout"}
_FETCH_KEYS |= {"connect_timeout", "max_redirects"}
_HOST_KEYS = {"name", "per_host", "host_gap"}
_SIZE = re.compile(r"^\s*+(\d{1,12})\s*+([kKmMgG]i?[bB])?\s*+$")
_SIZE_UNITS = {"": 1, "kb": 1000, "mb": 10**6, "gb": 10**9, "kib": 1024, "mib": 2**20, "gib": 2**30}
# A host name as DNS spells it (RFC 1123): letters, digits, hyphens, dots; no port.
_HOST_NAME = re.compile(r"(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9_-]{1,63})*+\.?")
_STORY_KEYS = {"id", "title", "keywords", "exclude", "page_size", "timezone"}
_SOURCE_KEYS = {
    "name",
    "story",
    "kind",
    "url",
    "path",
    "interval",
    "min_interval",
    "max_interval",
    "timezone",
    "abbreviations",
    "title",
}
# Unless the config says otherwise, a publishing source is polled up to five times as
# often as its interval and a quiet one slows to an hour (or to its interval if longer).
DEFAULT_MIN_SHARE = 0.2
DEFAULT_MAX_INTERVAL = 3600.0
_OFFSET = re.compile(r"^[+-](?:[01]\d|2[0-3]):[0-5]\d$")


@dataclass(frozen=True)
class ServiceSettings:
    database_url: str
    host: str
    port: int
    public_url: str
    timezone: str
    output_dir: Path | None
    # WebSub: the hub our story feeds are announced to, and whether to subscribe to hubs
    # that sources advertise.
    websub_hub: str | None = None
    websub_subscribe: bool = True
    # Subscribe to hubs on plain http:// too: they get no hub.secret (WebSub §5.1), so
    # their pushes are unsigned and prove nothing about who sent them.
    websub_http_hubs: bool = False
    # A poll's CPU work (parse, sign) runs in this many child processes, each job
    # abandoned after `parse_timeout` seconds (aggregator.ingest.parsing).
    parse_timeout: float = 20.0
    parse_processes: int = 2
    # Web roles write one combined-format line per request here ("-": standard error).
    access_log: Path | None = None
    # /metrics (Prometheus) for the networks in metrics_allow; a worker role serves its
    # own on metrics_host:metrics_port when a port is given.
    metrics: bool = False
    metrics_allow: tuple[str, ...] = LOOPBACK
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None


@dataclass(frozen=True)
class FetchSettings:
    """`[fetch]`: what every HTTP request may do. URLs found in documents (redirects,
    WebSub hubs) reach public addresses only, unless `allow_private` names their host
    or a network holding their address (fetch/destinations.py)."""

    allow_private: tuple[str, ...] = ()
    user_agent: str | None = None
    # None: the built-in default (fetch/limits.py).
    per_host: int | None = None
    host_gap: float | None = None
    max_bytes: int | None = None
    timeout: float | None = None
    connect_timeout: float | None = None
    max_redirects: int | None = None
    # `[[hosts]]`: a host's own per_host / host_gap.
    hosts: tuple[HostSettings, ...] = ()


@dataclass(frozen=True)
class HostSettings:
    name: str
    per_host: int | None = None
    host_gap: float | None = None


@dataclass(frozen=True)
class Settings:
    path: Path
    service: ServiceSettings
    stories: tuple[StorySpec, ...]
    sources: tuple[SourceSpec, ...]
    fetch: FetchSettings = FetchSettings()

    def story(self, story_id: str) -> StorySpec | None:
        return next((s for s in self.stories if s.id == story_id), None)

    def sources_of(self, story_id: str) -> tuple[SourceSpec, ...]:
        return tuple(s for s in self.sources if s.story == story_id)

    @property
    def source_titles(self) -> dict[str, str]:
        """The display titles the config gives (source name -> title), for publish."""
        return {s.name: s.title for s in self.sources if s.title}


def config_path(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("AGGREGATOR_CONFIG") or DEFAULT_CONFIG)


def load(path: Path, environ: Mapping[str, str]) -> Settings:
    """Read and validate the config file at `path`; environment overrides apply."""
    file = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(file, "", "file not found") from e
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(file, "", f"cannot read: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(file, "", f"not valid TOML: {e}") from e
    check = _Checker(file)
    check.only_keys(raw, {"service", "fetch", "hosts", "stories", "sources"}, "")
    base = path.resolve().parent
    service = _service(check, check.table(raw, "service"), environ, base)
    fetch = _fetch(check, check.table(raw, "fetch"), check.array(raw, "hosts"))
    stories = _stories(check, check.array(raw, "stories"), service.timezone)
    sources = _sources(check, check.array(raw, "sources"), stories, base, service.timezone)
    return Settings(path=path, service=service, stories=stories, sources=sources, fetch=fetch)


def parse_interval(value: object) -> float | None:
    """Seconds from 30, 2.5, "30s", "5m" or "1h"; None when the value is not a duration."""
    if isinstance(value, bool):
        return None
    seconds = None
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]
    return seconds if seconds is not None and math.isfinite(seconds) else None


class _Checker:
    """Small typed accessors that raise ConfigError with the file and the key path."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, where: str, reason: str) -> ConfigError:
        return ConfigError(self.file, where, reason)

    def only_keys(self, table: Mapping[str, Any], allowed: set[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.fail(_join(where, key), f"unknown key (known keys: {known})")

    def table(self, raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = raw.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(f"[{key}]", "must be a table")
        return value

    def array(self, raw: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(f"[[{key}]]", "must be an array of tables")
        return value

    def text(self, table: Mapping[str, Any], key: str, where: str, default: str | None) -> str:
        value = table.get(key, default)
        if value is None:
            raise self.fail(_join(where, key), "is required")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(_join(where, key), "must be a non-empty string")
        return value.strip()


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _service(
    check: _Checker, table: Mapping[str, Any], environ: Mapping[str, str], base: Path
) -> ServiceSettings:
    """`base`: the config file's folder, which relative paths in the file start from; a
    path in AGGREGATOR_DATABASE_URL starts from the working directory, as on a command
    line."""
    where = "[service]"
    check.only_keys(table, _SERVICE_KEYS, where)
    from_environ = environ.get("AGGREGATOR_DATABASE_URL")
    database_url = from_environ or check.text(table, "database_url", where, DEFAULT_DATABASE_URL)
    if not database_url.startswith(("sqlite:", "postgresql")):
        reason = "must be a sqlite:/// or postgresql+psycopg:// URL"
        raise check.fail(f"{where}.database_url", reason)
    database_url = _anchored(database_url, Path.cwd() if from_environ else base)
    host = check.text(table, "host", where, "127.0.0.1")
    port = table.get("port", 8080)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise check.fail(f"{where}.port", "must be an integer from 1 to 65535")
    public_url = check.text(table, "public_url", where, f"http://{host}:{port}").rstrip("/")
    if urlsplit(public_url).scheme not in ("http", "https") or not urlsplit(public_url).netloc:
        raise check.fail(f"{where}.public_url", "must be an absolute http(s) URL")
    timezone = _timezone(check, table, where, DEFAULT_TIMEZONE)
    output_dir = table.get("output_dir")
    if output_dir is not None and (not isinstance(output_dir, str) or not output_dir):
        raise check.fail(f"{where}.output_dir", "must be a folder path")
    access_log = table.get("access_log")
    if access_log is not None and (not isinstance(access_log, str) or not access_log.strip()):
        raise check.fail(f"{where}.access_log", 'must be a file path, or "-" for standard error')
    return ServiceSettings(
        database_url=database_url,
        host=host,
        port=port,
        public_url=public_url,
        timezone=timezone,
        output_dir=base / output_dir if output_dir else None,
        access_log=None if access_log is None else _log_path(access_log.strip(), base),
        **_websub(check, table, where),
        **_parsing(check, table, where),
        **_metrics(check, table, where),
    )


def _log_path(value: str, base: Path) -> Path:
    return Path("-") if value == "-" else base / value


def _anchored(database_url: str, base: Path) -> str:
    """A SQLite URL whose relative path is made absolute from `base`."""
    if not database_url.startswith("sqlite:///"):
        return database_url
    path = database_url[len("sqlite:///") :]
    if not path or path.startswith((":memory:", "file:")) or Path(path).is_absolute():
        return database_url
    return "sqlite:///" + str(base / path)


def _websub(check: _Checker, table: Mapping[str, Any], where: str) -> dict[str, Any]:
    hub = table.get("websub_hub")
    if hub is not None:
        hub = check.text(table, "websub_hub", where, None)
        if urlsplit(hub).scheme not in ("http", "https") or not urlsplit(hub).netloc:
            raise check.fail(f"{where}.websub_hub", "must be an absolute http(s) URL")
        if "public_url" not in table:
            reason = "needs public_url: the hub fetches the story feeds from there"
            raise check.fail(f"{where}.websub_hub", reason)
    flags = {}
    for key, default in (("websub_subscribe", True), ("websub_http_hubs", False)):
        flags[key] = table.get(key, default)
        if not isinstance(flags[key], bool):
            raise check.fail(f"{where}.{key}", "must be true or false")
    return {"websub_hub": hub, **flags}


def _metrics(check: _Checker, table: Mapping[str, Any], where: str) -> dict[str, Any]:
    enabled = table.get("metrics", False)
    if not isinstance(enabled, bool):
        raise check.fail(f"{where}.metrics", "must be true or false")
    allow = table.get("metrics_allow", list(LOOPBACK))
    if not isinstance(allow, list) or not all(isinstance(a, str) for a in allow):
        raise check.fail(
            f"{where}.metrics_allow", 'must be a list of networks, like ["10.0.0.0/8"]'
        )
    networks = []
    for entry in allow:
        try:
            networks.append(str(ipaddress.ip_network(entry.strip(), strict=True)))
        except ValueError as e:
            raise check.fail(f"{where}.metrics_allow", f"{entry!r} is not a network: {e}") from e
    host = check.text(table, "metrics_host", where, "127.0.0.1")
    port = table.get("metrics_port")
    if port is not None and (
        isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536
    ):
        raise check.fail(f"{where}.metrics_port", "must be an integer from 1 to 65535")
    return {
        "metrics": enabled,
        "metrics_allow": tuple(networks),
        "metrics_host": host,
        "metrics_port": port,
    }


def _fetch(
    check: _Checker, table: Mapping[str, Any], hosts: list[Mapping[str, Any]]
) -> FetchSettings:
    where = "[fetch]"
    check.only_keys(table, _FETCH_KEYS, where)
    entries = table.get("allow_private", [])
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        reason = 'must be a list of networks or host names, like ["10.1.2.0/24", "intranet"]'
        raise check.fail(f"{where}.allow_private", reason)
    allowed = tuple(_private_entry(check, entry, f"{where}.allow_private") for entry in entries)
    agent = table.get("user_agent")
    if agent is not None:
        agent = check.text(table, "user_agent", where, None)
        if len(agent) > 200 or not agent.isprintable() or not agent.isascii():
            raise check.fail(f"{where}.user_agent", "must be printable ASCII, 200 at most")
    timeout = _seconds(check, table, "timeout", where, 1.0, 300.0)
    connect = _seconds(check, table, "connect_timeout", where, 0.5, 300.0)
    if connect is not None and connect > (timeout or 300.0):
        raise check.fail(f"{where}.connect_timeout", "must not exceed timeout")
    return FetchSettings(
        allow_private=allowed,
        user_agent=agent,
        per_host=_whole(check, table, "per_host", where, 1, 32),
        host_gap=_seconds(check, table, "host_gap", where, 0.0, 600.0),
        max_bytes=_size(check, table, "max_bytes", where),
        timeout=timeout,
        connect_timeout=connect,
        max_redirects=_whole(check, table, "max_redirects", where, 0, 20),
        hosts=_hosts(check, hosts),
    )


def _hosts(check: _Checker, tables: list[Mapping[str, Any]]) -> tuple[HostSettings, ...]:
    """`[[hosts]]`: a host you run, or one that asks for slower polling."""
    found: list[HostSettings] = []
    for i, table in enumerate(tables):
        given = table.get("name")
        where = f"[[hosts]] #{i + 1}" + (f" ({given})" if isinstance(given, str) else "")
        check.only_keys(table, _HOST_KEYS, where)
        name = check.text(table, "name", where, None).lower().rstrip(".")
        if not _HOST_NAME.fullmatch(name):
            raise check.fail(
                f"{where}.name", f"{name!r} is not a host name (no scheme, port or path)"
            )
        if any(h.name == name for h in found):
            raise check.fail(f"{where}.name", f"host {name!r} is listed twice")
        found.append(
            HostSettings(
                name=name,
                per_host=_whole(check, table, "per_host", where, 1, 32),
                host_gap=_seconds(check, table, "host_gap", where, 0.0, 600.0),
            )
        )
    return tuple(found)


def _whole(
    check: _Checker, table: Mapping[str, Any], key: str, where: str, low: int, high: int
) -> int | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise check.fail(f"{where}.{key}", f"must be a whole number from {low} to {high}")
    return value


def _seconds(
    check: _Checker, table: Mapping[str, Any], key: str, where: str, low: float, high: float
) -> float | None:
    if key not in table:
        return None
    seconds = parse_interval(table[key])
    if seconds is None or not low <= seconds <= high:
        reason = f'must be a duration like "10s" or "2m", from {low:g}s to {high:g}s'
        raise check.fail(f"{where}.{key}", reason)
    return seconds


def _size(check: _Checker, table: Mapping[str, Any], key: str, where: str) -> int | None:
    value = table.get(key)
    if value is None:
        return None
    match = _SIZE.match(value) if isinstance(value, str) else None
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif match:
        size = int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "").lower()]
    else:
        raise check.fail(f"{where}.{key}", 'must be bytes, or a size like "10 MB" or "512 KiB"')
    if not 1024 <= size <= 2**30:
        raise check.fail(f"{where}.{key}", "must be from 1 KiB to 1 GiB")
    return size


def _private_entry(check: _Checker, entry: str, where: str) -> str:
    """A CIDR network ("10.1.2.0/24", "fd00::/8"), one address, or a host name."""
    text = entry.strip().lower()
    try:
        return str(ipaddress.ip_network(text, strict=True))
    except ValueError as e:
        if "/" in text or ":" in text or not text.strip("0123456789."):
            raise check.fail(where, f"{entry!r} is not a network: {e}") from e
    if not _HOST_NAME.fullmatch(text):
        reason = f"{entry!r} is neither a network like 10.1.2.0/24 nor a host name"
        raise check.fail(where, reason)
    return text.rstrip(".")


def _parsing(check: _Checker, table: Mapping[str, Any], where: str) -> dict[str, Any]:
    timeout = parse_interval(table.get("parse_timeout", 20.0))
    if timeout is None or not 1.0 <= timeout <= 600.0:
        raise check.fail(f"{where}.parse_timeout", "must be a duration from 1s to 10m")
    processes = table.get("parse_processes", 2)
    if isinstance(processes, bool) or not isinstance(processes, int) or not 1 <= processes <= 64:
        raise check.fail(f"{where}.parse_processes", "must be an integer from 1 to 64")
    return {"parse_timeout": timeout, "parse_processes": processes}


def _words(check: _Checker, table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    words = table.get(key, [])
    if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
        raise check.fail(f"{where}.{key}", "must be a list of non-empty strings")
    return tuple(words)


def _timezone(check: _Checker, table: Mapping[str, Any], where: str, default: str) -> str:
    name = check.text(table, "timezone", where, default)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise check.fail(_join(where, "timezone"), f"unknown IANA timezone {name!r}") from e
    return name


def _stories(
    check: _Checker, tables: list[Mapping[str, Any]], default_tz: str
) -> tuple[StorySpec, ...]:
    stories: list[StorySpec] = []
    for i, table in enumerate(tables):
        where = f"[[stories]] #{i + 1}"
        check.only_keys(table, _STORY_KEYS, where)
        story_id = check.text(table, "id", where, None)
        if not _ID.match(story_id):
            raise check.fail(f"{where}.id", "must be lowercase letters, digits, '-' or '_'")
        if any(s.id == story_id for s in stories):
            raise check.fail(f"{where}.id", f"duplicate story id {story_id!r}")
        keywords, exclude = (_words(check, table, key, where) for key in ("keywords", "exclude"))
        title = check.text(table, "title", where, story_id)
        page_size = table.get("page_size", DEFAULT_PAGE_SIZE)
        if (
            isinstance(page_size, bool)
            or not isinstance(page_size, int)
            or not 10 <= page_size <= 1000
        ):
            raise check.fail(f"{where}.page_size", "must be an integer from 10 to 1000")
        story = StorySpec(
            story_id,
            title,
            keywords=keywords,
            exclude=exclude,
            page_size=page_size,
            timezone=_timezone(check, table, where, default_tz),
        )
        stories.append(story)
    if not stories:
        raise check.fail("[[stories]]", "at least one story is required")
    return tuple(stories)


def _sources(
    check: _Checker,
    tables: list[Mapping[str, Any]],
    stories: tuple[StorySpec, ...],
    base: Path,
    default_tz: str,
) -> tuple[SourceSpec, ...]:
    sources: list[SourceSpec] = []
    for i, table in enumerate(tables):
        given = table.get("name")
        named = f" ({given})" if isinstance(given, str) and given else ""
        where = f"[[sources]] #{i + 1}{named}"
        check.only_keys(table, _SOURCE_KEYS, where)
        name = check.text(table, "name", where, None)
        where = f"[[sources]] #{i + 1} ({name})"
        if any(s.name == name for s in sources):
            raise check.fail(f"{where}.name", f"duplicate source name {name!r}")
        sources.append(_source(check, table, where, name, stories, base, default_tz))
    return tuple(sources)


def _source(
    check: _Checker,
    table: Mapping[str, Any],
    where: str,
    name: str,
    stories: tuple[StorySpec, ...],
    base: Path,
    default_tz: str,
) -> SourceSpec:
    story = check.text(table, "story", where, stories[0].id if len(stories) == 1 else None)
    if all(s.id != story for s in stories):
        raise check.fail(f"{where}.story", f"no story with id {story!r}")
    kind = check.text(table, "kind", where, None)
    if kind not in KINDS:
        raise check.fail(f"{where}.kind", f"must be one of {', '.join(KINDS)}")
    url, path = _location(check, table, where, base)
    interval, low, high = _intervals(check, table, where, "url" if url else "path")
    title = check.text(table, "title", where, name) if "title" in table else ""
    return SourceSpec(
        name=name,
        title=title,
        story=story,
        kind=_kind(kind),
        url=url,
        path=path,
        interval=interval,
        min_interval=low,
        max_interval=high,
        timezone=_timezone(check, table, where, default_tz),
        abbreviations=_abbreviations(check, table.get("abbreviations", {}), where),
    )


def _intervals(
    check: _Checker, table: Mapping[str, Any], where: str, where_from: str
) -> tuple[float, float, float]:
    """interval, min_interval, max_interval: each at least the floor for a url or a
    path, and min <= interval <= max. An interval left out sits inside given bounds."""
    floor = MIN_INTERVAL[where_from]
    low = _duration(check, table, "min_interval", where, where_from)
    high = _duration(check, table, "max_interval", where, where_from)
    interval = _duration(check, table, "interval", where, where_from)
    if interval is None:
        interval = DEFAULT_INTERVAL[where_from]
        interval = max(interval, low) if low is not None else interval
        interval = min(interval, high) if high is not None else interval
    low = low if low is not None else max(floor, min(interval, interval * DEFAULT_MIN_SHARE))
    high = high if high is not None else max(interval, DEFAULT_MAX_INTERVAL)
    if low > interval:
        raise check.fail(f"{where}.min_interval", f"must not exceed interval ({interval:g}s)")
    if high < interval:
        raise check.fail(f"{where}.max_interval", f"must not be below interval ({interval:g}s)")
    return interval, low, high


def _duration(
    check: _Checker, table: Mapping[str, Any], key: str, where: str, where_from: str
) -> float | None:
    if key not in table:
        return None
    seconds = parse_interval(table[key])
    if seconds is None:
        reason = 'must be seconds or a duration like "30s", "5m", "1h"'
        raise check.fail(f"{where}.{key}", reason)
    floor = MIN_INTERVAL[where_from]
    if seconds < floor:
        raise check.fail(f"{where}.{key}", f"must be at least {floor:g}s for a {where_from}")
    if seconds > MAX_INTERVAL:
        raise check.fail(f"{where}.{key}", "must be at most 30 days")
    return seconds


def _abbreviations(check: _Checker, value: object, where: str) -> dict[str, str]:
    """Zone abbreviations are ambiguous (IST, BST, ET), so a source says what it means."""
    where = f"{where}.abbreviations"
    if not isinstance(value, dict):
        raise check.fail(where, 'must be a table like { BST = "Europe/London" }')
    for abbreviation, meaning in value.items():
        if not isinstance(meaning, str) or not (_OFFSET.match(meaning) or _is_zone(meaning)):
            reason = "must be an IANA timezone or an offset like +01:00"
            raise check.fail(f"{where}.{abbreviation}", reason)
    return dict(value)


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _kind(value: str) -> Kind:
    for kind in KINDS:
        if kind == value:
            return kind
    raise ValueError(value)


def _location(
    check: _Checker, table: Mapping[str, Any], where: str, base: Path
) -> tuple[str | None, str | None]:
    has_url, has_path = "url" in table, "path" in table
    if has_url == has_path:
        raise check.fail(where, "needs exactly one of 'url' or 'path'")
    if has_url:
        url = check.text(table, "url", where, None)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise check.fail(f"{where}.url", f"must be an http or https URL, not {url!r}")
        return url, None
    # A missing file is the source's problem at poll time, not a reason to refuse to start.
    return None, str(base / check.text(table, "path", where, None))


class LiveSettings:
    """The current Settings, re-read when the config file changes on disk.

    A reload that fails validation raises ConfigError and keeps the last good settings.
    """

    def __init__(self, settings: Settings, environ: Mapping[str, str]) -> None:
        self._settings = settings
        self._environ = dict(environ)
        self._stamp = _file_stamp(settings.path)
        self._lock = threading.Lock()

    @property
    def current(self) -> Settings:
        return self._settings

    def reload_if_changed(self) -> Settings | None:
        """The new Settings when the file changed since the last look, else None."""
        with self._lock:
            stamp = _file_stamp(self._settings.path)
            if stamp == self._stamp:
                return None
            self._stamp = stamp
            fresh = load(self._settings.path, self._environ)
            self._settings = fresh
            return fresh


def _file_stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)
