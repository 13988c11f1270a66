"""The benchmark harness's own logic: what it writes is what it means to measure, and
its report calls a target met only when it is (bench/ is scripts, so it is put on the path)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from aggregator.cli.main import main
from tests.support.paths import ROOT

BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))

import corpus  # noqa: E402
import report  # noqa: E402
import tick_latency  # noqa: E402
import watch_latency  # noqa: E402

# bench/run.py by its path: the project's own run.py has the same module name.
_spec = importlib.util.spec_from_file_location("bench_run", BENCH / "run.py")
assert _spec is not None and _spec.loader is not None
run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run)


def test_appended_bench_posts_split_into_one_entry_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "live.md"
    page.write_text("# Bench live page\n" + "".join(watch_latency.post(n) for n in range(4)))

    assert main(["preview", str(page), "--kind", "liveblog"]) == 0

    entries = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["title"] for e in entries] == [watch_latency.title_of(n) for n in range(4)]
    assert [e["published"] for e in entries][-1] == "2026-11-01T09:03:00Z"


def _run(ours: float, theirs: float) -> dict[str, Any]:
    phase = {"seconds": 0.0, "new": 1, "peak_bytes": 2**20}
    return {
        engine: {p: {**phase, "seconds": s} for p in report.PHASES}
        for engine, s in (("aggregator", ours), ("reader", theirs))
    }


def test_report_marks_each_target_against_its_measurement() -> None:
    results = {
        "meta": {"date": "2026-11-01 09:00 UTC", "cpus": 2, "python": "3.11", "command": "x"},
        "cycles": {"60 plain": {"runs": [_run(1.0, 20.0), _run(3.0, 20.0)], "error": None}},
        "watch": {"edits": 3, "missed": 0, "p50": 0.1, "p95": 1.5, "max": 2.0},
        "rate": {"error": "RuntimeError: wrk not found"},
    }

    text = report.render(results)

    assert "| cold cycle, 60 plain feeds: >= 2x reader's speed | 10.00x | yes |" in text
    assert "| watched-file latency p95 < 1 s | 1500 ms | **no** |" in text
    assert "| merged feed, 200: >= 50% of nginx's static rate | not measured | - |" in text
    row = "| 60 plain | 2 | cold | 2.00 (1.00-3.00) | 20.00 (20.00-20.00) | 10.00x | - | - |"
    assert row in text  # runs from before `poll --once` was measured
    assert "Not measured: RuntimeError: wrk not found" in text


def test_report_shows_poll_once_beside_the_worker_cycle() -> None:
    runs = [_run(1.0, 20.0), _run(3.0, 20.0)]
    for run_, whole in zip(runs, (4.0, 6.0), strict=True):
        run_[report.ONCE] = {p: {"seconds": whole, "new": 1, "errors": 0} for p in report.PHASES}
    cycles = {"60 plain": {"runs": runs, "error": None}}

    text = report.cycles_section(cycles)

    assert "| 2.00 (1.00-3.00) | 20.00 (20.00-20.00) | 10.00x | 5.00 (4.00-6.00) | 4.00x |" in text
    assert "| 60 plain | 1 MiB | 1 MiB |" in text  # the command's memory is not measured


META = {"date": "d", "cpus": 2, "python": "3.11", "command": "x"}


def test_report_shares_of_nginx_rate_per_response() -> None:
    rate: dict[str, Any] = {"entries": 500, "bytes": 600_000, "gzip_bytes": 150_000}
    rate |= {"connections": 50}
    rate |= {"seconds": 10, "ours_200": 4000.0, "nginx_200": 8000.0, "ours_304": 900.0}
    rate |= {"nginx_304": 90000.0, "ours_200gz": 3000.0, "nginx_200gz": 12000.0}
    text = report.render({"meta": META, "rate": rate})
    assert "| merged feed, 200: >= 50% of nginx's static rate | 50.00% | yes |" in text
    assert "| merged feed, 304: >= 50% of nginx's static rate | 1.00% | **no** |" in text
    gz = "| merged feed, 200, gzip (Accept-Encoding: gzip): >= 50% of nginx's static rate"
    assert f"{gz} | 25.00% | **no** |" in text
    assert "| 200, gzip (Accept-Encoding: gzip) | 3,000 | 12,000 | 25.00% |" in text
    assert "600,000 bytes (150,000 gzipped)" in text
    rate |= {"ours_200": [4000.0, 3000.0, 4400.0], "nginx_200": [7000.0, 8000.0, 9000.0]}
    text = report.render({"meta": META, "rate": rate})
    assert "| 200 | 4,000 (3,000-4,400) | 8,000 (7,000-9,000) | 50.00% |" in text  # medians
    del rate["ours_200gz"], rate["nginx_200gz"]  # a result file from before the gzip row
    assert "gzip (Accept" not in report.render({"meta": META, "rate": rate})


@pytest.mark.parametrize("markup", ["plain", "publisher"])
@pytest.mark.parametrize("feed", [0, 10, 180])  # 180: its new title ends in a space
def test_tick_latency_waits_for_the_title_the_service_shows(
    feed: int, markup: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus.write(tmp_path, feed + 1, tick=1, markup=markup)

    assert main(["preview", str(tmp_path / f"f{feed:05d}.xml"), "--kind", "feed"]) == 0

    newest = json.loads(capsys.readouterr().out.splitlines()[0])
    assert newest["title"] == tick_latency.newest_title(feed, markup)


def test_tick_latency_clocks_start_at_the_fetch_and_at_the_change() -> None:
    changed = {f"title {n}": f"f{n:05d}.xml" for n in range(0, 40, 10)}
    fetched = {name: 100.0 + i for i, name in enumerate(changed.values())}
    seen = {name: when + 0.05 * (i + 1) for i, (name, when) in enumerate(fetched.items())}
    lines = [(99.0, 304, "f00000.xml"), *((w, 200, n) for n, w in fetched.items())]
    assert tick_latency._first_200s(lines, since=99.5) == fetched

    result = tick_latency.summarise(changed, seen, fetched, 99.5, feeds=40, interval=30)

    assert result["missed"] == 0
    assert result["fetch_max"] == pytest.approx(0.2)
    assert result["change_p50"] == pytest.approx((1.6 + 2.65) / 2)  # seen 100.05 .. 103.2
    assert result["change_max"] == pytest.approx(103.2 - 99.5)


def test_report_shows_the_commit_peers_and_tick_latency() -> None:
    meta = {"date": "d", "cpus": 2, "python": "3.11", "command": "x", "commit": "abc1234"}
    tick: dict[str, float] = {"feeds": 500, "interval": 30, "changed": 50, "missed": 1}
    tick |= {f"{c}_{q}": 0.1 for c in ("fetch", "change") for q in ("p50", "p95", "max")}
    results = {"meta": {**meta, "peers": {"reader": "3.26", "nginx": "1.22.1"}}, "tick": tick}

    text = report.render(results)

    assert "aggregator at abc1234; against reader 3.26, nginx 1.22.1:" in text
    assert "| tick-to-event p95, from the fetch (reported; no target) | 100 ms | - |" in text
    assert "| from the fetch | 100 ms | 100 ms | 100 ms |" in text
    assert "(1 missed)" in text


def test_run_rewrites_only_the_readme_results_section(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    before = f"# Title\n\nIntro.\n\n{run.README_START}\nold\n{run.README_END}\n\nAfter.\n"
    readme.write_text(before, encoding="utf-8")

    run.rewrite_readme(readme, "Measured now\n\n### Targets (issue 15)\n\n| a |\n")

    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# Title\n\nIntro.\n\n" + run.README_START)
    assert "#### Targets (issue 15)" in text and "old" not in text
    assert text.endswith(run.README_END + "\n\nAfter.\n")
    readme.write_text("# no markers\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=re.escape(f"no '{run.README_START}'")):
        run.rewrite_readme(readme, "x")
