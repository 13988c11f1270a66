"""The sample story every publish test renders (tests/support/samples.py) holds the
cases the renderers must get right."""

from __future__ import annotations

from tests.support.samples import sample_view


def test_sample_covers_the_cases_renderers_must_handle() -> None:
    view = sample_view()
    assert {e.time_source for e in view.entries} == {"page", "first-seen", "feed"}
    assert any(e.also_from for e in view.entries)
    assert any(not e.html and not e.author and e.url for e in view.entries)
    updated = [e.updated for e in view.entries]
    assert updated == sorted(updated, reverse=True)
