"""`[fetch]` and `[[hosts]]`: what every HTTP request may do, and per host."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from aggregator.config.checks import HOST_NAME, Checker, seconds, size, whole
from aggregator.config.settings import FetchSettings, HostSettings

_FETCH_KEYS = {"allow_private", "user_agent", "per_host", "host_gap", "max_bytes", "timeout"}
_FETCH_KEYS |= {"connect_timeout", "max_redirects"}
_HOST_KEYS = {"name", "per_host", "host_gap"}


def read_fetch(
    check: Checker, table: Mapping[str, Any], hosts: list[Mapping[str, Any]]
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
    timeout = seconds(check, table, "timeout", where, 1.0, 300.0)
    connect = seconds(check, table, "connect_timeout", where, 0.5, 300.0)
    if connect is not None and connect > (timeout or 300.0):
        raise check.fail(f"{where}.connect_timeout", "must not exceed timeout")
    return FetchSettings(
        allow_private=allowed,
        user_agent=agent,
        per_host=whole(check, table, "per_host", where, 1, 32),
        host_gap=seconds(check, table, "host_gap", where, 0.0, 600.0),
        max_bytes=size(check, table, "max_bytes", where),
        timeout=timeout,
        connect_timeout=connect,
        max_redirects=whole(check, table, "max_redirects", where, 0, 20),
        hosts=_hosts(check, hosts),
    )


def _hosts(check: Checker, tables: list[Mapping[str, Any]]) -> tuple[HostSettings, ...]:
    """`[[hosts]]`: a host you run, or one that asks for slower polling."""
    found: list[HostSettings] = []
    for i, table in enumerate(tables):
        given = table.get("name")
        where = f"[[hosts]] #{i + 1}" + (f" ({given})" if isinstance(given, str) else "")
        check.only_keys(table, _HOST_KEYS, where)
        name = check.text(table, "name", where, None).lower().rstrip(".")
        if not HOST_NAME.fullmatch(name):
            raise check.fail(
                f"{where}.name", f"{name!r} is not a host name (no scheme, port or path)"
            )
        if any(h.name == name for h in found):
            raise check.fail(f"{where}.name", f"host {name!r} is listed twice")
        found.append(
            HostSettings(
                name=name,
                per_host=whole(check, table, "per_host", where, 1, 32),
                host_gap=seconds(check, table, "host_gap", where, 0.0, 600.0),
            )
        )
    return tuple(found)


def _private_entry(check: Checker, entry: str, where: str) -> str:
    """A CIDR network ("10.1.2.0/24", "fd00::/8"), one address, or a host name."""
    text = entry.strip().lower()
    try:
        return str(ipaddress.ip_network(text, strict=True))
    except ValueError as e:
        if "/" in text or ":" in text or not text.strip("0123456789."):
            raise check.fail(where, f"{entry!r} is not a network: {e}") from e
    if not HOST_NAME.fullmatch(text):
        reason = f"{entry!r} is neither a network like 10.1.2.0/24 nor a host name"
        raise check.fail(where, reason)
    return text.rstrip(".")
