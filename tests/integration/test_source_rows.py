"""Polls with nothing to store, committed together: on SQLite and PostgreSQL, each
`write` returns with its row committed, rows queued behind a commit share the next one,
and a row its database refuses fails its own poll only."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import event, select

from aggregator.core.errors import StoreError
from aggregator.core.types import FetchState
from aggregator.store import Store
from aggregator.store.schema import sources
from aggregator.store.source_rows import SourceRows
from tests.support.builders import T0, source

SPECS = [source(f"s{n}") for n in range(8)]


class _Interrupt(BaseException):
    """As KeyboardInterrupt or SystemExit would, in the thread that is committing."""


def _queued(rows: SourceRows, writes: dict[str, dict[str, object]]) -> dict[str, BaseException]:
    """Run each write on a thread of its own while the commit lock is held, so that all
    of them are queued before the first commit starts; returns what each raised."""
    raised: dict[str, BaseException] = {}

    def write(name: str, values: dict[str, object]) -> None:
        try:
            rows.write(name, values)
        except (StoreError, _Interrupt) as e:
            raised[name] = e

    threads = [threading.Thread(target=write, args=item) for item in writes.items()]
    with rows._commit_lock:
        for thread in threads:
            thread.start()
        _wait_for(lambda: len(rows._queue) == len(writes))
    for thread in threads:
        thread.join(timeout=30)
    return raised


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "the writes never queued"
        time.sleep(0.005)


def _counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as c:
        return {
            r.name: r.error_count for r in c.execute(select(sources.c.name, sources.c.error_count))
        }


def _commits(store: Store) -> list[object]:
    seen: list[object] = []
    event.listen(store.engine, "commit", seen.append)
    return seen


def test_rows_queued_behind_a_commit_share_one(store: Store) -> None:
    store.sync_sources(SPECS)
    rows = SourceRows(store.connections)
    commits = _commits(store)
    # Two shapes of row in one batch: each shape is one executemany.
    writes: dict[str, dict[str, object]] = {
        s.name: {"error_count": n, **({"last_error": "x"} if n % 2 else {})}
        for n, s in enumerate(SPECS)
    }
    assert _queued(rows, writes) == {}
    assert len(commits) == 1
    assert _counts(store) == {s.name: n for n, s in enumerate(SPECS)}


def test_a_refused_row_fails_its_own_poll_only(store: Store) -> None:
    store.sync_sources(SPECS)
    rows = SourceRows(store.connections)
    writes: dict[str, dict[str, object]] = {s.name: {"error_count": 7} for s in SPECS}
    writes["s3"] = {"error_count": None}  # NOT NULL: the database refuses it
    raised = _queued(rows, writes)
    assert list(raised) == ["s3"]
    assert "cannot write to the store" in str(raised["s3"])
    assert _counts(store) == {s.name: 0 if s.name == "s3" else 7 for s in SPECS}


def test_an_interrupted_commit_fails_the_polls_it_took_instead_of_losing_them(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.sync_sources(SPECS)
    rows = SourceRows(store.connections)

    def interrupted(handed: object) -> None:
        raise _Interrupt

    monkeypatch.setattr(rows, "_commit", interrupted)
    raised = _queued(rows, {s.name: {"error_count": 7} for s in SPECS})
    # One thread committed for all and was interrupted; each other one says so.
    assert sorted(type(e).__name__ for e in raised.values()) == ["StoreError"] * 7 + ["_Interrupt"]
    assert _counts(store) == {s.name: 0 for s in SPECS}


def test_an_unchanged_poll_is_committed_when_apply_returns(store: Store) -> None:
    store.sync_sources(SPECS)
    spec = SPECS[0]
    report = store.apply(spec, [], FetchState(etag='"v2"'), T0)
    assert (report.source, report.new) == (spec.name, 0)
    assert store.source_status(spec.name).state.etag == '"v2"'


def test_unchanged_polls_from_many_threads_all_land(store: Store) -> None:
    threads = 16
    specs = [source(f"t{n}") for n in range(threads * 4)]
    store.sync_sources(specs)

    def poll(n: int) -> None:
        for spec in specs[n::threads]:
            store.apply(spec, [], FetchState(etag=f'"{spec.name}"'), T0)
            # Committed by the time apply returns: a fresh read sees it.
            assert store.source_status(spec.name).state.etag == f'"{spec.name}"'

    workers = [threading.Thread(target=poll, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert all(store.source_status(s.name).state.etag == f'"{s.name}"' for s in specs)
