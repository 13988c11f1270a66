"""Bytes to text, trusting the most specific declaration first; text to paragraphs,
choosing the reader (HTML, Markdown or plain text) by content type and shape."""

from __future__ import annotations

import codecs
import re
from typing import Literal

from aggregator.parse.html import html_to_blocks
from aggregator.parse.text import (
    MARKDOWN_HEADING_LINE,
    Block,
    is_chrome,
    read_markdown_blocks,
    read_text_blocks,
)
from aggregator.types import Document

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


def decode_body(doc: Document) -> str:
    """The body as text: BOM, then the Content-Type charset, then an XML or HTML
    declaration, then UTF-8, falling back to windows-1252."""
    body = doc.body
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(encoding, errors="replace")
    for label in (_header_charset(doc.content_type), _declared_charset(body)):
        text = _try_decode(body, label)
        if text is not None:
            return text
    return _try_decode(body, "utf-8") or _decode_cp1252(body)


def _header_charset(content_type: str | None) -> str | None:
    match = _HEADER_CHARSET.search(content_type or "")
    return match.group(1) if match else None


def _declared_charset(body: bytes) -> str | None:
    head = body[:_SNIFF_BYTES]
    match = _XML_DECLARATION.search(head) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii") if match else None


def _try_decode(body: bytes, label: str | None) -> str | None:
    if label is None:
        return None
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    name = _WEB_ALIASES.get(name, name)
    if name == "cp1252":
        return _decode_cp1252(body)
    try:
        return body.decode(name)
    except UnicodeDecodeError:
        return None


def _decode_cp1252(body: bytes) -> str:
    # Five bytes are undefined in cp1252; browsers map them as latin-1 does.
    try:
        return body.decode("cp1252")
    except UnicodeDecodeError:
        return body.decode("latin-1")


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
