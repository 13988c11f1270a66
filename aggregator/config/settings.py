"""The settings a config file gives, as frozen values passed down from the start."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aggregator.core.errors import ConfigError
from aggregator.core.types import SourceSpec, StorySpec

DEFAULT_CONFIG = Path("config/aggregator.toml")
# Relative to the config file's folder, as every path the config file names.
DEFAULT_DATABASE_URL = "sqlite:///var/aggregator.sqlite"
DEFAULT_TIMEZONE = "Europe/London"
# Local files cost a stat() per poll; remote servers deserve restraint.
DEFAULT_INTERVAL = {"path": 5.0, "url": 300.0}
MIN_INTERVAL = {"path": 1.0, "url": 5.0}
# No schedule needs more; past this a number is a typo (or nan, inf, 1e300).
MAX_INTERVAL = 30 * 24 * 3600.0
# Unless the config says otherwise, a publishing source is polled up to five times as
# often as its interval and a quiet one slows to an hour (or to its interval if longer).
DEFAULT_MIN_SHARE = 0.2
DEFAULT_MAX_INTERVAL = 3600.0
LOOPBACK = ("127.0.0.0/8", "::1/128")


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

    def named_story(self, story_id: str) -> StorySpec:
        """The story a command was asked for; ConfigError listing the stories if none."""
        story = self.story(story_id)
        if story is None:
            known = ", ".join(s.id for s in self.stories)
            reason = f"no story {story_id!r} (stories: {known})"
            raise ConfigError(str(self.path), "[[stories]]", reason)
        return story

    def sources_of(self, story_id: str) -> tuple[SourceSpec, ...]:
        return tuple(s for s in self.sources if s.story == story_id)

    @property
    def source_titles(self) -> dict[str, str]:
        """The display titles the config gives (source name -> title), for publish."""
        return {s.name: s.title for s in self.sources if s.title}


def config_path(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("AGGREGATOR_CONFIG") or DEFAULT_CONFIG)
