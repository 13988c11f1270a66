"""Cold poll cycles with a poll's CPU work in the polling threads or in the parse pool.

    .venv/bin/python bench/parse_pool.py --feeds 500 --runs 3

Serves a fresh bench corpus (bench/corpus.py, publisher markup) with nginx on
127.0.0.1 and runs bench/ours_cycle.py on it, alternating `--parse-processes 0`
(parse and sign in the 16 polling threads) and `2` (the service's default), each into a
fresh SQLite database. Prints every run, then the median and min-max seconds and the
peak memory (for the pool: this process plus the children's own peaks, ours_cycle.py).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from corpus import write
from serve import nginx

HERE = Path(__file__).resolve().parent
SETTINGS = (0, 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="aggbench-pool-"))
    write(root, args.feeds)
    results: dict[int, list[dict[str, float]]] = {n: [] for n in SETTINGS}
    with nginx(root) as base:
        for run in range(args.runs):
            for processes in SETTINGS:
                database = f"sqlite:///{root / f'run{run}-p{processes}.sqlite'}"
                command = [sys.executable, str(HERE / "ours_cycle.py"), database, base]
                command += [str(args.feeds), "--parse-processes", str(processes)]
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                result = json.loads(done.stdout.strip().splitlines()[-1])
                results[processes].append(result)
                print(f"run {run} parse_processes={processes}: {result}", flush=True)
    for processes, runs in results.items():
        seconds = sorted(r["seconds"] for r in runs)
        peak = statistics.median(r["peak_bytes"] for r in runs) / 2**20
        print(
            f"parse_processes={processes}: cold {statistics.median(seconds):.2f} s "
            f"({seconds[0]:.2f}-{seconds[-1]:.2f}), peak {peak:.0f} MiB, "
            f"new entries {runs[0]['new']:.0f}"
        )


if __name__ == "__main__":
    main()
