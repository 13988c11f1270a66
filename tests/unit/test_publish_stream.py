from __future__ import annotations

import json

import pytest

from aggregator.core.types import StreamEvent
from aggregator.publish.jsonfeed import entry_json
from aggregator.publish.stream import event_json, format_comment, format_event, format_retry
from tests.support.feedcheck import check_sse, parse_sse
from tests.support.samples import POLLS_TITLE, entry, sample_view


def test_event_frame_has_id_kind_and_one_line_of_json() -> None:
    first = sample_view().entries[0]
    frame = format_event(StreamEvent(41, "update", first))
    assert frame.startswith("id: 41\nevent: update\ndata: {")
    assert frame.endswith("}\n\n")
    assert frame.count("\n") == 4
    events, comments, retry = parse_sse(frame)
    assert (comments, retry) == ([], None)
    assert [(e.id, e.event) for e in events] == [("41", "update")]
    data = json.loads(events[0].data)
    assert data == {**entry_json(first), "event": "update"}
    assert data["title"] == POLLS_TITLE


def test_newlines_in_content_stay_inside_the_json() -> None:
    post = entry("x", title="two\nlines\r\n", html="<p>a</p>\n\n<p>b</p>", text="a\rb\u2028c")
    events, _, _ = parse_sse(format_event(StreamEvent(1, "new", post)))
    assert len(events) == 1
    assert json.loads(events[0].data) == event_json(StreamEvent(1, "new", post))


def test_a_stream_of_frames_parses_back_in_order() -> None:
    view = sample_view()
    stream = format_retry(2000) + "".join(
        format_event(StreamEvent(n, "new", e)) + format_comment("ping")
        for n, e in enumerate(reversed(view.entries), start=7)
    )
    events, comments, retry = parse_sse(stream)
    assert retry == 2000
    assert comments == ["ping", "ping", "ping"]
    assert [e.id for e in events] == ["7", "8", "9"]
    assert [json.loads(e.data)["event"] for e in events] == ["new", "new", "new"]
    assert check_sse(events) == []


def test_comment_and_retry_frames() -> None:
    assert format_comment("ping") == ": ping\n\n"
    assert format_comment("a\nb") == ": a\n: b\n\n"
    assert parse_sse(format_comment("a\nb")) == ([], ["a", "b"], None)
    assert format_retry(2000) == "retry: 2000\n\n"
    with pytest.raises(ValueError):
        format_retry(-1)
