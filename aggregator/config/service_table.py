"""`[service]`: the store, the web port, time zone, WebSub, parsing, logs and metrics."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aggregator.config.checks import Checker, parse_interval, timezone_of
from aggregator.config.settings import (
    DEFAULT_DATABASE_URL,
    DEFAULT_TIMEZONE,
    LOOPBACK,
    ServiceSettings,
)

_SERVICE_KEYS = {"database_url", "host", "port", "public_url", "timezone", "output_dir"}
_SERVICE_KEYS |= {"websub_hub", "websub_subscribe", "parse_timeout", "parse_processes"}
_SERVICE_KEYS |= {"websub_http_hubs", "access_log"}
_SERVICE_KEYS |= {"metrics", "metrics_allow", "metrics_host", "metrics_port"}


def read_service(
    check: Checker, table: Mapping[str, Any], environ: Mapping[str, str], base: Path
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
    timezone = timezone_of(check, table, where, DEFAULT_TIMEZONE)
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
    return "sqlite:///" + os.path.normpath(base / path)


def _websub(check: Checker, table: Mapping[str, Any], where: str) -> dict[str, Any]:
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


def _metrics(check: Checker, table: Mapping[str, Any], where: str) -> dict[str, Any]:
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


def _parsing(check: Checker, table: Mapping[str, Any], where: str) -> dict[str, Any]:
    timeout = parse_interval(table.get("parse_timeout", 20.0))
    if timeout is None or not 1.0 <= timeout <= 600.0:
        raise check.fail(f"{where}.parse_timeout", "must be a duration from 1s to 10m")
    processes = table.get("parse_processes", 2)
    if isinstance(processes, bool) or not isinstance(processes, int) or not 1 <= processes <= 64:
        raise check.fail(f"{where}.parse_processes", "must be an integer from 1 to 64")
    return {"parse_timeout": timeout, "parse_processes": processes}
