"""Bytes to text, trusting the most specific declaration first; text to paragraphs,
choosing the reader (HTML, Markdown or plain text) by content type and shape.

    BOM | UTF-16/32 by its NUL bytes | refuse binary | header charset | XML or meta
    declaration | UTF-8 (a few bad bytes become U+FFFD) | windows-1252
"""

from __future__ import annotations

import codecs
import re
from typing import Literal, NamedTuple

from aggregator.core.errors import ParseError
from aggregator.core.types import Document
from aggregator.parse.html import html_to_blocks
from aggregator.parse.text import (
    MARKDOWN_HEADING_LINE,
    Block,
    is_chrome,
    read_markdown_blocks,
    read_text_blocks,
)

Format = Literal["html", "markdown", "text"]

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
_XML_DECLARATION = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([\w.:-]+)["']""")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
# How far into the body a declaration may sit; the HTML standard prescans 1024 bytes.
_SNIFF_BYTES = 2048
# WHATWG Encoding Standard: these labels mean windows-1252 on the web.
_WEB_ALIASES = {"iso8859-1": "cp1252", "ascii": "cp1252"}
# Encodings whose text is full of NUL bytes: only they may read a body that has them.
_WIDE = frozenset({"utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"})
# (encoding, lanes of each code unit that are mostly NUL in it, lanes that never are):
# ASCII-range text in UTF-16-LE is "x\0", in UTF-32-BE "\0\0\0x". Lanes are byte
# positions modulo 4; a BMP character leaves the third byte of a UTF-32-LE unit NUL.
_NUL_LANES: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = (
    ("utf-32-le", (2, 3), (0,)),
    ("utf-32-be", (0, 1), (3,)),
    ("utf-16-le", (1, 3), (0, 2)),
    ("utf-16-be", (0, 2), (1, 3)),
)
_WIDE_SAMPLE = 4096
# Control bytes text does not carry (tab, line breaks, form feed and escape it may).
_BINARY_BYTES = bytes(b for b in range(32) if b not in b"\t\n\v\f\r\x1b")
_ASCII_BYTES = bytes(range(128))


class Decoded(NamedTuple):
    """A body's text; `repaired` when it was read as UTF-8 with its few invalid
    sequences replaced by U+FFFD (a parser decoding on its own needs the same bytes)."""

    text: str
    repaired: bool = False


def decode_body(doc: Document) -> str:
    """The body as text: BOM, then UTF-16/32 recognised by its NUL bytes, then the
    Content-Type charset, then an XML or HTML declaration, then UTF-8 (with a few bad
    bytes replaced), falling back to windows-1252. Binary content is refused with a
    ParseError rather than read as garbage text."""
    return decode(doc).text


def decode(doc: Document) -> Decoded:
    """decode_body's text, and whether bad UTF-8 bytes in it were replaced."""
    body = doc.body
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return Decoded(body[len(bom) :].decode(encoding, errors="replace"))
    wide = _wide_encoding(body)
    if wide is not None:
        return Decoded(body.decode(wide, errors="replace"))
    labels = [_codec_name(_header_charset(doc.content_type)), _codec_name(_declared_charset(body))]
    if not _WIDE.intersection(labels):
        _refuse_binary(body)
    for label in labels:
        decoded = _try_decode(body, label)
        if decoded is not None:
            return decoded
    return _try_decode(body, "utf-8") or Decoded(_decode_cp1252(body))


def _header_charset(content_type: str | None) -> str | None:
    match = _HEADER_CHARSET.search(content_type or "")
    return match.group(1) if match else None


def _declared_charset(body: bytes) -> str | None:
    head = body[:_SNIFF_BYTES]
    match = _XML_DECLARATION.search(head) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii") if match else None


def _codec_name(label: str | None) -> str | None:
    if label is None:
        return None
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return _WEB_ALIASES.get(name, name)


def _try_decode(body: bytes, name: str | None) -> Decoded | None:
    if name is None:
        return None
    if name == "cp1252":
        return Decoded(_decode_cp1252(body))
    try:
        return Decoded(body.decode(name))
    except UnicodeDecodeError:
        return _mostly_utf8(body) if name == "utf-8" else None


def _mostly_utf8(body: bytes) -> Decoded | None:
    """UTF-8 with its invalid sequences replaced, when the body has more valid non-ASCII
    characters than invalid sequences: a UTF-8 page with a stray windows-1252 quote keeps
    its accents, where reading all of it as windows-1252 would garble every one."""
    text = body.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd") - body.count("\ufffd".encode())
    ascii_count = len(body) - len(body.translate(None, _ASCII_BYTES))
    valid_non_ascii = len(text) - ascii_count - invalid
    return Decoded(text, repaired=True) if valid_non_ascii > invalid else None


def _decode_cp1252(body: bytes) -> str:
    # Five bytes are undefined in cp1252; browsers map them as latin-1 does.
    try:
        return body.decode("cp1252")
    except UnicodeDecodeError:
        return body.decode("latin-1")


def _wide_encoding(body: bytes) -> str | None:
    """UTF-16 or UTF-32 without a byte order mark, told by where its NUL bytes fall: in
    text of mostly ASCII characters one byte of each code unit is NUL, the other never.
    A fifth of the units must have the NUL (markup, spaces and digits give that even
    to Cyrillic text); fewer, and CJK characters such as U+4E00 could fake the pattern
    in the opposite byte order."""
    sample = body[:_WIDE_SAMPLE]
    if b"\0" not in sample:
        return None
    sample = sample[: len(sample) - len(sample) % 4]
    units = len(sample) // 4
    nuls = [sample[lane::4].count(0) for lane in range(4)]
    for encoding, nul_lanes, clear_lanes in _NUL_LANES:
        mostly_nul = sum(nuls[lane] for lane in nul_lanes) * 5 >= units * len(nul_lanes)
        clear = sum(nuls[lane] for lane in clear_lanes) * 50 <= units * len(clear_lanes)
        if mostly_nul and clear and _decodes(sample, encoding):
            return encoding
    return None


def _decodes(sample: bytes, encoding: str) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _refuse_binary(body: bytes) -> None:
    """Raise ParseError when more than one byte in a hundred is a control character no
    text carries (NUL above all): an image, an archive, random bytes, or UTF-16 text
    too far from ASCII to be recognised without its byte order mark."""
    controls = len(body) - len(body.translate(None, _BINARY_BYTES))
    if controls > 1 and controls * 100 > len(body):
        nuls = body.count(0)
        raise ParseError(
            "",
            f"binary content, not text ({nuls} NUL and {controls - nuls} other control "
            f"bytes in {len(body)}); UTF-16 or UTF-32 text needs a byte order mark or a "
            "charset",
        )


_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_MARKDOWN_TYPES = frozenset({"text/markdown", "text/x-markdown"})
_HTML_OPENING = re.compile(
    r"<(?:!doctype\s++html|html|head|body|article|main|div|p|h[1-6])\b", re.IGNORECASE
)
_SPACE = re.compile(r"\s*+")


def sniff_format(doc: Document, text: str) -> Format:
    """HTML by content type or opening tag, Markdown by type, name or ATX headings."""
    media_type = (doc.content_type or "").split(";")[0].strip().lower()
    if media_type in _HTML_TYPES or _starts_as_html(text):
        return "html"
    if (
        media_type in _MARKDOWN_TYPES
        or doc.location.lower().endswith((".md", ".markdown"))
        or MARKDOWN_HEADING_LINE.search(text)
    ):
        return "markdown"
    return "text"


def read_blocks(doc: Document) -> tuple[list[Block], Format]:
    """The document's visible paragraphs without page chrome, and the format read."""
    text = decode_body(doc)
    found = sniff_format(doc, text)
    if found == "html":
        blocks = html_to_blocks(text)
    elif found == "markdown":
        blocks = read_markdown_blocks(text)
    else:
        blocks = read_text_blocks(text)
    return [b for b in blocks if not is_chrome(b.text)], found


_FEED_ROOT = re.compile(r"<(?:rss|feed|rdf:RDF|RDF)\b")


def looks_like_feed(text: str) -> bool:
    """Whether the text opens as RSS or Atom: a feed's root element after an XML
    declaration, comments and a DOCTYPE. For telling a user who picked the wrong kind."""
    position = _skip_space(text, 1 if text.startswith("\ufeff") else 0)
    for opening, closing in (("<?xml", "?>"), ("<!--", "-->"), ("<!DOCTYPE", ">")):
        while text.startswith(opening, position):
            end = text.find(closing, position + len(opening))
            if end < 0:
                return False
            position = _skip_space(text, end + len(closing))
    return _FEED_ROOT.match(text, position) is not None


def kind_hint(kind: str, doc: Document) -> str | None:
    """What to tell someone who previews a document as a kind it does not look like."""
    try:
        text = decode_body(doc)
    except ParseError:
        return None
    if kind != "feed" and looks_like_feed(text):
        return "it looks like an RSS or Atom feed: --kind feed reads it as one"
    if kind == "feed" and sniff_format(doc, text) == "html" and not looks_like_feed(text):
        return "it looks like an HTML page, not a feed: --kind liveblog or article reads pages"
    return None


def _starts_as_html(text: str) -> bool:
    """An HTML opening tag after leading whitespace and comments. The comments are
    skipped one at a time, each to its first "-->". Written as one regex (a repeated
    group of comments, each a lazy match up to "-->"), a comment could also end at any
    later "-->", and a failing match tried every way of grouping the comments
    (exponential in their number)."""
    position = _skip_space(text, 0)
    while text.startswith("<!--", position):
        end = text.find("-->", position + 4)
        if end < 0:
            return False
        position = _skip_space(text, end + 3)
    return _HTML_OPENING.match(text, position) is not None


def _skip_space(text: str, position: int) -> int:
    space = _SPACE.match(text, position)
    return space.end() if space else position
