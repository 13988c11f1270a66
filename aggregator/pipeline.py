"""One poll of one source, written as a pipe:

    store.source_status   EDGE  what we knew: validators, file stamps
    | fetch               EDGE  conditional GET / stat, then read only changed files
    | parse               PURE  bytes -> Posts, by the source kind's parser
    | keep                PURE  keyword filter, for kinds that carry everything
    | normalize           PURE  Post -> Entry: stable key, content hash, fingerprint
    | sign                PURE  MinHash signature of the word shingles + its LSH band keys
    | store.known_for     EDGE  the stored items and fingerprints the batch could match,
                                the copies sharing a band key, the merges undone by hand
    | decide              PURE  new | edited | duplicate (exact | near) | unchanged
    | find_deletions      PURE  posts gone from a page that still shows older ones
    | store.apply         EDGE  decisions + deletions + new validators, one transaction

A SourceError or a failing parser becomes this source's PollReport and its recorded
error with a backoff; it never stops the other sources.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aggregator.dedupe import decide, find_deletions
from aggregator.errors import AggregatorError, FetchError, ParseError, SourceError
from aggregator.normalize import matches_keywords, normalize
from aggregator.similarity import sign
from aggregator.sources import KINDS_BY_NAME, Fetchers
from aggregator.store import Store
from aggregator.types import (
    Entry,
    Fetched,
    FetchState,
    ParseContext,
    PollReport,
    Post,
    SourceSpec,
    StorySpec,
)

log = logging.getLogger("aggregator.poll")
MAX_BACKOFF = timedelta(hours=1)


def poll(
    source: SourceSpec,
    story: StorySpec,
    *,
    store: Store,
    fetchers: Fetchers,
    now: datetime,
) -> PollReport:
    try:
        status = store.source_status(source.name)
        fetched = fetchers.fetch(source, status.state, now=now)
        if not fetched.changed:
            return _problems(store.apply(source, [], fetched.state, now), fetched.problems)
        posts, state, problems = _parse_all(source, fetched)
        entries = normalize(_keep(source, story, posts), source=source.name, now=now)
        entries = [sign(e) for e in entries]
        pages = _pages_read_whole(source, posts)
        known = store.known_for(source, entries, pages)
        decisions = decide(entries, known, now=now)
        deletions = find_deletions(decisions, known, pages)
        report = store.apply(source, decisions, state, now, deletions)
        return _problems(report, fetched.problems + problems)
    except FetchError as e:
        return _failed(source, store, now, e.reason, at_least=e.retry_after)
    except SourceError as e:
        return _failed(source, store, now, e.reason)
    except AggregatorError as e:
        return _failed(source, store, now, str(e))
    except Exception as e:  # a bug in one parser must not stop the other sources
        log.exception("unexpected error polling %s", source.name)
        return _failed(source, store, now, f"internal error: {type(e).__name__}: {e}")


def preview(source: SourceSpec, *, fetchers: Fetchers, now: datetime) -> list[Entry]:
    """What the source would produce, without reading or writing the store."""
    fetched = fetchers.fetch(source, FetchState(), now=now)
    posts, _, problems = _parse_all(source, fetched)
    if problems:
        raise ParseError(source.name, "; ".join(problems))
    return normalize(posts, source=source.name, now=now)


def retry_delay(interval: float, error_count: int) -> timedelta:
    """Exponential backoff from the source's interval, capped, never giving up."""
    delay = timedelta(seconds=interval * 2 ** min(max(error_count, 0), 16))
    return min(delay, max(MAX_BACKOFF, timedelta(seconds=interval)))


def _parse_all(
    source: SourceSpec, fetched: Fetched
) -> tuple[list[Post], FetchState, tuple[str, ...]]:
    """Parse every changed document. A document that fails is forgotten from the state,
    so it is read again next time; if every one fails the source fails."""
    parse = KINDS_BY_NAME[source.kind].parse
    context = ParseContext(ZoneInfo(source.timezone), source.abbreviations)
    posts: list[Post] = []
    failed: dict[str, str] = {}
    for document in fetched.documents:
        try:
            posts.extend(parse(document, context))
        except ParseError as e:
            failed[document.location] = f"{document.location}: {e.reason}"
    if failed and len(failed) == len(fetched.documents):
        raise ParseError(source.name, "; ".join(failed.values()))
    files = {p: s for p, s in fetched.state.files.items() if p not in failed}
    return posts, replace(fetched.state, files=files), tuple(failed.values())


def _pages_read_whole(source: SourceSpec, posts: list[Post]) -> set[str]:
    """The documents that parsed into posts, when the kind reads its pages whole."""
    if not KINDS_BY_NAME[source.kind].reads_whole_pages:
        return set()
    return {p.location for p in posts}


def _keep(source: SourceSpec, story: StorySpec, posts: list[Post]) -> list[Post]:
    if not KINDS_BY_NAME[source.kind].filtered_by_keywords:
        return posts
    return [p for p in posts if matches_keywords(p, story)]


def _problems(report: PollReport, problems: tuple[str, ...]) -> PollReport:
    if not problems:
        return report
    return replace(report, error="; ".join(problems))


def _failed(
    source: SourceSpec,
    store: Store,
    now: datetime,
    reason: str,
    *,
    at_least: float | None = None,
) -> PollReport:
    """Record the failure; the next try waits out the backoff, or longer if the server
    asked for longer (Retry-After)."""
    try:
        status = store.source_status(source.name)
        delay = retry_delay(source.interval, status.error_count)
        retry_at = now + max(delay, timedelta(seconds=at_least or 0))
        store.record_failure(source, reason, now, retry_at)
    except AggregatorError as e:
        log.error("could not record failure", extra={"source": source.name, "reason": str(e)})
    return PollReport(source=source.name, error=reason)
