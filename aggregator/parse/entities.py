"""PURE: character references and entity declarations, read in linear time.

    unescape           html.unescape that survives a reference of thousands of digits
    short_references   the same text with such references written short, for parsers
                       that unescape with html.unescape themselves (html.parser)
    declares_entities  a DOCTYPE internal subset declaring an entity, found in one pass

Python 3.11 refuses int() of a decimal string over 4,300 digits (CVE-2020-10735), and
html.unescape reads "&#" + digits with int(), so a page carrying "&#" and 5,000 digits
made it raise ValueError. A value that long is far past U+10FFFF, which html.unescape
turns into U+FFFD, so only its significant digits are ever needed.
"""

from __future__ import annotations

import html
import re

# html.unescape's reading of a decimal reference ("&#" digits, ";" optional) where the
# digits are too many for int() to be trusted with them.
_LONG_DECIMAL = re.compile(r"&#([0-9]{8,}+);?")
# A code point has at most 7 decimal digits (U+10FFFF is 1114111).
_CODE_POINT_DIGITS = 7
_PAST_UNICODE = "1114112"  # 0x110000, which html.unescape turns into U+FFFD


def _short(match: re.Match[str]) -> str:
    digits = match[1].lstrip("0") or "0"
    return f"&#{digits if len(digits) <= _CODE_POINT_DIGITS else _PAST_UNICODE};"


def short_references(text: str) -> str:
    """`text` with each decimal reference of 8 or more digits rewritten to at most 7
    (and a ";"), so that html.unescape reads it to the same character without int()
    of a huge string. Nothing else changes."""
    return _LONG_DECIMAL.sub(_short, text) if "&#" in text else text


def unescape(text: str) -> str:
    """html.unescape(text), also where a reference has thousands of digits."""
    return html.unescape(short_references(text))


# Tokens of `<!DOCTYPE[^\[>]*\[[^\]]*<!ENTITY`: the two keywords and the characters
# that move between its parts. Each is literal, so finding them all is one pass.
_DOCTYPE = re.compile(r"<!DOCTYPE", re.IGNORECASE)
_ENTITY_TOKENS = re.compile(r"<!DOCTYPE|<!ENTITY|[\[\]>]", re.IGNORECASE)


def declares_entities(text: str) -> bool:
    r"""Whether `<!DOCTYPE[^\[>]*\[[^\]]*<!ENTITY` (case-insensitive) occurs in `text`:
    a DOCTYPE opening an internal subset that declares an entity.

    As a regex search this was quadratic: every "<!DOCTYPE" (or every "[" after one)
    scanned to the end when nothing closed it. Here the tokens are read once, keeping
    two facts: some DOCTYPE still waits for its "[" (no "[" or ">" since), and some
    subset is still open (no "]" since its "[")."""
    first = _DOCTYPE.search(text)
    if first is None:
        return False  # the usual case, found without a token loop in Python
    in_doctype = in_subset = False
    for token in _ENTITY_TOKENS.finditer(text, first.start()):
        mark = token[0]
        if mark == "[":
            in_subset = in_subset or in_doctype
            in_doctype = False
        elif mark == ">":
            in_doctype = False
        elif mark == "]":
            in_subset = False
        elif len(mark) > 1 and mark[2] in "dD":
            in_doctype = True
        elif in_subset:  # <!ENTITY
            return True
    return False
