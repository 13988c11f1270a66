"""What each consumer needs of the Store, as protocols: the poll pipeline, the worker,
WebSub and the web side each see only the methods they call. store/store.py's Store
satisfies them all (mypy checks it wherever service.py hands the Store over, and
tests/integration/test_store_roles.py checks it at run time).

    role               may call                                   typed in
    DecideStore        source_status, deciding, known_for         pipeline (one decision)
    PushStore          DecideStore + apply_pushed                 pipeline.ingest_pushed
    PollStore          DecideStore + apply, record_failure,       pipeline.poll
                       release
    WorkerStore        PollStore + sync_sources, claim_due, claim  ingest.worker
    SubscriptionStore  connections (for store/subscriptions.py)   websub.subscriber
    CallbackStore      PushStore + SubscriptionStore              websub.callback
    ViewStore          story_view, archive_view, story_version    web.rendered, web.export
    StreamStore        events_after, backlog_start                web.streams
    WebStore           ViewStore + StreamStore + CallbackStore +  web.routes
                       engine, entry_counts, source_health
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol, runtime_checkable

from sqlalchemy import Engine

from aggregator.core.types import (
    Decision,
    Deletion,
    Entry,
    FetchState,
    Known,
    PollReport,
    ScheduleUpdate,
    SourceSpec,
    StorySpec,
    StoryView,
    StreamEvent,
)
from aggregator.store.connections import Connections
from aggregator.store.health import SourceHealth
from aggregator.store.polls import SourceStatus


@runtime_checkable
class DecideStore(Protocol):
    """What one decision reads, one decision at a time per story."""

    def deciding(self, story: str) -> AbstractContextManager[None]: ...

    def source_status(self, name: str) -> SourceStatus: ...

    def known_for(
        self, source: SourceSpec, batch: Sequence[Entry], pages: Collection[str] = ()
    ) -> Known: ...

    def item_hashes(self, source: SourceSpec, keys: Sequence[str]) -> dict[str, str]: ...


@runtime_checkable
class PushStore(DecideStore, Protocol):
    """What storing a WebSub push needs: a decision and its write."""

    def apply_pushed(
        self,
        source: SourceSpec,
        decisions: Sequence[Decision],
        deletions: Sequence[Deletion],
        now: datetime,
    ) -> PollReport: ...


@runtime_checkable
class PollStore(DecideStore, Protocol):
    """What one poll needs: a decision, its write, a failure, a held poll moved."""

    def apply(
        self,
        source: SourceSpec,
        decisions: Sequence[Decision],
        state: FetchState,
        now: datetime,
        deletions: Sequence[Deletion] = (),
        schedule: ScheduleUpdate | None = None,
    ) -> PollReport: ...

    def record_failure(
        self,
        source: SourceSpec,
        reason: str,
        now: datetime,
        retry_at: datetime | None,
        *,
        why: str | None = None,
        stopped: bool = False,
    ) -> int: ...

    def release(
        self,
        name: str,
        *,
        owner: str | None = None,
        due_at: datetime | None = None,
        reason: str | None = None,
    ) -> None: ...


@runtime_checkable
class WorkerStore(PollStore, Protocol):
    """What the worker needs: polls, the config synced, leases on due sources."""

    def sync_sources(self, specs: Sequence[SourceSpec]) -> None: ...

    def claim_due(
        self, now: datetime, owner: str, lease_seconds: float, limit: int
    ) -> list[str]: ...

    def claim(self, name: str, now: datetime, owner: str, lease_seconds: float) -> bool: ...

    def release_abandoned(self, owner: str, alive: Callable[[int], bool]) -> list[str]: ...


@runtime_checkable
class SubscriptionStore(Protocol):
    """What the subscriptions table is read and written through."""

    @property
    def connections(self) -> Connections: ...


@runtime_checkable
class CallbackStore(PushStore, SubscriptionStore, Protocol):
    """What the WebSub callback needs: its subscriptions, and storing a push."""


@runtime_checkable
class ViewStore(Protocol):
    """What rendering a story's feeds and pages reads."""

    def story_view(self, story: StorySpec, *, everything: bool = False) -> StoryView: ...

    def archive_view(self, story: StorySpec, page: int) -> StoryView | None: ...

    def story_version(self, story: str) -> tuple[int, int, int]: ...


@runtime_checkable
class StreamStore(Protocol):
    """What the event streams read: a story's events after one, and where to start."""

    def events_after(self, story: str, after: int, *, limit: int = 100) -> list[StreamEvent]: ...

    def backlog_start(self, story: str, backlog: int) -> int: ...


@runtime_checkable
class WebStore(ViewStore, StreamStore, CallbackStore, Protocol):
    """What the web app reads, and its WebSub callback writes."""

    # The engine itself, for /readyz's look at the migrations.
    @property
    def engine(self) -> Engine: ...

    def entry_counts(self) -> dict[str, int]: ...

    def source_health(self, names: Sequence[str]) -> list[SourceHealth]: ...

    # Why writes fail for want of storage, for /healthz.
    @property
    def write_failure(self) -> str | None: ...
