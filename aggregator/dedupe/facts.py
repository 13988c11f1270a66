"""PURE: the facts a body states (clock times, other figures, names) and the words
around them, so that two copies can be compared on what they say as well as on how.

Updates written from one template ("Jane Hale will give evidence at 2.30pm"; "Tom
Bryce has been appointed commissioner") share most of their words but swap their facts;
copies of one update swap none, bar a corrected one. A fact only one copy has (a byline,
an added sentence, a trimmed paragraph) is not a swap.

    read_facts(text)       Facts: times as HH:MM, figures, names, the other words
    swapped(a, b)          how many facts were swapped between two Facts
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aggregator.dedupe.normalize import plain_text

_WORD = re.compile(r"\w+")
# A clock time, "2.30pm", "10 a.m.", "14:30": one fact whatever way it is written (a
# final dot is left to end the sentence). Each quantifier is bounded, so every start
# costs a few steps.
_CLOCK = re.compile(
    r"(?<![\w.:,])(\d{1,2})(?:[.:](\d\d))?\s?([ap])\.?m\b|(?<![\w.:,])(\d{1,2}):(\d\d)(?![\w:])",
    re.IGNORECASE,
)
# A block's start ends the sentence before it, as a line break does in plain text.
_BLOCK = re.compile(r"<(?:p|div|br|li|h[1-6]|blockquote|tr|td)\b", re.IGNORECASE)
# A capital after one of these (or right after an opening quote) starts a sentence.
_SENTENCE_ENDS = frozenset(".!?:;\n\r\u2022")
_OPENING_QUOTES = frozenset("\"'([")  # curly ones are folded by plain_text
# Names this long or longer can carry a typo; a corrected spelling is looked for among
# at most this many pairs of swapped names (past it, they are swapped anyway).
_TYPO_LENGTH = 5
_MAX_SPELLINGS = 64


@dataclass(frozen=True)
class Facts:
    """What a body states: `times` as HH:MM, other `figures` (casefolded words with a
    digit), `names` (capitalised words inside a sentence: people, places, bodies, and
    in languages that capitalise them, nouns) and `frame`, every other word in order."""

    times: frozenset[str]
    figures: frozenset[str]
    names: frozenset[str]
    frame: tuple[str, ...]


def read_facts(text: str) -> Facts:
    plain = plain_text(_BLOCK.sub(lambda m: "\n" + m.group(), text))
    times: set[str] = set()

    def clock(match: re.Match[str]) -> str:
        hour, minute, half, hour24, minute24 = match.groups()
        if half is not None:
            if 1 <= int(hour) <= 12 and int(minute or 0) < 60:
                times.add(f"{int(hour) % 12 + (12 if half in 'pP' else 0):02}:{minute or '00'}")
                return " "
        elif int(hour24) < 24 and int(minute24) < 60:
            times.add(f"{int(hour24):02}:{minute24}")
            return " "
        return match.group()

    rest = _CLOCK.sub(clock, plain)
    figures: set[str] = set()
    names: set[str] = set()
    frame: list[str] = []
    end = 0
    for match in _WORD.finditer(rest):
        start, word = match.start(), match.group()
        if not word.isalpha() and any(c.isdigit() for c in word):
            figures.add(word.casefold())
        elif len(word) > 1 and word[0].isupper() and not _opens(rest, end, start):
            names.add(word)
        else:
            frame.append(word.casefold())
        end = match.end()
    return Facts(frozenset(times), frozenset(figures), frozenset(names), tuple(frame))


def _opens(text: str, end: int, start: int) -> bool:
    """Whether the word at `start` (the one before it ended at `end`) opens a sentence."""
    if end == 0 or text[start - 1] in _OPENING_QUOTES:
        return True
    return not _SENTENCE_ENDS.isdisjoint(text[end:start])


def swapped(a: Facts, b: Facts) -> int:
    """For times, figures and names each, how many each copy has that the other lacks
    (the smaller count), a name whose spelling was corrected not counted."""
    names = _respelled(a.names - b.names, b.names - a.names)
    return _swaps(a.times, b.times) + _swaps(a.figures, b.figures) + names


def _swaps(a: frozenset[str], b: frozenset[str]) -> int:
    return min(len(a - b), len(b - a))


def _respelled(gone: frozenset[str], new: frozenset[str]) -> int:
    if len(gone) * len(new) > _MAX_SPELLINGS:
        return min(len(gone), len(new))
    unmatched = set(new)
    for old in sorted(gone):
        twin = next((n for n in sorted(unmatched) if _one_slip(old, n)), None)
        if twin is not None:
            unmatched.discard(twin)
    fixed = len(new) - len(unmatched)
    return min(len(gone), len(new)) - fixed


def _one_slip(a: str, b: str) -> bool:
    """One letter added or dropped, or two neighbours swapped: a typo, in a name long
    enough that this is not another name. A changed letter is not one ("Martin" and
    "Marvin" are two people)."""
    if min(len(a), len(b)) < _TYPO_LENGTH or abs(len(a) - len(b)) > 1 or a == b:
        return False
    start = next(i for i, (x, y) in enumerate(zip(a + "\0", b + "\0", strict=False)) if x != y)
    a_rest, b_rest = a[start:], b[start:]
    if len(a) == len(b):
        return a_rest[:2] == b_rest[1::-1] and a_rest[2:] == b_rest[2:]
    return a_rest[1:] == b_rest if len(a) > len(b) else a_rest == b_rest[1:]
