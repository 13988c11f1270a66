"""The parse pool: real child processes give what the inline path gives, and a job that
overruns its deadline or whose child dies fails that one job, cleanly, while the pool
goes on serving with a fresh child."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from aggregator.core.errors import ParseError
from aggregator.core.types import Document
from aggregator.dedupe.normalize import normalize
from aggregator.ingest.kinds import KINDS_BY_NAME
from aggregator.ingest.parsing import INLINE, ParsePool, ParseTimeout, context_of
from tests.support.builders import source
from tests.support.paths import LIVEBLOG_SEED
from tests.support.processes import parse_children

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
FEED = source("wire", kind="feed", url="http://127.0.0.1/feed", path=None)
LIVE = source("live", kind="liveblog")


def feed_document(items: int) -> Document:
    body = "".join(
        f"<item><title>Item {i} on the council inquiry</title><guid>item-{i}</guid>"
        f"<description>Paragraph {i}: the inquiry heard from officials and survivors "
        f"about what the council knew and when it knew it, and what the police were told "
        f"by the youth workers who raised the alarm years before.</description></item>"
        for i in range(items)
    )
    rss = f'<rss version="2.0"><channel><title>Wire</title>{body}</channel></rss>'
    return Document(FEED.location, rss.encode(), "application/rss+xml", NOW)


def live_document() -> Document:
    return Document(LIVE.location, LIVEBLOG_SEED.read_bytes(), "text/plain", NOW)


@pytest.fixture
def pool() -> Iterator[ParsePool]:
    with ParsePool(processes=1, deadline=30.0) as pool:
        yield pool


@pytest.mark.slow
def test_the_pool_gives_what_the_inline_path_gives(pool: ParsePool) -> None:
    for spec, document in ((FEED, feed_document(30)), (LIVE, live_document())):
        here, there = INLINE.read(spec, None, document, NOW), pool.read(spec, None, document, NOW)
        assert there == here and len(there.entries) >= 7
        posts = KINDS_BY_NAME[spec.kind].parse(document, context_of(spec))
        assert list(there.entries) == normalize(posts, source=spec.name, now=NOW)
        signed = pool.sign(spec, there.entries)
        assert signed == INLINE.sign(spec, there.entries)
        assert any(e.signature for e in signed) and not any(e.signature for e in there.entries)


@pytest.mark.slow
def test_a_parse_error_in_the_child_is_the_sources_parse_error(pool: ParsePool) -> None:
    broken = Document(FEED.location, b"this is not a feed at all", "text/plain", NOW)
    with pytest.raises(ParseError) as inline:
        INLINE.read(FEED, None, broken, NOW)
    with pytest.raises(ParseError) as pooled:
        pool.read(FEED, None, broken, NOW)
    assert not isinstance(pooled.value, ParseTimeout)
    assert pooled.value.source == "wire" and pooled.value.reason == inline.value.reason


@pytest.mark.slow
def test_an_overrun_is_abandoned_and_the_child_replaced() -> None:
    big = feed_document(60_000)  # seconds of honest work, against a tenth of one
    with ParsePool(processes=1, deadline=0.1) as pool:
        pool.deadline = 60.0
        pool.read(FEED, None, feed_document(1), NOW)  # the child is up: the deadline is the parse's
        [first] = pool._children
        pool.deadline = 0.1
        started = time.monotonic()
        with pytest.raises(ParseTimeout, match=r"parse took longer than 0\.1 s; skipped"):
            pool.read(FEED, None, big, NOW)
        assert time.monotonic() - started < 5
        assert first.process.poll() is not None  # killed, not left running
        pool.deadline = 60.0
        assert len(pool.read(FEED, None, feed_document(3), NOW).entries) == 3
        assert pool._children and first not in pool._children


@pytest.mark.slow
def test_a_child_that_dies_fails_its_job_and_the_next_one_works() -> None:
    with ParsePool(processes=1, deadline=60.0) as pool:
        pool.read(FEED, None, feed_document(1), NOW)
        [child] = pool._children
        killer = threading.Timer(0.3, os.kill, (child.process.pid, signal.SIGKILL))
        killer.start()
        try:
            with pytest.raises(ParseError, match="parser process died"):
                pool.read(FEED, None, feed_document(60_000), NOW)
        finally:
            killer.cancel()
        assert len(pool.read(FEED, None, feed_document(2), NOW).entries) == 2


@pytest.mark.slow
def test_jobs_beyond_the_pool_wait_for_a_child_and_all_finish() -> None:
    results: list[int] = []
    with ParsePool(processes=2, deadline=60.0) as pool:

        def parse(n: int) -> None:
            results.append(len(pool.read(FEED, None, feed_document(n), NOW).entries))

        threads = [threading.Thread(target=parse, args=(n,)) for n in range(1, 7)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(pool._children) <= 2
    assert sorted(results) == [1, 2, 3, 4, 5, 6]


@pytest.mark.slow
def test_a_waiting_job_is_not_stranded_when_the_busy_child_is_retired() -> None:
    """One child, overrun by the first job while a second waits: the second starts a
    fresh child instead of waiting forever for the retired one."""
    with ParsePool(processes=1, deadline=0.5) as pool:
        pool.deadline = 60.0
        pool.read(FEED, None, feed_document(1), NOW)
        pool.deadline = 0.5
        outcome: list[str] = []

        def slow() -> None:
            try:
                pool.read(FEED, None, feed_document(60_000), NOW)
                outcome.append("slow finished")
            except ParseTimeout:
                outcome.append("slow abandoned")

        first = threading.Thread(target=slow)
        first.start()
        time.sleep(0.1)
        assert len(pool.read(FEED, None, feed_document(2), NOW).entries) == 2
        first.join(30)
    assert outcome == ["slow abandoned"]


def test_a_closed_pool_refuses_work() -> None:
    pool = ParsePool(processes=1)
    pool.close()
    with pytest.raises(ParseError, match="closed"):
        pool.read(FEED, None, feed_document(1), NOW)


# A child's start: the module, then its loop until the job pipe ends (here at once).
CHILD_STARTS = (
    "import os\n"
    "from multiprocessing.connection import Connection\n"
    "from aggregator.ingest import parsing\n"
    "jobs = Connection(os.open(os.devnull, os.O_RDONLY), writable=False)\n"
    "parsing.serve(jobs, Connection(os.pipe()[1], readable=False))"
)


def imported_after(statement: str, modules: tuple[str, ...]) -> list[str]:
    """Which of `modules` a fresh interpreter holds once it has run `statement`."""
    probe = f"import sys\n{statement}\nprint(' '.join(m for m in {modules!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_a_parse_process_imports_no_network_store_or_config() -> None:
    """What a child starts with: the parsers and signing, not httpx, SQLAlchemy or the
    config (memory, start time)."""
    others = ("httpx", "sqlalchemy", "aggregator.config", "aggregator.fetch", "aggregator.store")
    assert imported_after(CHILD_STARTS, others) == []


def test_a_parse_process_has_its_parsers_before_it_is_ready() -> None:
    """The first job's deadline is not spent importing them."""
    parsers = ("aggregator.ingest.kinds", "lxml", "feedparser", "dateparser")
    assert imported_after(CHILD_STARTS, parsers) == list(parsers)


def test_the_polling_process_leaves_the_parsers_to_the_parse_processes() -> None:
    """The service and the command import no parser until a document is read in this
    process or hubs are looked for: memory and start-up."""
    parsers = ("aggregator.ingest.kinds", "lxml", "feedparser", "dateparser")
    assert imported_after("import aggregator.service, aggregator.cli.main", parsers) == []


def test_started_ahead_the_children_serve_the_first_jobs() -> None:
    with ParsePool(processes=2, deadline=30.0) as pool:
        pool.start(wait=True)
        up = set(pool.pids())
        assert len(up) == 2 and up == parse_children(os.getpid())
        for _ in range(4):
            assert len(pool.read(FEED, None, feed_document(2), NOW).entries) == 2
        assert set(pool.pids()) == up  # no job started a child of its own
        pool.start(wait=True)  # all are running: nothing more starts
        assert set(pool.pids()) == up


def test_a_job_takes_a_child_still_starting_and_none_is_started_twice() -> None:
    with ParsePool(processes=1, deadline=30.0) as pool:
        pool.start()  # returns at once; the job waits for that child
        assert len(pool.read(FEED, None, feed_document(3), NOW).entries) == 3
        assert len(parse_children(os.getpid())) == 1


def test_closing_while_children_start_leaves_none_running() -> None:
    pool = ParsePool(processes=2, deadline=30.0)
    pool.start()
    pool.close()
    deadline = time.monotonic() + 60
    while any(t.name == "parse-start" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the children never finished starting"
        time.sleep(0.05)
    time.sleep(0.5)  # a stopped child's exit is reaped by its wait()
    assert parse_children(os.getpid()) == set()
