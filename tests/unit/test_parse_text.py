"""Paragraph shapes and readers: the rules are about shape, not about any one page."""

from __future__ import annotations

import pytest

from aggregator.parse.text import (
    Block,
    headline_from,
    is_attribution,
    is_caption,
    is_chrome,
    is_title_shaped,
    read_markdown_blocks,
    read_text_blocks,
)


@pytest.mark.parametrize(
    "line",
    [
        "Council leader apologises to victims",
        "'Nobody listened to us'",
        "Minister: We will act on the report",
        "10 things we learned from the inquiry",
    ],
)
def test_title_shaped(line: str) -> None:
    assert is_title_shaped(line)


@pytest.mark.parametrize(
    "line",
    [
        "The council said it would respond.",
        '"We will respond," the council said.',
        "Is this the end?",
        "Breaking",
        "police later confirmed the arrest",
        "\u2013 Jane Smith, council leader",
        "Crowds outside the court. Credit: PA",
        "14:05",
        "\u2022 Bullet point item here",
        "The following towns are affected:",
        " ".join(["word"] * 17).capitalize(),
    ],
)
def test_not_title_shaped(line: str) -> None:
    assert not is_title_shaped(line)


@pytest.mark.parametrize(
    "line",
    [
        "Crowds outside the court. Credit: PA",
        "Credit: Reuters",
        "Flood barriers went up overnight. Photograph: Jacob King/PA Wire",
        "The scene on Monday (Picture: Getty Images)",
    ],
)
def test_captions(line: str) -> None:
    assert is_caption(line)


def test_credit_inside_a_sentence_is_no_caption() -> None:
    assert not is_caption("He said credit: the kind you get from banks, was harder to find.")


def test_attributions_need_a_dash_and_brevity() -> None:
    assert is_attribution("\u2014 Tom Okafor, Green Party agent")
    assert is_attribution("\u2013Debbie Jones")
    assert not is_attribution("- a Markdown list item")
    assert not is_attribution("\u2013 " + "word " * 30)


@pytest.mark.parametrize(
    "line",
    [
        "Live updates",
        "LOAD MORE UPDATES",
        "Share this",
        "Skip to content",
        "Media playback is unsupported on your device",
        "Media captionEmma, not her real name: 'Police lost my evidence'",
        "Image copyright South Yorkshire PCC",
        "The Guardian is not responsible for the content of external sites",
    ],
)
def test_chrome(line: str) -> None:
    assert is_chrome(line)


def test_chrome_is_a_whole_line_not_a_word() -> None:
    assert not is_chrome("Live updates from the court will follow here.")
    assert not is_chrome("Share this with your neighbours, police urged.")


def test_text_reader_joins_wrapped_lines_and_separates_dash_and_caption_lines() -> None:
    text = (
        "Skip to content\n\nFirst line of a\nwrapped paragraph.\n\n"
        "A quote ends here.\n\u2013 A Person\nLoad more updates\n\n"
        "Body text. Credit: PA\n"
    )
    assert read_text_blocks(text) == [
        Block("First line of a wrapped paragraph."),
        Block("A quote ends here."),
        Block("\u2013 A Person"),
        Block("Body text. Credit: PA", is_caption=True),
    ]


def test_markdown_reader() -> None:
    text = (
        "# Page\n\n## Post *one* ##\n\nSome **bold** and [a link](https://x.example/) "
        "and snake_case_name.\n\n![Alt text](a.png)\n\n> Quoted\n> line.\n\n---\n\n"
        "1. First\n2. Second\n"
    )
    assert read_markdown_blocks(text) == [
        Block("Page", level=1),
        Block("Post one", level=2),
        Block("Some bold and a link and snake_case_name."),
        Block("Alt text", is_caption=True),
        Block("Quoted line."),
        Block("First"),
        Block("Second"),
    ]


def test_headline_from_takes_the_first_sentence() -> None:
    assert headline_from("Polls have closed. Counting starts at 11pm.") == "Polls have closed."
    long = "A " + "very " * 40 + "long sentence."
    cut = headline_from(long)
    assert cut.endswith("\u2026") and len(cut) <= 101 and long.startswith(cut[:-1])
