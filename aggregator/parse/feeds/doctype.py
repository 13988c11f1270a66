"""PURE: refuse a feed that carries a DTD of its own, as defusedxml's forbid_dtd does.

    bytes --expat, up to the root element--> internal subset?
    text  --first DOCTYPE: "[" before ">"; any <!ENTITY after it--> internal subset?

An internal subset (`<!DOCTYPE rss [ ... ]>`) is where "billion laughs" and external
entities are declared; feeds never need one. A DOCTYPE naming an external DTD alone
(RSS 0.91's Netscape one) is allowed: nothing here or in the feed readers loads it.

Two readings, so neither's blind spot is the other's: expat reads the bytes as an XML
parser does (BOM, declared encoding, UTF-16 without a BOM, comments and quoted "]" or
">" inside the declaration), stopping at the root element; the text reading takes the
body as decode_body does, which is how a header charset feedparser honours, or an
encoding expat does not know, can show a DOCTYPE that expat did not see.
"""

from __future__ import annotations

import re
from xml.parsers import expat

_CHUNK = 64 * 1024
_DOCTYPE = re.compile(r"<!DOCTYPE", re.IGNORECASE)
_ENTITY = re.compile(r"<!ENTITY", re.IGNORECASE)


class _Subset(Exception):
    """The DOCTYPE opened an internal subset."""


class _Root(Exception):
    """The root element started: the prolog, the only place for a DOCTYPE, is over."""


def has_internal_subset(body: bytes, text: str) -> bool:
    """Whether the document declares DTD content of its own: `body` as fetched, `text`
    the same decoded."""
    return _expat_sees_subset(body) or _text_shows_subset(text)


def _expat_sees_subset(body: bytes) -> bool:
    """expat's verdict on the prolog; False where it cannot read it (the text reading
    then decides)."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _on_doctype
    parser.StartElementHandler = _on_root
    try:
        for start in range(0, len(body), _CHUNK):
            parser.Parse(body[start : start + _CHUNK], False)
        parser.Parse(b"", True)
    except _Subset:
        return True
    except (_Root, expat.ExpatError, ValueError, LookupError):
        # ValueError, LookupError: a declared encoding pyexpat cannot read.
        return False
    return False


def _on_doctype(_name: str, _system: str | None, _public: str | None, subset: int) -> None:
    # Called at the "[" that opens the subset, before any declaration in it is read.
    if subset:
        raise _Subset


def _on_root(_name: str, _attributes: object) -> None:
    raise _Root


def _text_shows_subset(text: str) -> bool:
    """The first "<!DOCTYPE" (any case) meets "[" before ">", or an "<!ENTITY" follows
    it anywhere: strict where a quoted ">" or a comment could hide the subset from a
    scanner. Each search runs once over the text."""
    doctype = _DOCTYPE.search(text)
    if doctype is None:
        return False
    bracket = text.find("[", doctype.end())
    close = text.find(">", doctype.end())
    if bracket >= 0 and (close < 0 or bracket < close):
        return True
    return _ENTITY.search(text, doctype.end()) is not None
