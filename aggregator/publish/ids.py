"""PURE: stable identifiers for feeds, entries and sources.

An Atom id must never change once published (RFC 4287 §4.2.6), so ids depend only on
the story id, the entry's item key and the source name, never on the host or port
the service happens to be reached at.
"""

from __future__ import annotations

import uuid
from typing import TypeGuard

from aggregator.core.types import SourceRef

# Fixed forever: changing any of these gives every published entry a new id.
_ENTRY_NAMESPACE = uuid.UUID("3caa5d07-2900-4d66-87df-1d6649a3093a")
_FEED_NAMESPACE = uuid.uuid5(_ENTRY_NAMESPACE, "feed")
_SOURCE_NAMESPACE = uuid.uuid5(_ENTRY_NAMESPACE, "source")


def entry_iri(story: str, key: str) -> str:
    """The entry's id: `urn:uuid:` (RFC 4122 §3) of the story and item key."""
    return uuid.uuid5(_ENTRY_NAMESPACE, f"{story}/{key}").urn


def feed_iri(story: str) -> str:
    """The story feed's id, in its own namespace so it can never equal an entry's."""
    return uuid.uuid5(_FEED_NAMESPACE, story).urn


def source_iri(source: SourceRef) -> str:
    """The source's web address when it has one, else a `urn:uuid:` of its name."""
    if is_web_url(source.url):
        return source.url
    return uuid.uuid5(_SOURCE_NAMESPACE, source.name).urn


def is_web_url(url: str | None) -> TypeGuard[str]:
    """True for an absolute http(s) URL, the only kind worth linking to."""
    if not url:
        return False
    return url.lower().startswith(("http://", "https://"))
