"""`live_part`: the updates of an article that announces a live part, one rule each."""

from __future__ import annotations

from aggregator.parse.live.live_part import live_part

BODY = None


def test_updates_run_from_the_announcing_heading_to_the_first_label() -> None:
    titles = ["Deck", BODY, "Match, en vivo: minuto a minuto", "1-0", BODY, "2-0", "PREVIA", BODY]
    assert live_part(titles) == (3, 6)


def test_without_a_label_the_updates_run_to_the_end() -> None:
    assert live_part(["Live: minute by minute", "Goal", BODY, "Red card", BODY]) == (1, 5)


def test_an_announcing_heading_with_text_of_its_own_is_a_post_not_a_marker() -> None:
    assert live_part(["Live updates", BODY, "Goal", BODY]) is None


def test_a_page_that_announces_nothing_has_no_live_part() -> None:
    assert live_part(["Goal", "Red card", BODY, "BACKGROUND", BODY]) is None


def test_a_label_straight_after_the_announcement_leaves_no_updates() -> None:
    assert live_part(["Live", "PREVIEW", BODY]) is None


def test_a_headline_in_capitals_of_more_than_two_words_is_not_a_label() -> None:
    assert live_part(["Live", "GOAL FOR BRIGHTON NOW", BODY]) == (1, 3)


def test_live_must_be_a_word_of_its_own() -> None:
    assert live_part(["Olive harvest", "Goal", BODY]) is None
