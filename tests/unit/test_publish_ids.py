from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from aggregator.publish.ids import entry_iri, feed_iri, source_iri
from aggregator.publish.timefmt import format_human, format_rfc3339
from tests.support.samples import BBC, COUNCIL, NOTES


def test_entry_iri_is_pinned_forever() -> None:
    # Published ids must never change: a new value here re-announces every entry.
    assert entry_iri("rotherham", "bbc:post-3") == PINNED_ENTRY_IRI
    assert feed_iri("rotherham") == PINNED_FEED_IRI


def test_ids_differ_by_story_key_and_kind() -> None:
    # Story ids cannot contain "/" (config checks them), so "story/key" is unambiguous.
    ids = {
        entry_iri("a", "b-c"),
        entry_iri("a-b", "c"),
        entry_iri("a", "b"),
        entry_iri("b", "b"),
        feed_iri("a"),
        feed_iri("a/b"),
    }
    assert len(ids) == 6
    assert all(i.startswith("urn:uuid:") for i in ids)


def test_source_iri_is_the_web_url_or_a_urn_from_the_name() -> None:
    assert source_iri(BBC) == BBC.url
    assert source_iri(NOTES).startswith("urn:uuid:")
    assert source_iri(COUNCIL).startswith("urn:uuid:")
    assert source_iri(NOTES) != source_iri(COUNCIL)


def test_rfc3339_is_utc_with_uppercase_t_and_z() -> None:
    plus_one = timezone(timedelta(hours=1))
    assert format_rfc3339(datetime(2026, 11, 22, 11, 0, 7, 999, tzinfo=plus_one)) == (
        "2026-11-22T10:00:07Z"
    )
    assert format_rfc3339(datetime(33, 1, 2, tzinfo=UTC)) == "0033-01-02T00:00:00Z"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        format_rfc3339(datetime(2026, 11, 22, 10, 0))
    with pytest.raises(ValueError, match="naive"):
        format_human(datetime(2026, 11, 22, 10, 0))


def test_human_time_is_utc_and_locale_free() -> None:
    assert format_human(datetime(2026, 11, 2, 9, 5, tzinfo=UTC)) == "2 Nov 2026, 09:05 UTC"


PINNED_ENTRY_IRI = "urn:uuid:e666284d-98b9-5d20-99fc-439059567a5b"
PINNED_FEED_IRI = "urn:uuid:e73aed6e-bed4-5166-ab18-e2feaf39d0ff"
