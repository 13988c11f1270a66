"""Structured data on live pages, the rules the golden pages (tests/data/liveblogs/sd_*)
show end to end, one by one: stripping never takes the posts, ids that only count
posts are no ids, structured and rendered posts pair by id, id form, words or time,
values copied from the page are no update's, and text fields read as HTML is read."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from aggregator.core.types import Document, ParseContext, Post
from aggregator.parse.live.found import Found, Stamp, without_positional_ids
from aggregator.parse.live.liveblog import split_liveblog
from aggregator.parse.live.pairing import id_token, merge, pair_posts
from aggregator.parse.live.structured import body_html, read_jsonld
from aggregator.parse.live.tree import parse_tree, strip_furniture, text_of
from tests.support.paths import DATA

DATA = DATA / "liveblogs"
FETCHED = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
CONTEXT = ParseContext(ZoneInfo("Europe/London"), {})
PROSE = "The committee heard evidence from the harbour master about the warehouse lease"


def _split(html: str) -> list[Post]:
    doc = Document(
        location="https://news.example/live", body=html.encode(), content_type="text/html",
        fetched_at=FETCHED,
    )  # fmt: skip
    return split_liveblog(doc, CONTEXT)


def _post(minute: int, words: str, tag: str = "div", attrs: str = "") -> str:
    return (
        f'<{tag} class="entry" {attrs}><time datetime="2024-06-01T11:{minute:02d}:00Z">'
        f"11:{minute:02d}</time><p>{words} {PROSE}, at minute {minute}.</p></{tag}>"
    )


# Stripping furniture


def test_a_chrome_named_wrapper_around_the_only_post_list_is_kept() -> None:
    posts = "".join(_post(m, f"Update {m}.") for m in (50, 40, 30, 20))
    page = f'<html><body><h1>Live</h1><div class="ads-slot">{posts}</div></body></html>'
    assert [p.published and p.published.minute for p in _split(page)] == [50, 40, 30, 20]


def test_a_wrapper_holding_structured_updates_is_kept_and_its_own_chrome_goes() -> None:
    update = '<div itemprop="liveBlogUpdate" itemscope><p itemprop="articleBody">{}</p></div>'
    root = parse_tree(
        '<html><body><aside class="promo" itemscope itemtype="https://schema.org/LiveBlogPosting">'
        + update.format("First")
        + update.format("Second")
        + '<div class="share">Share</div></aside></body></html>'
    )
    assert root is not None
    strip_furniture(root)
    assert text_of(root) == "FirstSecond"


def test_a_related_rail_beside_a_bigger_post_list_is_still_stripped() -> None:
    rail = "".join(_post(m, "Related story.") for m in (1, 2, 3))
    posts = "".join(_post(m, f"Update {m}.") for m in (50, 45, 40, 35, 30, 25, 20))
    root = parse_tree(
        f'<html><body><div>{posts}</div><aside class="related">{rail}</aside></body></html>'
    )
    assert root is not None
    strip_furniture(root)
    assert "Related story" not in text_of(root) and "Update 50" in text_of(root)


# Ids that count posts from the top


def _with_ids(*ids: str) -> list[Found]:
    return [
        Found(title=f"Post {i}", html="<p>x</p>", method="html-blocks", guid=i, url=f"#{i}")
        for i in ids
    ]


@pytest.mark.parametrize("ids", [("post1", "post2", "post3"), ("0", "1"), ("entry-1", "entry-2")])
def test_ids_counting_from_the_top_of_a_newest_first_page_are_dropped(ids: tuple[str, ...]) -> None:
    found = without_positional_ids(_with_ids(*ids), newest_first=True)
    assert [(f.guid, f.url) for f in found] == [(None, None)] * len(ids)


@pytest.mark.parametrize(
    ("ids", "newest_first"),
    [
        (("post1", "post2", "post3"), False),  # oldest first: counting up is what stable ids do
        (("post3", "post2", "post1"), True),  # new posts get the next number
        (("post1", "post2", "post4"), True),  # not a count: one was deleted
        (("post5", "post6"), True),  # does not start at the top
        (("post1",), True),  # one post tells nothing
        (("a1", "b2"), True),  # two prefixes
    ],
)
def test_ids_that_do_not_count_from_the_top_are_kept(
    ids: tuple[str, ...], newest_first: bool
) -> None:
    found = without_positional_ids(_with_ids(*ids), newest_first=newest_first)
    assert [f.guid for f in found] == list(ids)


def test_a_page_numbering_posts_from_the_oldest_keeps_its_ids() -> None:
    entries = "".join(
        _post(m, f"Update {m}.", attrs=f'id="post{i}"') for i, m in enumerate((5, 10, 15), 1)
    )
    posts = _split(f"<html><body><h1>Live</h1><div>{entries}</div></body></html>")
    assert [p.guid for p in posts] == ["post1", "post2", "post3"]


# Pairing structured and rendered posts


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://x.example/live.html/#liveblogPost1288", "post-1288"),
        ("66acde91f0a4", "block-66acde91f0a4"),
        ("https://x.example/live#rcrd285", "rcrd285"),
    ],
)
def test_an_id_in_two_forms_gives_one_token(a: str, b: str) -> None:
    assert id_token(a) == id_token(b)


def _found(body: str, method: str, **kwargs: str) -> Found:
    return Found(title="", html=f"<p>{body}</p>", method=method, **kwargs)  # type: ignore[arg-type]


def test_a_block_holding_several_structured_posts_is_the_column_not_a_post() -> None:
    bodies = [f"Item {n}: {PROSE} and the council's reply number {n}." for n in range(3)]
    structured = [_found(b, "jsonld") for b in bodies]
    column = _found(" ".join(["Skip to content. Menu.", *bodies]), "html-blocks")
    pairs, containers = pair_posts(structured, [column])
    assert pairs == {} and containers == {0}
    assert [f.method for f in merge(structured, [column])] == ["jsonld"] * 3


def test_posts_pair_by_time_when_nothing_else_matches() -> None:
    structured = [Found("", "", "jsonld", published=Stamp(machine="2024-06-01T11:05:00Z"))]
    rendered = [
        Found("A title", "<p>Short.</p>", "html-blocks", published=Stamp(machine="1717239900000"))
    ]

    def moment(value: str) -> datetime | None:
        if value.isdigit():
            return datetime.fromtimestamp(int(value) / 1000, UTC)
        return datetime.fromisoformat(value)

    merged = merge(structured, rendered, moment)
    assert [(f.title, f.method) for f in merged] == [("A title", "jsonld")]


def test_the_structured_time_wins_over_the_rendered_one() -> None:
    structured = [
        Found("T", "", "jsonld", guid="#p-1", published=Stamp(machine="2024-06-01T10:00:00Z"))
    ]
    rendered = [
        Found(
            "T",
            "<p>b</p>",
            "html-blocks",
            guid="p-1",
            published=Stamp(machine="2024-06-01T12:00:00Z"),
        )
    ]
    [post] = merge(structured, rendered)
    assert post.published == Stamp(machine="2024-06-01T10:00:00Z") and post.html == "<p>b</p>"


# Values copied from the page


def _live(updates: list[dict[str, str]], **page: str) -> str:
    return json.dumps({"@type": "LiveBlogPosting", "liveBlogUpdate": updates, **page})


def test_a_time_shared_by_every_update_is_no_updates_time() -> None:
    same = "2024-06-01T11:00:00Z"
    updates = [
        {"headline": f"Post {n}", "datePublished": same, "dateModified": same} for n in range(3)
    ]
    posts, _ = read_jsonld([_live(updates, datePublished=same)])
    assert [(p.title, p.published, p.updated) for p in posts] == [
        (f"Post {n}", None, None) for n in range(3)
    ]


def test_without_rendered_blocks_the_copied_time_leaves_the_posts_untimed() -> None:
    same = "2024-06-01T11:00:00Z"
    updates = [
        {"headline": f"Post {n}", "datePublished": same, "articleBody": f"Body {n}."}
        for n in range(3)
    ]
    script = f'<script type="application/ld+json">{_live(updates)}</script>'
    posts = _split(f"<html><head>{script}</head><body></body></html>")
    assert [(p.title, p.published) for p in posts] == [(f"Post {n}", None) for n in range(3)]


def test_the_newest_update_may_share_the_pages_modified_time() -> None:
    updates = [
        {"headline": "Newest", "datePublished": "2024-06-01T11:50:00Z"},
        {"headline": "Older", "datePublished": "2024-06-01T11:20:00Z"},
    ]
    posts, _ = read_jsonld([_live(updates, dateModified="2024-06-01T11:50:00Z", headline="Live")])
    assert [p.published for p in posts] == [
        Stamp(machine="2024-06-01T11:50:00Z"),
        Stamp(machine="2024-06-01T11:20:00Z"),
    ]


def test_the_pages_headline_on_one_update_is_no_title() -> None:
    updates = [{"headline": "Storm live", "datePublished": "2024-06-01T11:50:00Z"}]
    posts, page = read_jsonld([_live(updates, headline="Storm live")])
    assert page.headline == "Storm live" and posts[0].title == ""


# Text fields


@pytest.mark.parametrize(
    ("body", "html"),
    [
        ("Fans&#39; vote: 3 < 4 & rising", "<p>Fans' vote: 3 &lt; 4 &amp; rising</p>"),
        ("One.\nTwo &amp; three.", "<p>One.</p>\n<p>Two &amp; three.</p>"),
        ("<p>Already <em>HTML</em> &amp; kept</p>", "<p>Already <em>HTML</em> &amp; kept</p>"),
    ],
)
def test_article_body_is_html_only_when_it_holds_markup(body: str, html: str) -> None:
    assert body_html(body) == html


# The golden pages with their structured data taken out still split


def _without_structured_data(html: str) -> str:
    html = re.sub(r'<script type="application/ld\+json">.*?</script>', "", html, flags=re.S)
    return re.sub(r'\s(?:itemprop|itemscope|itemtype)(?:="[^"]*")?', "", html)


@pytest.mark.parametrize("name", ["sd_id_forms", "sd_jsonld_without_ids", "sd_page_values"])
def test_a_page_without_its_structured_data_gives_the_same_posts(name: str) -> None:
    expected = json.loads((DATA / f"{name}.expected.json").read_text("utf-8"))
    posts = _split(_without_structured_data((DATA / f"{name}.html").read_text("utf-8")))
    assert len(posts) == expected["count"]
    assert {p.method for p in posts} == {"html-blocks"}


def test_an_id_every_update_carries_is_the_pages_and_keeps_no_post_from_the_others() -> None:
    page_id = "https://news.example/live"
    updates = [
        {"@id": page_id, "headline": f"Post {n}", "articleBody": f"Body {n}."} for n in range(3)
    ]
    script = f'<script type="application/ld+json">{_live(updates)}</script>'
    posts = _split(f"<html><head>{script}</head><body></body></html>")
    assert [(p.title, p.guid) for p in posts] == [(f"Post {n}", None) for n in range(3)]
