"""Where an article's live part is: updates added in sections above an older article.

Some "live" pages are an ordinary article (a preview, a backgrounder) with update
sections put in near the top. The page marks them with a heading of their own that
announces the coverage and holds nothing itself ("Man Utd v Brighton, live: minute by
minute" straight above the first update). The updates run from there down to the first
section named by a label instead of a headline ("PREVIEW", "BACKGROUND"): that and all
below it, like everything above the announcing heading, is the article's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_ANNOUNCES_LIVE = re.compile(
    r"\b(?:live|en vivo|en directo|en direct|ao vivo|in diretta|minuto a minuto"
    r"|minute by minute|minute par minute|liveticker|liveblog)\b",
    re.IGNORECASE,
)
_MAX_LABEL_WORDS = 2


def live_part(titles: Sequence[str | None]) -> tuple[int, int] | None:
    """The blocks `[start, end)` holding the updates, or None when the page shows no
    announcing heading. `titles` has each block's text where the block heads a post
    and None elsewhere; the announcing heading is a title followed straight away by
    another, and counts as neither post nor article."""
    start = next(
        (
            index + 1
            for index, title in enumerate(titles[:-1])
            if title is not None and titles[index + 1] is not None and _ANNOUNCES_LIVE.search(title)
        ),
        None,
    )
    if start is None:
        return None
    end = next(
        (i for i in range(start, len(titles)) if _is_label(titles[i])),
        len(titles),
    )
    return (start, end) if end > start else None


def _is_label(title: str | None) -> bool:
    return title is not None and title.isupper() and len(title.split()) <= _MAX_LABEL_WORDS
