"""The benchmark harness's own logic: what it writes is what it means to measure, and
its report calls a target met only when it is (bench/ is scripts, so it is put on the path)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from aggregator.cli.main import main
from tests.support.paths import ROOT

BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))

import report  # noqa: E402
import watch_latency  # noqa: E402


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
    assert "| 60 plain | 2 | cold | 2.00 (1.00-3.00) | 20.00 (20.00-20.00) | 10.00x |" in text
    assert "Not measured: RuntimeError: wrk not found" in text


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
