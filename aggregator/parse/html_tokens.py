"""PURE: ordinary HTML as tags and text, read without html.parser, for readers that need
only tag names and text; None where the markup is anything but ordinary.

Ordinary means: text with no "<" in it, start tags with a plain name and well-formed
attributes (quoted values, or unquoted ones of plain characters), "/>" self-closing,
and plain end tags. There html.parser's events are these, in order: a start tag's name
lowercased, a self-closing tag's start and end, and each run of text with its
references decoded (entities.unescape: html.unescape, long decimal references first
written short, as `read_whole` does).
Comments, declarations, raw-text elements (script, style and the like, whose content
html.parser reads by other rules), a name with other characters, a stray "<": None, and
the caller reads the markup with html.parser instead. tests/unit/test_html_tokens.py
checks the events against html.parser's on every pair of a set of pieces.
"""

from __future__ import annotations

import re

from aggregator.parse.entities import unescape

# (kind, tag name or text): "start", "end" or "text".
Token = tuple[str, str]

# A piece between "<" and the next ">" with neither inside: one pass, no overlap.
_PIECE = re.compile(r"<[^<>]*+>")
_NAME = r"[a-zA-Z][a-zA-Z0-9]*+"
# An unquoted value runs to a space or ">", so a "/" before ">" is the value's, as in
# html.parser: "<h2 class=x/>" opens an h2 and closes nothing.
_ATTRIBUTE = r"""[a-zA-Z_:][-.a-zA-Z0-9_:]*+(?:\s*+=\s*+(?:"[^"]*+"|'[^']*+'|[^\s"'=<>`]++))?+"""
_START = re.compile(rf"<({_NAME})(?:\s++{_ATTRIBUTE})*+\s*+(/?+)>")
_END = re.compile(rf"</({_NAME})\s*+>")
# Elements whose content html.parser (in one Python version or another) reads as raw
# or escapable raw text rather than as markup.
_RAW_TEXT = frozenset(
    {"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes",
     "noscript", "plaintext"}
)  # fmt: skip


def ordinary_tokens(markup: str) -> list[Token] | None:
    tokens: list[Token] = []
    at = 0
    for piece in _PIECE.finditer(markup):
        if not _text(markup[at : piece.start()], tokens):
            return None
        at = piece.end()
        if end := _END.fullmatch(piece[0]):
            tokens.append(("end", end[1].lower()))
            continue
        start = _START.fullmatch(piece[0])
        if start is None or (name := start[1].lower()) in _RAW_TEXT:
            return None
        tokens.append(("start", name))
        if start[2]:
            tokens.append(("end", name))
    return tokens if _text(markup[at:], tokens) else None


def _text(run: str, tokens: list[Token]) -> bool:
    if "<" in run:
        return False
    if run:
        tokens.append(("text", unescape(run) if "&" in run else run))
    return True
