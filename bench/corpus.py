"""A deterministic corpus of news-like feeds, and a "tick" that adds posts to some.

    python bench/corpus.py OUTDIR --feeds 500          # writes OUTDIR/f00000.xml ...
    python bench/corpus.py OUTDIR --feeds 500 --tick 1 # adds posts to 10 % of them
    python bench/corpus.py OUTDIR --markup plain       # the corpus before publisher markup

Half the feeds are RSS 2.0, half Atom 1.0; each has 20-50 entries. With `--markup
publisher` (the default) three entries in four carry the HTML publishers' systems send:
1-3 KB bodies of paragraphs with links that have attributes (target, rel, query strings
with `&amp;`), relative links, images with src/alt/width/height, `<span style=...>`,
`<strong>`, figures, lists and quotes, references (`&amp;`, `&#8217;`, `&nbsp;`...). One
RSS feed in two is WordPress-like (a CDATA teaser in `<description>`, the whole post in
CDATA `<content:encoded>`, `dc:creator`, categories), the other a news site's (the body
escaped in `<description>`, `media:content`); Atom feeds carry an HTML summary and the
body as escaped or CDATA `<content type="html">`. The other entries, and every entry
with `--markup plain`, are a few `<p>` paragraphs of plain text. The same arguments
always give the same bytes (plain gives the bytes the corpus had before markup).
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
MARKUPS = ("publisher", "plain")
AUTHORS = ["Jane Doe", "Sam O\u2019Neill", "Priya Patel", "News Desk", "Tom Smith & Ann Lee"]
Entry = dict[str, str | datetime]


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 22))]
    return " ".join(words).capitalize() + "."


def entry(rng: random.Random, feed: int, n: int) -> Entry:
    paragraphs = [" ".join(sentence(rng) for _ in range(rng.randint(1, 3))) for _ in range(2)]
    return {
        "id": f"https://news{feed % 40}.example/{feed}/{n}",
        "title": sentence(rng)[:-1][:90],
        "html": "".join(f"<p>{escape(p)}</p>" for p in paragraphs),
        "published": START + timedelta(minutes=7 * n + feed % 60),
    }


# Publisher markup. Every piece is drawn from an rng of its own (seeded by feed and
# entry), so the plain corpus's rng sequence, and its bytes, stay as they were.


def _link(rng: random.Random, host: str, text: str) -> str:
    slug = "-".join(rng.sample(WORDS, 3))
    if rng.random() < 0.25:
        return f'<a href="/tag/{slug}/">{text}</a>'  # relative: resolved against the feed
    query = "?utm_source=rss&amp;utm_medium=feed&amp;utm_campaign=news"
    target = ' target="_blank" rel="noopener noreferrer"' if rng.random() < 0.7 else ""
    return f'<a href="https://{host}/2026/11/{slug}/{query}"{target}>{text}</a>'


def _decorate(rng: random.Random, host: str, first: str, second: str) -> str:
    span = f"{first} {second}"
    kind = rng.randrange(8)
    if kind == 0:
        return _link(rng, host, span)
    if kind < 4:
        tag = ["strong", "em", 'span style="font-weight: 400;"'][kind - 1]
        return f"<{tag}>{span}</{tag.split()[0]}>"
    return [
        f"&#8220;{span}&#8221;",  # curly quotes
        f"{first}&#8217;s {second}",
        f"{first} &amp; {second}",
        f"{first}&nbsp;{second}",
    ][kind - 4]


def _rich_sentence(rng: random.Random, host: str) -> str:
    """A sentence with the inline markup and references editors and CMSs leave."""
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 22))]
    words[0] = words[0].capitalize()
    for _ in range(rng.randint(0, 2)):
        i = rng.randrange(len(words) - 2)
        if not (words[i] + words[i + 1]).isalpha():
            continue  # already decorated
        words[i : i + 2] = [_decorate(rng, host, words[i], words[i + 1])]
    end = rng.choice([".", ".", ".", "&#8230;", "!"])
    return " ".join(words) + end


def _figure(rng: random.Random, host: str, feed: int, n: int) -> str:
    width, height = rng.choice([(1024, 576), (800, 450), (640, 427)])
    alt = " ".join(rng.sample(WORDS, 4)).capitalize()
    image = (
        f'<img src="https://cdn.{host}/uploads/2026/11/{feed}-{n}-{width}x{height}.jpg"'
        f' alt="{alt}" width="{width}" height="{height}" class="size-large" loading="lazy" />'
    )
    if rng.random() < 0.5:
        return f"<p>{image}</p>"
    caption = f"{alt}. Photograph: {rng.choice(['PA', 'Reuters', 'AP', 'Getty Images'])}"
    return f'<figure class="wp-block-image">{image}<figcaption>{caption}</figcaption></figure>'


def _block(rng: random.Random, host: str) -> str:
    kind = rng.random()
    if kind < 0.7:
        text = " ".join(_rich_sentence(rng, host) for _ in range(rng.randint(1, 3)))
        return f"<p>{text}</p>"
    if kind < 0.8:
        return f"<blockquote><p>{_rich_sentence(rng, host)}</p></blockquote>"
    if kind < 0.9:
        items = "".join(f"<li>{_rich_sentence(rng, host)}</li>" for _ in range(3))
        return f"<ul>{items}</ul>"
    return f"<h3>{' '.join(rng.sample(WORDS, 3)).capitalize()}</h3>"


def publisher(item: Entry, feed: int, n: int) -> Entry:
    """`item` with a publisher's body, teaser, author and categories (one entry in four
    keeps its plain paragraphs)."""
    rng = random.Random(f"markup:{feed}:{n}")
    host = f"news{feed % 40}.example"
    title = str(item["title"])
    if rng.random() < 0.3:  # &#8217; in the title: U+2019 once parsed
        first, _, rest = title.partition(" ")
        title = f"{first}&#8217;s {rest}" if rest else title
    extra: Entry = {
        "xml_title": title,
        "author": rng.choice(AUTHORS),
        "categories": ",".join(rng.sample(WORDS, rng.randint(1, 3))),
        "image": f"https://cdn.{host}/uploads/2026/11/{feed}-{n}-1024x576.jpg",
    }
    if rng.random() < 0.25:
        return {**item, **extra, "teaser": item["html"]}
    blocks = [_block(rng, host) for _ in range(rng.randint(3, 9))]
    blocks.insert(rng.randint(0, 1), _figure(rng, host, feed, n))
    lead = _rich_sentence(rng, host)
    teaser = (
        f'<p>{lead} [&#8230;]</p>\n<p>The post <a rel="nofollow" href="{item["id"]}">'
        f'{title}</a> appeared first on <a rel="nofollow" href="https://{host}/">'
        f"News {feed % 40}</a>.</p>"
    )
    return {**item, **extra, "html": f"<p>{lead}</p>\n" + "\n".join(blocks), "teaser": teaser}


def entries_of(feed: int, extra: int, markup: str = "publisher") -> list[Entry]:
    rng = random.Random(feed)
    count = rng.randint(20, 50)
    items = [entry(random.Random(feed * 1000 + n), feed, n) for n in range(count + extra)]
    if markup == "publisher":
        items = [publisher(item, feed, n) for n, item in enumerate(items)]
    return sorted(items, key=lambda e: e["published"], reverse=True)[: count + extra]


def rss(feed: int, items: list[Entry]) -> str:
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


def atom(feed: int, items: list[Entry]) -> str:
    body = "".join(
        f"<entry><id>{i['id']}</id><title>{escape(str(i['title']))}</title>"
        f'<link href="{i["id"]}"/><updated>{_when(i)}</updated><published>{_when(i)}</published>'
        f'<content type="html">{escape(str(i["html"]))}</content></entry>'
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>urn:feed:{feed}</id><title>Feed {feed}</title>"
        f"<updated>{_when(items[0])}</updated><author><name>Desk</name></author>{body}</feed>"
    )


def _when(i: Entry) -> str:
    return i["published"].isoformat().replace("+00:00", "Z")  # type: ignore[union-attr]


def _cdata(html: object) -> str:
    return f"<![CDATA[{html}]]>"


def publisher_rss(feed: int, items: list[Entry]) -> str:
    """WordPress-like (feed % 4 == 0) or a news site's RSS (feed % 4 == 2)."""
    wordpress = feed % 4 == 0
    parts = []
    for i in items:
        date = format_datetime(i["published"], usegmt=True)  # type: ignore[arg-type]
        tags = "".join(f"<category>{_cdata(c)}</category>" for c in str(i["categories"]).split(","))
        if wordpress:
            bodies = (
                f"<description>{_cdata(i['teaser'])}</description>"
                f"<content:encoded>{_cdata(i['html'])}</content:encoded>"
            )
            guid = f'<guid isPermaLink="false">{i["id"]}?p={feed}</guid>'
        else:
            bodies = f"<description>{escape(str(i['html']))}</description>"
            guid = f'<guid isPermaLink="true">{i["id"]}</guid>'
            tags += f'<media:content url="{i["image"]}" medium="image" width="1024" height="576"/>'
        parts.append(
            f"<item><title>{i['xml_title']}</title><link>{i['id']}</link>"
            f"<dc:creator>{_cdata(i['author'])}</dc:creator><pubDate>{date}</pubDate>"
            f"{tags}{guid}{bodies}</item>\n"
        )
    host = f"https://news{feed % 40}.example/"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:atom="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">'
        f"\n<channel><title>Feed {feed}</title>"
        f'<atom:link href="{host}feed/" rel="self" type="application/rss+xml"/>'
        f"<link>{host}</link><description>Feed {feed} &#8211; news</description>"
        f"<language>en-GB</language>\n{''.join(parts)}</channel></rss>\n"
    )


def publisher_atom(feed: int, items: list[Entry]) -> str:
    """Atom with an HTML summary; the content escaped, or in CDATA (feed % 4 == 3)."""
    as_cdata = feed % 4 == 3
    parts = []
    for i in items:
        content = _cdata(i["html"]) if as_cdata else escape(str(i["html"]))
        tags = "".join(f'<category term="{c}"/>' for c in str(i["categories"]).split(","))
        parts.append(
            f"<entry><title>{i['xml_title']}</title>"
            f'<link rel="alternate" type="text/html" href="{i["id"]}"/><id>{i["id"]}</id>'
            f"<published>{_when(i)}</published><updated>{_when(i)}</updated>"
            f"<author><name>{escape(str(i['author']))}</name></author>{tags}"
            f'<summary type="html">{escape(str(i["teaser"]))}</summary>'
            f'<content type="html">{content}</content></entry>\n'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"'
        ' xml:lang="en">'
        f"<id>urn:feed:{feed}</id><title>Feed {feed}</title>"
        f'<link rel="alternate" type="text/html" href="https://news{feed % 40}.example/"/>'
        f"<updated>{_when(items[0])}</updated><author><name>Desk</name></author>\n"
        f"{''.join(parts)}</feed>\n"
    )


def write(out: Path, feeds: int, tick: int = 0, markup: str = "publisher") -> list[Path]:
    """Write every feed; with `tick` > 0, every tenth feed gains `tick` x 2 entries."""
    if markup not in MARKUPS:
        raise ValueError(f"markup {markup!r}: one of {', '.join(MARKUPS)}")
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for feed in range(feeds):
        extra = 2 * tick if tick and feed % 10 == 0 else 0
        items = entries_of(feed, extra, markup)
        if markup == "plain":
            text = rss(feed, items) if feed % 2 == 0 else atom(feed, items)
        else:
            text = publisher_rss(feed, items) if feed % 2 == 0 else publisher_atom(feed, items)
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
    parser.add_argument("--markup", choices=MARKUPS, default="publisher")
    args = parser.parse_args()
    paths = write(args.out, args.feeds, args.tick, args.markup)
    print(f"{len(paths)} feeds, {sum(p.stat().st_size for p in paths)} bytes in {args.out}")


if __name__ == "__main__":
    main()
