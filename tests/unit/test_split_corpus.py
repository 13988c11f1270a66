"""Real publisher live pages: the splitter's scores on the shared corpus never fall.

`bench/split_eval.py` splits every page of `shared/corpus/liveblogs/` (real pages from
public projects' test fixtures, with ground truth; evaluation and testing only, nothing
of it is copied here) as saved and with its structured data stripped, and grows each
page through the real pipeline. Every page variant must reach 0.95 on precision, recall,
time and clean text, and its growing page must give exactly 1 new, 1 updated, 1 deleted
(none deleted where the removed post is the oldest: it may have dropped off the end);
the exceptions below are the ones not reached yet, each with its reason, held at the
level reached so that a regression fails. Without the corpus the case skips, unless
CI=true, where a missing corpus fails.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from types import ModuleType
from typing import Any

import pytest

from tests.support.paths import ROOT, SHARED_CORPUS

pytestmark = pytest.mark.slow

CORPUS = SHARED_CORPUS / "liveblogs"
TARGET = 0.95
# (page prefix, variant) -> ({score: the floor held instead}, why the target is not reached);
# a "grow" floor of None: the growing page is not held to 1/1/1.
BELOW_TARGET: dict[tuple[str, str], tuple[dict[str, float | None], str]] = {
    ("nbcnews", "stripped"): (
        {"time": 0.0},
        "without JSON-LD the only stamps are '2d ago / 7:58 AM UTC', written when the "
        "page was captured two days after its last post; the evaluation saves the file "
        "10 minutes after the last post, which contradicts them (with the file saved "
        "two days later, 32 of 36 are right: '2d' is rounded)",
    ),
}


def _evaluator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("split_eval", ROOT / "bench" / "split_eval.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["split_eval"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def scores() -> dict[tuple[str, str], Any]:
    if not CORPUS.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"no corpus at {CORPUS}: CI must evaluate the splitter on it")
        pytest.skip(f"no corpus at {CORPUS}")
    evaluated = _evaluator().evaluate(CORPUS, None, growing=True)
    by_case = {(s.page.split("_")[0], s.variant): s for s in evaluated}
    assert len(by_case) == len(evaluated), "two corpus pages share a publisher prefix"
    return by_case


PAGES = [
    (page, variant)
    for page in (
        "br24",
        "hutchnews",
        "independent",
        "libero",
        "nbcnews",
        "sfgate",
        "sportsfr",
        "theguardian",
    )
    for variant in ("saved", "stripped")
]


@pytest.mark.parametrize(("page", "variant"), PAGES, ids=[f"{p}-{v}" for p, v in PAGES])
def test_each_page_splits_right(
    scores: dict[tuple[str, str], Any], page: str, variant: str
) -> None:
    score = scores[(page, variant)]
    assert score.error is None, score.error
    shown = {
        "precision": score.precision,
        "recall": score.recall,
        "time": score.time,
        "clean": score.cleanliness,
    }
    floors = BELOW_TARGET.get((page, variant), ({}, ""))[0]
    for name, value in shown.items():
        floor = floors.get(name, TARGET)
        assert floor is not None and value >= floor, f"{name} {value:.2f}: {score.problems}"
    if "grow" not in floors:
        assert score.grew_right, f"growing page gave {score.grow}: {score.problems}"


def test_every_page_of_the_corpus_is_a_case(scores: dict[tuple[str, str], Any]) -> None:
    """A page added to the corpus is held to the target too: it needs its case above."""
    assert sorted(scores) == sorted(PAGES)


def test_the_exceptions_are_still_needed(scores: dict[tuple[str, str], Any]) -> None:
    """An exception the splitter has outgrown is removed, so the target holds there too."""
    outgrown = []
    for (page, variant), (floors, _) in BELOW_TARGET.items():
        score = scores[(page, variant)]
        reached = {
            "precision": score.precision >= TARGET,
            "time": score.time >= TARGET,
            "grow": score.grew_right,
        }
        outgrown += [(page, variant, name) for name in floors if reached[name]]
    assert not outgrown, f"reached the target now; drop from BELOW_TARGET: {outgrown}"
