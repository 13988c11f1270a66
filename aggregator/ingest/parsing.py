"""The CPU work of a poll, in this thread or in child processes with a deadline.

    read_document    PURE  one document -> its posts, those the story's keywords keep as
                           entries (normalize), and what it says about polling
    sign_texts       PURE  (title, text) pairs -> MinHash signatures and band keys

Only entries and signatures travel back from a child, and only titles and texts go to
it to be signed: the polling process, which holds the GIL for every poll thread, does
neither the normalizing nor the (un)pickling of whole posts.

`Inline` runs them here: for tests, `preview`, and anything that can wait. `ParsePool`
runs them in a few child processes. A thread cannot be stopped in Python, but a process
can: a parse that outlives its deadline is abandoned, its child killed and replaced, and
the poll gets a ParseTimeout naming the limit, so one hostile document never holds a
poll thread (and the sources waiting for it) hostage. A child that dies fails only the
poll it was serving; nothing reaches the store from it.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Protocol
from zoneinfo import ZoneInfo

from aggregator.core.errors import ParseError
from aggregator.core.types import (
    Document,
    Entry,
    Kind,
    PageSignals,
    ParseContext,
    SourceSpec,
    StorySpec,
)
from aggregator.dedupe.normalize import entries_of, matches_keywords
from aggregator.dedupe.similarity import Signed, sign, signature_and_bands, signed_with

log = logging.getLogger("aggregator.parsing")
DEFAULT_PARSE_TIMEOUT = 20.0
# How long a child gets to exit when asked, before it is killed.
_EXIT_SECONDS = 2.0
_START_SECONDS = 60.0
_READY = "ready"
# How often a job waiting for a busy pool looks again, in case a child was retired.
_WAIT_SECONDS = 0.2


class ParseTimeout(ParseError):
    """The CPU work on a source's bytes took longer than its deadline and was abandoned."""


@dataclass(frozen=True)
class ReadDocument:
    """A document's entries, their item keys not yet `numbered` across the poll's
    documents; `found` counts its posts before the story's keywords, and
    `pages_read_whole` names the pages they came from when the kind reads pages whole."""

    entries: tuple[Entry, ...]
    signals: PageSignals
    found: int
    pages_read_whole: frozenset[str]


class Parsing(Protocol):
    """Where a poll's CPU work runs. Both calls raise ParseError on bad input. `read`
    keeps only the posts `story`'s keywords allow (all of them without a story), and
    dates them with `now` where they give no time."""

    def read(
        self, source: SourceSpec, story: StorySpec | None, document: Document, now: datetime
    ) -> ReadDocument: ...

    def sign(self, source: SourceSpec, entries: Sequence[Entry]) -> list[Entry]: ...


def read_document(
    kind: Kind,
    document: Document,
    context: ParseContext,
    source_name: str,
    story: StorySpec | None,
    now: datetime,
) -> ReadDocument:
    # Imported here: the parsers (lxml, feedparser, dateparser) are the parse processes'
    # imports, not the polling process's (its memory and start-up); a child imports
    # them before it says it is ready.
    from aggregator.ingest.kinds import KINDS_BY_NAME

    info = KINDS_BY_NAME[kind]
    posts = info.parse(document, context)
    kept = posts
    if story is not None and info.filtered_by_keywords:
        kept = [p for p in posts if matches_keywords(p, story)]
    pages = frozenset(p.location for p in posts) if info.reads_whole_pages else frozenset()
    entries = tuple(entries_of(kept, source=source_name, now=now))
    return ReadDocument(entries, info.signals(document), len(posts), pages)


def sign_texts(texts: Sequence[tuple[str, str]]) -> list[Signed]:
    return [signature_and_bands(title, text) for title, text in texts]


def context_of(source: SourceSpec) -> ParseContext:
    return ParseContext(ZoneInfo(source.timezone), source.abbreviations)


class Inline:
    """The work in the calling thread, without a deadline."""

    def read(
        self, source: SourceSpec, story: StorySpec | None, document: Document, now: datetime
    ) -> ReadDocument:
        return read_document(source.kind, document, context_of(source), source.name, story, now)

    def sign(self, source: SourceSpec, entries: Sequence[Entry]) -> list[Entry]:
        return [sign(e) for e in entries]


INLINE = Inline()


# What travels to a child and back. A job is one of the functions above (pickled by its
# name) with its arguments; a reply is ("ok", value), ("parse-error", reason) or
# ("crash", traceback text).
_Job = tuple[Callable[..., object], tuple[object, ...]]
_Reply = tuple[str, object]


def _run_job(job: _Job) -> _Reply:
    function, args = job
    try:
        return "ok", function(*args)
    except ParseError as e:
        return "parse-error", e.reason
    except Exception:
        return "crash", traceback.format_exc(limit=8)


def serve(reading: Connection, writing: Connection) -> None:
    """A child's loop: one job at a time until the parent closes its end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    import aggregator.ingest.kinds  # noqa: F401  the parsers, before the first job's deadline

    writing.send(_READY)
    while True:
        try:
            job = reading.recv()
        except (EOFError, OSError):
            return
        writing.send(_run_job(job))


class _Child:
    """A fresh interpreter running `serve`, spoken to through its stdin and stdout with
    pickled jobs. A plain subprocess rather than multiprocessing's: nothing of the
    parent (its threads, sockets or main module) is copied or imported again."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "aggregator.ingest.parsing"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        # The connections own their descriptors; the file objects are closed at once.
        self.writing = Connection(os.dup(self.process.stdin.fileno()), readable=False)
        self.reading = Connection(os.dup(self.process.stdout.fileno()), writable=False)
        self.process.stdin.close()
        self.process.stdout.close()
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        """Deadlines count from here: an interpreter's start and imports are not a parse."""
        try:
            if self.reading.poll(_START_SECONDS) and self.reading.recv() == _READY:
                return
        except (EOFError, OSError):
            pass
        self.stop(kill=True)
        raise ParseError("", f"a parse process did not start within {_START_SECONDS:g} s")

    def is_alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, *, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        self.writing.close()  # EOF: the child's loop returns
        try:
            self.process.wait(_EXIT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reading.close()


class ParsePool:
    """Up to `processes` children, started on first use (or ahead of it, by `start`) and
    replaced when they die or overrun. Each job waits for a free child, then has
    `deadline` seconds."""

    def __init__(self, processes: int = 2, deadline: float = DEFAULT_PARSE_TIMEOUT) -> None:
        if processes < 1:
            raise ValueError("a parse pool needs at least one process")
        self.processes = processes
        self.deadline = deadline
        self._idle: queue.SimpleQueue[_Child] = queue.SimpleQueue()
        self._started = 0
        self._children: set[_Child] = set()
        self._guard = threading.Lock()
        self._closed = False

    def read(
        self, source: SourceSpec, story: StorySpec | None, document: Document, now: datetime
    ) -> ReadDocument:
        arguments = (source.kind, document, context_of(source), source.name, story, now)
        value = self._run(source, (read_document, arguments))
        assert isinstance(value, ReadDocument)
        return value

    def sign(self, source: SourceSpec, entries: Sequence[Entry]) -> list[Entry]:
        if not entries:
            return []
        value = self._run(source, (sign_texts, ([(e.title, e.text) for e in entries],)))
        assert isinstance(value, list) and len(value) == len(entries)
        return [signed_with(e, signed) for e, signed in zip(entries, value, strict=True)]

    def start(self, *, wait: bool = False) -> None:
        """Start every child not yet running, in the background: an interpreter and its
        imports take about 0.4 s, which the first job to need a child would otherwise
        wait for. A job arriving meanwhile takes the first child ready. With `wait`,
        return once they are all up (or failed to come up: jobs start them again)."""
        starting = [
            threading.Thread(target=self._start_idle, name="parse-start", daemon=True)
            for _ in range(self.processes)
        ]
        for thread in starting:
            thread.start()
        if wait:
            for thread in starting:
                thread.join()

    def _start_idle(self) -> None:
        try:
            child = self._start()
        except Exception as e:  # the first job to need a child tries again
            if not self._closed:
                log.warning("parse process not started ahead", extra={"reason": str(e)})
            return
        if child is not None:
            self._idle.put(child)

    def pids(self) -> list[int]:
        """The process ids of the children running now."""
        with self._guard:
            return [child.process.pid for child in self._children]

    def close(self) -> None:
        with self._guard:
            self._closed = True
            children = list(self._children)
            self._children.clear()
        for child in children:
            child.stop()

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _run(self, source: SourceSpec, job: _Job) -> object:
        child = self._acquire()
        healthy = False
        try:
            reply = self._ask(child, source, job)
            healthy = True
        finally:
            if healthy:
                self._idle.put(child)
            else:
                self._retire(child)
        kind, value = reply
        if kind == "ok":
            return value
        if kind == "parse-error":
            raise ParseError(source.name, str(value))
        log.error("parser crashed", extra={"source": source.name, "traceback": value})
        # The traceback's last line names the exception, then its message, which may
        # quote the document: only the name goes where /healthz shows it.
        crashed = str(value).strip().splitlines()[-1].partition(":")[0][:80]
        raise ParseError(source.name, f"internal error while parsing: {crashed}")

    def _ask(self, child: _Child, source: SourceSpec, job: _Job) -> _Reply:
        try:
            child.writing.send(job)
            if not child.reading.poll(self.deadline):
                what = "parse" if job[0] is read_document else "signing"
                log.warning(
                    "parse abandoned: deadline passed",
                    extra={"source": source.name, "deadline": self.deadline, "job": what},
                )
                raise ParseTimeout(
                    source.name, f"{what} took longer than {self.deadline:g} s; skipped"
                )
            reply: _Reply = child.reading.recv()
            return reply
        except (EOFError, OSError) as e:
            code = child.process.poll()
            raise ParseError(
                source.name, f"parser process died (exit code {code}); nothing stored"
            ) from e

    def _acquire(self) -> _Child:
        while True:
            try:
                child = self._idle.get_nowait()
            except queue.Empty:
                started = self._start()
                if started is None:  # every child is busy: wait, but see retirements
                    try:
                        started = self._idle.get(timeout=_WAIT_SECONDS)
                    except queue.Empty:
                        continue
                child = started
            if child.is_alive():
                return child
            self._retire(child)

    def _start(self) -> _Child | None:
        with self._guard:
            if self._closed:
                raise ParseError("", "the parse pool is closed")
            if self._started >= self.processes:
                return None
            self._started += 1
        try:
            child = _Child()
        except BaseException:
            with self._guard:
                self._started -= 1
            raise
        with self._guard:
            closing = self._closed
            if not closing:
                self._children.add(child)
        if closing:  # close() ran while this child was starting: it stops here
            child.stop()
            raise ParseError("", "the parse pool is closed")
        return child

    def _retire(self, child: _Child) -> None:
        """Kill a child that overran or broke; the next job starts a fresh one."""
        child.stop(kill=True)
        with self._guard:
            self._children.discard(child)
            self._started -= 1


def _child_main() -> None:
    """Take the job pipe off stdout, so that nothing a library prints can corrupt it."""
    job_output = os.dup(1)
    os.dup2(2, 1)
    serve(Connection(0, writable=False), Connection(job_output, readable=False))


if __name__ == "__main__":
    # Serve with the imported module, not this __main__ copy, so that replies pickle
    # under their real names (aggregator.ingest.parsing.ReadDocument).
    from aggregator.ingest import parsing

    parsing._child_main()
