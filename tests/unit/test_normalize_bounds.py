"""A feed's fields are bounded where they reach readers: a title is a line and an
author a name, whatever a publisher (or an attacker) puts in them."""

from __future__ import annotations

from dataclasses import replace

from aggregator.dedupe.normalize import MAX_AUTHOR_CHARS, MAX_TITLE_CHARS, normalize, shortened
from tests.support.builders import T0, post


def test_a_megabyte_title_is_cut_at_a_word_with_an_ellipsis() -> None:
    huge = "Council " + "apologises again " * 60_000
    [entry] = normalize([post(huge, "The council apologised.")], source="wire", now=T0)
    assert len(entry.title) <= MAX_TITLE_CHARS and entry.title.endswith("again…")
    # The identity still comes from the whole title: the same post keeps its key.
    [again] = normalize([post(huge, "The council apologised.")], source="wire", now=T0)
    assert again.item_key == entry.item_key


def test_a_long_author_is_cut_and_short_fields_are_untouched() -> None:
    item = replace(post("Vote tonight", "Councillors vote tonight."), author="x" * 10_000)
    [entry] = normalize([item], source="wire", now=T0)
    assert entry.author is not None and len(entry.author) == MAX_AUTHOR_CHARS
    assert entry.title == "Vote tonight"


def test_shortened_without_spaces_cuts_at_the_limit() -> None:
    assert shortened("a" * 50, 10) == "a" * 9 + "…"
    assert shortened("short", 10) == "short"
