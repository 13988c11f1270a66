"""A deterministic corpus of news-like feeds, and a "tick" that adds posts to some.

    python bench/corpus.py OUTDIR --feeds 500          # writes OUTDIR/f00000.xml ...
    python bench/corpus.py OUTDIR --feeds 500 --tick 1 # adds posts to 10 % of them

Half the feeds are RSS 2.0, half Atom 1.0; each has 20-50 entries with HTML bodies of a
few paragraphs. The same arguments always give the same bytes.
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

WORDS = [
    "council",
    "police",
    "report",
    "inquiry",
    "minister",
    "victims",
    "families",
    "court",
    "hearing",
    "statement",
    "officers",
    "review",
    "services",
    "children",
    "safeguarding",
    "evidence",
    "watchdog",
    "commissioner",
    "town",
    "meeting",
    "vote",
    "leader",
    "apology",
    "investigation",
    "charges",
    "spokesman",
    "survivors",
    "campaign",
    "government",
    "funding",
    "inspection",
    "results",
    "week",
    "today",
    "earlier",
    "confirmed",
    "said",
    "warned",
]
START = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 22))]
    return " ".join(words).capitalize() + "."


def entry(rng: random.Random, feed: int, n: int) -> dict[str, str | datetime]:
    paragraphs = [" ".join(sentence(rng) for _ in range(rng.randint(1, 3))) for _ in range(2)]
    return {
        "id": f"https://news{feed % 40}.example/{feed}/{n}",
        "title": sentence(rng)[:-1][:90],
        "html": "".join(f"<p>{escape(p)}</p>" for p in paragraphs),
        "published": START + timedelta(minutes=7 * n + feed % 60),
    }


def entries_of(feed: int, extra: int) -> list[dict[str, str | datetime]]:
    rng = random.Random(feed)
    count = rng.randint(20, 50)
    items = [entry(random.Random(feed * 1000 + n), feed, n) for n in range(count + extra)]
    return sorted(items, key=lambda e: e["published"], reverse=True)[: count + extra]


def rss(feed: int, items: list[dict[str, str | datetime]]) -> str:
    body = "".join(
        f"<item><guid>{i['id']}</guid><title>{escape(str(i['title']))}</title>"
        f"<link>{i['id']}</link><description>{escape(str(i['html']))}</description>"
        f"<pubDate>{format_datetime(i['published'], usegmt=True)}</pubDate></item>"  # type: ignore[arg-type]
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed {feed}</title><link>https://news{feed % 40}.example/</link>"
        f"<description>Feed {feed}</description>{body}</channel></rss>"
    )


def atom(feed: int, items: list[dict[str, str | datetime]]) -> str:
    def when(i: dict[str, str | datetime]) -> str:
        return i["published"].isoformat().replace("+00:00", "Z")  # type: ignore[union-attr]

    body = "".join(
        f"<entry><id>{i['id']}</id><title>{escape(str(i['title']))}</title>"
        f'<link href="{i["id"]}"/><updated>{when(i)}</updated><published>{when(i)}</published>'
        f'<content type="html">{escape(str(i["html"]))}</content></entry>'
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>urn:feed:{feed}</id><title>Feed {feed}</title>"
        f"<updated>{when(items[0])}</updated><author><name>Desk</name></author>{body}</feed>"
    )


def write(out: Path, feeds: int, tick: int = 0) -> list[Path]:
    """Write every feed; with `tick` > 0, every tenth feed gains `tick` x 2 entries."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for feed in range(feeds):
        extra = 2 * tick if tick and feed % 10 == 0 else 0
        items = entries_of(feed, extra)
        text = rss(feed, items) if feed % 2 == 0 else atom(feed, items)
        path = out / f"f{feed:05d}.xml"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--tick", type=int, default=0)
    args = parser.parse_args()
    paths = write(args.out, args.feeds, args.tick)
    print(f"{len(paths)} feeds, {sum(p.stat().st_size for p in paths)} bytes in {args.out}")


if __name__ == "__main__":
    main()
