"""The extraction-quality scorer: faithful to the Zyte benchmark's evaluate.py, and able to fail.

The full figures come from `python -m benchmarks.extraction_quality`; these tests keep its
scoring honest on a few pages so that the benchmark cannot silently flatter us.
"""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType

import pytest

from benchmarks.extraction_quality import (
    TEASER,
    ZYTE_DIR,
    averaged,
    ours,
    plain_trafilatura,
    sample_site_pages,
    score_all,
    score_page,
    tp_fp_fn,
    vov_hints,
    zyte_pages,
)
from crawler.profiles import ExtractHints

need_zyte = pytest.mark.skipif(
    not (ZYTE_DIR / "evaluate.py").is_file(),
    reason=f"the Zyte benchmark is not at {ZYTE_DIR} (../shared/data beside this checkout)",
)

# A tiny hand-made case: (gold, predicted) pairs, with the counts worked out by hand.
HAND_MADE = [
    ("a b c d e", "a b c d e"),  # identical: shingles abcd, bcde both found
    ("a b c d e", "a b c d x"),  # abcd found, bcde missed, bcdx extra: 1/3 each
    ("a b", ""),  # gold shorter than a shingle is one shingle (a, b); nothing predicted
    ("", "noise words only here"),  # nothing to find, one wrong shingle
]


def test_scorer_counts_shingles_as_evaluate_py_does() -> None:
    assert tp_fp_fn(*HAND_MADE[0]) == (1.0, 0.0, 0.0)
    assert tp_fp_fn(*HAND_MADE[1]) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert tp_fp_fn(*HAND_MADE[2]) == (0.0, 0.0, 1.0)
    assert tp_fp_fn(*HAND_MADE[3]) == (0.0, 1.0, 0.0)
    # P over pages that predicted something: (1 + 1/2 + 0) / 3; R over pages with gold: (1 + 1/2 + 0) / 3
    scores = averaged([tp_fp_fn(gold, found) for gold, found in HAND_MADE])
    assert (scores.precision, scores.recall, scores.f1) == pytest.approx((0.5, 0.5, 0.5))


def load_evaluate_py() -> ModuleType:
    spec = importlib.util.spec_from_file_location("zyte_evaluate", ZYTE_DIR / "evaluate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def their_scores(evaluate: ModuleType, golds: list[str], founds: list[str]) -> tuple[float, float, float]:
    truth = {str(i): {"articleBody": gold} for i, gold in enumerate(golds)}
    prediction = {str(i): {"articleBody": found} for i, found in enumerate(founds)}
    metrics = evaluate.evaluate(truth, prediction, n_bootstrap=0)
    return metrics["f1"], metrics["precision"], metrics["recall"]


@need_zyte
def test_scorer_reproduces_evaluate_py_on_the_hand_made_case_and_five_zyte_pages() -> None:
    evaluate = load_evaluate_py()
    golds, founds = zip(*HAND_MADE, strict=True)
    mine = averaged([tp_fp_fn(gold, found) for gold, found in HAND_MADE])
    theirs = their_scores(evaluate, [*golds], [*founds])
    assert (mine.f1, mine.precision, mine.recall) == pytest.approx(theirs)

    truth = json.loads((ZYTE_DIR / "ground-truth.json").read_text(encoding="utf-8"))
    pages = zyte_pages(keys=sorted(truth)[:5])
    for extractor in (ours(ExtractHints()), plain_trafilatura):
        predictions = [extractor(page) for page in pages]
        scores = averaged([score_page(page, found).counts for page, found in zip(pages, predictions)])
        # evaluate.py scores the raw articleBody; ours, the same text one paragraph per line
        theirs = their_scores(evaluate, [truth[page.key]["articleBody"] for page in pages],
                              ["\n\n".join(found.paragraphs) for found in predictions])
        assert (scores.f1, scores.precision, scores.recall) == pytest.approx(theirs, abs=1e-12)
        assert scores.f1 > 0.8  # both really extract these pages: the comparison is not vacuous


def test_on_sample_pages_ours_is_exact_and_clean_while_plain_trafilatura_leaks() -> None:
    pages = sample_site_pages()
    legacy = [page for page in pages if "windows-1258" in (page.content_type or "")]
    chosen = pages[:4] + legacy  # the windows-1258 page decodes into combining marks
    assert len(legacy) == 1

    mine = score_all(chosen, ours(vov_hints()))
    assert averaged([score.counts for score in mine]).f1 == 1.0
    assert all(s.exact and s.title_right and s.lead_kept and not s.leaked for s in mine)

    theirs = score_all(chosen, plain_trafilatura)
    assert averaged([score.counts for score in theirs]).f1 < 0.9
    assert not any(score.lead_kept for score in theirs)
    leaked = set().union(*(score.leaked for score in theirs))
    assert {"Viết bình luận", "This site is protected by reCAPTCHA", TEASER} <= leaked
