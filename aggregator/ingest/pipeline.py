"""One poll of one source, written as a pipe:

    store.source_status   EDGE  what we knew: validators, file stamps
    | fetch               EDGE  conditional GET / stat, then read only changed files
    | parse               PURE  bytes -> Posts, by the source kind's parser (*)
    | keep                PURE  keyword and exclusion filter, for kinds that carry
                                everything (the report counts what it left out) (*)
    | normalize           PURE  Post -> Entry: stable key, content hash, fingerprint (*);
                                keys repeated across a poll's documents are numbered
    | store.item_hashes   EDGE  which items the store holds as they are now
    | sign                PURE  MinHash signature of the word shingles + its LSH band keys,
                                for the other items only (*)
    | store.known_for     EDGE  the stored items and fingerprints the batch could match,
                                the copies sharing a band key, the merges undone by hand
    | decide              PURE  new | edited | duplicate (exact | near) | unchanged
    | find_deletions      PURE  posts gone from a page that still shows older ones
    | schedule.next_poll  PURE  activity, server hints (max-age, ttl, skipHours, ended)
                                -> next due time, interval and reason
    | store.apply         EDGE  decisions + deletions + new validators + next poll,
                                one transaction that also ends the worker's lease
    | advertised          PURE  with `find_hubs`: the WebSub hubs the response named (its
                                Link headers, else the changed document's <link>s), for
                                the subscriber; no second request is ever made for them

(*) CPU work on the source's bytes runs where `parsing` says: in the service, child
processes with a deadline (ingest/parsing.py), so a document that would stall a parse
is abandoned, reported and backed off like any error; a document that overran keeps its
file stamp, so it is read again only once it changes.

A SourceError or a failing parser becomes this source's PollReport and its recorded
error with a backoff; it never stops the other sources. 410 Gone stops the source; a
301/308 is followed from then on (and logged); a host's Retry-After holds its others.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from time import perf_counter

from aggregator import metrics
from aggregator.core.errors import AggregatorError, FetchError, ParseError, SourceError
from aggregator.core.schedule import Activity, Hints, bounds_of, next_poll
from aggregator.core.types import (
    Decision,
    Deletion,
    Document,
    Entry,
    Fetched,
    FetchState,
    HubLinks,
    NextPoll,
    PageSignals,
    PollReport,
    ScheduleUpdate,
    SourceSpec,
    StorySpec,
)
from aggregator.dedupe.decide import decide, find_deletions
from aggregator.dedupe.normalize import numbered
from aggregator.fetch.politeness import HostHeld
from aggregator.ingest.parsing import INLINE, ParseTimeout, Parsing
from aggregator.ingest.sources import Fetchers
from aggregator.parse.decode import kind_hint
from aggregator.store import SourceStatus
from aggregator.store.roles import DecideStore, PollStore, PushStore
from aggregator.websub.rules import discover

log = logging.getLogger("aggregator.poll")


def poll(
    source: SourceSpec,
    story: StorySpec,
    *,
    store: PollStore,
    fetchers: Fetchers,
    now: datetime,
    jitter: float = 0.0,
    parsing: Parsing = INLINE,
    find_hubs: bool = False,
) -> PollReport:
    """Poll once and write the outcome with the source's next poll time. `jitter` is a
    draw from [0, 1) that spreads the schedule (0 keeps tests exact). With `find_hubs`
    the report's `hubs` says what WebSub hubs a changed response advertised."""
    started = perf_counter()
    report = _poll(source, story, store, fetchers, now, jitter, parsing, find_hubs)
    metrics.count_poll(report, source.kind, story.id, perf_counter() - started)
    return report


def _poll(
    source: SourceSpec,
    story: StorySpec,
    store: PollStore,
    fetchers: Fetchers,
    now: datetime,
    jitter: float,
    parsing: Parsing,
    find_hubs: bool,
) -> PollReport:
    try:
        status = store.source_status(source.name)
        if status.next_attempt_at is not None:
            metrics.DUE_LAG.observe(max(0.0, (now - status.next_attempt_at).total_seconds()))
        target = replace(source, url=status.moved_to) if status.moved_to else source
        fetched = fetchers.fetch(target, status.state, now=now)
        if fetched.is_gone:
            return _gone(source, store, now, target.location)
        report = _poll_fetched(source, story, store, status, fetched, now, jitter, parsing)
        return replace(report, hubs=_advertised(source, fetched)) if find_hubs else report
    except HostHeld as e:
        return _held(source, store, e)
    except FetchError as e:
        return _failed(source, store, now, e.reason, jitter, at_least=e.retry_after)
    except SourceError as e:
        return _failed(source, store, now, e.reason, jitter)
    except AggregatorError as e:
        return _failed(source, store, now, str(e), jitter)
    except Exception as e:  # a bug in one parser must not stop the other sources
        log.exception("unexpected error polling %s", source.name)
        # The log has the traceback; the recorded reason (shown in /healthz) is only the
        # kind, as an exception's text may quote whatever it was handed.
        return _failed(source, store, now, f"internal error: {type(e).__name__}", jitter)


def _poll_fetched(
    source: SourceSpec,
    story: StorySpec,
    store: PollStore,
    status: SourceStatus,
    fetched: Fetched,
    now: datetime,
    jitter: float,
    parsing: Parsing,
) -> PollReport:
    """read (parse | keep | normalize) | sign | known_for | decide | schedule | apply"""
    _report_move(source, status, fetched)
    if not fetched.changed:
        plan = _plan(source, status, fetched, status.signals, now, jitter, new_posts=0)
        with metrics.timed(metrics.STORE_WRITE_SECONDS):
            written = store.apply(source, [], fetched.state, now, schedule=plan)
        return _problems(written, fetched.problems)
    with metrics.timed(metrics.PARSE_SECONDS, source.kind):
        parsed = _read_all(source, story, fetched, parsing, now)
    batch = _signed_batch(source, parsed.entries, parsing, store)
    with store.deciding(story.id):
        decisions, deletions = _decide(source, batch, parsed.pages, store, now, parsing)
        fresh = sum(d.action in ("new", "duplicate") for d in decisions)
        plan = _plan(source, status, fetched, parsed.signals, now, jitter, new_posts=fresh)
        state, problems = parsed.state, parsed.problems
        with metrics.timed(metrics.STORE_WRITE_SECONDS):
            report = store.apply(source, decisions, state, now, deletions, schedule=plan)
    report = replace(report, filtered=parsed.filtered)
    return _problems(report, fetched.problems + problems)


@dataclass(frozen=True)
class Preview:
    entries: list[Entry]
    # Posts the story's keywords left out (with a story, for kinds that filter).
    filtered: int = 0
    # The document does not look like the kind asked for (an RSS file read as a page).
    hints: tuple[str, ...] = ()


def preview(
    source: SourceSpec,
    *,
    fetchers: Fetchers,
    now: datetime,
    parsing: Parsing = INLINE,
    story: StorySpec | None = None,
) -> Preview:
    """What the source would produce, without reading or writing the store; with a
    `story`, after its keywords and exclusions as a poll applies them."""
    fetched = fetchers.fetch(source, FetchState(), now=now)
    if fetched.is_gone:
        raise FetchError(source.name, f"HTTP 410 Gone from {source.location}")
    hints = tuple(
        dict.fromkeys(h for d in fetched.documents if (h := kind_hint(source.kind, d)) is not None)
    )
    try:
        parsed = _read_all(source, story, fetched, parsing, now)
    except ParseError as e:
        raise ParseError(source.name, "; ".join((e.reason, *hints))) from e
    if parsed.problems:
        raise ParseError(source.name, "; ".join((*parsed.problems, *hints)))
    return Preview(parsed.entries, parsed.filtered, hints)


def ingest_pushed(
    source: SourceSpec,
    story: StorySpec,
    body: bytes,
    content_type: str | None,
    *,
    store: PushStore,
    now: datetime,
    parsing: Parsing = INLINE,
) -> PollReport:
    """A body a WebSub hub pushed, taken through poll's path from parse on as if fetched
    from the source's URL, and stored without touching validators or schedule: those
    describe polling. A push that fails is reported, never recorded as the source's
    failure, so it cannot put polling into backoff."""
    document = Document(source.location, body, content_type, fetched_at=now)
    try:
        status = store.source_status(source.name)
        parsed = _read_all(source, story, Fetched((document,), status.state), parsing, now)
        batch = _signed_batch(source, parsed.entries, parsing, store)
        with store.deciding(story.id):
            decisions, deletions = _decide(source, batch, parsed.pages, store, now, parsing)
            report = store.apply_pushed(source, decisions, deletions, now)
        report = replace(report, filtered=parsed.filtered)
        return _problems(report, parsed.problems)
    except AggregatorError as e:
        reason = e.reason if isinstance(e, SourceError) else str(e)
        log.warning("pushed content not stored", extra={"source": source.name, "reason": reason})
        return PollReport(source=source.name, error=reason)


def _plan(
    source: SourceSpec,
    status: SourceStatus,
    fetched: Fetched,
    signals: PageSignals,
    now: datetime,
    jitter: float,
    *,
    new_posts: int,
) -> ScheduleUpdate:
    """The next poll after a success. Posts found by the first poll are the backlog,
    not activity; `signals` are the changed documents' (an unchanged document's are
    those stored last time)."""
    published = new_posts if status.last_success_at is not None else 0
    activity = Activity(published, status.last_new_at)
    hints = Hints(max_age=fetched.max_age, signals=signals)
    next_poll_ = next_poll(bounds_of(source), now, activity=activity, hints=hints, jitter=jitter)
    moved = fetched.moved_to if fetched.moved_to != source.url else None
    _log_next(source, next_poll_)
    return ScheduleUpdate(next_poll_, signals, published=bool(published), moved_to=moved)


def _log_next(source: SourceSpec, plan: NextPoll) -> None:
    fields = {"source": source.name, "due_at": plan.due_at.isoformat(), "reason": plan.reason}
    log.debug("next poll", extra={**fields, "interval": round(plan.interval, 1)})


def _combined(found: list[PageSignals]) -> PageSignals:
    ttls = [s.ttl for s in found if s.ttl]
    return PageSignals(
        ttl=max(ttls, default=None),
        skip_hours=frozenset().union(*(s.skip_hours for s in found)),
        ended=any(s.ended for s in found),
        title=next((s.title for s in found if s.title), None),
        home=next((s.home for s in found if s.home), None),
        language=next((s.language for s in found if s.language), None),
    )


def _report_move(source: SourceSpec, status: SourceStatus, fetched: Fetched) -> None:
    if fetched.moved_to and fetched.moved_to not in (source.url, status.moved_to):
        fields = {"source": source.name, "old": source.url, "new": fetched.moved_to}
        log.warning("source moved permanently, update your config", extra=fields)


@dataclass(frozen=True)
class _Batch:
    """A poll's entries, signed except `unsigned` (their indexes): those the store
    already holds as they are now, which decide finds unchanged on key and hash alone."""

    entries: list[Entry]
    unsigned: frozenset[int] = frozenset()


def _signed_batch(
    source: SourceSpec, entries: list[Entry], parsing: Parsing, store: DecideStore
) -> _Batch:
    """Sign what changed. Signing is most of an unchanged item's cost, and a changed
    feed repeats most of its items."""
    stored = store.item_hashes(source, [e.item_key for e in entries])
    unsigned = frozenset(
        i for i, e in enumerate(entries) if stored.get(e.item_key) == e.content_hash
    )
    changed = frozenset(range(len(entries))) - unsigned
    return _Batch(_signed_at(source, entries, parsing, changed), unsigned)


def _signed_at(
    source: SourceSpec, entries: list[Entry], parsing: Parsing, at: Collection[int]
) -> list[Entry]:
    """`entries` with those at the indexes `at` signed, in one call to `parsing`."""
    signed = iter(parsing.sign(source, [e for i, e in enumerate(entries) if i in at]))
    return [next(signed) if i in at else e for i, e in enumerate(entries)]


def _decide(
    source: SourceSpec,
    batch: _Batch,
    pages: set[str],
    store: DecideStore,
    now: datetime,
    parsing: Parsing,
) -> tuple[list[Decision], list[Deletion]]:
    """store.known_for | decide | find_deletions; run under store.deciding(story), so
    that what is known cannot change before these decisions are written. An unsigned
    entry that is not unchanged after all (its item was forgotten since the hashes were
    read) is signed and the batch decided again, so a near duplicate is still found."""
    known = store.known_for(source, batch.entries, pages)
    decisions = decide(batch.entries, known, now=now)
    if any(decisions[i].action != "unchanged" for i in batch.unsigned):
        signed = _signed_at(source, batch.entries, parsing, batch.unsigned)
        return _decide(source, _Batch(signed), pages, store, now, parsing)
    return decisions, find_deletions(decisions, known, pages)


@dataclass(frozen=True)
class _Read:
    """A poll's documents read: the entries the story keeps, their keys numbered across
    documents; how many posts the keywords left out; the pages read whole."""

    entries: list[Entry]
    filtered: int
    pages: set[str]
    signals: PageSignals
    state: FetchState
    problems: tuple[str, ...]


def _read_all(
    source: SourceSpec,
    story: StorySpec | None,
    fetched: Fetched,
    parsing: Parsing,
    now: datetime,
) -> _Read:
    """Read every changed document. A document that fails is forgotten from the state,
    so it is read again next time, unless it overran the deadline: the same bytes would
    again, so it keeps its stamp until it changes. If every one fails the source fails."""
    entries: list[Entry] = []
    found = 0
    pages: set[str] = set()
    signals: list[PageSignals] = []
    failed: dict[str, str] = {}
    overran: set[str] = set()
    for document in fetched.documents:
        try:
            read = parsing.read(source, story, document, now)
        except ParseError as e:
            failed[document.location] = f"{document.location}: {e.reason}"
            if isinstance(e, ParseTimeout):
                overran.add(document.location)
            continue
        entries.extend(read.entries)
        found += read.found
        pages |= read.pages_read_whole
        signals.append(read.signals)
    if failed and len(failed) == len(fetched.documents):
        raise ParseError(source.name, "; ".join(failed.values()))
    files = {p: s for p, s in fetched.state.files.items() if p not in failed or p in overran}
    state = replace(fetched.state, files=files)
    kept = numbered(entries)
    problems = tuple(failed.values())
    return _Read(kept, found - len(kept), pages, _combined(signals), state, problems)


def _problems(report: PollReport, problems: tuple[str, ...]) -> PollReport:
    if not problems:
        return report
    return replace(report, error="; ".join(problems))


def _failed(
    source: SourceSpec,
    store: PollStore,
    now: datetime,
    reason: str,
    jitter: float,
    *,
    at_least: float | None = None,
) -> PollReport:
    """Record the failure; the next try waits out the backoff, or longer if the server
    asked for longer (Retry-After)."""
    try:
        status = store.source_status(source.name)
        hints = Hints(retry_after=at_least)
        errors = status.error_count + 1
        plan = next_poll(bounds_of(source), now, hints=hints, error_count=errors, jitter=jitter)
        _log_next(source, plan)
        store.record_failure(source, reason, now, plan.due_at, why=plan.reason)
    except AggregatorError as e:
        log.error("could not record failure", extra={"source": source.name, "reason": str(e)})
    return PollReport(source=source.name, error=reason)


def _gone(source: SourceSpec, store: PollStore, now: datetime, location: str) -> PollReport:
    """410 Gone: stop polling and say so; editing the source in the config revives it."""
    reason = f"HTTP 410 Gone from {location}: polling stopped until the source is edited"
    log.error("source is gone", extra={"source": source.name, "url": location})
    try:
        store.record_failure(source, reason, now, None, why="gone", stopped=True)
    except AggregatorError as e:
        log.error("could not record failure", extra={"source": source.name, "reason": str(e)})
    return PollReport(source=source.name, error=reason)


def _held(source: SourceSpec, store: PollStore, held: HostHeld) -> PollReport:
    """The host asked every client to wait: move the poll, count no error."""
    log.info("host holds polls back", extra={"source": source.name, "reason": held.reason})
    try:
        store.release(source.name, due_at=held.until, reason=held.reason)
    except AggregatorError as e:
        log.error("could not move the poll", extra={"source": source.name, "reason": str(e)})
    return PollReport(source=source.name, held=True)


def _advertised(source: SourceSpec, fetched: Fetched) -> HubLinks | None:
    """WebSub §4 discovery on the response just fetched: its Link headers, else the
    changed document's own links. None when nothing changed (no body to read: the next
    poll that brings one is read instead). Discovery never fails a poll."""
    if not fetched.documents or not source.url:
        return None
    document = fetched.documents[0]
    try:
        return discover(document.location, fetched.links, document.body, document.content_type)
    except Exception:  # a bug here must not undo a poll already stored
        log.exception("websub discovery failed", extra={"source": source.name})
        return None
