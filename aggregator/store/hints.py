"""What a source's last changed document said (PageSignals), as kept in `sources.hints`."""

from __future__ import annotations

import json

from aggregator.core.types import PageSignals


def signals_to_json(signals: PageSignals) -> str:
    return json.dumps(
        {
            "ttl": signals.ttl,
            "skip_hours": sorted(signals.skip_hours),
            "ended": signals.ended,
            "title": signals.title,
            "home": signals.home,
            "language": signals.language,
        }
    )


def signals_from_json(raw: str | None) -> PageSignals:
    data = json.loads(raw or "{}")
    return PageSignals(
        ttl=data.get("ttl"),
        skip_hours=frozenset(data.get("skip_hours", ())),
        ended=bool(data.get("ended")),
        title=_text_or_none(data.get("title")),
        home=_text_or_none(data.get("home")),
        language=_text_or_none(data.get("language")),
    )


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
