"""A service restarted after a crash or kill -9 does not wait out the leases its
earlier process held on this machine; other machines' leases and live processes'
leases are left alone."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from aggregator.config import LiveSettings
from aggregator.ingest.sources import Fetchers
from aggregator.ingest.worker import Worker, process_alive
from aggregator.store import Store
from aggregator.store.schema import sources
from tests.support.builders import one_live_page, source

HOST = "newsroom-1"


def lease(store: Store, name: str, owner: str) -> None:
    """A lease running for the next five minutes of real time."""
    assert store.claim(name, datetime.now(UTC), owner, lease_seconds=300)


def holder(store: Store, name: str) -> str | None:
    now = datetime.now(UTC) + timedelta(seconds=1)
    return "free" if store.claim(name, now, "probe:1:x", 300) else "held"


def test_only_this_machines_gone_processes_lose_their_leases(store: Store, tmp_path: Path) -> None:
    names = ["dead-pid", "same-pid-old-token", "other-host", "live-pid", "mine"]
    store.sync_sources([source(n) for n in names])
    me = f"{HOST}:{os.getpid()}:now"
    dead_pid = _exited_pid()
    lease(store, "dead-pid", f"{HOST}:{dead_pid}:gone")
    lease(store, "same-pid-old-token", f"{HOST}:{os.getpid()}:before")
    lease(store, "other-host", f"newsroom-2:{dead_pid}:elsewhere")
    lease(store, "live-pid", f"{HOST}:{os.getppid()}:sibling")
    lease(store, "mine", me)

    freed = store.release_abandoned(me, process_alive)

    assert sorted(freed) == ["dead-pid", "same-pid-old-token"]
    states = {n: holder(store, n) for n in names}
    assert states == {
        "dead-pid": "free",
        "same-pid-old-token": "free",
        "other-host": "held",
        "live-pid": "held",
        "mine": "held",
    }


def test_process_alive() -> None:
    assert process_alive(os.getpid()) and process_alive(os.getppid())
    assert not process_alive(0) and not process_alive(-5)


def test_an_odd_owner_changes_nothing(store: Store) -> None:
    store.sync_sources([source("page")])
    lease(store, "page", f"{HOST}:{os.getpid()}:before")
    assert store.release_abandoned("named-by-hand", process_alive) == []
    assert holder(store, "page") == "held"


def test_a_starting_worker_frees_its_machines_abandoned_leases(
    store: Store, fetchers: Fetchers, tmp_path: Path
) -> None:
    settings = one_live_page(store, tmp_path)
    gone = f"{socket.gethostname()}:{_exited_pid()}:crashed"
    lease(store, "live", gone)
    worker = Worker(LiveSettings(settings, {}), store, fetchers)
    worker.start()
    try:
        with store.connections.reading() as c:
            owner = c.execute(
                select(sources.c.lease_owner).where(sources.c.name == "live")
            ).scalar()
    finally:
        worker.shutdown()
    assert owner != gone


def _exited_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(done.stdout)
