"""normalize + decide: pure, so the tests need nothing but data."""

from __future__ import annotations

from datetime import timedelta

from aggregator.core.types import Entry, Known, KnownItem, StorySpec
from aggregator.dedupe.decide import decide
from aggregator.dedupe.normalize import fingerprint, item_key, matches_keywords, normalize_text
from tests.support.builders import T0, entries, post

BODY = "The council said it would publish the full report on Friday after talks with police."


def known_from(batch: list[Entry], entry_id: int = 1) -> Known:
    items = {
        e.item_key: KnownItem(
            entry_id=entry_id + i,
            item_key=e.item_key,
            content_hash=e.content_hash,
            title=e.title,
            text=e.text,
            published=e.published,
            updated=e.updated,
        )
        for i, e in enumerate(batch)
    }
    return Known(items=items)


def test_key_prefers_the_publishers_id_then_the_title_never_the_position() -> None:
    assert item_key(post("T", BODY, guid="urn:x:1")) == "guid:urn:x:1"
    assert item_key(post("Title", BODY, position=0)) == item_key(post("Title", "other", 5))
    assert item_key(post("", BODY)) != item_key(post("", "Something else entirely"))


def test_fingerprint_ignores_quotes_entities_tags_case_and_whitespace() -> None:
    a = fingerprint(
        "Council 'sorry'", "<p>It said: “We failed” &amp; apologised to   victims today.</p>"
    )
    b = fingerprint(
        "council \u2018sorry\u2019", 'It said: "We failed" & apologised to victims today.'
    )
    assert a is not None and a == b
    assert fingerprint("Short", "Too few words") is None


def test_normalize_text_folds_dashes_and_nbsp() -> None:
    assert normalize_text("A\u00a0\u2013 B") == "a - b"


def test_same_item_same_content_is_unchanged() -> None:
    first = entries(post("Title", BODY))
    [d] = decide(entries(post("Title", BODY)), known_from(first), now=T0)
    assert (d.action, d.entry_id) == ("unchanged", 1)


def test_corrected_body_is_an_edit_keeping_published() -> None:
    first = entries(post("Title", BODY))
    later = T0 + timedelta(minutes=5)
    fixed = entries(post("Title", BODY.replace("Friday", "Thursday")), now=later)
    [d] = decide(fixed, known_from(first), now=later)
    assert d.action == "edited" and d.entry_id == 1
    assert d.entry.published == T0 and d.entry.updated == later


def test_corrected_title_is_matched_to_the_vanished_post() -> None:
    first = entries(post("Council apologizes", BODY))
    fixed = entries(post("Council apologises", BODY), now=T0 + timedelta(minutes=1))
    [d] = decide(fixed, known_from(first), now=T0 + timedelta(minutes=1))
    assert d.action == "edited" and d.entry_id == 1 and "similarity" in d.reason


def test_a_different_post_is_new() -> None:
    first = entries(post("Council apologises", BODY))
    other = entries(post("Police chief resigns", "The chief constable stepped down tonight."))
    [d] = decide(other, known_from(first), now=T0)
    assert d.action == "new"


def test_same_text_from_another_source_is_a_duplicate() -> None:
    theirs = entries(post("Title", BODY), source_name="wire")
    fp = theirs[0].fingerprint
    assert fp is not None
    [d] = decide(entries(post("Title", BODY)), Known(fingerprints={fp: 7}), now=T0)
    assert (d.action, d.entry_id) == ("duplicate", 7)


def test_keywords_filter_is_case_insensitive_and_optional() -> None:
    story = StorySpec("s", "S", keywords=("Rotherham",))
    assert matches_keywords(post("ROTHERHAM news", "x"), story)
    assert not matches_keywords(post("Other", "nothing here"), story)
    assert matches_keywords(post("Other", "x"), StorySpec("s", "S"))
