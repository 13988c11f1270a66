"""Score the live-page splitter on real publisher pages it was not written against.

    python bench/split_eval.py                     # the table, as saved and stripped
    python bench/split_eval.py --markdown          # the same table for README
    python bench/split_eval.py --json OUT.json     # every score, for comparing runs
    python bench/split_eval.py --page guardian -v  # one page, post by post

Reads `../shared/corpus/liveblogs/` (or `--corpus DIR`): real pages from public
projects' test fixtures, with ground truth in `truth/NAME.json`. Each page is split
twice: as saved, and with its structured data stripped (ld+json scripts removed,
itemprop/itemscope/itemtype attributes dropped), each time as a local file whose mtime
is 10 minutes after the page's newest post, with the timezone a user would configure
for that publisher.

The truth: for pages with JSON-LD, `updates` (text and times; when every update carries
the same time, the page's own, the times are the first and second `<time datetime>`
of each rendered post instead, as the truth notes say); for hand-labelled pages, the
posts are cut out of the page here by the selector their truth file describes (this
script's `_HAND` table: truth extraction for evaluation, never used by the product).

Scores per page:
  found      posts the splitter returned
  precision  of those, the share that match one true post (one to one: it has >= 0.6 of
             the true post's words, and >= 0.4 of its words are the true post's)
  recall     of the true posts, the share matched
  time       of the matched posts, the share whose published time is right to the minute
             in UTC; a post with no time of its own is right when none is claimed
  edits      edited true posts whose `updated` is right to the minute (k/n)
  clean      returned posts with no entity, markup or page chrome in title or text
  grow       the page saved twice and polled through the real pipeline (a SQLite store):
             first without its newest post, then with it added, the second edited (a
             sentence appended, and its JSON-LD articleBody) and the third removed; the
             second poll's new/updated/deleted/unchanged, right when 1/1/1/N-3 (1/1/0/0
             on a page of two posts)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import lxml.html
from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aggregator.core.errors import ParseError
from aggregator.core.types import (
    Document,
    ParseContext,
    PollReport,
    Post,
    SourceSpec,
    StorySpec,
)
from aggregator.fetch.http import make_client
from aggregator.fetch.limits import FetchLimits
from aggregator.ingest.pipeline import poll
from aggregator.ingest.sources import Fetchers
from aggregator.parse.live.liveblog import split_liveblog
from aggregator.store import open_store

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "liveblogs"
SAVED_AFTER = timedelta(minutes=10)
MATCH = 0.6
OURS_SHARED = 0.4

# The timezone a user would put in the source's config for each publisher.
TIMEZONES = {
    "br24": "Europe/Berlin",
    "hutchnews": "America/Chicago",
    "independent": "Europe/London",
    "libero": "America/Lima",
    "nbcnews": "America/New_York",
    "sfgate": "America/Los_Angeles",
    "sportsfr": "Europe/Paris",
    "theguardian": "Europe/London",
}

_WORD = re.compile(r"\w+")
_ENTITY = re.compile(r"&(?:#\d{1,8}|#x[0-9a-fA-F]{1,8}|[a-zA-Z]{2,10});")
_MARKUP = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]{0,10}[\s/>]")
# Phrases of page furniture a reader should never see inside a post.
_CHROME = re.compile(
    r"share this|back to top|\(image: |photograph: |getty images|is not supported|"
    r"advertisement|sign up|subscribe today|most popular|read more:|follow us|"
    r"skip to|cookie",
    re.IGNORECASE,
)


@dataclass
class TruePost:
    text: str
    published: datetime | None
    modified: datetime | None = None
    # Where the post is in the page (to grow and edit it), and its JSON-LD update's id.
    elements: list[Any] = field(default_factory=list)
    update_id: str | None = None


@dataclass
class Score:
    page: str
    variant: str
    truth: int
    found: int = 0
    matched: int = 0
    times_right: int = 0
    edits: int = 0
    edits_right: int = 0
    clean: int = 0
    error: str | None = None
    problems: list[str] = field(default_factory=list)
    # The growing page's second poll: new, updated, deleted, unchanged (None: not run).
    grow: tuple[int, int, int, int] | None = None

    @property
    def grew_right(self) -> bool:
        # The third post is removed; on a page of three it is the oldest, which may
        # just have dropped off the bottom (kept, not deleted), and two have none to remove.
        removed = 1 if self.truth >= 4 else 0
        return self.grow == (1, 1, removed, max(self.truth - 3, 0))

    @property
    def precision(self) -> float:
        return self.matched / self.found if self.found else 0.0

    @property
    def recall(self) -> float:
        return self.matched / self.truth if self.truth else 0.0

    @property
    def time(self) -> float:
        return self.times_right / self.matched if self.matched else 0.0

    @property
    def cleanliness(self) -> float:
        return self.clean / self.found if self.found else 0.0


# -- truth ---------------------------------------------------------------------------


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _jsonld_truth(root: Any, truth: dict[str, Any]) -> list[TruePost]:
    updates = truth["updates"]
    repeated = len({u["datePublished"] for u in updates}) == 1 and len(updates) > 1
    posts = []
    for update, rendered in zip(updates, truth["rendered_items"], strict=True):
        if repeated:
            stamps = [_moment(s) for s in rendered["time_attrs"]]
            published, modified = stamps[0], (stamps[1] if len(stamps) > 1 else None)
        else:
            published = _moment(update["datePublished"])
            modified = _moment(update["dateModified"])
        if modified is not None and _minute(modified) <= _minute(published):
            modified = None
        elements = root.xpath(f'//*[@id="{rendered["id"]}"]')[:1]
        # A headline every update repeats is the page's, not the post's.
        text = update["text"] if repeated else f"{update['headline']} {update['text']}"
        posts.append(TruePost(text, published, modified, elements, update["id"]))
    return posts


def _text(elements: list[Any]) -> str:
    return " ".join(" ".join(e.itertext()) for e in elements)


def _following_until(heading: Any, stop: Callable[[Any], bool]) -> list[Any]:
    body = []
    for sibling in heading.itersiblings():
        if stop(sibling):
            break
        body.append(sibling)
    return body


def _local_walk(clocks: list[tuple[int, int]], day: datetime, zone: str) -> list[datetime]:
    """Clock times newest first on `day` (local), stepping back a day when one is later."""
    moments, current, last = [], day, None
    for hour, minute in clocks:
        if last is not None and (hour, minute) > last:
            current -= timedelta(days=1)
        last = (hour, minute)
        local = current.replace(hour=hour, minute=minute, tzinfo=ZoneInfo(zone))
        moments.append(local.astimezone(UTC))
    return moments


def _br24(root: Any) -> list[TruePost]:
    clock = re.compile(r"(\d{1,2})\.(\d{2}) Uhr:")
    headings = [
        h for h in root.xpath('//*[@id="articlebody"]//h2') if clock.match(h.text_content())
    ]
    clocks = []
    for h in headings:
        match = clock.match(h.text_content())
        assert match is not None
        clocks.append((int(match[1]), int(match[2])))
    times = _local_walk(clocks, datetime(2024, 8, 27), "Europe/Berlin")
    return [_section(h, moment) for h, moment in zip(headings, times, strict=True)]


def _section(heading: Any, moment: datetime | None) -> TruePost:
    """A post that is a heading and the siblings up to the next heading."""
    elements = [heading, *_following_until(heading, lambda s: s.tag == heading.tag)]
    return TruePost(_text(elements), moment, elements=elements)


def _split_at_rules(paragraphs: list[Any]) -> list[list[Any]]:
    chunks: list[list[Any]] = [[]]
    for p in paragraphs:
        if p.text_content().strip() == "___":
            chunks.append([])
        else:
            chunks[-1].append(p)
    return [c for c in chunks if c]


def _sfgate(root: Any) -> list[TruePost]:
    paragraphs = root.xpath('//div[contains(@class, "article-body")]/p')
    chunks = _split_at_rules(paragraphs)
    clock = re.compile(r"(\d{1,2})(?::(\d{2}))? ([ap])\.m\.$")
    posts = []
    for chunk in chunks:
        # The first post follows the page's one-paragraph introduction.
        for at, paragraph in enumerate(chunk):
            match = clock.match(paragraph.text_content().strip())
            if match:
                hour = int(match[1]) % 12 + (12 if match[3] == "p" else 0)
                posts.append((hour, int(match[2] or 0), chunk[at:]))
                break
    clocks = [(h, m) for h, m, _ in posts]
    times = _local_walk(clocks, datetime(2019, 11, 19), "America/Los_Angeles")
    return [
        TruePost(_text(elements[1:]), moment, elements=elements)
        for (_, _, elements), moment in zip(posts, times, strict=True)
    ]


def _hutchnews(root: Any) -> list[TruePost]:
    inners = root.xpath('//div[contains(@class, "article-body")]//div[contains(@class, "inner")]')
    inner = next(i for i in inners if any(p.text_content().strip() == "___" for p in i.xpath("p")))
    chunks = _split_at_rules(inner.xpath("p"))
    skip = ("HERE'S WHAT YOU NEED TO KNOW", "Follow AP")
    return [
        TruePost(_text(chunk), None, elements=chunk)
        for chunk in chunks
        if not any(chunk[0].text_content().strip().startswith(s) for s in skip)
    ]


def _sportsfr(root: Any) -> list[TruePost]:
    comments = root.xpath('//div[contains(@class, "live-match-comment")][@data-time]')
    return [TruePost(c.text_content(), None, elements=[c]) for c in comments]


def _libero(root: Any) -> list[TruePost]:
    headings = root.xpath('//div[contains(@class, "container__body")]//h2')
    texts = [h.text_content().strip() for h in headings]
    start = next(i for i, t in enumerate(texts) if "minuto a minuto" in t) + 1
    end = next(i for i, t in enumerate(texts) if t.startswith("PREVIA"))
    return [_section(h, None) for h in headings[start:end]]


_HAND: dict[str, Callable[[Any], list[TruePost]]] = {
    "br24": _br24,
    "sfgate": _sfgate,
    "hutchnews": _hutchnews,
    "sportsfr": _sportsfr,
    "libero": _libero,
}


def true_posts(page: Path, truth: dict[str, Any], root: Any = None) -> list[TruePost]:
    """The page's true posts, newest first; `root` is the page's tree when it is to be
    changed (the posts' elements are its elements)."""
    root = lxml.html.fromstring(page.read_bytes()) if root is None else root
    if truth.get("updates"):
        return _jsonld_truth(root, truth)
    posts = _HAND[_publisher(page)](root)
    if len(posts) != truth["rendered_posts"]:
        raise SystemExit(
            f"{page.name}: truth extraction found {len(posts)} posts, "
            f"truth says {truth['rendered_posts']}"
        )
    return posts


def _publisher(page: Path) -> str:
    return page.name.split("_")[0]


def _newest(posts: list[TruePost], truth: dict[str, Any]) -> datetime:
    times = [p.modified or p.published for p in posts if p.published]
    if times:
        return max(t for t in times if t is not None)
    return _page_published(truth["page"].get("published") or truth["page"]["datePublished"])


def _page_published(value: str) -> datetime:
    basic = re.fullmatch(r"(\d{4})(\d{2})(\d{2})T(.*)", value)
    return _moment(f"{basic[1]}-{basic[2]}-{basic[3]}T{basic[4]}" if basic else value)


# -- the page variants ---------------------------------------------------------------

_MICRODATA = re.compile(rb"""\s(?:itemprop|itemscope|itemtype)(?:="[^"]*+"|='[^']*+')?+""")


def stripped(body: bytes) -> bytes:
    """The page without structured data: no ld+json scripts, no microdata attributes."""
    out, at = [], 0
    lower = body.lower()
    while True:
        start = lower.find(b"<script", at)
        if start < 0:
            break
        end_of_tag = lower.find(b">", start)
        close = lower.find(b"</script>", end_of_tag)
        if end_of_tag < 0 or close < 0:
            break
        if b"ld+json" in lower[start:end_of_tag]:
            out.append(body[at:start])
        else:
            out.append(body[at : close + 9])
        at = close + 9
    out.append(body[at:])
    return _MICRODATA.sub(b"", b"".join(out))


def variants(page: Path) -> Iterator[tuple[str, bytes]]:
    body = page.read_bytes()
    yield "saved", body
    yield "stripped", stripped(body)


# -- the growing page ---------------------------------------------------------------

ADDED_SENTENCE = "A spokesperson later said the review would publish its findings in spring."


def _append_sentence(element: Any) -> None:
    if len(element):
        last = element[-1]
        last.tail = f"{last.tail or ''} {ADDED_SENTENCE}"
    else:
        element.text = f"{element.text or ''} {ADDED_SENTENCE}"


def _edit_updates(node: Any, drop: set[str], edit: str | None) -> None:
    """Drop and edit liveBlogUpdate items of a JSON-LD value in place (trusted input)."""
    if isinstance(node, list):
        for item in node:
            _edit_updates(item, drop, edit)
    elif isinstance(node, dict):
        updates = node.get("liveBlogUpdate")
        if isinstance(updates, list):
            kept = [u for u in updates if _update_id(u) not in drop]
            for update in kept:
                if _update_id(update) == edit:
                    update["articleBody"] = f"{update.get('articleBody', '')} {ADDED_SENTENCE}"
            node["liveBlogUpdate"] = kept
        for value in node.values():
            _edit_updates(value, drop, edit)


def _update_id(update: Any) -> str | None:
    return update.get("url") or update.get("@id") if isinstance(update, dict) else None


def changed_page(page: Path, truth: dict[str, Any], drop: list[int], edit: int | None) -> bytes:
    """The page without the true posts at `drop`, the one at `edit` edited."""
    root = lxml.html.fromstring(page.read_bytes())
    posts = true_posts(page, truth, root)
    dropped = {i for j in drop if (i := posts[j].update_id)}
    edited = posts[edit].update_id if edit is not None else None
    for script in root.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        _edit_updates(data, dropped, edited)
        script.text = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    if edit is not None:
        _append_sentence(posts[edit].elements[-1])
    for j in drop:
        for element in posts[j].elements:
            element.drop_tree()
    return etree.tostring(root.getroottree(), encoding="utf-8", method="html")


def grow(page: Path, truth: dict[str, Any], variant: str, folder: Path) -> PollReport:
    """Poll the page before and after it grows; the second poll's report."""
    shape = stripped if variant == "stripped" else (lambda body: body)
    before = shape(changed_page(page, truth, [0], None))
    after = shape(changed_page(page, truth, [2] if len(true_posts(page, truth)) >= 3 else [], 1))
    saved_at = _newest(true_posts(page, truth), truth) + SAVED_AFTER
    path = folder / f"{page.stem}.{variant}.html"
    spec = SourceSpec(
        name="page",
        story="story",
        kind="liveblog",
        url=None,
        path=str(path),
        interval=60,
        timezone=TIMEZONES[_publisher(page)],
    )
    store = open_store(f"sqlite:///{folder / f'{page.stem}.{variant}.db'}")
    store.sync_sources([spec])
    limits = FetchLimits()
    now = datetime.now(UTC)
    with make_client(limits) as client:
        fetchers = Fetchers(client, limits)
        report = PollReport("page")
        for body, at in ((before, saved_at - SAVED_AFTER), (after, saved_at)):
            path.write_bytes(body)
            os.utime(path, (at.timestamp(), at.timestamp()))
            now += timedelta(minutes=10)
            report = poll(
                spec, StorySpec("story", "Story"), store=store, fetchers=fetchers, now=now
            )
            if report.error:
                raise RuntimeError(report.error)
    store.engine.dispose()
    return report


# -- scoring -------------------------------------------------------------------------


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def _overlap(truth: set[str], ours: set[str]) -> float:
    """How well one post stands for a true one: the share of the true post's words it
    has, when at least OURS_SHARED of its own words are the true post's. (Structured
    data leaves out what a post embeds, a quoted tweet, so a rendered post rightly has
    more words than its truth; a blob of several posts still matches only one.)"""
    if not truth or not ours:
        return 0.0
    shared = len(truth & ours)
    return shared / len(truth) if shared / len(ours) >= OURS_SHARED else 0.0


def match(posts: list[Post], truth: list[TruePost]) -> dict[int, int]:
    """Our post index -> true post index, one to one, best overlap first."""
    ours = [_words(f"{p.title} {p.text}") for p in posts]
    theirs = [_words(t.text) for t in truth]
    pairs = sorted(
        ((_overlap(t, o), i, j) for i, o in enumerate(ours) for j, t in enumerate(theirs)),
        reverse=True,
    )
    matched: dict[int, int] = {}
    taken: set[int] = set()
    for score, i, j in pairs:
        if score < MATCH:
            break
        if i not in matched and j not in taken:
            matched[i] = j
            taken.add(j)
    return matched


def _minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def _time_right(post: Post, truth: TruePost) -> bool:
    if truth.published is None:
        return post.time_source != "page"
    return post.published is not None and _minute(post.published) == _minute(truth.published)


def _is_clean(post: Post) -> bool:
    shown = f"{post.title}\n{post.text}"
    return not (_ENTITY.search(shown) or _MARKUP.search(shown) or _CHROME.search(shown))


def score(page: Path, variant: str, body: bytes, truth: dict[str, Any]) -> tuple[Score, list[Post]]:
    posts_true = true_posts(page, truth)
    result = Score(page.stem, variant, len(posts_true))
    saved_at = _newest(posts_true, truth) + SAVED_AFTER
    doc = Document(
        location=str(page),
        body=body,
        content_type="text/html",
        fetched_at=datetime.now(UTC),
        modified_at=saved_at,
    )
    context = ParseContext(ZoneInfo(TIMEZONES[_publisher(page)]), {})
    try:
        posts = split_liveblog(doc, context)
    except ParseError as e:
        result.error = str(e)
        return result, []
    result.found = len(posts)
    pairs = match(posts, posts_true)
    result.matched = len(pairs)
    for i, j in pairs.items():
        if _time_right(posts[i], posts_true[j]):
            result.times_right += 1
        else:
            result.problems.append(
                f"time: {posts[i].title[:50]!r} {posts[i].published} "
                f"({posts[i].time_source}) want {posts_true[j].published}"
            )
    for j, true in enumerate(posts_true):
        if true.modified is None:
            continue
        result.edits += 1
        ours = next((posts[i] for i, k in pairs.items() if k == j), None)
        if ours and ours.updated and _minute(ours.updated) == _minute(true.modified):
            result.edits_right += 1
    result.clean = sum(_is_clean(p) for p in posts)
    for i, post in enumerate(posts):
        if i not in pairs:
            result.problems.append(f"extra: {post.title[:60]!r} | {post.text[:80]!r}")
        if not _is_clean(post):
            result.problems.append(f"unclean: {post.title[:60]!r} | {post.text[:120]!r}")
    matched_truth = set(pairs.values())
    for j, true in enumerate(posts_true):
        if j not in matched_truth:
            result.problems.append(f"missed: {true.text[:100]!r}")
    return result, posts


def evaluate(corpus: Path, only: str | None, growing: bool) -> list[Score]:
    scores = []
    with tempfile.TemporaryDirectory() as folder:
        for page in sorted(corpus.glob("*.html")):
            if only and only not in page.name:
                continue
            truth = json.loads((corpus / "truth" / f"{page.stem}.json").read_text("utf-8"))
            for variant, body in variants(page):
                result = score(page, variant, body, truth)[0]
                if growing and result.truth >= 2:
                    try:
                        r = grow(page, truth, variant, Path(folder))
                        result.grow = (r.new, r.updated, r.deleted, r.unchanged)
                    except RuntimeError as e:
                        result.problems.append(f"grow: {e}")
                scores.append(result)
    return scores


# -- output --------------------------------------------------------------------------

COLUMNS = (
    "page",
    "variant",
    "truth",
    "found",
    "precision",
    "recall",
    "time",
    "edits",
    "clean",
    "grow",
)


def _row(s: Score) -> list[str]:
    edits = f"{s.edits_right}/{s.edits}" if s.edits else "-"
    grew = "/".join(map(str, s.grow)) + (" ok" if s.grew_right else "") if s.grow else "-"
    if s.error:
        return [s.page, s.variant, str(s.truth), "error", "-", "-", "-", edits, "-", grew]
    return [
        s.page,
        s.variant,
        str(s.truth),
        str(s.found),
        f"{s.precision:.2f}",
        f"{s.recall:.2f}",
        f"{s.time:.2f}",
        edits,
        f"{s.cleanliness:.2f}",
        grew,
    ]


def table(scores: list[Score], markdown: bool) -> str:
    rows = [list(COLUMNS)] + [_row(s) for s in scores]
    if markdown:
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(COLUMNS)]
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        return "\n".join(lines)
    widths = [max(len(r[c]) for r in rows) for c in range(len(COLUMNS))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows)


def summary(scores: list[Score]) -> str:
    good = [
        s
        for s in scores
        if not s.error and min(s.precision, s.recall, s.time, s.cleanliness) >= 0.95
    ]
    return (
        f"{len(good)} of {len(scores)} page variants at >= 0.95 on precision, recall, time, clean"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--page", help="only pages whose file name contains this")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--json", type=Path, help="write every score here")
    parser.add_argument("-v", "--verbose", action="store_true", help="list each problem")
    parser.add_argument("--no-grow", action="store_true", help="skip the growing-page polls")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        raise SystemExit(f"no corpus at {args.corpus}")
    scores = evaluate(args.corpus, args.page, growing=not args.no_grow)
    print(table(scores, args.markdown))
    print(summary(scores))
    if args.verbose:
        for s in scores:
            for problem in s.problems:
                print(f"{s.page} [{s.variant}] {problem}")
    if args.json:
        payload = [asdict(s) | {"precision": s.precision, "recall": s.recall} for s in scores]
        args.json.write_text(json.dumps(payload, indent=1, default=str))


if __name__ == "__main__":
    main()
