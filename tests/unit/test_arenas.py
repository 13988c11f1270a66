"""The malloc arena cap (aggregator/arenas.py) takes effect: threads that allocate share
two arenas instead of one each. glibc's malloc_stats() lists the arenas."""

from __future__ import annotations

import subprocess
import sys

import pytest

from aggregator.arenas import limit_arenas

THREADS_ALLOCATING = """
import ctypes, sys, threading
from aggregator.arenas import limit_arenas
capped = sys.argv[1] == "capped" and limit_arenas()
barrier = threading.Barrier(8)
def work():
    held = [bytes(20_000) for _ in range(50)]  # malloc, not Python's small-object pool
    barrier.wait()  # all eight alive and allocating at once
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
ctypes.CDLL(None).malloc_stats()
"""


def _arenas(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", THREADS_ALLOCATING, mode],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stderr.count("Arena ")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_threads_share_two_arenas_once_capped() -> None:
    assert _arenas("capped") <= 2
    assert _arenas("free") > 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_capping_starts_no_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """A child forked to look for the C library (ctypes.util.find_library runs ldconfig)
    would be as large as the process when it forks, and count as such in its
    children's peak memory."""

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("limit_arenas started a process")

    monkeypatch.setattr(subprocess, "Popen", refused)
    assert limit_arenas()
