"""PURE: feedparser's relative-URI resolver, redone for the markup publishers send.

feedparser reads an item's HTML with an SGML parser to resolve its relative links, and
writes every tag out again its own way: names in lower case, attributes deduplicated
(the last one wins), sorted, double-quoted and escaped, `rel` and `type` values in lower
case, void elements as `<br />`, their end tags dropped, character references rewritten.
That costs about a millisecond an item. `resolve` gives the same string for markup made
of text, references and ordinary tags with quoted attributes, a few times faster, and
None for anything else (comments, declarations, a stray `<` or `&`, bare or unquoted
attributes, XHTML), which then goes through feedparser itself.

Linear: the markup is cut into tokens, each matched once where the last one ended, by
one regex whose alternatives each start with their own character and end at the first
character they cannot take.
"""

from __future__ import annotations

import functools
import re
from html.entities import name2codepoint

from feedparser.html import _BaseHTMLProcessor, _cp1252
from feedparser.urls import RelativeURIResolver, make_safe_absolute_uri

_TEXT = r"[^<&]++"
_REFERENCE = r"&(?:#[0-9]{1,7}+|#[xX][0-9a-fA-F]{1,6}+|[a-zA-Z][a-zA-Z0-9]{0,31}+);"
_END_TAG = r"</[a-zA-Z][a-zA-Z0-9]*+\s*+>"
_START_TAG = r"<[a-zA-Z][a-zA-Z0-9]*+(?:\s[^<>\"']*+(?:\"[^\"<>]*+\"|'[^'<>]*+')?+)*+\s*+/?>"
_MARKUP = f"{_REFERENCE}|{_END_TAG}|{_START_TAG}"
_WHOLE = re.compile(f"(?:{_TEXT}|{_MARKUP})*+")
_PIECE = re.compile(_MARKUP)
_START = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*+)")
# An attribute as feedparser's SGML reader takes it, quoted values only.
_ATTRIBUTE = re.compile(r"\s++([a-zA-Z_][-:.a-zA-Z_0-9]*+)\s*+=\s*+(?:\"([^\"]*+)\"|'([^']*+)')")
_TAG_END = re.compile(r"\s*+/?>")
# References inside an attribute value; anything else after "&" is declined.
_VALUE_REFERENCE = re.compile(r"&(?:[a-zA-Z][a-zA-Z0-9]*+|#[0-9]++);")
_VOID = frozenset(_BaseHTMLProcessor.elements_no_end_tag)
_URI_ATTRIBUTES = frozenset(RelativeURIResolver.relative_uris)
_BARE_AMPERSAND = _BaseHTMLProcessor.bare_ampersand
_KNOWN_NAMES = frozenset(name2codepoint) | {"apos"}


def resolve(html: str, base: str, content_type: str) -> str | None:
    """feedparser's `resolve_relative_uris(html, base, "utf-8", content_type)`, or None
    where this markup is not one it can be sure of."""
    if content_type != "text/html":
        return None
    # feedparser turns these two references into their characters before it reads.
    html = html.replace("&#39;", "'").replace("&#34;", '"')
    if _WHOLE.fullmatch(html) is None:
        return None
    try:
        return _PIECE.sub(lambda piece: _rewritten(piece.group(), base), html)
    except _Unsure:
        return None


class _Unsure(Exception):
    """A tag this module does not write exactly as feedparser would."""


# Publishers repeat their tags and references from item to item: each is worked out once.
@functools.lru_cache(maxsize=8192)
def _rewritten(piece: str, base: str) -> str:
    if piece[0] == "&":
        return _reference(piece[1:-1])
    if piece[1] == "/":
        name = piece[2:].rstrip("> \t\r\n\f\v").lower()
        return "" if name in _VOID else f"</{name}>"
    tag = _start_tag(piece, base)
    if tag is None:
        raise _Unsure
    return tag


def _reference(ref: str) -> str:
    if not ref.startswith("#"):
        return f"&{ref};" if ref in _KNOWN_NAMES else f"&amp;{ref}"
    number = ref[1:].lower()
    value = int(number[1:], 16) if number.startswith("x") else int(number)
    if value in _cp1252:
        return f"&#{hex(ord(_cp1252[value]))[1:]};"
    return f"&#{number};"


def _start_tag(text: str, base: str) -> str | None:
    name_match = _START.match(text)
    if name_match is None:
        return None
    name = name_match.group(1).lower()
    position = name_match.end()
    attributes: dict[str, str] = {}
    for attribute in _ATTRIBUTE.finditer(text, position):
        if attribute.start() != position:
            return None
        position = attribute.end()
        double, single = attribute.group(2), attribute.group(3)
        value = double if double is not None else single
        if "&" in value and not _references_only(value):
            return None
        attributes[attribute.group(1).lower()] = value
    tail = _TAG_END.fullmatch(text, position)
    if tail is None:
        return None
    if not attributes and "/" in tail.group():
        # feedparser rewrites a bare "<p/>" before it reads: "<p></p>", or "<br />".
        return f"<{name} />" if name in _VOID else f"<{name}></{name}>"
    written = "".join(
        f' {key}="{_escaped(_resolved(name, key, value, base))}"'
        for key, value in sorted(
            (key, value.lower() if key in ("rel", "type") else value)
            for key, value in attributes.items()
        )
    )
    return f"<{name}{written} />" if name in _VOID else f"<{name}{written}>"


def _references_only(value: str) -> bool:
    """Whether every "&" in an attribute value starts a reference ending in ";" (which
    feedparser writes back as it found it)."""
    found = sum(1 for _ in _VALUE_REFERENCE.finditer(value))
    return found == value.count("&")


def _resolved(tag: str, key: str, value: str, base: str) -> str:
    if (tag, key) not in _URI_ATTRIBUTES:
        return value
    return str(make_safe_absolute_uri(base, value.strip()) or value)


def _escaped(value: str) -> str:
    value = value.replace(">", "&gt;").replace("<", "&lt;").replace('"', "&quot;")
    return str(_BARE_AMPERSAND.sub("&amp;", value))
