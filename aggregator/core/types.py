"""Frozen values that cross stage boundaries, named after their place in the flow.

    SourceSpec --fetch--> Fetched(Document...) --parse--> Post... --normalize--> Entry...
    Entry... + Known --dedupe--> Decision... --store.apply--> PollReport
    store --read--> StoryView(FeedEntry...) / StreamEvent --publish--> Atom, JSON Feed, page, SSE

Every datetime here is timezone-aware UTC; a naive one is a bug.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

Kind = Literal["feed", "liveblog", "article"]
KINDS: tuple[Kind, ...] = ("feed", "liveblog", "article")

# Where an entry's `published` time came from: printed on the page, given by the feed,
# or (when the source carries no time of its own) the moment we first saw it.
TimeSource = Literal["page", "feed", "first-seen"]

Action = Literal["new", "edited", "duplicate", "unchanged"]
# How a duplicate was recognised: the same normalised text, or near-duplicate text.
MatchMethod = Literal["exact", "near"]
EventKind = Literal["new", "update", "delete"]


# Entries per published page: the subscription documents show the newest this many
# (and the entries since the last archive page closed); archive pages hold this many each.
DEFAULT_PAGE_SIZE = 100


@dataclass(frozen=True)
class StorySpec:
    id: str
    title: str
    keywords: tuple[str, ...] = ()
    # A feed's item that mentions one of these is left out, even if it mentions a keyword.
    exclude: tuple[str, ...] = ()
    page_size: int = DEFAULT_PAGE_SIZE
    # The IANA zone the story's page shows its times in.
    timezone: str = "UTC"


@dataclass(frozen=True)
class SourceSpec:
    """One configured source. Exactly one of `url` and `path` (absolute, may be a glob)."""

    name: str
    story: str
    kind: Kind
    url: str | None
    path: str | None
    interval: float
    timezone: str
    abbreviations: Mapping[str, str] = field(default_factory=dict)
    # Bounds of the adaptive schedule (aggregator.core.schedule); None: derived from `interval`.
    min_interval: float | None = None
    max_interval: float | None = None
    # The name shown to readers (config `title`); "" when not given: the source's own
    # title for itself, else `name`.
    title: str = ""

    @property
    def display_title(self) -> str:
        return self.title or self.name

    @property
    def location(self) -> str:
        return self.url or self.path or ""


@dataclass(frozen=True)
class FileStamp:
    """What we knew of one local file the last time it was read."""

    mtime_ns: int
    size: int
    sha256: str


@dataclass(frozen=True)
class FetchState:
    """A source's cache validators, stored with its entries in one transaction."""

    etag: str | None = None
    last_modified: str | None = None
    body_sha256: str | None = None
    files: Mapping[str, FileStamp] = field(default_factory=dict)


@dataclass(frozen=True)
class Document:
    """One fetched body: an HTTP response or a local file."""

    location: str
    body: bytes
    content_type: str | None
    fetched_at: datetime
    modified_at: datetime | None = None


@dataclass(frozen=True)
class Fetched:
    """What a fetch produced. `documents` holds only bodies that changed since `state`."""

    documents: tuple[Document, ...]
    state: FetchState
    problems: tuple[str, ...] = ()
    # What the server said about polling: seconds the response stays fresh (RFC 9111
    # §4.2.1), the target of a permanent redirect (301/308), and the HTTP status.
    max_age: float | None = None
    moved_to: str | None = None
    status: int | None = None
    # The response's Link header values (RFC 8288), where WebSub hubs may be advertised.
    links: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.documents)

    @property
    def is_gone(self) -> bool:
        """410 Gone (RFC 9110 §15.5.11): the resource will not come back."""
        return self.status == 410


@dataclass(frozen=True)
class HubLinks:
    """What a topic advertises (WebSub §4): its hubs, in order, and its `self` URL."""

    hubs: tuple[str, ...] = ()
    topic: str | None = None


@dataclass(frozen=True)
class PageSignals:
    """What a document says about when to look again: RSS `<ttl>` (in seconds here),
    `<skipHours>` (UTC hours, RSS 2.0), and whether a live page says its coverage ended;
    and about itself: its publisher's name for it, its home page and its language."""

    ttl: float | None = None
    skip_hours: frozenset[int] = frozenset()
    ended: bool = False
    title: str | None = None
    home: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class NextPoll:
    """When to poll a source again, at what interval, and why (a short human reason)."""

    due_at: datetime
    interval: float
    reason: str


@dataclass(frozen=True)
class ScheduleUpdate:
    """The schedule a successful poll writes with its entries, in the same transaction.
    `moved_to` is the URL a permanent redirect points to; `published` tells whether the
    poll found new posts (the source's activity)."""

    next: NextPoll
    signals: PageSignals = PageSignals()
    published: bool = False
    moved_to: str | None = None


@dataclass(frozen=True)
class ParseContext:
    """What a parser needs besides the bytes: the source's timezone, and what the
    source means by zone abbreviations ("BST" -> "Europe/London" or "+01:00")."""

    tz: ZoneInfo
    abbreviations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Post:
    """One post or item as a parser found it, before it gets a stable identity.

    `guid` is the publisher's own id when there is one. `published` is None when the
    source gives no time; `time_source` then stays None and normalize uses first-seen.
    `position` is the order on the page or in the feed, 0 at the top.
    """

    title: str
    text: str
    html: str
    position: int
    location: str
    method: str
    guid: str | None = None
    url: str | None = None
    author: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    time_source: Literal["page", "feed"] | None = None


@dataclass(frozen=True)
class Entry:
    """A post with a stable identity, ready to be compared with what the store knows.

    `item_key` identifies the post within its source and survives re-polls and body
    corrections. `content_hash` changes when the post is edited. `fingerprint` is the
    hash of the normalised text, equal for the same copy from two sources (None when
    there is too little text to match on). `signature` (MinHash) and `bands` (its LSH
    band keys) are filled in by `similarity.sign`, and stay empty for short bodies.
    """

    source: str
    item_key: str
    title: str
    text: str
    html: str
    url: str | None
    author: str | None
    published: datetime
    updated: datetime
    time_source: TimeSource
    position: int
    location: str
    method: str
    content_hash: str
    fingerprint: str | None
    signature: bytes | None = None
    bands: tuple[int, ...] = ()


@dataclass(frozen=True)
class KnownItem:
    """What the store holds for one item of one source, as dedupe needs it."""

    entry_id: int
    item_key: str
    content_hash: str
    title: str
    text: str
    published: datetime
    updated: datetime
    # Where the item stands on its page, when this source first carried the entry.
    location: str | None = None
    position: int = 0
    deleted: bool = False


@dataclass(frozen=True)
class KnownCopy:
    """One stored copy (a source's item) that shares LSH bands with the batch: a
    near-duplicate candidate, to be verified on its real text."""

    copy_id: int
    entry_id: int
    source: str
    title: str
    text: str
    published: datetime
    # Every source already in the copy's cluster.
    cluster_sources: frozenset[str] = frozenset()
    # Where `published` came from: a first-seen time only bounds the real one from above.
    time_source: TimeSource = "feed"


@dataclass(frozen=True)
class Known:
    """The store's view for one poll: this source's items, the story's fingerprints,
    the near-duplicate candidates and the merges a reader undid.

    `band_hits` maps each LSH band key of the batch to the stored copies carrying it;
    `copies` holds those copies. `apart` holds (entry id, source) pairs split apart by
    hand: that source's items never join that entry again.
    """

    items: Mapping[str, KnownItem] = field(default_factory=dict)
    fingerprints: Mapping[str, int] = field(default_factory=dict)
    band_hits: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    copies: Mapping[int, KnownCopy] = field(default_factory=dict)
    apart: frozenset[tuple[int, str]] = frozenset()


@dataclass(frozen=True)
class Decision:
    """What to do with one entry. `entry_id` names the stored entry it matched, if any.
    A duplicate says how it matched (`match`) and how closely (`score`, 0..1)."""

    action: Action
    entry: Entry
    entry_id: int | None = None
    reason: str = ""
    match: MatchMethod | None = None
    score: float | None = None


@dataclass(frozen=True)
class Deletion:
    """A stored post that vanished from a page that still shows older posts."""

    entry_id: int
    item_key: str
    reason: str


@dataclass(frozen=True)
class PollReport:
    source: str
    new: int = 0
    updated: int = 0
    duplicates: int = 0
    unchanged: int = 0
    deleted: int = 0
    # The host asked every client to wait (Retry-After): nothing was sent.
    held: bool = False
    error: str | None = None
    # A feed's items left out by the story's keywords and exclusions.
    filtered: int = 0
    # The WebSub hubs the poll's own response advertised, when it was asked to look
    # and brought something to look at (a changed document); None otherwise.
    hubs: HubLinks | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def changed_story(self) -> bool:
        """Whether the story's feeds read differently now (a copy joining an entry shows
        as "also reported by")."""
        return bool(self.new or self.updated or self.deleted or self.duplicates)


@dataclass(frozen=True)
class SourceRef:
    """The source an entry came from, as a feed names it (RFC 4287 §4.2.11 atom:source)."""

    name: str
    kind: Kind
    url: str | None
    # For a copy ("also reported by"): where that source published it, its own original.
    link: str | None = None
    # The name readers see (the config's `title`, else the source's own title for
    # itself); None: the config name.
    title: str | None = None
    # The source's own home page (a feed's channel link), and the language it declares.
    home: str | None = None
    language: str | None = None

    @property
    def display_title(self) -> str:
        return self.title or self.name


@dataclass(frozen=True)
class FeedEntry:
    """One entry of a story's merged feed, as publish renders it."""

    id: int
    key: str
    story: str
    title: str
    text: str
    html: str
    url: str | None
    author: str | None
    published: datetime
    updated: datetime
    time_source: TimeSource
    position: int
    source: SourceRef
    also_from: tuple[SourceRef, ...] = ()
    deleted_at: datetime | None = None


@dataclass(frozen=True)
class StoryView:
    """A story's merged timeline, newest first, and the entries its sources deleted."""

    story: StorySpec
    entries: tuple[FeedEntry, ...]
    deleted: tuple[FeedEntry, ...] = ()
    # When the stored story last changed (a post added, edited, copied, deleted, split),
    # strictly later with each change; None for a store that has not recorded one.
    changed_at: datetime | None = None
    # Paging (RFC 5005): how many archive pages are closed (numbered 0 = oldest up);
    # `archive` is the page this view is, None for the subscription document; `total`
    # the story's entries on every page together.
    archives: int = 0
    archive: int | None = None
    total: int = 0
    # The newest event of the story when it was read: a page's live stream starts after it.
    last_event: int = 0

    @property
    def updated(self) -> datetime | None:
        """When the document last changed: the recorded change, else its newest time.
        Not the newest entry's time: a backdated post changes the document too."""
        if self.changed_at is not None:
            return self.changed_at
        times = [e.updated for e in self.entries]
        times += [e.deleted_at for e in self.deleted if e.deleted_at]
        return max(times, default=None)


@dataclass(frozen=True)
class ClusterMember:
    """One source's copy inside a merged entry, and why it was merged."""

    source: str
    item_key: str
    title: str
    url: str | None
    published: datetime | None
    match: str | None
    score: float | None
    reason: str | None


@dataclass(frozen=True)
class Cluster:
    """A merged entry and every copy it holds, first carrier first (`aggregator explain`)."""

    entry: FeedEntry
    members: tuple[ClusterMember, ...]


@dataclass(frozen=True)
class StreamEvent:
    """One new or updated entry on a story's event stream. `id` increases monotonically."""

    id: int
    kind: EventKind
    entry: FeedEntry
