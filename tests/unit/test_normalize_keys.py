"""Item keys that repeat within one fetch are told apart in the order the posts come,
also when the fetch's documents were normalized one at a time (as parse processes do)."""

from __future__ import annotations

from aggregator.dedupe.normalize import entries_of, normalize, numbered
from tests.support.builders import T0, post


def test_a_repeated_title_gets_numbered_keys_in_order() -> None:
    posts = [post("Statement", "First."), post("Other", "Text."), post("Statement", "Second.")]
    keys = [e.item_key for e in normalize(posts, source="wire", now=T0)]
    assert keys[0] != keys[1] and keys[2] == f"{keys[0]}#2"


def test_documents_read_apart_give_the_keys_of_the_whole_fetch() -> None:
    first = [post("Statement", "First."), post("Statement", "Second.")]
    second = [post("Statement", "Third."), post("Council", "Fourth.")]
    apart = numbered(
        entries_of(first, source="wire", now=T0) + entries_of(second, source="wire", now=T0)
    )
    assert apart == normalize(first + second, source="wire", now=T0)
    assert [e.item_key.rpartition("#")[2] for e in apart][1:3] == ["2", "3"]
