"""Sample stories tests share, so no test imports another.

`sample_view()`: the small story every publish test renders, built here so no test needs
a store. It holds what the renderers must get right: a first-seen entry, an entry also
carried by other sources, HTML with entities, non-ASCII punctuation, a time given with an
offset, and an entry with no URL, author or HTML.

`FLOOD_POSTS`: four posts of an invented flood, by key, as (title, text): the live blog
that the dedupe pipeline and the `explain`/`split` commands are tested on.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from aggregator.core.types import FeedEntry, SourceRef, StorySpec, StoryView

BBC = SourceRef("bbc-live", "liveblog", "https://www.bbc.co.uk/news/live/uk-politics-1")
GUARDIAN = SourceRef("guardian", "feed", "https://www.theguardian.com/politics/rss")
NOTES = SourceRef("local-notes", "article", None)
# The Guardian's own copy of the polls post: what "also reported by" links to.
GUARDIAN_COPY = "https://www.theguardian.com/politics/live/2026/nov/22/count#block-7"
COUNCIL = SourceRef("council", "article", "file:///srv/notices/*.html")
STORY = StorySpec("rotherham", "Rotherham by-election \N{EN DASH} live", ("rotherham",))
BASE = "http://127.0.0.1:8080"
RSQ = "\N{RIGHT SINGLE QUOTATION MARK}"
BUSY = "\N{LEFT DOUBLE QUOTATION MARK}busy\N{RIGHT DOUBLE QUOTATION MARK}"
POLLS_TITLE = f"Polls close \N{EN DASH} results \N{LEFT SINGLE QUOTATION MARK}expected by 3am{RSQ}"


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 22, hour, minute, tzinfo=UTC)


def entry(key: str, **fields: object) -> FeedEntry:
    """A FeedEntry with plain defaults; `fields` overrides any of them."""
    values: dict[str, object] = {
        "id": 0,
        "key": key,
        "story": STORY.id,
        "title": f"Post {key}",
        "text": f"Text of {key}",
        "html": f"<p>Text of {key}</p>",
        "url": None,
        "author": None,
        "published": at(12),
        "updated": at(12),
        "time_source": "feed",
        "position": 0,
        "source": GUARDIAN,
        "also_from": (),
    }
    values.update(fields)
    return FeedEntry(**values)  # type: ignore[arg-type]


def sample_view() -> StoryView:
    """Three entries, newest first by `updated` as the store returns them."""
    polls = entry(
        "bbc:post-3",
        id=3,
        title=POLLS_TITLE,
        text=f"Counting begins & turnout is high\N{HORIZONTAL ELLIPSIS} it{RSQ}s {BUSY}",
        html=f"<p>Counting begins &amp; turnout is high&hellip; it{RSQ}s {BUSY} &lt;3</p>",
        url="https://www.bbc.co.uk/news/live/uk-politics-1?post=3",
        author="Jane Smith",
        published=at(22),
        updated=at(22, 5),
        time_source="page",
        source=BBC,
        also_from=(replace(GUARDIAN, link=GUARDIAN_COPY), NOTES),
    )
    statement = entry(
        "council:statement",
        id=2,
        title="Council statement on the count",
        text="The count will be held at Magna.",
        html="<p>The count will be held at <b>Magna</b>.</p>",
        published=at(21, 30),
        updated=at(21, 30),
        time_source="first-seen",
        source=COUNCIL,
    )
    candidates = entry(
        "guardian:candidates",
        id=1,
        title="Who is standing?",
        text="Seven candidates are standing.",
        html="",
        url="https://www.theguardian.com/politics/2026/nov/22/candidates",
        published=datetime(2026, 11, 22, 21, 0, tzinfo=timezone(timedelta(hours=1))),
        updated=datetime(2026, 11, 22, 21, 0, tzinfo=timezone(timedelta(hours=1))),
    )
    return StoryView(STORY, (polls, statement, candidates))


FLOOD_POSTS = {
    "evac": (
        "Hundreds evacuated as River Kell bursts its banks",
        "About 400 people have been moved from their homes in Kelsford after the River Kell "
        "burst its banks shortly after 4am.\n\nFire crews used boats to reach residents on "
        "Mill Lane and Tanner's Row, where water was waist-deep by daybreak.\n\nKelsford "
        "Borough Council has opened a rest centre at the Priory Leisure Centre and asked "
        "people not to travel into the town unless they must.",
    ),
    "bridge": (
        "Old Bridge closed after cracks found",
        "Engineers have closed the Old Bridge in Kelsford after cracks were found in one of "
        "its piers during an inspection on Tuesday morning.\n\nThe Grade II listed bridge "
        "carries about 9,000 vehicles a day and is the main route between the town centre "
        "and the railway station.\n\nDiversions are in place via the bypass, and the council "
        'said the closure would last "at least until the water drops and divers can look at '
        'the foundations".',
    ),
    "power": (
        "Thousands without power overnight",
        "Around 6,200 homes were left without electricity overnight after water flooded a "
        "substation on the edge of Kelsford, Northern Grid said.\n\nThe company said "
        "engineers had restored supplies to about half of those affected by 8am and that it "
        "expected most customers to be reconnected by the evening.",
    ),
    "rescue": (
        "Man rescued from roof of car",
        "A man has been rescued from the roof of his car after it was swept off a flooded "
        "road near the village of Ashby Tarrant, south of Kelsford.\n\nCoastguard helicopter "
        "crews winched him to safety at about 11.20am. He was taken to Kelsford General "
        "Hospital as a precaution and is said to be cold but unhurt.",
    ),
}
