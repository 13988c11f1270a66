"""Markdown for bench/run.py's results: the targets first, then each measurement.

Input is the JSON run.py writes beside the table (bench/results.json):

    {"meta": {...}, "cycles": {"500 plain": {"runs": [RUN...], "error": null}},
     "watch": {"p50": s, "p95": s, "max": s, "edits": n, "missed": n} | {"error": "..."},
     "tick": {"feeds": n, "interval": s, "changed": n, "missed": n, "fetch_p50": s, ...,
              "change_max": s} | {"error": "..."},
     "rate": {"ours_200": r/s, "nginx_200": r/s, "ours_304": ..., ...} | {"error": "..."}}

where RUN is poll_cycle.py's {engine: {phase: {"seconds", "new", "peak_bytes"}}} (the
"poll --once" engine, in runs since it was added, has no "peak_bytes").
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from typing import Any

PHASES = ("cold", "warm", "tick")
# Issue 5's targets: aggregator / reader speed per phase, SSE p95, share of nginx's rate.
SPEEDUP_TARGETS = {"cold": 2.0, "warm": 5.0, "tick": 3.0}
LATENCY_P95_TARGET = 1.0
RATE_SHARE_TARGET = 0.5
# poll_cycle.py's engine for the whole `aggregator poll --once` command (no peak memory).
ONCE = "poll --once"
RATE_ROWS = {"200": "200", "304": "304", "200gz": "200, gzip (Accept-Encoding: gzip)"}
Results = Mapping[str, Any]


def render(results: Results) -> str:
    meta = results["meta"]
    measured = f"Measured {meta['date']} on {meta['cpus']} CPUs, Python {meta['python']}"
    if "commit" in meta:
        measured += f", aggregator at {meta['commit']}"
    peers = meta.get("peers") or {}
    if peers:
        measured += "; against " + ", ".join(f"{k} {v}" for k, v in peers.items())
    header = f"{measured}:\n`{meta['command']}`"
    for update in meta.get("updates", []):
        again = ", ".join(update["parts"])
        at = f", aggregator at {update['commit']}" if "commit" in update else ""
        header += f"\n\nRe-measured {update['date']} ({again}{at}): `{update['command']}`"
    parts = [header, targets_section(results)]
    if results.get("cycles"):
        parts.append(cycles_section(results["cycles"]))
    if results.get("watch"):
        parts.append(watch_section(results["watch"]))
    if results.get("tick"):
        parts.append(tick_section(results["tick"]))
    if results.get("rate"):
        parts.append(rate_section(results["rate"]))
    return "\n\n".join(parts) + "\n"


def targets_section(results: Results) -> str:
    rows: list[tuple[str, str, bool | None]] = []
    for feeds, sized in (results.get("cycles") or {}).items():
        for phase, target in SPEEDUP_TARGETS.items():
            name = f"{phase} cycle, {feeds} feeds: >= {target:g}x reader's speed"
            if not sized["runs"]:
                rows.append((name, "not measured", None))
                continue
            ratio = _speedup(sized["runs"], phase)
            rows.append((name, f"{ratio:.2f}x", ratio >= target))
    watch = results.get("watch") or {}
    if watch:
        p95 = watch.get("p95")
        name = f"watched-file latency p95 < {LATENCY_P95_TARGET:g} s"
        met = None if p95 is None else p95 < LATENCY_P95_TARGET
        rows.append((name, "not measured" if p95 is None else _ms(p95), met))
    tick = results.get("tick") or {}
    if tick:
        name = "tick-to-event p95, from the fetch (reported; no target)"
        rows.append((name, _ms(tick["fetch_p95"]) if "fetch_p95" in tick else "not measured", None))
    rate = results.get("rate") or {}
    for status in [s for s in RATE_ROWS if f"ours_{s}" in rate or "error" in rate]:
        label = RATE_ROWS[status]
        name = f"merged feed, {label}: >= {RATE_SHARE_TARGET:.0%} of nginx's static rate"
        if "error" in rate:
            rows.append((name, "not measured", None))
            continue
        share = _share(rate, status)
        rows.append((name, f"{share:.2%}", share >= RATE_SHARE_TARGET))
    lines = ["### Targets (issue 15)", "", "| target | measured | met |", "|---|---:|---|"]
    for name, value, met in rows:
        verdict = "-" if met is None else "yes" if met else "**no**"
        lines.append(f"| {name} | {value} | {verdict} |")
    return "\n".join(lines)


def cycles_section(cycles: Mapping[Any, Mapping[str, Any]]) -> str:
    lines = [
        "### Poll cycles: seconds, median (min-max)",
        "",
        "| feeds | runs | phase | aggregator s | reader s | aggregator / reader speed "
        "| `poll --once` s | `poll --once` / reader speed |",
        "|---:|---:|---|---|---|---:|---|---:|",
    ]
    memory = ["", "| feeds | aggregator peak RSS | reader peak RSS |", "|---:|---:|---:|"]
    notes = []
    for feeds, sized in cycles.items():
        runs = sized["runs"]
        if sized.get("error"):
            notes.append(f"{feeds} feeds stopped after {len(runs)} run(s): {sized['error']}")
        if not runs:
            continue
        for phase in PHASES:
            ours, theirs = _seconds(runs, "aggregator", phase), _seconds(runs, "reader", phase)
            once = "| - | - |"
            if all(ONCE in r for r in runs):
                whole = _seconds(runs, ONCE, phase)
                once = f"| {_spread(whole)} | {_speedup(runs, phase, ONCE):.2f}x |"
            lines.append(
                f"| {feeds} | {len(runs)} | {phase} | {_spread(ours)} | {_spread(theirs)} "
                f"| {_speedup(runs, phase):.2f}x {once}"
            )
        memory.append(f"| {feeds} | {_mib(runs, 'aggregator')} | {_mib(runs, 'reader')} |")
    lines.append(
        "\n`poll --once` is the whole command as a user times it (start-up, imports and the "
        "summary table included; 8 polls at a time), on a database of its own; no target."
    )
    text = "\n".join(lines + memory)
    return text + "".join(f"\n\n{note}" for note in notes)


def watch_section(watch: Mapping[str, Any]) -> str:
    title = "### Watched-file latency: append to a local live page -> `new` SSE event"
    if "error" in watch:
        return _not_measured(title, watch)
    return "\n".join(
        [
            title,
            "",
            "| edits | p50 | p95 | max | missed (> 10 s) |",
            "|---:|---:|---:|---:|---:|",
            f"| {watch['edits']} | {_ms(watch['p50'])} | {_ms(watch['p95'])} "
            f"| {_ms(watch['max'])} | {watch['missed']} |",
        ]
    )


def tick_section(tick: Mapping[str, Any]) -> str:
    title = "### Tick-to-event latency: a served feed gains posts -> `new` SSE event"
    if "error" in tick:
        return _not_measured(title, tick)
    lines = [
        title,
        "",
        f"{tick['feeds']} feeds polled every {tick['interval']} s; a tick adds two posts to "
        f"{tick['changed']} of them ({tick['missed']} missed). *From the fetch*: nginx served "
        "the changed feed -> its newest post's event; *from the change*: the tick -> that "
        "event, so it includes the wait until the feed is due (up to one interval).",
        "",
        "| clock starts | p50 | p95 | max |",
        "|---|---:|---:|---:|",
    ]
    for label, clock in (("fetch", "from the fetch"), ("change", "from the change")):
        values = (tick[f"{label}_{q}"] for q in ("p50", "p95", "max"))
        lines.append(f"| {clock} | " + " | ".join(_ms(v) for v in values) + " |")
    return "\n".join(lines)


def rate_section(rate: Mapping[str, Any]) -> str:
    title = "### Merged Atom feed: requests/s, aggregator vs nginx serving the same bytes"
    if "error" in rate:
        return _not_measured(title, rate)
    lines = [
        title,
        "",
        f"{rate['entries']} entries, {rate['bytes']:,} bytes "
        f"({rate.get('gzip_bytes', 0):,} gzipped); "
        f"`wrk -t2 -c{rate['connections']} -d{rate['seconds']}s`, "
        f"{rate.get('runs', 1)} run(s) of each, servers interleaved; median (min-max).",
        "",
        "| response | aggregator req/s | nginx req/s | aggregator / nginx |",
        "|---|---:|---:|---:|",
    ]
    for status, label in RATE_ROWS.items():
        if f"ours_{status}" not in rate:  # results from before the gzip row was measured
            continue
        ours, theirs = _rates(rate, "ours", status), _rates(rate, "nginx", status)
        cells = f"{_spread_rate(ours)} | {_spread_rate(theirs)} | {_share(rate, status):.2%}"
        lines.append(f"| {label} | {cells} |")
    if rate.get("profile"):
        lines += ["", "Where a merged-feed request's time goes (bench/feed_profile.py):", ""]
        lines += ["```", rate["profile"].rstrip(), "```"]
    return "\n".join(lines)


def _not_measured(title: str, part: Mapping[str, Any]) -> str:
    return f"{title}\n\nNot measured: {part['error']}"


def _seconds(runs: list[Any], engine: str, phase: str) -> list[float]:
    return [float(r[engine][phase]["seconds"]) for r in runs]


def _speedup(runs: list[Any], phase: str, engine: str = "aggregator") -> float:
    ours = statistics.median(_seconds(runs, engine, phase))
    return statistics.median(_seconds(runs, "reader", phase)) / ours


def _rates(rate: Mapping[str, Any], server: str, status: str) -> list[float]:
    """One server's requests/s for one response: a run per wrk run (one, in older files)."""
    value = rate[f"{server}_{status}"]
    return [float(v) for v in value] if isinstance(value, list) else [float(value)]


def _share(rate: Mapping[str, Any], status: str) -> float:
    """Median of ours over median of nginx's."""
    ours = statistics.median(_rates(rate, "ours", status))
    return ours / statistics.median(_rates(rate, "nginx", status))


def _spread_rate(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:,.0f}"
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})"


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def _mib(runs: list[Any], engine: str) -> str:
    peak = max(r[engine][p]["peak_bytes"] for r in runs for p in PHASES)
    return f"{peak / 2**20:.0f} MiB"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"
