"""HTML in and out: sanitise what publishers send, read its visible paragraphs, and
write our own paragraphs as HTML that the sanitiser leaves as it is."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from html import escape
from html.parser import HTMLParser
from urllib.parse import urlsplit

import nh3

from aggregator.parse.entities import short_references
from aggregator.parse.html_tokens import Token, ordinary_tokens
from aggregator.parse.text import Block, collapse, is_attribution
from aggregator.parse.text import is_caption as is_caption_line

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "a", "em", "strong", "b", "i", "ul", "ol", "li", "blockquote",
        "h2", "h3", "h4", "figure", "figcaption", "img", "q", "cite", "code", "pre",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href"}, "img": {"src", "alt"}}
# Elements whose content is never text for a reader; the rest of unknown tags are
# unwrapped and keep their text.
_DROPPED_WITH_CONTENT = frozenset(
    {
        "script", "style", "iframe", "object", "embed", "noscript", "template", "svg",
        "math", "form", "button", "select", "textarea", "title", "head",
    }
)  # fmt: skip
_URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener nofollow"


def sanitize_html(html: str, base_url: str | None = None) -> str:
    """Keep a conservative set of text tags; drop scripts, styles, frames, event handlers
    and non-http(s) URLs; resolve relative links against an http(s) `base_url`."""
    relative: nh3.UrlRelative = "pass_through"
    if base_url and urlsplit(base_url).scheme in ("http", "https"):
        relative = ("rewrite_with_base", base_url)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags=_DROPPED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        link_rel=LINK_REL,
        url_schemes=_URL_SCHEMES,
        url_relative=relative,
    )


def html_to_text(html: str) -> str:
    """Visible text, one paragraph per block element, separated by a blank line.
    Image captions (<figcaption>) are not part of the text."""
    return "\n\n".join(b.text for b in html_to_blocks(html) if not b.is_caption)


def paragraphs_to_html(
    paragraphs: Sequence[str],
    *,
    headings: Collection[int] = (),
    captions: Collection[int] = (),
    attributions: Collection[int] = (),
) -> str:
    """Escape plain-text paragraphs into HTML; the indexes given become subheadings
    (<h3>), image captions (<figure><figcaption>) or quote attributions (<cite>)."""
    parts = []
    for index, paragraph in enumerate(paragraphs):
        # Written as the sanitiser's serialiser writes it, so sanitising changes nothing.
        text = escape(paragraph, quote=False).replace("\u00a0", "&nbsp;")
        if index in headings:
            parts.append(f"<h3>{text}</h3>")
        elif index in captions:
            parts.append(f"<figure><figcaption>{text}</figcaption></figure>")
        elif index in attributions:
            parts.append(f"<p><cite>{text}</cite></p>")
        else:
            parts.append(f"<p>{text}</p>")
    return "\n".join(parts)


def render_blocks(blocks: Sequence[Block]) -> tuple[str, str]:
    """A post body as (text, html): headings become <h3>, captions stay out of the text."""
    text = "\n\n".join(b.text for b in blocks if not b.is_caption)
    html = paragraphs_to_html(
        [b.text for b in blocks],
        headings={i for i, b in enumerate(blocks) if b.level},
        captions={i for i, b in enumerate(blocks) if b.is_caption},
        attributions={i for i, b in enumerate(blocks) if is_attribution(b.text)},
    )
    return text, sanitize_html(html)


_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BREAKS = frozenset(
    {
        "p", "div", "br", "hr", "li", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre",
        "section", "article", "header", "main", "figure", "figcaption", "table", "tr",
        "td", "th", "caption", "address", "details", "summary", "body",
        *_HEADINGS,
    }
)  # fmt: skip
# A short paragraph that is a photo credit ("(Image: Getty)", "Photograph: X/Wire") is
# a caption that lost its <figcaption>: kept in the HTML, out of the text.
_MAX_CREDIT = 200
# Navigation and asides are the page's furniture, not its story.
_SKIPPED = _DROPPED_WITH_CONTENT | {"nav", "footer", "aside"}


class _BlockReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self._pending: list[str] = []
        self._skip_depth = 0
        self._level = 0
        self._in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self._skip_depth = 0  # an unclosed <head> ends where the body starts
        if tag in _SKIPPED:
            self._skip_depth += 1
        elif tag in _BREAKS:
            self.flush()
            self._level = _HEADINGS.get(tag, self._level)
            self._in_caption = self._in_caption or tag == "figcaption"

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BREAKS:
            self.flush()
            self._level = 0 if tag in _HEADINGS else self._level
            self._in_caption = self._in_caption and tag != "figcaption"

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self._pending.append(data)

    def replay(self, tokens: Iterable[Token]) -> None:
        for kind, value in tokens:
            if kind == "text":
                self.handle_data(value)
            elif kind == "start":
                self.handle_starttag(value, [])
            else:
                self.handle_endtag(value)

    def flush(self) -> None:
        text = collapse("".join(self._pending))
        self._pending = []
        if text:
            is_caption = self._in_caption or (len(text) <= _MAX_CREDIT and is_caption_line(text))
            self.blocks.append(Block(text, level=self._level, is_caption=is_caption))


def html_to_blocks(html: str) -> list[Block]:
    """The visible paragraphs of an HTML page or fragment, headings with their level.
    Ordinary markup (most feed items) is read without html.parser, to the same events."""
    reader = _BlockReader()
    tokens = ordinary_tokens(html)
    if tokens is None:
        read_whole(reader, html)
    else:
        reader.replay(tokens)
    reader.flush()
    return reader.blocks


# "<![" and a name html.parser knows as a marked section ("<![CDATA[", "<![if ...]>").
_KNOWN_SECTION = r"(?:temp|cdata|ignore|include|rcdata|if|else|endif)(?![-_.a-zA-Z0-9])"
_UNKNOWN_SECTION = re.compile(rf"<!\[(?!{_KNOWN_SECTION})", re.IGNORECASE | re.ASCII)


def read_whole(parser: HTMLParser, html: str) -> None:
    """Feed all of `html` to `parser` and close it: in linear time, and with no
    exception on any input. The html.parser of Python 3.11.7 (later security releases
    fixed the first point, gh-135462) needs three things done for it:

      * what feed() cannot finish (a tag, comment or declaration never closed) runs to
        the end of the input and is not text, as in HTML5 and newer Pythons; close()
        would instead re-read it from every "<" in it, each time to the end
        (quadratic on a megabyte of unclosed "<!--" or "<a b=1 ");
      * "<![" with a name it does not know raised AssertionError; it becomes "<!x[",
        the bogus comment up to the next ">" that HTML5 makes of it anyway;
      * a decimal reference of thousands of digits made html.unescape raise
        ValueError (the int() limit); it is written short first.
    """
    parser.feed(_UNKNOWN_SECTION.sub("<!x[", short_references(html)))
    unfinished = parser.rawdata
    if unfinished.startswith("<") and unfinished not in ("<", "</"):
        parser.rawdata = ""
    parser.close()


_TAG = re.compile(r"<[^>]*>")


def replace_tags(text: str) -> str:
    """Each tag replaced by a space. Past the last ">" no tag can end, and every "<"
    there would make the regex scan to the end in vain (quadratic on a run of "<"), so
    it never sees that tail; before it, every scan ends in a match."""
    end = text.rfind(">") + 1
    return _TAG.sub(" ", text[:end]) + text[end:]
