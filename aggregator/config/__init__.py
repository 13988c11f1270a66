"""The only reader of the TOML config file and of the environment variables that name
it or override it (AGGREGATOR_CONFIG, AGGREGATOR_DATABASE_URL); systemd's own
(`$NOTIFY_SOCKET`, the watchdog's) are read by systemd.py.

`load(path, environ)` validates everything at start, and again on each reload
(`LiveSettings`), into a frozen `Settings` that is passed down as arguments. A bad file
raises ConfigError naming the file, the table, the key and the reason.
"""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Mapping
from pathlib import Path

from aggregator.config.checks import Checker, parse_interval
from aggregator.config.fetch_table import read_fetch
from aggregator.config.service_table import read_service
from aggregator.config.settings import (
    DEFAULT_CONFIG,
    DEFAULT_DATABASE_URL,
    DEFAULT_INTERVAL,
    DEFAULT_MAX_INTERVAL,
    DEFAULT_MIN_SHARE,
    DEFAULT_TIMEZONE,
    LOOPBACK,
    MAX_INTERVAL,
    MIN_INTERVAL,
    FetchSettings,
    HostSettings,
    ServiceSettings,
    Settings,
    config_path,
)
from aggregator.config.sources_table import read_sources, read_stories
from aggregator.core.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_DATABASE_URL",
    "DEFAULT_INTERVAL",
    "DEFAULT_MAX_INTERVAL",
    "DEFAULT_MIN_SHARE",
    "DEFAULT_TIMEZONE",
    "LOOPBACK",
    "MAX_INTERVAL",
    "MIN_INTERVAL",
    "FetchSettings",
    "HostSettings",
    "LiveSettings",
    "ServiceSettings",
    "Settings",
    "config_path",
    "load",
    "parse_interval",
]


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
    check = Checker(file)
    check.only_keys(raw, {"service", "fetch", "hosts", "stories", "sources"}, "")
    base = path.resolve().parent
    service = read_service(check, check.table(raw, "service"), environ, base)
    fetch = read_fetch(check, check.table(raw, "fetch"), check.array(raw, "hosts"))
    stories = read_stories(check, check.array(raw, "stories"), service.timezone)
    sources = read_sources(check, check.array(raw, "sources"), stories, base, service.timezone)
    return Settings(path=path, service=service, stories=stories, sources=sources, fetch=fetch)


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
